// Package walarchive is barman-cloud-wal-archive: it stores one WAL file
// (a segment, .partial, .backup label or .history file) in a cloud bucket
// under Barman's layout, as PostgreSQL's archive_command or as a Barman
// pre-archive hook script.
//
//	barman-cloud-wal-archive [OPTIONS] DESTINATION_URL SERVER_NAME [WAL_PATH]
//
// It mirrors barman/clients/cloud_walarchive.py (Barman 3.17) and adds
// what Barman lacks: it checks the file is the WAL its name says, and it
// never replaces an archived WAL with different bytes.
package walarchive

import (
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/barmancloud/barman-cloud/shared/argval"
	"github.com/barmancloud/barman-cloud/shared/cloudcli"
	"github.com/barmancloud/barman-cloud/shared/compress"
	"github.com/barmancloud/barman-cloud/shared/exitcode"
	"github.com/barmancloud/barman-cloud/shared/storage"
	"github.com/barmancloud/barman-cloud/shared/tags"
)

// Tool is barman-cloud-wal-archive.
var Tool = &cloudcli.Tool{
	Name:      "wal-archive",
	Usage:     "archive a PostgreSQL WAL file in cloud storage",
	ArgsUsage: "DESTINATION_URL SERVER_NAME [WAL_PATH]",
	Description: `Uploads the WAL file at WAL_PATH (PostgreSQL's %p) to the bucket of DESTINATION_URL, under SERVER_NAME/wals/ in Barman's layout, optionally compressed. Run it as PostgreSQL's archive_command, or as a Barman pre_archive_script or pre_archive_retry_script hook, where WAL_PATH comes from BARMAN_FILE.

DESTINATION_URL is s3://BUCKET/PREFIX (aws-s3), https://ACCOUNT.blob.core.windows.net/CONTAINER/PREFIX (azure-blob-storage; an emulator URL http://HOST:PORT/ACCOUNT/CONTAINER/PREFIX needs AZURE_STORAGE_CONNECTION_STRING), gs://BUCKET/PREFIX (google-cloud-storage), or file:///DIRECTORY for a local directory. The bucket, container or directory must exist; it is never created.

Before uploading, the file is checked: a segment must have a valid segment size and a first page header for the timeline and WAL location its name says; a history or backup label file must be text. A mismatch is refused (exit status 1).

An archived WAL is never replaced by different bytes, and at most one content is ever reported archived under one WAL name, whatever the compressions. The object is uploaded as a conditional create of its key (the WAL's name with this run's compression suffix); then every suffix of the name is listed once. The exit status is 0 only if that listing shows no object with other content (objects written by Barman, which record no checksum, are downloaded and compared): the same content under other suffixes is no conflict, and those copies are left alone. An archiver that sees other content loses: it removes the object it has just stored, and only that version of it, and exits 1, as it does when its key already holds other content. When its key already holds this content (archived before, or by an earlier attempt), the same listing decides. Two archivers racing with different contents can therefore both exit 1, each having seen the other: PostgreSQL retries archive_command, and the first retry wins; the loser's retries keep failing, with a message naming the object in the way. An archiver killed between storing its object and removing it after losing leaves that object behind; it is never removed automatically (a later run cannot tell it from the copy another run reported archived) and makes every archiver of other content exit 1 until it is removed by hand. --overwrite restores Barman's behaviour of replacing the object blindly, without looking at other suffixes.`,
	Flags: flags,
	Exclusive: [][]string{
		{"gzip", "bzip2", "xz", "snappy", "zstd", "lz4"},
		{"tags", "tag"},
		{"history-tags", "history-tag"},
	},
	ExitStatus: []cloudcli.ExitStatus{
		{Code: exitcode.OK, Meaning: "the WAL file is archived (or was already archived with identical content); with --test, the storage answered and the bucket exists"},
		{Code: exitcode.Failure, Meaning: "the bucket does not exist; the WAL file is not the WAL its name says; the WAL is already archived with different content"},
		{Code: exitcode.Network, Meaning: "the storage could not be reached, or kept failing, through every retry: connection refused or reset, DNS or TLS failure, no progress for --read-timeout, throttling or server errors (429, 5xx); or --max-time ran out"},
		{Code: exitcode.Usage, Meaning: "invalid command line or hook-script environment, or an invalid WAL file name"},
		{Code: exitcode.General, Meaning: "any other error: invalid URL, missing or rejected credentials, unreadable WAL file, other storage errors"},
	},
	Environment: []cloudcli.EnvVar{
		{Name: "BARMAN_HOOK, BARMAN_PHASE, BARMAN_FILE", Meaning: "when BARMAN_HOOK is archive_script or archive_retry_script and BARMAN_PHASE is pre, the file to archive is BARMAN_FILE and WAL_PATH may be omitted"},
	},
	Examples: []cloudcli.Example{
		{Comment: "postgresql.conf: archive to S3, gzip-compressed", Command: `archive_command = 'barman-cloud-wal-archive --gzip s3://bucket/prefix pg %p'`},
		{Comment: "an S3-compatible server (MinIO) with path-style addressing", Command: `barman-cloud-wal-archive --endpoint-url http://127.0.0.1:9000 --zstd s3://bucket/pg-archive pg pg_wal/000000010000000000000001`},
		{Comment: "Azure Blob Storage with an account key, tagged", Command: `AZURE_STORAGE_KEY=... barman-cloud-wal-archive --cloud-provider azure-blob-storage --tag env,prod https://acct.blob.core.windows.net/container/prefix pg %p`},
		{Comment: "a local directory, to try it out", Command: `barman-cloud-wal-archive --lz4 file:///var/tmp/wal-archive pg pg_wal/000000010000000000000001`},
	},
	Run: run,
}

