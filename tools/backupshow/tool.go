package backupshow

import (
	"errors"
	"fmt"

	"github.com/barmancloud/barman-cloud/shared/catalog"
	"github.com/barmancloud/barman-cloud/shared/cloudcli"
	"github.com/barmancloud/barman-cloud/shared/exitcode"
	"github.com/barmancloud/barman-cloud/shared/storage"
)

// Tool is barman-cloud-backup-show.
var Tool = &cloudcli.Tool{
	Name:  "backup-show",
	Usage: "show the details of a backup stored in cloud storage",
	Args:  []cloudcli.Arg{{Name: "source_url"}, {Name: "server_name"}, {Name: "backup_id"}},
	Description: `Shows the details of one base backup of SERVER_NAME stored under SOURCE_URL, as Barman prints them: with --format console (the default), the server, status, PostgreSQL version, tablespaces, WAL range, times and LSNs; with --format json, every field of its backup.info.

` + cloudcli.URLHelp("SOURCE_URL") + `

BACKUP_ID is a backup ID (20240101T000000), a backup name given with barman-cloud-backup -n, or one of latest (or last), oldest (or first) and last-failed.`,
	Command: func() cloudcli.Command {
		o := &options{}
		c := cloudcli.Command{Run: func(r *cloudcli.Run) error { return run(r, o) }}
		c.Add(cloudcli.FormatFlags(&o.format))
		return c
	},
	ExitStatus: []cloudcli.ExitStatus{
		{Code: exitcode.OK, Meaning: "the backup is shown; with --test, the storage answered and the bucket exists"},
		{Code: exitcode.Failure, Meaning: "the backup does not exist; the bucket does not exist"},
		cloudcli.NetworkExit,
		{Code: exitcode.Usage, Meaning: "invalid command line"},
		{Code: exitcode.General, Meaning: "any other error: no backup has that name, or several do; its backup.info cannot be read; invalid URL, missing or rejected credentials, other storage errors"},
	},
	Examples: []cloudcli.Example{
		{Comment: "the newest backup of server pg", Command: `barman-cloud-backup-show s3://bucket/prefix pg latest`},
		{Comment: "a named backup, as JSON", Command: `barman-cloud-backup-show --format json s3://bucket/prefix pg nightly`},
	},
}

type options struct{ format string }

func run(r *cloudcli.Run, o *options) error {
	server := r.Args[1]
	return r.WithStore(r.Args[0], server, storage.Options{}, func(s *storage.Store) error {
		c := catalog.New(s, server)
		id, err := c.Resolve(r.Ctx, r.Args[2])
		if err != nil {
			return err
		}
		info, err := c.Read(r.Ctx, id)
		if errors.Is(err, catalog.ErrNoBackup) {
			return exitcode.Failuref("Backup %s for server %s does not exist", id, server)
		}
		if err != nil {
			return err
		}
		if len(info.Unknown) > 0 {
			r.Log.Debug().Msgf("backup.info of %s: ignored fields %v (written by a newer Barman?)", id, info.Unknown)
		}
		var out []byte
		if o.format == "console" {
			out, err = Console(id, info)
		} else {
			out, err = JSON(id, info)
		}
		r.Stdout.Write(out)
		if err != nil {
			return fmt.Errorf("Barman cloud backup show exception: %w", err)
		}
		return nil
	})
}
