// Package backup is barman-cloud-backup: it takes a base backup of a
// running PostgreSQL server and streams it to a cloud bucket as Barman's
// tar archives (PGDATA and each tablespace, optionally compressed, split at
// --max-archive-size), then writes its backup.info, so that Barman's
// barman-cloud-backup-list, -show, -restore and -delete, and ours, find it.
//
//	barman-cloud-backup [OPTIONS] DESTINATION_URL SERVER_NAME
//
// It mirrors barman/clients/cloud_backup.py and barman/cloud.py
// (CloudBackupUploader, CloudUploadController; Barman 3.17). Run from a
// Barman server's backup_script or backup_retry_script hook, it uploads
// the backup Barman has just taken instead (CloudBackupUploaderBarman).
//
// Archives go from the file system through the tar writer, the compressor
// and the bandwidth limit straight into the storage's multipart uploads:
// no temporary files, and memory bounded by the -J+1 part buffers of the
// one archive being written (see storage.WriteOptions.MaxSize for why the
// parts start at the provider's smallest and grow).
//
// This package is part of the barman-cloud command and has no compatibility
// promise as a library.
package backup

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/barmancloud/barman-cloud/shared/backupinfo"
	"github.com/barmancloud/barman-cloud/shared/catalog"
	"github.com/barmancloud/barman-cloud/shared/cloudcli"
	"github.com/barmancloud/barman-cloud/shared/compress"
	"github.com/barmancloud/barman-cloud/shared/exitcode"
	"github.com/barmancloud/barman-cloud/shared/storage"
	"github.com/barmancloud/barman-cloud/shared/tags"
)