func flags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "gzip", Aliases: []string{"z"}, Usage: "gzip-compress the WAL while uploading to the cloud"},
		&cli.BoolFlag{Name: "bzip2", Aliases: []string{"j"}, Usage: "bzip2-compress the WAL while uploading to the cloud"},
		&cli.BoolFlag{Name: "xz", Usage: "xz-compress the WAL while uploading to the cloud"},
		&cli.BoolFlag{Name: "snappy", Usage: "snappy-compress the WAL while uploading to the cloud"},
		&cli.BoolFlag{Name: "zstd", Usage: "zstd-compress the WAL while uploading to the cloud"},
		&cli.BoolFlag{Name: "lz4", Usage: "lz4-compress the WAL while uploading to the cloud"},
		&cli.StringFlag{Name: "compression-level", Usage: "the compression `LEVEL`: low, medium or high, or a number, clamped to the chosen algorithm's range (default: medium)"},
		cloudcli.NewNargsFlag("tags", "tags to be added to archived WAL files in cloud storage, as `KEY,VALUE ...` (deprecated: use --tag)", ""),
		cloudcli.NewListFlag("tag", "a tag to add to archived WAL files in cloud storage, as `KEY,VALUE`; may be repeated", ""),
		cloudcli.NewNargsFlag("history-tags", "tags to be added to archived history files in cloud storage, instead of the WAL tags, as `KEY,VALUE ...` (deprecated: use --history-tag)", ""),
		cloudcli.NewListFlag("history-tag", "a tag to add to archived history files instead of the WAL tags, as `KEY,VALUE`; may be repeated", ""),
		&cli.BoolFlag{Name: "overwrite", Usage: "replace an archived WAL even when its content differs, as Barman does; this can destroy the only copy of a WAL another server archived under the same name"},
		&cli.StringFlag{Name: "encryption", Aliases: []string{"e"}, Usage: "the encryption algorithm used when storing the uploaded data in S3: `{AES256,aws:kms}`", Category: cloudcli.CategoryS3},
		&cli.StringFlag{Name: "sse-kms-key-id", Usage: "the AWS KMS `KEY_ID` (or ARN) for server-side encryption; requires --encryption aws:kms", Category: cloudcli.CategoryS3},
		&cli.StringFlag{Name: "encryption-scope", Usage: "the `NAME` of an encryption scope defined in the Azure Blob Storage service", Category: cloudcli.CategoryAzure},
		&cli.StringFlag{Name: "max-block-size", Usage: "the chunk `SIZE` to use when uploading an object (default: 4MB)", Category: cloudcli.CategoryAzure},
		&cli.StringFlag{Name: "max-concurrency", Usage: "the maximum `NUMBER` of chunks to upload at once (default: 1)", Category: cloudcli.CategoryAzure},
		&cli.StringFlag{Name: "max-single-put-size", Usage: "the maximum `SIZE` of an object uploaded in one request (default: 64MB); accepted for compatibility: objects larger than --max-block-size go up in blocks", Category: cloudcli.CategoryAzure},
		&cli.StringFlag{Name: "kms-key-name", Usage: "the `NAME` of the Cloud KMS key that encrypts the uploaded data", Category: cloudcli.CategoryGCS},
	}
}

// Choices of this tool's options with fixed values.
var encryptionChoices = []string{"AES256", "aws:kms"}

// Options is a parsed command line.
type Options struct {
	URL         string
	Server      string
	WALPath     string // "" only with Test
	Test        bool
	Compression *compress.Algorithm // nil: none
	Level       compress.Level
	Tags        tags.List
	HistoryTags tags.List
	Overwrite   bool
	Storage     storage.Options
}

