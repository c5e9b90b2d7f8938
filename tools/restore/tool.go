// Package restore is barman-cloud-restore: it downloads a base backup that
// barman-cloud-backup stored in a cloud bucket and extracts it into a new
// data directory and tablespace directories, ready for PostgreSQL to
// recover from with barman-cloud-wal-restore as its restore_command.
//
//	barman-cloud-restore [OPTIONS] SOURCE_URL SERVER_NAME BACKUP_ID RECOVERY_DIR
//
// It mirrors barman/clients/cloud_restore.py (Barman 3.17) for backups
// stored as tar archives, with its options, messages and exit statuses,
// and restores backups written by Barman 3.4 to 3.17 and by our
// barman-cloud-backup. Snapshot backups are not supported.
//
// This package is part of the barman-cloud command and has no compatibility
// promise as a library.
package restore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/barmancloud/barman-cloud/shared/argval"
	"github.com/barmancloud/barman-cloud/shared/catalog"
	"github.com/barmancloud/barman-cloud/shared/cloudcli"
	"github.com/barmancloud/barman-cloud/shared/exitcode"
	"github.com/barmancloud/barman-cloud/shared/storage"
)

// Tool is barman-cloud-restore.
var Tool = &cloudcli.Tool{
	Name:  "restore",
	Usage: "restore a base backup from cloud storage",
	Args:  []cloudcli.Arg{{Name: "source_url"}, {Name: "server_name"}, {Name: "backup_id"}, {Name: "recovery_dir"}},
	Description: `Downloads the base backup BACKUP_ID of server SERVER_NAME, made by barman-cloud-backup (Barman's or ours), from SOURCE_URL and extracts it into RECOVERY_DIR, the data directory of the PostgreSQL server to recover, and each tablespace into its directory.

` + cloudcli.URLHelp("SOURCE_URL") + `

BACKUP_ID is a backup ID (20240101T000000), a backup name given with barman-cloud-backup -n, one of latest (or last), oldest (or first) and last-failed, or auto: the newest DONE backup, or with --target-tli, --target-lsn or --target-time the newest DONE backup on that timeline that ended at or before that point. Only a DONE backup is restored.

RECOVERY_DIR and each tablespace directory (the location the tablespace had, or the one --tablespace gives it) must be empty or absent; they are created if needed. The archives are downloaded and extracted in turn, streaming, with no temporary files: the download of the archives runs ahead of their decompression, which runs ahead of the file writes, in about 13 MiB of buffers; a transfer that is cut is resumed where it stopped. Every archive is read to its end, so that a truncated or corrupt archive (its gzip or bzip2 checksums included) fails the restore. Members whose names or link targets would leave their directory are refused. Modes and modification times are restored, and owners when running as root. Then RECOVERY_DIR/pg_tblspc/OID links each tablespace to its directory, and an empty pg_wal (pg_xlog before PostgreSQL 10) is created if the backup has none. A restore that fails leaves what it extracted, as Barman's does, and says nothing of success: empty the directories before trying again.

What is left to do before starting PostgreSQL, as with Barman: set restore_command = 'barman-cloud-wal-restore [OPTIONS] SOURCE_URL SERVER_NAME %f %p' (with the storage options used here) and any recovery target (recovery_target_time, recovery_target_lsn, recovery_target_timeline) in postgresql.conf, and create RECOVERY_DIR/recovery.signal (standby.signal for a standby; recovery.conf before PostgreSQL 12); move the configuration files that were outside the data directory when the backup was taken (postgresql.conf, pg_hba.conf, pg_ident.conf of Debian's layout), which are restored at the root of RECOVERY_DIR, and restore by hand the included files that were outside it. The WAL directory is empty: every WAL file comes through restore_command. With -v, barman-cloud-restore says this at the end of a restore, with the restore_command to use.

Unlike Barman: --tablespace rules are checked before the storage is touched; a backup that is not DONE (or that auto would have picked although FAILED) is refused; member paths are checked; a rule for a tablespace the backup does not have is warned about. The snapshot recovery options (--snapshot-recovery-instance, --snapshot-recovery-zone, --gcp-zone, --aws-region, --azure-resource-group) are refused with exit status 3, and a snapshot backup with exit status 4: only backups stored as archives are restored.`,
	Command: func() cloudcli.Command {
		o := &options{}
		c := cloudcli.Command{
			Flags: []cli.Flag{
				cloudcli.NewListFlag("tablespace", "tablespace relocation rule, as `NAME:LOCATION`; may be repeated", "",
					func(v string) error { o.tablespaces = append(o.tablespaces, v); return nil }),
				&cloudcli.ValueFlag{StringFlag: cli.StringFlag{Name: "target-tli", Usage: "with BACKUP_ID auto: the backup must be on this `TIMELINE`: a positive number, or latest (that of the newest WAL file archived)"},
					Set: setTLI(&o.targets.TLI)},
				&cloudcli.ValueFlag{StringFlag: cli.StringFlag{Name: "target-lsn", Usage: "with BACKUP_ID auto: the backup must have ended at or before this `LSN` (Log Sequence Number)"},
					Set: cloudcli.SetString(&o.targets.LSN)},
				&cloudcli.ValueFlag{StringFlag: cli.StringFlag{Name: "target-time", Usage: "with BACKUP_ID auto: the backup must have ended at or before this `TIME`, e.g. \"YYYY-MM-DD HH:MM:SS.mmm\", with an optional UTC offset (else local time)"},
					Set: cloudcli.SetString(&o.targets.Time)},
				refused("snapshot-recovery-instance", ""),
				refused("snapshot-recovery-zone", ""),
				refused("aws-region", cloudcli.CategoryS3),
				refused("gcp-zone", cloudcli.CategoryGCS),
				refused("azure-resource-group", cloudcli.CategoryAzure),
			},
			Exclusive: [][]string{{"target-lsn", "target-time"}},
			Run:       func(r *cloudcli.Run) error { return run(r, o) },
		}
		return c
	},
	ExitStatus: []cloudcli.ExitStatus{
		{Code: exitcode.OK, Meaning: "the backup is restored, every archive read to its end and checked; with --test, the storage answered and the bucket exists"},
		{Code: exitcode.Failure, Meaning: "RECOVERY_DIR or a tablespace directory exists and is not empty; the backup does not exist, is not DONE, or misses an archive; auto found no candidate; interrupted by SIGINT or SIGTERM; the bucket does not exist"},
		cloudcli.NetworkExit,
		{Code: exitcode.Usage, Meaning: "invalid command line: an invalid --tablespace rule, a snapshot recovery option"},
		{Code: exitcode.General, Meaning: "any other error: no backup has that name, or several do; a corrupt or truncated archive (\"not a gzip file\", a tar stream cut short), a member outside its directory (\"../x\", an absolute path), each naming the archive and the member; a destination that is not a directory; a snapshot backup; an invalid --target-time or --target-lsn; a local file error; invalid URL, missing or rejected credentials, other storage errors"},
	},
	Examples: []cloudcli.Example{
		{Comment: "restore the newest backup of server pg into a new data directory", Command: `barman-cloud-restore s3://bucket/prefix pg latest /var/lib/postgresql/15/main`},
		{Comment: "the newest DONE backup that ended before a point in time, with tablespace tbs1 moved", Command: `barman-cloud-restore --target-time "2024-05-01 12:00:00+00" --tablespace tbs1:/srv/tbs1 s3://bucket/prefix pg auto /srv/pgdata`},
		{Comment: "then, before starting PostgreSQL", Command: `echo "restore_command = 'barman-cloud-wal-restore s3://bucket/prefix pg %f %p'" >> /srv/pgdata/postgresql.auto.conf && touch /srv/pgdata/recovery.signal`},
		{Comment: "an S3-compatible server (MinIO), a named backup, verbose", Command: `barman-cloud-restore -v --endpoint-url http://127.0.0.1:9000 s3://bucket/prefix pg nightly /srv/pgdata`},
	},
}