// Tool is barman-cloud-backup.
var Tool = &cloudcli.Tool{
	Name:  "backup",
	Usage: "take a base backup of a PostgreSQL server into cloud storage",
	Args:  []cloudcli.Arg{{Name: "destination_url"}, {Name: "server_name"}},
	Description: `Takes a base backup of the running PostgreSQL server that -h/-p/-U/-d reach (9.6 or later) and stores it in the bucket of DESTINATION_URL under SERVER_NAME/base/ID/, in Barman's layout: one tar archive of the data directory (data.tar), one per tablespace (OID.tar), each optionally compressed (-z/--gzip, -j/--bzip2, --snappy) and split into continuations (data_0001.tar, ...) past --max-archive-size, then backup.info, written last. The backup ID is the local time at the start (20240501T120000). Barman's barman-cloud-backup-list, -show, -restore and -delete read the backup, as do ours.

` + cloudcli.URLHelp("DESTINATION_URL") + ` The bucket, container or directory must exist; it is never created.

The backup uses PostgreSQL's non-exclusive backup API over one session, from pg_backup_start to pg_backup_stop, which waits until the WAL the backup needs is archived: archive_command must be working (barman-cloud-wal-archive to the same DESTINATION_URL and SERVER_NAME). The user needs Barman's backup privileges (superuser, or pg_monitor or pg_read_all_settings and pg_read_all_stats, with EXECUTE on the backup functions, pg_switch_wal and pg_create_restore_point). Configuration files kept outside the data directory are stored at the root of data.tar; files they include from outside it are not, with a warning. A restore point barman_ID is created after the backup.

The archives are streamed from the disk straight into the storage: no temporary files are written, and memory stays within -J+1 upload parts of the archive being sent, whatever the size of the cluster. Parts start at the provider's smallest useful size (5 MiB on aws-s3, 4 MiB on azure-blob-storage, 8 MiB on google-cloud-storage) or --min-chunk-size, and double per group of parts only for archives so large that the provider's part limit requires it; Barman sizes every part for the largest archive --max-archive-size allows (20.5 MiB on aws-s3 at 100GB).

A backup.info with status DONE is written only once every archive is stored whole. A failure once the backup has started (PostgreSQL, the storage, a file that cannot be read, or SIGINT/SIGTERM) aborts the uploads in progress, writes a backup.info with status FAILED and the error, and exits with status 1; PostgreSQL ends its backup with the session. --max-time running out during the backup fails it the same way. Unlike Barman, a backup never replaces another: when SERVER_NAME/base/ID/ already holds objects (two backups in the same second), the backup waits for the next second and takes that ID; and archives and backup.info are created only where no object exists.

--backup-info-format 3.4 writes backup.info with the fields of Barman 3.4.0, without the ones added since (cluster_size, data_checksums, summarize_wal, parent_backup_id, children_backup_ids, encryption), so that Debian's barman-cli-cloud 3.4 can list, show and restore the backup; newer Barmans and our tools read both formats.

Snapshot backups (--snapshot-instance, --snapshot-disk and the --gcp-*, --azure-* and --aws-* options that go with them) are recognised and refused: this barman-cloud-backup stores backups in object storage only.

Run as a Barman backup_script or backup_retry_script hook (post phase), it uploads the backup Barman has just taken, from BARMAN_BACKUP_DIR, with its backup.info as it is, instead of contacting PostgreSQL.`,
	Command: func() cloudcli.Command {
		o := newOptions()
		return cloudcli.Command{Flags: o.flags(), Exclusive: o.exclusive, Run: func(r *cloudcli.Run) error { return run(r, o) }}
	},
	ExitStatus: []cloudcli.ExitStatus{
		{Code: exitcode.OK, Meaning: "the backup is stored and its backup.info says DONE; with --test, the storage answered and the bucket exists"},
		{Code: exitcode.Failure, Meaning: "PostgreSQL cannot be reached or refused the connection; the backup failed once started (it has a backup.info with status FAILED, unless writing that failed too), or was interrupted by SIGINT or SIGTERM; the bucket does not exist; in hook mode, the upload failed"},
		cloudcli.NetworkExit,
		{Code: exitcode.Usage, Meaning: "invalid command line, including snapshot backup options"},
		{Code: exitcode.General, Meaning: "before the backup starts: more than 10 tags or a tag key twice, PostgreSQL older than 9.6, an unparsable connection string, invalid URL, missing or rejected credentials, other storage errors; in hook mode, an unsupported hook or a missing environment variable"},
		{Code: 63, Meaning: "in hook mode, the Barman backup does not have status DONE (BARMAN_STATUS)"},
	},
	Environment: []cloudcli.EnvVar{
		{Name: "PGHOST, PGPORT, PGUSER, PGPASSWORD, PGPASSFILE, PGSERVICE, PGSSLMODE, ...", Meaning: "libpq's connection settings, for what -h/-p/-U/-d leave unset (PGDATABASE is shadowed by -d's default, postgres)"},
		{Name: "BARMAN_HOOK, BARMAN_PHASE", Meaning: "when both are set, the tool runs as a Barman hook script: BARMAN_HOOK must be backup_script or backup_retry_script and BARMAN_PHASE post"},
		{Name: "BARMAN_BACKUP_DIR, BARMAN_BACKUP_ID, BARMAN_STATUS, BARMAN_BACKUP_INFO_PATH", Meaning: "in hook mode, the Barman backup to upload: its directory, its ID, its status (must be DONE) and its backup.info (default: BARMAN_BACKUP_DIR/backup.info, as Barman before 3.13.3 had it)"},
	},
	Examples: []cloudcli.Example{
		{Comment: "a gzip-compressed backup of the local server to S3, as user postgres", Command: `barman-cloud-backup -z -U postgres s3://bucket/prefix pg`},
		{Comment: "an S3-compatible server (MinIO), 4 uploads at once, named", Command: `barman-cloud-backup --endpoint-url http://127.0.0.1:9000 -J 4 -n nightly -h /var/run/postgresql s3://bucket/prefix pg`},
		{Comment: "Azure Blob Storage, archives of at most 10 GB, at most 50 MB/s", Command: `AZURE_STORAGE_KEY=... barman-cloud-backup --cloud-provider azure-blob-storage -S 10GB --max-bandwidth 50MB https://acct.blob.core.windows.net/container/prefix pg`},
		{Comment: "a backup Debian's barman-cli-cloud 3.4 can list and restore", Command: `barman-cloud-backup --backup-info-format 3.4 -d 'host=db1 user=backup' gs://bucket/prefix pg`},
	},
}

// Defaults of Barman's options.
const (
	defaultJobs           = 2
	defaultMaxArchiveSize = 100 << 30 // "100GB", check_size's binary units
)

// infoFormats are the values of --backup-info-format.
var infoFormats = map[string]backupinfo.FieldSet{"3.17": backupinfo.Fields317, "3.4": backupinfo.Fields34}

// options is a parsed command line.
type options struct {
	compression    *compress.Algorithm // nil: plain tar
	pg             cloudcli.Postgres
	name           string // -n; "" when not given (an empty -n is refused)
	jobs           int64
	maxArchiveSize int64
	immediate      bool
	minChunkSize   int64 // 0: none
	maxBandwidth   int64 // bytes per second; 0: no limit
	tags           tags.List
	storage        storage.Options
	infoFormat     backupinfo.FieldSet

	compressions []bool // -z, -j, --snappy, in backupCompressions' order
	exclusive    [][]string
}

