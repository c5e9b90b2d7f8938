package main

import "github.com/barmancloud/barman-cloud/shared/cloudcli"

// providerEnv is one provider's environment variables, as the man pages'
// ENVIRONMENT section lists them. What the SDKs read is far more; these
// are the ones an operator sets for barman-cloud (shared/storage/doc.go
// explains the order in which credentials are tried).
type providerEnv struct {
	title string
	vars  []cloudcli.EnvVar
}

var providerEnvs = []providerEnv{
	{"aws-s3 (the AWS SDK's default configuration and credential chain)", []cloudcli.EnvVar{
		{Name: "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN", Meaning: "static credentials; they come first in the credential chain"},
		{Name: "AWS_PROFILE", Meaning: "the profile of the shared configuration and credentials files when -P/--aws-profile is not given"},
		{Name: "AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE", Meaning: "where the shared configuration and credentials files are (default: ~/.aws/config and ~/.aws/credentials)"},
		{Name: "AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE", Meaning: "a role to assume with a web identity token (for example on Kubernetes)"},
		{Name: "AWS_REGION, AWS_DEFAULT_REGION", Meaning: "the region; without one, the profile's, else us-east-1"},
		{Name: "AWS_CA_BUNDLE", Meaning: "a PEM file of certificate authorities to trust, for an endpoint with a private certificate"},
		{Name: "AWS_REQUEST_CHECKSUM_CALCULATION", Meaning: "when_required for S3-compatible servers that reject the flexible checksum headers"},
		{Name: "AWS_EC2_METADATA_DISABLED", Meaning: "true to skip the instance metadata service when looking for credentials"},
	}},
	{"azure-blob-storage (tried in this order unless --azure-credential is given)", []cloudcli.EnvVar{
		{Name: "AZURE_STORAGE_CONNECTION_STRING", Meaning: "a storage account connection string; required for an emulator URL (http://HOST:PORT/ACCOUNT/CONTAINER/PREFIX)"},
		{Name: "AZURE_STORAGE_SAS_TOKEN", Meaning: "a shared access signature for the account of the URL"},
		{Name: "AZURE_STORAGE_KEY", Meaning: "the shared key of the account of the URL"},
		{Name: "AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH, AZURE_FEDERATED_TOKEN_FILE", Meaning: "a service principal or workload identity for the default Azure credential chain, which is used when none of the above is set"},
	}},
	{"google-cloud-storage", []cloudcli.EnvVar{
		{Name: "GOOGLE_APPLICATION_CREDENTIALS", Meaning: "a service account key file for Application Default Credentials"},
		{Name: "STORAGE_EMULATOR_HOST", Meaning: "HOST:PORT of a Cloud Storage emulator, which is then used without authentication"},
	}},
	{"all providers", []cloudcli.EnvVar{
		{Name: "HTTPS_PROXY, HTTP_PROXY, NO_PROXY", Meaning: "the proxy for requests to the storage, and the hosts reached without it"},
	}},
}
