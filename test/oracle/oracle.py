# Reads what an S3 or Azure server holds with the providers' own Python SDKs (Debian's
# python3-boto3 and python3-azure), which share no code with barman-cloud.
#
#   oracle.py s3 ENDPOINT BUCKET PREFIX OUTDIR     list PREFIX recursively; save each body
#   oracle.py azure CONTAINER PREFIX OUTDIR        (AZURE_STORAGE_CONNECTION_STRING)
#   oracle.py s3-bucket ENDPOINT BUCKET            does the bucket exist?
#   oracle.py azure-container CONTAINER            does the container exist?
#   oracle.py s3-uploads ENDPOINT BUCKET PREFIX    keys of the open multipart uploads
#
# OUTDIR "-" skips the bodies. stdout is one JSON document.
import json
import os
import sys


def s3_objects(endpoint, bucket, prefix, outdir):
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint)
    out = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for o in page.get("Contents", []):
            key = o["Key"]
            h = s3.head_object(Bucket=bucket, Key=key)
            tags = s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
            obj = {
                "key": key,
                "size": o["Size"],
                "content_type": h.get("ContentType", ""),
                "content_encoding": h.get("ContentEncoding", ""),
                "metadata": h.get("Metadata", {}),
                "tags": [[t["Key"], t["Value"]] for t in tags],
                "sse": h.get("ServerSideEncryption", ""),
                "sse_kms_key_id": h.get("SSEKMSKeyId", ""),
                "etag": h["ETag"],
            }
            if outdir != "-":
                obj["file"] = os.path.join(outdir, str(len(out)))
                s3.download_file(bucket, key, obj["file"])
            out.append(obj)
    return out


def azure_client(container):
    from azure.storage.blob import ContainerClient

    return ContainerClient.from_connection_string(os.environ["AZURE_STORAGE_CONNECTION_STRING"], container)


def azure_objects(container, prefix, outdir):
    c = azure_client(container)
    out = []
    for b in c.list_blobs(name_starts_with=prefix):
        bc = c.get_blob_client(b.name)
        p = bc.get_blob_properties()
        obj = {
            "key": b.name,
            "size": p.size,
            "content_type": p.content_settings.content_type or "",
            "content_encoding": p.content_settings.content_encoding or "",
            "metadata": p.metadata or {},
            "tags": sorted([k, v] for k, v in bc.get_blob_tags().items()),
            "encryption_scope": p.encryption_scope or "",
            # committed blocks: 0 for a blob stored by one Put Blob
            "blocks": len(bc.get_block_list("committed")[0]),
            "etag": p.etag,
            "created": p.creation_time.isoformat() if p.creation_time else "",
        }
        if outdir != "-":
            obj["file"] = os.path.join(outdir, str(len(out)))
            with open(obj["file"], "wb") as f:
                bc.download_blob().readinto(f)
        out.append(obj)
    return out


def s3_bucket(endpoint, bucket):
    import boto3
    import botocore.exceptions

    try:
        boto3.client("s3", endpoint_url=endpoint).head_bucket(Bucket=bucket)
        return True
    except botocore.exceptions.ClientError as e:
        if e.response["Error"]["Code"] in ("404", "NoSuchBucket"):
            return False
        raise


def s3_uploads(endpoint, bucket, prefix):
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint)
    keys = []
    for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=bucket, Prefix=prefix):
        keys += [u["Key"] for u in page.get("Uploads", [])]
    return keys


def azure_container(container):
    return azure_client(container).exists()


cmd, args = sys.argv[1], sys.argv[2:]
result = {
    "s3": s3_objects,
    "azure": azure_objects,
    "s3-bucket": s3_bucket,
    "azure-container": azure_container,
    "s3-uploads": s3_uploads,
}[cmd](*args)
json.dump(result, sys.stdout)