func newOptions() *options {
	return &options{jobs: defaultJobs, maxArchiveSize: defaultMaxArchiveSize, infoFormat: backupinfo.Fields317}
}

// backupCompressions are Barman's three, with their short options.
var backupCompressions = []struct {
	alg   *compress.Algorithm
	short string
}{{compress.Gzip, "z"}, {compress.Bzip2, "j"}, {compress.Snappy, ""}}

// snapshotOptions are Barman's snapshot backup options (§4.11), by help
// category: recognised, so that a command line meant for Barman gets a
// clear refusal rather than "unrecognized arguments", and refused.
var snapshotOptions = []struct {
	name, category string
}{
	{"snapshot-instance", ""},
	{"snapshot-disk", ""},
	{"snapshot-zone", ""},
	{"snapshot-gcp-project", cloudcli.CategoryGCS},
	{"gcp-project", cloudcli.CategoryGCS},
	{"gcp-zone", cloudcli.CategoryGCS},
	{"aws-region", cloudcli.CategoryS3},
	{"aws-await-snapshots-timeout", cloudcli.CategoryS3},
	{"aws-snapshot-lock-mode", cloudcli.CategoryS3},
	{"aws-snapshot-lock-cool-off-period", cloudcli.CategoryS3},
	{"aws-snapshot-lock-expiration-date", cloudcli.CategoryS3},
	{"aws-snapshot-lock-duration", cloudcli.CategoryS3},
	{"azure-subscription-id", cloudcli.CategoryAzure},
	{"azure-resource-group", cloudcli.CategoryAzure},
}

// errSnapshot is the refusal of every snapshot option.
var errSnapshot = fmt.Errorf("snapshot backups are not supported by this barman-cloud-backup, which stores backups in object storage only")

// flags are the tool's options in Barman's order, storing into o.
func (o *options) flags() []cli.Flag {
	var flags []cli.Flag
	o.compressions = make([]bool, len(backupCompressions))
	var names []string
	for i, c := range backupCompressions {
		f := &cli.BoolFlag{Name: c.alg.Name, Usage: c.alg.Name + "-compress the backup while uploading to the cloud", Destination: &o.compressions[i]}
		if c.short != "" {
			f.Aliases = []string{c.short}
		}
		flags = append(flags, f)
		names = append(names, c.alg.Name)
	}
	o.exclusive = [][]string{names}
	pgFlags := cloudcli.PostgresFlags(&o.pg)
	flags = append(flags, pgFlags.Flags[:3]...) // -h, -p, -U
	flags = append(flags,
		&cli.BoolFlag{Name: "immediate-checkpoint", Destination: &o.immediate, Usage: "forces the initial checkpoint to be done as quickly as possible"},
		&cloudcli.ValueFlag{StringFlag: cli.StringFlag{Name: "jobs", Aliases: []string{"J"}, Usage: "number of parts uploaded to cloud storage at once (default: 2)"},
			Set: cloudcli.SetPositive(&o.jobs)},
		&cloudcli.ValueFlag{StringFlag: cli.StringFlag{Name: "max-archive-size", Aliases: []string{"S"}, Usage: "maximum `SIZE` of an archive when uploading to cloud storage (default: 100GB); at most 1 TiB"},
			Set: cloudcli.SetSize(&o.maxArchiveSize)},
		&cloudcli.ValueFlag{StringFlag: cli.StringFlag{Name: "min-chunk-size", Usage: "minimum `SIZE` of an individual part when uploading to cloud storage (default: 5MB for aws-s3, 4MB for azure-blob-storage, 8MB for google-cloud-storage)"},
			Set: cloudcli.SetSize(&o.minChunkSize)},
		&cloudcli.ValueFlag{StringFlag: cli.StringFlag{Name: "max-bandwidth", Usage: "the maximum amount of data, as a `SIZE` per second, uploaded during the backup (default: no limit)"},
			Set: cloudcli.SetSize(&o.maxBandwidth)},
	)
	flags = append(flags, pgFlags.Flags[3]) // -d
	flags = append(flags,
		&cloudcli.ValueFlag{StringFlag: cli.StringFlag{Name: "name", Aliases: []string{"n"}, Usage: "a `NAME` which can be used to reference this backup in commands such as barman-cloud-restore and barman-cloud-backup-delete"},
			Set: func(v string) error {
				if err := catalog.CheckName(v); err != nil {
					return err
				}
				o.name = v
				return nil
			}},
		&cloudcli.ValueFlag{StringFlag: cli.StringFlag{Name: "backup-info-format", Usage: "the Barman `VERSION` whose backup.info fields are written: 3.17 (all of today's fields, the default) or 3.4 (those Debian's barman-cli-cloud 3.4 reads)", DefaultText: "3.17"},
			Choices: []string{"3.17", "3.4"},
			Set:     func(v string) error { o.infoFormat = infoFormats[v]; return nil }},
	)
	tagFlags := cloudcli.TagFlags(&o.tags, "tags", "tag", "all uploaded files", "")
	enc := cloudcli.EncryptionFlags(&o.storage)
	flags = append(flags, snapshotFlags("")...)
	flags = append(flags, snapshotFlags(cloudcli.CategoryGCS)...)
	flags = append(flags, enc.Flags[3]) // --kms-key-name
	flags = append(flags, tagFlags.Flags...)
	o.exclusive = append(o.exclusive, tagFlags.Exclusive...)
	flags = append(flags, enc.Flags[:2]...) // -e, --sse-kms-key-id
	flags = append(flags, snapshotFlags(cloudcli.CategoryS3)...)
	flags = append(flags, enc.Flags[2]) // --encryption-scope
	flags = append(flags, snapshotFlags(cloudcli.CategoryAzure)...)
	return flags
}

