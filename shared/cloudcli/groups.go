package cloudcli

import (
	"github.com/urfave/cli/v2"

	"github.com/barmancloud/barman-cloud/shared/storage"
	"github.com/barmancloud/barman-cloud/shared/tags"
)

// TagFlags are Barman's two spellings of one set of object tags: the
// repeatable "--tag KEY,VALUE" (singular) and the deprecated "--tags
// KEY,VALUE ..." (plural, argparse nargs="*"), which Barman parses
// differently (check_tag's rules for the first, a bare CSV record for the
// second) and which exclude each other. what says which objects get them
// ("archived WAL files"), note adds to it (", instead of the WAL tags").
func TagFlags(dst *tags.List, plural, singular, what, note string) Group {
	return Group{
		Flags: []cli.Flag{
			NewNargsFlag(plural, "tags to be added to "+what+" in cloud storage"+note+", as `KEY,VALUE ...` (deprecated: use --"+singular+")", "",
				func() { *dst = nil },
				func(v string) error {
					t, err := tags.ParseCSV(v)
					if err != nil {
						// Barman logs this one without the argument's name.
						return UsageError("%v", err)
					}
					*dst = append(*dst, t)
					return nil
				}),
			NewListFlag(singular, "a tag to add to "+what+" in cloud storage"+note+", as `KEY,VALUE`; may be repeated", "",
				func(v string) error {
					t, err := tags.Parse(v)
					if err == nil {
						*dst = append(*dst, t)
					}
					return err
				}),
		},
		Exclusive: [][]string{{plural, singular}},
	}
}

// Encryption choices of -e/--encryption.
var EncryptionChoices = []string{"AES256", "aws:kms"}

// EncryptionFlags are the server-side encryption options of every
// provider, stored in dst: S3's -e/--encryption and --sse-kms-key-id,
// Azure's --encryption-scope, GCS's --kms-key-name.
func EncryptionFlags(dst *storage.Options) Group {
	return Group{Flags: []cli.Flag{
		&ValueFlag{StringFlag: cli.StringFlag{Name: "encryption", Aliases: []string{"e"}, Usage: "the encryption algorithm used when storing the uploaded data in S3", Category: CategoryS3},
			Choices: EncryptionChoices, Set: SetString(&dst.Encryption)},
		&ValueFlag{StringFlag: cli.StringFlag{Name: "sse-kms-key-id", Usage: "the AWS KMS `KEY_ID` (or ARN) for server-side encryption; requires --encryption aws:kms", Category: CategoryS3},
			Set: SetString(&dst.SSEKMSKeyID)},
		&ValueFlag{StringFlag: cli.StringFlag{Name: "encryption-scope", Usage: "the `NAME` of an encryption scope defined in the Azure Blob Storage service", Category: CategoryAzure},
			Set: SetString(&dst.EncryptionScope)},
		&ValueFlag{StringFlag: cli.StringFlag{Name: "kms-key-name", Usage: "the `NAME` of the Cloud KMS key that encrypts the uploaded data", Category: CategoryGCS},
			Set: SetString(&dst.KMSKeyName)},
	}}
}

// Postgres is how to reach PostgreSQL, as Barman's -h/-p/-U/-d.
type Postgres struct {
	Host, Port, User string
	DBName           string
	DBNameGiven      bool // -d was given (even empty: then it is the whole conninfo)
}

// PostgresFlags are the PostgreSQL connection options of the backup tool,
// stored in dst. -h is --host here, not help, as in Barman.
func PostgresFlags(dst *Postgres) Group {
	return Group{Flags: []cli.Flag{
		&ValueFlag{StringFlag: cli.StringFlag{Name: "host", Aliases: []string{"h"}, Usage: "host or Unix socket for PostgreSQL connection (default: libpq settings)"},
			Set: SetString(&dst.Host)},
		&ValueFlag{StringFlag: cli.StringFlag{Name: "port", Aliases: []string{"p"}, Usage: "port for PostgreSQL connection (default: libpq settings)"},
			Set: SetString(&dst.Port)},
		&ValueFlag{StringFlag: cli.StringFlag{Name: "user", Aliases: []string{"U"}, Usage: "user name for PostgreSQL connection (default: libpq settings)"},
			Set: SetString(&dst.User)},
		&ValueFlag{StringFlag: cli.StringFlag{Name: "dbname", Aliases: []string{"d"}, Usage: "database name or conninfo string for Postgres connection (default: postgres)"},
			Set: func(v string) error { dst.DBName, dst.DBNameGiven = v, true; return nil }},
	}}
}

// FormatFlags is --format of the listing tools, stored in dst: "console"
// (the default) or "json". Barman does not check the value: anything but
// "console" prints JSON, and so it does here.
func FormatFlags(dst *string) Group {
	*dst = "console"
	return Group{Flags: []cli.Flag{
		&ValueFlag{StringFlag: cli.StringFlag{Name: "format", Usage: "output `FORMAT`: console or json", DefaultText: "console"},
			Set: SetString(dst)},
	}}
}
