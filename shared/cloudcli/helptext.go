package cloudcli

import "github.com/barmancloud/barman-cloud/shared/exitcode"

// Help fragments every tool's description and exit statuses share, so
// that one wording is kept in one place.

// URLHelp is the paragraph of a tool's description that says what the
// storage URL argument arg (its metavar, "SOURCE_URL") may be.
func URLHelp(arg string) string {
	return arg + " is s3://BUCKET/PREFIX (aws-s3), https://ACCOUNT.blob.core.windows.net/CONTAINER/PREFIX (azure-blob-storage; an emulator URL http://HOST:PORT/ACCOUNT/CONTAINER/PREFIX needs AZURE_STORAGE_CONNECTION_STRING), gs://BUCKET/PREFIX (google-cloud-storage), or file:///DIRECTORY for a local directory."
}

// NetworkExit documents exit status 2, which every tool gives when the
// storage cannot be reached.
var NetworkExit = ExitStatus{Code: exitcode.Network, Meaning: "the storage could not be reached, or kept failing, through every retry: connection refused or reset, DNS or TLS failure, no progress for --read-timeout, throttling or server errors (429, 5xx); or --max-time ran out"}
