// Package backupdelete is barman-cloud-backup-delete: it deletes base
// backups from cloud storage, one by its identifier (-b) or the obsolete
// ones of a retention policy (-r), and the WALs they alone needed.
//
//	barman-cloud-backup-delete [OPTIONS] SOURCE_URL SERVER_NAME
//
// It mirrors barman/clients/cloud_backup_delete.py (Barman 3.17). The
// decisions are shared/retention's (PlanDeletion, pure); this package reads
// the catalog and the WAL listing, prints or logs the plan and carries it
// out. Deliberate differences from Barman are listed in the tool's
// description (and shared/retention's documentation).
//
// This package is part of the barman-cloud command and has no compatibility
// promise as a library.
package backupdelete

import (
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/barmancloud/barman-cloud/shared/argval"
	"github.com/barmancloud/barman-cloud/shared/cloudcli"
	"github.com/barmancloud/barman-cloud/shared/exitcode"
	"github.com/barmancloud/barman-cloud/shared/retention"
	"github.com/barmancloud/barman-cloud/shared/storage"
)

// Tool is barman-cloud-backup-delete.
var Tool = &cloudcli.Tool{
	Name:  "backup-delete",
	Usage: "delete backups stored in cloud storage, and the WALs no longer needed",
	Args:  []cloudcli.Arg{{Name: "source_url"}, {Name: "server_name"}},
	Description: `Deletes base backups of SERVER_NAME stored under SOURCE_URL: the one named by -b, or every backup that the retention policy of -r calls OBSOLETE, oldest first; after each, the WAL files that no remaining backup needs, with Barman's rules (keep annotations set by barman-cloud-backup-keep are honoured). With --dry-run nothing is deleted and every deletion is printed instead, one line per list of objects, as Barman prints them; a real run makes the same decisions and logs the same lists at INFO (-v).

` + cloudcli.URLHelp("SOURCE_URL") + `

-b takes a backup ID (20240101T000000), a backup name given with barman-cloud-backup -n, or one of latest (or last), oldest (or first) and last-failed. -r takes "REDUNDANCY n" or "RECOVERY WINDOW OF n DAYS|WEEKS|MONTHS" (a month is 31 days).

Nothing is deleted when a backup.info of the catalog cannot be read, when -b names a backup with a keep annotation, or when the deletion would leave fewer backups than --minimum-redundancy.

Order of deletion, for each backup: a copy of its backup.info is written as BASE/ID/backup.info.deleting (the deletion marker), then backup.info is deleted, so that no tool lists the backup any more; then its archives; then the WALs (whole WAL directories, on aws-s3, as Barman 3.17 does, and WALs one by one, several requests at a time); then the marker. A run that fails stops at once, says what it deleted, and exits with status 1; running it again finishes the job: a backup whose backup.info is gone but whose marker remains is deleted first, with its WALs, whatever the command asks. Barman deletes backup.info last instead, which leaves a listed backup without its archives when it fails in the middle, and does not see our markers.

Unlike Barman: a WAL that a remaining backup needs to reach consistency (begin_wal to end_wal) or a history file is never deleted (Barman's rules can, when backup IDs are out of WAL order, e.g. after a clock change); the WAL clean-up is skipped, with a warning, where Barman crashes (a backup without a begin_wal); X and X.gz are both deleted; -b also refuses to leave fewer DONE backups than --minimum-redundancy; --batch-size applies to whole-directory deletions too, and a directory's objects are those this run listed at its start (Barman lists it again, and would also delete what was stored there since); a failed WAL deletion stops the run with status 1 (Barman logs it and exits 0); an empty or unreadable keep annotation counts as keep:full. With --check-object-lock, the archives are checked before backup.info is deleted, in a dry run too. Snapshot backups are not deleted (refused, exit status 1).`,
	Command: func() cloudcli.Command {
		o := &options{}
		c := cloudcli.Command{Run: func(r *cloudcli.Run) error { return run(r, o) }}
		c.Flags = []cli.Flag{
			&cloudcli.ValueFlag{StringFlag: cli.StringFlag{Name: "backup-id", Aliases: []string{"b"}, Usage: "the `BACKUP_ID` of the backup to delete: an ID, a name, or latest, last, oldest, first, last-failed"},
				Set: func(v string) error { o.backupID, o.backupGiven = v, true; return nil }},
			&cloudcli.ValueFlag{StringFlag: cli.StringFlag{Name: "retention-policy", Aliases: []string{"r"}, Usage: "`POLICY` whose obsolete backups are deleted: \"REDUNDANCY n\" or \"RECOVERY WINDOW OF n DAYS|WEEKS|MONTHS\""},
				Set: func(v string) error { o.policy, o.policyGiven = v, true; return nil }},
			&cloudcli.ValueFlag{StringFlag: cli.StringFlag{Name: "minimum-redundancy", Aliases: []string{"m"}, Usage: "the minimum number of backups that must be kept (default: 0)"},
				Set: cloudcli.SetNonNegative(&o.minRedundancy)},
			&cli.BoolFlag{Name: "dry-run", Destination: &o.dryRun, Usage: "find the objects which need to be deleted but do not delete them"},
			&cloudcli.ValueFlag{StringFlag: cli.StringFlag{Name: "batch-size", Usage: "the maximum number of objects deleted in one request (default: the provider's most: 1000 aws-s3, 256 azure-blob-storage, 100 google-cloud-storage)"},
				Set: func(v string) error {
					n, err := argval.Int(v)
					if err == nil {
						o.batchSize, o.batchGiven = n, true
					}
					return err
				}},
			&cli.BoolFlag{Name: "check-object-lock", Destination: &o.checkObjectLock, Category: cloudcli.CategoryS3,
				Usage: "before deleting a backup, check that no archive of it is protected by S3 object lock (a retention date to come or a legal hold); a locked one stops the run with nothing of that backup deleted (aws-s3 only: ignored with a warning elsewhere)"},
		}
		c.Exclusive = [][]string{{"backup-id", "retention-policy"}}
		return c
	},
	ExitStatus: []cloudcli.ExitStatus{
		{Code: exitcode.OK, Meaning: "the deletion is done (or, with --dry-run, printed); -b of an ID that does not exist (a warning); with --test, the storage answered and the bucket exists"},
		{Code: exitcode.Failure, Meaning: "nothing or only part was deleted: a backup.info cannot be read, the backup has a keep annotation, the minimum redundancy forbids it, a deletion failed (run the command again to finish it), an archive is locked (--check-object-lock), a snapshot backup; the bucket does not exist"},
		cloudcli.NetworkExit,
		{Code: exitcode.Usage, Meaning: "invalid command line, or a retention policy that cannot be parsed"},
		{Code: exitcode.General, Meaning: "any other error: no backup has that name, or several do; invalid URL, missing or rejected credentials, other storage errors"},
	},
	Examples: []cloudcli.Example{
		{Comment: "what a policy of 7 days would delete, without deleting it", Command: `barman-cloud-backup-delete --dry-run -r "RECOVERY WINDOW OF 7 DAYS" s3://bucket/prefix pg`},
		{Comment: "keep the 3 newest backups, from cron", Command: `barman-cloud-backup-delete -r "REDUNDANCY 3" s3://bucket/prefix pg`},
		{Comment: "delete the oldest backup, unless fewer than 2 would be left", Command: `barman-cloud-backup-delete -m 2 -b oldest s3://bucket/prefix pg`},
	},
}