func run(r *cloudcli.Run) error {
	o, err := parse(r)
	if err != nil {
		return err
	}
	return Archive(r.Ctx, r.Log, o, func() (*storage.Store, error) {
		return r.OpenStore(o.URL, o.Storage)
	})
}

func parse(r *cloudcli.Run) (Options, error) {
	o := Options{Test: r.Common.Test, Overwrite: r.Bool("overwrite")}
	for _, a := range compress.All {
		if r.Bool(a.Name) {
			o.Compression = a
		}
	}
	if r.IsSet("compression-level") {
		l, err := compress.ParseLevel(r.String("compression-level"))
		if err != nil {
			return o, r.ArgError("compression-level", err)
		}
		o.Level = l
	}
	var err error
	if o.Tags, err = parseTags(r, "tag", "tags"); err != nil {
		return o, err
	}
	if o.HistoryTags, err = parseTags(r, "history-tag", "history-tags"); err != nil {
		return o, err
	}
	if err := r.CheckChoice("encryption", encryptionChoices); err != nil {
		return o, err
	}
	o.Storage = storage.Options{
		Encryption:      r.String("encryption"),
		SSEKMSKeyID:     r.String("sse-kms-key-id"),
		EncryptionScope: r.String("encryption-scope"),
		KMSKeyName:      r.String("kms-key-name"),
	}
	for _, s := range []struct {
		name string
		dst  *int64
	}{{"max-block-size", &o.Storage.MaxBlockSize}, {"max-single-put-size", &o.Storage.MaxSinglePutSize}} {
		if r.IsSet(s.name) {
			n, err := argval.Size(r.String(s.name))
			if err != nil {
				return o, r.ArgError(s.name, err)
			}
			*s.dst = n
		}
	}
	if r.IsSet("max-concurrency") {
		n, err := argval.Positive(r.String("max-concurrency"))
		if err != nil {
			return o, r.ArgError("max-concurrency", err)
		}
		o.Storage.MaxConcurrency = int(n)
	}
	// argparse converts option values as it meets them and checks the
	// positionals last: "--tags a,b URL SRV WAL" fails on the tag "URL".
	required := []string{"destination_url", "server_name"}
	switch {
	case len(r.Args) < len(required):
		return o, cloudcli.UsageError("the following arguments are required: %s", strings.Join(required[len(r.Args):], ", "))
	case len(r.Args) > 3:
		return o, cloudcli.UsageError("unrecognized arguments: %s", strings.Join(r.Args[3:], " "))
	}
	o.URL, o.Server = r.Args[0], r.Args[1]
	if len(r.Args) == 3 {
		o.WALPath = r.Args[2]
	}
	return o, resolveWALPath(r, &o)
}

// parseTags reads the new repeatable form (name) or else the deprecated
// nargs form (old), which Barman parses differently.
func parseTags(r *cloudcli.Run, name, old string) (tags.List, error) {
	var l tags.List
	for _, v := range r.Strings(name) {
		t, err := tags.Parse(v)
		if err != nil {
			return nil, r.ArgError(name, err)
		}
		l = append(l, t)
	}
	if len(l) > 0 {
		return l, nil
	}
	for _, v := range r.Strings(old) {
		t, err := tags.ParseCSV(v)
		if err != nil {
			// Barman logs this one without the argument's name, exit 3.
			return nil, cloudcli.UsageError("%v", err)
		}
		l = append(l, t)
	}
	return l, nil
}

// resolveWALPath applies Barman's hook-script mode: with both BARMAN_HOOK
// and BARMAN_PHASE in the environment, the tool must be running as a
// pre_archive_script or pre_archive_retry_script, and archives BARMAN_FILE.
// Barman raises uncaught exceptions (exit 1 with a traceback) for these
// errors and for a missing WAL_PATH; they are usage errors here.
func resolveWALPath(r *cloudcli.Run, o *Options) error {
	hook, hasHook := r.LookupEnv("BARMAN_HOOK")
	phase, hasPhase := r.LookupEnv("BARMAN_PHASE")
	if hasHook && hasPhase {
		if (hook != "archive_script" && hook != "archive_retry_script") || phase != "pre" {
			return cloudcli.UsageError("%s called as unsupported hook script: %s_%s", r.Prog, phase, hook)
		}
		file, ok := r.LookupEnv("BARMAN_FILE")
		if !ok {
			return cloudcli.UsageError("Expected environment variable BARMAN_FILE not set")
		}
		if file == "" {
			// "" means "no WAL path" below; Barman rejects the empty name.
			return cloudcli.UsageError("environment variable BARMAN_FILE is empty: no WAL file to archive")
		}
		o.WALPath = file
		return nil
	}
	if o.WALPath == "" && !o.Test {
		return cloudcli.UsageError("the following arguments are required: wal_path")
	}
	return nil
}
