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
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/barmancloud/barman-cloud/shared/cloudcli"
	"github.com/barmancloud/barman-cloud/shared/compress"
	"github.com/barmancloud/barman-cloud/shared/exitcode"
	"github.com/barmancloud/barman-cloud/shared/storage"
	"github.com/barmancloud/barman-cloud/shared/tags"
)

// Tool is barman-cloud-wal-archive.
var Tool = &cloudcli.Tool{
	Name:  "wal-archive",
	Usage: "archive a PostgreSQL WAL file in cloud storage",
	Args:  []cloudcli.Arg{{Name: "destination_url"}, {Name: "server_name"}, {Name: "wal_path", Optional: true}},
	Description: `Uploads the WAL file at WAL_PATH (PostgreSQL's %p) to the bucket of DESTINATION_URL, under SERVER_NAME/wals/ in Barman's layout, optionally compressed. Run it as PostgreSQL's archive_command, or as a Barman pre_archive_script or pre_archive_retry_script hook, where WAL_PATH comes from BARMAN_FILE.

` + cloudcli.URLHelp("DESTINATION_URL") + ` The bucket, container or directory must exist; it is never created.

Before uploading, the file is checked: a segment must have a valid segment size and a first page header for the timeline and WAL location its name says; a history or backup label file must be text. A mismatch is refused (exit status 1).

An archived WAL is never replaced by different bytes, and at most one content is ever reported archived under one WAL name, whatever the compressions. The object is uploaded as a conditional create of its key (the WAL's name with this run's compression suffix); then every suffix of the name is listed once. The exit status is 0 only if that listing shows no object with other content (objects written by Barman, which record no checksum, are downloaded and compared): the same content under other suffixes is no conflict, and those copies are left alone. An archiver that sees other content loses: it removes the object it has just stored, and only that version of it, and exits 1, as it does when its key already holds other content. When its key already holds this content (archived before, or by an earlier attempt), the same listing decides. Two archivers racing with different contents can therefore both exit 1, each having seen the other: PostgreSQL retries archive_command, and the first retry wins; the loser's retries keep failing, with a message naming the object in the way. An archiver killed between storing its object and removing it after losing leaves that object behind; it is never removed automatically (a later run cannot tell it from the copy another run reported archived) and makes every archiver of other content exit 1 until it is removed by hand. --overwrite restores Barman's behaviour of replacing the object blindly, without looking at other suffixes.

With --jobs N (N > 1) and WAL_PATH in PostgreSQL's pg_wal, the call makes sure a background uploader runs: a detached copy of the tool, one per pg_wal and destination, that keeps up to N segments PostgreSQL has marked ready (pg_wal/archive_status/*.ready, in the order PostgreSQL archives them) uploading at once, each exactly as above, and ends after 2 idle seconds (or 5 minutes: the next call starts another). Each one the storage confirmed is recorded in pg_wal/barman-cloud/archived/NAME (its SHA-256 and a digest of the destination, written atomically); when PostgreSQL asks for it, the tool re-reads the file and exits 0 at once if it still has that SHA-256, and archives it as above otherwise. A call whose segment is being uploaded waits for that upload (a lock per segment in pg_wal/barman-cloud/archived/.uploading/). A record is removed once PostgreSQL has archived or removed its segment. History, backup label and .partial files are archived only when PostgreSQL asks for them. PostgreSQL's archive_status files are never written. A kill at any moment loses nothing: at worst a segment is uploaded again, which finds its own content and exits 0. Each job compresses on one core.`,
	Command: func() cloudcli.Command {
		o := &Options{}
		return cloudcli.Command{Flags: o.flags(), Exclusive: o.exclusive, Run: func(r *cloudcli.Run) error { return run(r, o) }}
	},
	ExitStatus: []cloudcli.ExitStatus{
		{Code: exitcode.OK, Meaning: "the WAL file is archived (or was already archived with identical content); with --test, the storage answered and the bucket exists"},
		{Code: exitcode.Failure, Meaning: "the bucket does not exist; the WAL file is not the WAL its name says; the WAL is already archived with different content"},
		cloudcli.NetworkExit,
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
		{Comment: "postgresql.conf of a busy primary: up to 4 segments uploaded at once", Command: `archive_command = 'barman-cloud-wal-archive --jobs 4 --zstd s3://bucket/prefix pg %p'`},
		{Comment: "a local directory, to try it out", Command: `barman-cloud-wal-archive --lz4 file:///var/tmp/wal-archive pg pg_wal/000000010000000000000001`},
	},
}

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
	// Jobs is --jobs: how many WAL segments one call may upload at once
	// (see parallel.go); 1 is Barman's one file per call.
	Jobs    int
	Storage storage.Options

	// compressions are the values of --gzip, --bzip2, … in compress.All's
	// order; exclusive holds the option groups that exclude each other.
	compressions []bool
	exclusive    [][]string
}

