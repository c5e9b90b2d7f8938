// Package checkwalarchive is barman-cloud-check-wal-archive: it checks
// that a cloud location is safe to archive a new PostgreSQL cluster's WAL
// into, that is, that it holds no WAL of the server (or none from a given
// timeline on).
//
//	barman-cloud-check-wal-archive [OPTIONS] DESTINATION_URL SERVER_NAME
//
// It mirrors barman/clients/cloud_check_wal_archive.py (Barman 3.17) and
// barman/xlog.py check_archive_usable, except that a missing bucket fails
// the check instead of being created (see the tool's description).
package checkwalarchive

import (
	"github.com/urfave/cli/v2"

	"github.com/barmancloud/barman-cloud/shared/cloudcli"
	"github.com/barmancloud/barman-cloud/shared/exitcode"
	"github.com/barmancloud/barman-cloud/shared/storage"
)

// Tool is barman-cloud-check-wal-archive.
var Tool = &cloudcli.Tool{
	Name:  "check-wal-archive",
	Usage: "check that a cloud WAL archive location is safe to use for a new cluster",
	Args:  []cloudcli.Arg{{Name: "destination_url"}, {Name: "server_name"}},
	Description: `Checks that the WAL archive of SERVER_NAME in the bucket of DESTINATION_URL is empty, or with --timeline N holds no WAL file (segment, .partial, backup label or history file, under any compression suffix) of timeline N or later. Run it once before pointing a new PostgreSQL cluster's archive_command at a location, so that the new cluster cannot mix its WAL with another cluster's or overwrite it: a cluster restored from a backup and promoted to a new timeline passes --timeline with that new timeline.

` + cloudcli.URLHelp("DESTINATION_URL") + `

The storage is always contacted first: when it cannot be reached, the exit status is 2; with --test, the check stops there (exit status 0, even when the bucket does not exist). Then every object under SERVER_NAME/wals/ is listed; objects whose names are not WAL names, with or without one compression suffix, are ignored.

A missing bucket (or container, or directory) fails the check with exit status 1; it is never created. Barman 3.16.1 and later create it here, because CloudNativePG runs this check before a new cluster's first archive and Barman's archiver stopped creating buckets in 3.16.0. Every barman-cloud tool follows one rule instead: a bucket name with a typo must not silently start a new archive in a new bucket, created with the provider's default region, access and encryption settings, that no backup, retention policy or restore will ever look at. Create the bucket, with the settings it is meant to have, before pointing a cluster at it: the check then passes on the empty location. (Barman 3.4.0 to 3.16.0 let the check pass on a missing bucket, which only moved the failure to the first archive_command.)`,
	Command: func() cloudcli.Command {
		o := &Options{}
		return cloudcli.Command{
			Flags: []cli.Flag{&cloudcli.ValueFlag{StringFlag: cli.StringFlag{Name: "timeline", Usage: "the earliest `TIMELINE` whose WALs should cause the check to fail (a positive integer)"},
				Set: cloudcli.SetPositive(&o.Timeline)}},
			Run: func(r *cloudcli.Run) error { return run(r, o) },
		}
	},
	ExitStatus: []cloudcli.ExitStatus{
		{Code: exitcode.OK, Meaning: "the WAL archive is empty (or holds no WAL of the --timeline or later); with --test, the storage answered"},
		{Code: exitcode.Failure, Meaning: "the check failed: the archive holds WAL files, or the bucket does not exist"},
		cloudcli.NetworkExit,
		{Code: exitcode.Usage, Meaning: "invalid command line"},
		{Code: exitcode.General, Meaning: "any other error: invalid URL, missing or rejected credentials, other storage errors"},
	},
	Examples: []cloudcli.Example{
		{Comment: "before the first archive of a new cluster: the location must hold no WAL of server pg", Command: `barman-cloud-check-wal-archive s3://bucket/prefix pg && echo "safe to archive"`},
		{Comment: "a cluster restored from a backup and promoted to timeline 3 may share the archive of timelines 1 and 2", Command: `barman-cloud-check-wal-archive --timeline 3 s3://bucket/prefix pg`},
		{Comment: "an S3-compatible server (MinIO)", Command: `barman-cloud-check-wal-archive --endpoint-url http://127.0.0.1:9000 s3://bucket/prefix pg`},
		{Comment: "Azure Blob Storage with an account key", Command: `AZURE_STORAGE_KEY=... barman-cloud-check-wal-archive --cloud-provider azure-blob-storage https://acct.blob.core.windows.net/container/prefix pg`},
	},
}

// Options is a parsed command line.
type Options struct {
	URL      string
	Server   string
	Test     bool
	Timeline int64 // 0: none given
	Storage  storage.Options
}

func run(r *cloudcli.Run, o *Options) error {
	o.URL, o.Server, o.Test = r.Args[0], r.Args[1], r.Common.Test
	s, err := r.OpenStore(o.URL, o.Server, o.Storage)
	if err != nil {
		return err
	}
	defer s.Close()
	return Check(r.Ctx, r.Log, s, *o)
}