type options struct {
	backupID, policy         string
	backupGiven, policyGiven bool
	minRedundancy            int64
	dryRun                   bool
	batchSize                int64
	batchGiven               bool
	checkObjectLock          bool
	now                      func() time.Time // tests
	parsedPolicy             *retention.Policy
}

func run(r *cloudcli.Run, o *options) error {
	if !o.backupGiven && !o.policyGiven {
		return cloudcli.UsageError("one of the arguments -b/--backup-id -r/--retention-policy is required")
	}
	if o.policyGiven {
		p, err := retention.Parse(o.policy)
		if err != nil {
			return exitcode.Wrap(exitcode.Usage, fmt.Errorf("Could not create retention policy %s: %w", o.policy, err))
		}
		o.parsedPolicy = &p
	}
	server := r.Args[1]
	return r.WithStore(r.Args[0], server, storage.Options{}, func(s *storage.Store) error {
		checkLocks := o.checkObjectLock
		if checkLocks && s.Loc.Provider != storage.S3 {
			r.Log.Warn().Msg("The --check-object-lock option is currently only supported for aws-s3. It will be ignored.")
			checkLocks = false
		}
		now := time.Now
		if o.now != nil {
			now = o.now
		}
		req := Request{
			BackupArg:     o.backupID,
			Policy:        o.parsedPolicy,
			MinRedundancy: int(min(o.minRedundancy, 1<<31)),
			DryRun:        o.dryRun,
			Now:           now(),
			CheckLocks:    checkLocks,
		}
		if o.batchGiven {
			// Barman: max(1, min(N, MAX)); 0 means "the provider's most"
			// to storage.Delete, so anything below 1 is 1 here.
			req.BatchSize = int(max(1, min(o.batchSize, 1<<20)))
		}
		err := Delete(r.Ctx, r.Log, r.Stdout, s, server, req)
		var nsb *retention.NoSuchBackupError
		if errors.As(err, &nsb) {
			r.Log.Warn().Msg(fmt.Sprintf("Backup %s does not exist", nsb.ID))
			return nil
		}
		return err
	})
}