// flags are the tool's options, storing into o.
func (o *Options) flags() []cli.Flag {
	var flags []cli.Flag
	o.compressions = make([]bool, len(compress.All))
	var names []string
	for i, a := range compress.All {
		f := &cli.BoolFlag{Name: a.Name, Usage: a.Name + "-compress the WAL while uploading to the cloud", Destination: &o.compressions[i]}
		if short := shortCompressionFlags[a.Name]; short != "" {
			f.Aliases = []string{short}
		}
		flags = append(flags, f)
		names = append(names, a.Name)
	}
	o.exclusive = [][]string{names}
	flags = append(flags,
		&cloudcli.ValueFlag{StringFlag: cli.StringFlag{Name: "compression-level", Usage: "the compression `LEVEL`: low, medium or high, or a number, clamped to the chosen algorithm's range (default: medium)"},
			Set: func(v string) error {
				l, err := compress.ParseLevel(v)
				o.Level = l
				return err
			}})
	for _, g := range []cloudcli.Group{
		cloudcli.TagFlags(&o.Tags, "tags", "tag", "archived WAL files", ""),
		cloudcli.TagFlags(&o.HistoryTags, "history-tags", "history-tag", "archived history files", ", instead of the WAL tags"),
	} {
		flags = append(flags, g.Flags...)
		o.exclusive = append(o.exclusive, g.Exclusive...)
	}
	o.Jobs = 1
	flags = append(flags, &cloudcli.ValueFlag{StringFlag: cli.StringFlag{Name: "jobs", Aliases: []string{"J"},
		Usage: "upload up to `NUMBER` WAL segments at once: the one PostgreSQL asks for and the next ones it has marked ready, recorded in pg_wal/barman-cloud/archived until PostgreSQL asks for them (default: 1, one file per call as in Barman)"},
		Set: func(v string) error {
			var n int64
			err := cloudcli.SetPositive(&n)(v)
			if err == nil && n > maxJobs {
				err = fmt.Errorf("at most %d jobs", maxJobs)
			}
			if err == nil {
				o.Jobs = int(n)
			}
			return err
		}})
	flags = append(flags, &cli.BoolFlag{Name: "overwrite", Destination: &o.Overwrite, Usage: "replace an archived WAL even when its content differs, as Barman does; this can destroy the only copy of a WAL another server archived under the same name"})
	enc := cloudcli.EncryptionFlags(&o.Storage)
	// Barman's order: S3 options, then Azure's, then GCS's.
	flags = append(flags, enc.Flags[:3]...)
	flags = append(flags,
		&cloudcli.ValueFlag{StringFlag: cli.StringFlag{Name: "max-block-size", Usage: "the chunk `SIZE` to use when uploading an object (default: 4MB)", Category: cloudcli.CategoryAzure},
			Set: cloudcli.SetSize(&o.Storage.MaxBlockSize)},
		&cloudcli.ValueFlag{StringFlag: cli.StringFlag{Name: "max-concurrency", Usage: "the maximum `NUMBER` of chunks to upload at once (default: 1)", Category: cloudcli.CategoryAzure},
			Set: func(v string) error {
				var n int64
				err := cloudcli.SetPositive(&n)(v)
				o.Storage.MaxConcurrency = int(n)
				return err
			}},
		&cloudcli.ValueFlag{StringFlag: cli.StringFlag{Name: "max-single-put-size", Usage: "the maximum `SIZE` of an object uploaded in one request (default: 64MB); accepted for compatibility: objects larger than --max-block-size go up in blocks", Category: cloudcli.CategoryAzure},
			Set: cloudcli.SetSize(&o.Storage.MaxSinglePutSize)},
	)
	flags = append(flags, enc.Flags[3:]...)
	return flags
}

// maxJobs bounds --jobs: each job holds a part buffer and a connection,
// and PostgreSQL rarely has more segments ready than this at once.
const maxJobs = 64

// shortCompressionFlags are Barman's one-letter compression options.
var shortCompressionFlags = map[string]string{"gzip": "z", "bzip2": "j"}

func run(r *cloudcli.Run, o *Options) error {
	o.URL, o.Server, o.WALPath, o.Test = r.Args[0], r.Args[1], r.Args[2], r.Common.Test
	for i, on := range o.compressions {
		if on {
			o.Compression = compress.All[i]
		}
	}
	if err := resolveWALPath(r, o); err != nil {
		return err
	}
	return Archive(r, *o)
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
