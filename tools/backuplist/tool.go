package backuplist

import (
	"fmt"

	"github.com/barmancloud/barman-cloud/shared/catalog"
	"github.com/barmancloud/barman-cloud/shared/cloudcli"
	"github.com/barmancloud/barman-cloud/shared/exitcode"
	"github.com/barmancloud/barman-cloud/shared/storage"
)

// Tool is barman-cloud-backup-list.
var Tool = &cloudcli.Tool{
	Name:  "backup-list",
	Usage: "list the backups of a server stored in cloud storage",
	Args:  []cloudcli.Arg{{Name: "source_url"}, {Name: "server_name"}},
	Description: `Lists the base backups of SERVER_NAME stored under SOURCE_URL by barman-cloud-backup or Barman's own: with --format console (the default), one line per DONE backup with its ID, end time, first WAL, keep status and name; with --format json, every backup whose backup.info could be read, whatever its status, with all its fields, as Barman prints them.

` + cloudcli.URLHelp("SOURCE_URL") + `

A backup whose backup.info cannot be read is left out with a warning; one whose backup.info has fields this tool does not know (a newer Barman's) is listed with what it knows.`,
	Command: func() cloudcli.Command {
		o := &options{}
		c := cloudcli.Command{Run: func(r *cloudcli.Run) error { return run(r, o) }}
		c.Add(cloudcli.FormatFlags(&o.format))
		return c
	},
	ExitStatus: []cloudcli.ExitStatus{
		{Code: exitcode.OK, Meaning: "the backups are listed (none is no error); with --test, the storage answered and the bucket exists"},
		{Code: exitcode.Failure, Meaning: "the bucket does not exist"},
		cloudcli.NetworkExit,
		{Code: exitcode.Usage, Meaning: "invalid command line"},
		{Code: exitcode.General, Meaning: "any other error: invalid URL, missing or rejected credentials, other storage errors"},
	},
	Examples: []cloudcli.Example{
		{Comment: "the backups of server pg in S3", Command: `barman-cloud-backup-list s3://bucket/prefix pg`},
		{Comment: "as JSON, for scripts", Command: `barman-cloud-backup-list --format json s3://bucket/prefix pg`},
	},
}

type options struct{ format string }

func run(r *cloudcli.Run, o *options) error {
	return r.WithStore(r.Args[0], r.Args[1], storage.Options{}, func(s *storage.Store) error {
		c := catalog.New(s, r.Args[1])
		l, err := c.List(r.Ctx)
		if err != nil {
			return err
		}
		for _, u := range l.Unreadable {
			r.Log.Warn().Msgf("Unable to open backup.info file for %s: %v", u.ID, u.Err)
		}
		keeps, err := c.Keeps(r.Ctx)
		if err != nil {
			return err
		}
		var backups []Backup
		for _, b := range l.Backups {
			logUnknown(r, b)
			backups = append(backups, Backup{ID: b.ID, Info: b.Info, Keep: keeps[b.ID].Target()})
		}
		var out []byte
		if o.format == "console" {
			out, err = Console(backups)
		} else {
			out, err = JSON(backups)
		}
		// Whole, in one write: what Barman printed before it failed too.
		r.Stdout.Write(out)
		if err != nil {
			return fmt.Errorf("Barman cloud backup list exception: %w", err)
		}
		return nil
	})
}

// logUnknown says, at DEBUG, which fields of a backup.info were ignored.
func logUnknown(r *cloudcli.Run, b catalog.Backup) {
	if len(b.Info.Unknown) > 0 {
		r.Log.Debug().Msgf("backup.info of %s: ignored fields %v (written by a newer Barman?)", b.ID, b.Info.Unknown)
	}
}
