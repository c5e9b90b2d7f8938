package cloudcli

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/barmancloud/barman-cloud/shared/argval"
	"github.com/barmancloud/barman-cloud/shared/retry"
)

const (
	helpName    = "help"
	versionName = "version"
)

// Help categories, as Barman's option groups.
const (
	CategoryS3    = "Extra options for the aws-s3 cloud provider"
	CategoryAzure = "Extra options for the azure-blob-storage cloud provider"
	CategoryGCS   = "Extra options for google-cloud-storage cloud provider"
)

// Cloud providers, as --cloud-provider names them.
const (
	ProviderS3    = "aws-s3"
	ProviderAzure = "azure-blob-storage"
	ProviderGCS   = "google-cloud-storage"
)

// Providers lists the values --cloud-provider accepts.
var Providers = []string{ProviderS3, ProviderAzure, ProviderGCS}

// AzureCredentials lists the values --azure-credential accepts.
var AzureCredentials = []string{"azure-cli", "managed-identity", "default"}

// Common is the options every barman-cloud tool has (cloud_cli.py
// create_argument_parser).
type Common struct {
	Verbosity       int  // number of -v minus number of -q
	Test            bool // -t/--test: check connectivity and exit
	CloudProvider   string
	EndpointURL     string
	AWSProfile      string
	ReadTimeout     time.Duration // 0: storage.DefaultReadTimeout
	MaxTime         time.Duration // 0: no limit
	AzureCredential string
}

func helpFlag() cli.Flag {
	return &cli.BoolFlag{Name: helpName, Usage: "show this help message and exit"}
}

func versionFlag() cli.Flag {
	return &cli.BoolFlag{Name: versionName, Aliases: []string{"V"}, Usage: "show program's version number and exit"}
}

// commonFlags are the options of every tool, in Barman's order, for help
// and documentation.
func commonFlags() []cli.Flag { return (&Common{}).flags() }

// flags are the options of every tool, storing into c.
func (c *Common) flags() []cli.Flag {
	c.CloudProvider = ProviderS3
	return []cli.Flag{
		versionFlag(),
		helpFlag(),
		&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Count: new(int), Usage: "increase output verbosity (e.g., -vv is more than -v)"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Count: new(int), Usage: "decrease output verbosity (e.g., -qq is less than -q)"},
		&cli.BoolFlag{Name: "test", Aliases: []string{"t"}, Destination: &c.Test, Usage: "test cloud connectivity and exit"},
		&ValueFlag{StringFlag: cli.StringFlag{Name: "cloud-provider", Usage: "the cloud provider to which the backup should be uploaded", DefaultText: ProviderS3},
			Choices: Providers, Set: SetString(&c.CloudProvider)},
		// Barman has --read-timeout for S3 only; here it is every
		// provider's, so it moved out of the S3 group.
		&ValueFlag{StringFlag: cli.StringFlag{Name: "read-timeout", Usage: "the time in `SECONDS` a connection may go without sending or receiving anything before its request is abandoned and retried (defaults to 60 seconds); with every cloud provider, where Barman's applies to aws-s3 only. A slow transfer that keeps moving is never cut short"},
			Set: setSeconds(&c.ReadTimeout)},
		// Not --timeout: an option named so would make check-wal-archive's
		// "--time" (argparse's unique prefix of --timeline) ambiguous.
		&ValueFlag{StringFlag: cli.StringFlag{Name: "max-time", Usage: "the most time in `SECONDS` the whole operation may take, retries included; when it runs out, the operation stops, leaving nothing partial, with exit status 2. Default: no limit, so that no healthy transfer is ever aborted, however large the segment and slow the link; a storage that stops answering is given up on anyway, after --read-timeout without progress and at most " + strconv.Itoa(retry.DefaultTries) + " attempts (AWS_MAX_ATTEMPTS on aws-s3). Set it to bound how long archive_command or restore_command may take"},
			Set: setSeconds(&c.MaxTime)},
		&ValueFlag{StringFlag: cli.StringFlag{Name: "endpoint-url", Usage: "override default S3 endpoint URL with the given one", Category: CategoryS3},
			Set: SetString(&c.EndpointURL)},
		&ValueFlag{StringFlag: cli.StringFlag{Name: "aws-profile", Aliases: []string{"P", "profile"}, Usage: "profile name (e.g. INI section in AWS credentials file); --profile is a deprecated alias", Category: CategoryS3},
			Set: SetString(&c.AWSProfile)},
		&ValueFlag{StringFlag: cli.StringFlag{Name: "azure-credential", Aliases: []string{"credential", "default"}, Usage: "optionally specify the type of credential to use when authenticating with Azure; if omitted then Azure Blob Storage credentials will be obtained from the environment and the default Azure authentication flow will be used for authenticating with all other Azure services", Category: CategoryAzure},
			Choices: AzureCredentials, Set: SetString(&c.AzureCredential)},
	}
}

// setSeconds stores a duration given in whole seconds. Barman's parser
// accepts any int, then the provider library fails on a negative or zero
// timeout; it is refused here instead.
func setSeconds(dst *time.Duration) func(string) error {
	return func(v string) error {
		n, err := argval.Int(v)
		if err != nil {
			return err
		}
		if n < 1 {
			return fmt.Errorf("'%s' is not a valid positive integer", v)
		}
		*dst = time.Duration(math.MaxInt64) // "for ever", not a wrapped product
		if n <= math.MaxInt64/int64(time.Second) {
			*dst = time.Duration(n) * time.Second
		}
		return nil
	}
}
