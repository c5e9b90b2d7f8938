// Package backupkeep is barman-cloud-backup-keep: it sets, shows or
// releases the keep annotation of a backup stored in cloud storage, which
// barman-cloud-backup-delete honours.
//
//	barman-cloud-backup-keep [OPTIONS] SOURCE_URL SERVER_NAME BACKUP_ID
//
// It mirrors barman/clients/cloud_backup_keep.py (Barman 3.17): the
// annotation object is the one Barman writes (retention.AnnotationKey, the
// target word as its whole content), so that either tool reads the other's.
//
// This package is part of the barman-cloud command and has no compatibility
// promise as a library.
package backupkeep

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/barmancloud/barman-cloud/shared/backupinfo"
	"github.com/barmancloud/barman-cloud/shared/catalog"
	"github.com/barmancloud/barman-cloud/shared/cloudcli"
	"github.com/barmancloud/barman-cloud/shared/exitcode"
	"github.com/barmancloud/barman-cloud/shared/retention"
	"github.com/barmancloud/barman-cloud/shared/storage"
)

// Tool is barman-cloud-backup-keep.
var Tool = &cloudcli.Tool{
	Name:  "backup-keep",
	Usage: "flag backups stored in cloud storage as archival backups, kept by retention policies",
	Args:  []cloudcli.Arg{{Name: "source_url"}, {Name: "server_name"}, {Name: "backup_id"}},
	Description: `Sets (--target), shows (-s) or releases (-r) the keep annotation of backup BACKUP_ID of SERVER_NAME stored under SOURCE_URL. A kept backup is never deleted by barman-cloud-backup-delete: with --target full, the WALs after it are kept too, for point-in-time recovery from it to any later point; with --target standalone, only the WALs it needs to be restored consistently (its begin_wal to its end_wal) are kept once the backups before it are deleted.

` + cloudcli.URLHelp("SOURCE_URL") + `

BACKUP_ID is a backup ID (20240101T000000), a backup name given with barman-cloud-backup -n, or one of latest (or last), oldest (or first) and last-failed. Only a DONE backup can be kept.

The annotation is the object PREFIX/SERVER_NAME/base/BACKUP_ID/annotations/keep holding the word full or standalone, as Barman writes it: Barman's tools read ours and ours read Barman's. As in Barman, its key is built by concatenation, so a SOURCE_URL ending in "/" puts it under PREFIX//SERVER_NAME, where the same URL without the "/" does not see it. -s prints "Keep: full", "Keep: standalone" or "Keep: nokeep"; unlike Barman, an annotation not written by this tool (empty, or any other word) is shown as the rules read it: full.`,
	Command: func() cloudcli.Command {
		o := &options{}
		c := cloudcli.Command{Run: func(r *cloudcli.Run) error { return run(r, o) }}
		c.Flags = []cli.Flag{
			&cli.BoolFlag{Name: "release", Aliases: []string{"r"}, Destination: &o.release, Usage: "if specified, the command will remove the keep annotation and the backup will be eligible for deletion"},
			&cli.BoolFlag{Name: "status", Aliases: []string{"s"}, Destination: &o.status, Usage: "print the keep status of the backup"},
			&cloudcli.ValueFlag{StringFlag: cli.StringFlag{Name: "target", Usage: "specify the recovery target for this backup"},
				Choices: []string{retention.TargetFull, retention.TargetStandalone}, Set: cloudcli.SetString(&o.target)},
		}
		c.Exclusive = [][]string{{"release", "status", "target"}}
		return c
	},
	ExitStatus: []cloudcli.ExitStatus{
		{Code: exitcode.OK, Meaning: "the annotation is written, shown or released (releasing none is no error); with --test, the storage answered and the bucket exists"},
		{Code: exitcode.Failure, Meaning: "the backup is not DONE and cannot be kept; the bucket does not exist"},
		cloudcli.NetworkExit,
		{Code: exitcode.Usage, Meaning: "invalid command line"},
		{Code: exitcode.General, Meaning: "any other error: --target of a backup that does not exist; no backup has that name, or several do; invalid URL, missing or rejected credentials, other storage errors"},
	},
	Examples: []cloudcli.Example{
		{Comment: "keep the newest backup for ever, with the WALs after it", Command: `barman-cloud-backup-keep --target full s3://bucket/prefix pg latest`},
		{Comment: "its keep status", Command: `barman-cloud-backup-keep -s s3://bucket/prefix pg latest`},
		{Comment: "let retention policies delete it again", Command: `barman-cloud-backup-keep -r s3://bucket/prefix pg 20240101T000000`},
	},
}

type options struct {
	release, status bool
	target          string
}

func run(r *cloudcli.Run, o *options) error {
	if !o.release && !o.status && o.target == "" {
		return cloudcli.UsageError("one of the arguments -r/--release -s/--status --target is required")
	}
	server := r.Args[1]
	return r.WithStore(r.Args[0], server, storage.Options{}, func(s *storage.Store) error {
		c := catalog.New(s, server)
		id, err := c.Resolve(r.Ctx, r.Args[2])
		if err != nil {
			return err
		}
		switch {
		case o.status:
			k, err := c.Keep(r.Ctx, id)
			if err != nil {
				return err
			}
			fmt.Fprintf(r.Stdout, "Keep: %s\n", k)
			return nil
		case o.release:
			return c.ReleaseKeep(r.Ctx, id)
		}
		info, err := c.Read(r.Ctx, id)
		if errors.Is(err, catalog.ErrNoBackup) {
			// Barman crashes here ("'NoneType' object has no attribute
			// 'status'"), exit 4: the same status, with a reason.
			return exitcode.Generalf("Backup %s for server %s does not exist", id, server)
		}
		if err != nil {
			return err
		}
		if st, _ := info.Status.Get(); st != backupinfo.StatusDone {
			return exitcode.Failuref("Cannot add keep to backup %s because it has status %s. Only backups with status DONE can be kept.", id, pyStatus(info))
		}
		return c.SetKeep(r.Ctx, id, o.target)
	})
}

// pyStatus is the status as Barman formats it, None when there is none.
func pyStatus(info *backupinfo.Info) string {
	if st, ok := info.Status.Get(); ok {
		return string(st)
	}
	return "None"
}