// options is a parsed command line.
type options struct {
	tablespaces []string
	targets     Targets
}

// setTLI is check_tli: "current", "latest" or a positive integer.
func setTLI(dst *string) func(string) error {
	return func(v string) error {
		if v != "current" && v != "latest" {
			n, err := argval.Positive(v)
			if err != nil {
				return err
			}
			v = fmt.Sprint(n)
		}
		*dst = v
		return nil
	}
}

// errSnapshot is the refusal of a snapshot recovery option.
var errSnapshot = errors.New("snapshot recovery is not supported: barman-cloud-restore restores backups stored as archives only")

// refused is a snapshot recovery option: recognised, as Barman has it,
// and refused.
func refused(name, category string) cli.Flag {
	return &cloudcli.ValueFlag{StringFlag: cli.StringFlag{Name: name, Category: category,
		Usage: "snapshot recovery (not supported: refused)"},
		Set: func(string) error { return errSnapshot }}
}

func run(r *cloudcli.Run, o *options) error {
	url, server, backupID, dest := r.Args[0], r.Args[1], r.Args[2], r.Args[3]
	relocate, err := parseRules(o.tablespaces)
	if err != nil {
		return err
	}
	err = r.WithStore(url, server, storage.Options{}, func(s *storage.Store) error {
		rs := &restorer{r: r, store: s, cat: catalog.New(s, server), o: o, dest: dest, relocate: relocate,
			restoreCommand: restoreCommand(r.Common, url, server)}
		return rs.restore(backupID)
	})
	if err != nil && errors.Is(r.Ctx.Err(), context.Canceled) {
		// SIGINT or SIGTERM: Barman's KeyboardInterrupt, exit status 1.
		return exitcode.Wrap(exitcode.Failure, fmt.Errorf("Barman cloud restore was interrupted by the user: %w", err))
	}
	return err
}

