package cloudcli

import (
	"fmt"
	"math"
	"strconv"
	"strings"
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

// Choices returns the allowed values of a common option with a fixed set
// of values, as its definition lists them.
func Choices(name string) []string {
	for _, f := range commonFlags() {
		if o := DescribeFlag(f); o.Name == name {
			return o.Choices
		}
	}
	return nil
}

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

// commonFlags are the options of every tool, in Barman's order.
func commonFlags() []cli.Flag {
	return []cli.Flag{
		versionFlag(),
		helpFlag(),
		&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Count: new(int), Usage: "increase output verbosity (e.g., -vv is more than -v)"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Count: new(int), Usage: "decrease output verbosity (e.g., -qq is less than -q)"},
		&cli.BoolFlag{Name: "test", Aliases: []string{"t"}, Usage: "test cloud connectivity and exit"},
		&cli.StringFlag{Name: "cloud-provider", Usage: "the cloud provider to which the backup should be uploaded: `{aws-s3,azure-blob-storage,google-cloud-storage}`", DefaultText: ProviderS3},
		// Barman has --read-timeout for S3 only; here it is every
		// provider's, so it moved out of the S3 group.
		&cli.StringFlag{Name: "read-timeout", Usage: "the time in `SECONDS` a connection may go without sending or receiving anything before its request is abandoned and retried (defaults to 60 seconds); with every cloud provider, where Barman's applies to aws-s3 only. A slow transfer that keeps moving is never cut short"},
		// Not --timeout: an option named so would make check-wal-archive's
		// "--time" (argparse's unique prefix of --timeline) ambiguous.
		&cli.StringFlag{Name: "max-time", Usage: "the most time in `SECONDS` the whole operation may take, retries included; when it runs out, the operation stops, leaving nothing partial, with exit status 2. Default: no limit, so that no healthy transfer is ever aborted, however large the segment and slow the link; a storage that stops answering is given up on anyway, after --read-timeout without progress and at most " + strconv.Itoa(retry.DefaultTries) + " attempts (AWS_MAX_ATTEMPTS on aws-s3). Set it to bound how long archive_command or restore_command may take"},
		&cli.StringFlag{Name: "endpoint-url", Usage: "override default S3 endpoint URL with the given one", Category: CategoryS3},
		&cli.StringFlag{Name: "aws-profile", Aliases: []string{"P", "profile"}, Usage: "profile name (e.g. INI section in AWS credentials file); --profile is a deprecated alias", Category: CategoryS3},
		&cli.StringFlag{Name: "azure-credential", Aliases: []string{"credential", "default"}, Usage: "optionally specify the type of credential to use when authenticating with Azure: `{azure-cli,managed-identity,default}`; if omitted then Azure Blob Storage credentials will be obtained from the environment and the default Azure authentication flow will be used for authenticating with all other Azure services", Category: CategoryAzure},
	}
}

func parseCommon(r *Run) (Common, error) {
	c := Common{
		Verbosity:       r.c.Count("verbose") - r.c.Count("quiet"),
		Test:            r.c.Bool("test"),
		CloudProvider:   ProviderS3,
		EndpointURL:     r.c.String("endpoint-url"),
		AWSProfile:      r.c.String("aws-profile"),
		AzureCredential: r.c.String("azure-credential"),
	}
	if r.c.IsSet("cloud-provider") {
		c.CloudProvider = r.c.String("cloud-provider")
	}
	// Every option whose placeholder lists its choices, the tool's too: the
	// help shows exactly what is accepted.
	for _, s := range r.specs.all {
		if len(s.choices) > 0 && r.c.IsSet(s.name) && !contains(s.choices, r.c.String(s.name)) {
			return c, r.ArgError(s.name, invalidChoice(r.c.String(s.name), s.choices))
		}
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"read-timeout", &c.ReadTimeout}, {"max-time", &c.MaxTime}} {
		if !r.c.IsSet(d.name) {
			continue
		}
		n, err := argval.Int(r.c.String(d.name))
		if err != nil {
			return c, r.ArgError(d.name, err)
		}
		// Barman's parser accepts any int, then the provider library fails
		// on a negative or zero timeout; refuse it here instead.
		if n < 1 {
			return c, r.ArgError(d.name, fmt.Errorf("'%s' is not a valid positive integer", r.c.String(d.name)))
		}
		*d.dst = time.Duration(math.MaxInt64) // "for ever", not a wrapped product
		if n <= math.MaxInt64/int64(time.Second) {
			*d.dst = time.Duration(n) * time.Second
		}
	}
	return c, nil
}

// InvalidChoice is argparse's error for a value outside a set of choices.
func invalidChoice(v string, choices []string) error {
	q := make([]string, len(choices))
	for i, c := range choices {
		q[i] = "'" + c + "'"
	}
	return fmt.Errorf("invalid choice: '%s' (choose from %s)", v, strings.Join(q, ", "))
}

// CheckChoice validates the value of a tool's option with fixed choices.
func (r *Run) CheckChoice(name string, choices []string) error {
	if r.IsSet(name) && !contains(choices, r.String(name)) {
		return r.ArgError(name, invalidChoice(r.String(name), choices))
	}
	return nil
}