// snapshotFlags are the snapshot options of one help category.
func snapshotFlags(category string) []cli.Flag {
	var flags []cli.Flag
	for _, s := range snapshotOptions {
		if s.category != category {
			continue
		}
		flags = append(flags, &cloudcli.ValueFlag{
			StringFlag: cli.StringFlag{Name: s.name, Category: category, Usage: "snapshot backups only: refused, not supported by this tool"},
			Set:        func(string) error { return errSnapshot },
		})
	}
	return flags
}

// compressionChosen is the algorithm of -z, -j or --snappy, nil for none.
func (o *options) compressionChosen() *compress.Algorithm {
	for i, on := range o.compressions {
		if on {
			return backupCompressions[i].alg
		}
	}
	return nil
}

// gcPercent is the garbage collector's target (GOGC) for a backup: the
// heap may grow by a tenth over what is live before a collection, where
// Go's default lets it double. What is live is mostly the part buffers,
// which hold no pointers and cost a collection nothing to scan, while the
// default would let the garbage of the upload requests grow the process
// by as much again as the buffers.
const gcPercent = 10

// maxTags is the most tags an object may carry on S3, which Barman checks
// for every provider.
const maxTags = 10

// checkTags is the tag check of cloud_backup.py _validate_config (Barman
// 3.15): at most ten tags, each key once. Barman raises ValueError, which
// its catch-all reports with exit status 4.
func checkTags(l tags.List) error {
	if len(l) > maxTags {
		return exitcode.Generalf("Barman cloud backup exception: Maximum number of tags per object exceeded. S3 allows no more than 10 tags per object.")
	}
	seen := map[string]bool{}
	for _, t := range l {
		if seen[t.Key] {
			return exitcode.Generalf("Barman cloud backup exception: Duplicate tag keys found: %s. Tag keys must be unique.", t.Key)
		}
		seen[t.Key] = true
	}
	return nil
}

// run is the tool: the checks of _validate_config, the store, then a
// backup of a live server or, as a hook script, the upload of Barman's.
func run(r *cloudcli.Run, o *options) error {
	if _, set := r.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
	o.compression = o.compressionChosen()
	if err := checkTags(o.tags); err != nil {
		return err
	}
	err := r.WithStore(r.Args[0], r.Args[1], o.storage, func(s *storage.Store) error {
		hook, err := hookEnv(r, o)
		if err != nil {
			return err
		}
		if hook != nil {
			return uploadHookBackup(r, o, s, hook)
		}
		return backupServer(r, o, s)
	})
	if err != nil && !exitcode.IsReported(err) && errors.Is(r.Ctx.Err(), context.Canceled) {
		// SIGINT or SIGTERM before the backup started: Barman's
		// KeyboardInterrupt handler, exit 1 (cloudcli adds the signal).
		return &exitcode.Error{Code: exitcode.Failure, Err: errors.New("Barman cloud backup was interrupted by the user")}
	}
	return err
}

// firstLine is the first non-blank line of an error message, as Barman
// puts it in backup.info's error field and its ERROR line
// (handle_backup_errors).
func firstLine(msg string) string {
	for _, l := range strings.Split(strings.TrimSpace(msg), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}