// restoreCommand is the restore_command that fetches this backup's WAL
// files: barman-cloud-wal-restore with the storage options of this run.
func restoreCommand(c cloudcli.Common, url, server string) string {
	args := []string{"barman-cloud-wal-restore"}
	if c.CloudProvider != "" && c.CloudProvider != cloudcli.ProviderS3 {
		args = append(args, "--cloud-provider", c.CloudProvider)
	}
	if c.EndpointURL != "" {
		args = append(args, "--endpoint-url", c.EndpointURL)
	}
	if c.AWSProfile != "" {
		args = append(args, "--aws-profile", c.AWSProfile)
	}
	if c.AzureCredential != "" {
		args = append(args, "--azure-credential", c.AzureCredential)
	}
	return strings.Join(append(args, url, server, "%f", "%p"), " ")
}

type restorer struct {
	r              *cloudcli.Run
	store          *storage.Store
	cat            *catalog.Catalog
	o              *options
	dest           string
	relocate       map[string]string
	restoreCommand string
}

// restore is cloud_restore.py main after the connectivity test, then
// CloudBackupDownloaderObjectStore.download_backup.
func (rs *restorer) restore(arg string) error {
	ctx, log, server := rs.r.Ctx, rs.r.Log, rs.cat.Server
	start := time.Now()
	var (
		id  string
		err error
	)
	if arg == "auto" {
		id, err = chooseAuto(ctx, rs.cat, rs.o.targets)
		if errors.Is(err, errNoCandidate) {
			return exitcode.Wrap(exitcode.Failure, err)
		}
	} else {
		id, err = rs.cat.Resolve(ctx, arg)
	}
	if err != nil {
		return err
	}
	log.Info().Msgf("Restoring from backup_id: %s", id)
	info, err := rs.cat.Read(ctx, id)
	switch {
	case errors.Is(err, catalog.ErrNoBackup):
		return exitcode.Failuref("Backup %s for server %s does not exists", id, server) // sic, Barman's words
	case err != nil:
		return fmt.Errorf("reading the backup.info of %s: %w", id, err)
	}
	if len(info.Unknown) > 0 {
		log.Debug().Msgf("backup.info of %s: ignored fields %v (written by a newer Barman?)", id, info.Unknown)
	}
	if info.SnapshotsInfo != nil {
		return exitcode.Generalf("Backup %s is a snapshot backup: %v", id, errSnapshot)
	}
	if s, _ := info.Status.Get(); !s.CopyDone() {
		reason := ""
		if e, ok := info.Error.Get(); ok && e != "" {
			reason = " (" + e + ")"
		}
		return exitcode.Failuref("Backup %s for server %s has status %s%s: only a DONE backup can be restored", id, server, s, reason)
	}
	if err := checkEmpty(rs.dest); err != nil {
		return err
	}
	fams, warnings, err := rs.cat.Archives(ctx, id, info, false)
	for _, w := range warnings {
		log.Warn().Msg(w)
	}
	if err != nil {
		if errors.As(err, new(*catalog.MissingArchiveError)) {
			return exitcode.Wrap(exitcode.Failure, err)
		}
		return err
	}
	targets, warnings, err := plan(rs.dest, fams, rs.relocate)
	for _, w := range warnings {
		log.Warn().Msg(w)
	}
	if err != nil {
		return err
	}
	for _, t := range targets {
		if t.fam.Tablespace != nil {
			log.Debug().Msgf("Tablespace %s (oid=%d) will be located at %s", t.fam.Tablespace.Name, t.fam.Tablespace.OID, t.dir)
		}
	}
	created, err := mkdirs(targets)
	if err != nil {
		return err
	}
	js := jobs(targets)
	n, err := extractAll(ctx, rs.store, js, log)
	if err != nil {
		return err
	}
	if err := finish(rs.dest, targets, created, info); err != nil {
		return err
	}
	elapsed := time.Since(start)
	log.Info().Msgf("Restored backup %s of server %s into %s: %d archives, %s downloaded in %s (%.1f MB/s)",
		id, server, rs.dest, len(js), mib(n), elapsed.Round(time.Millisecond), float64(n)/1e6/elapsed.Seconds())
	nextSteps(log, rs.dest, info, rs.restoreCommand, rs.o.targets)
	return nil
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
