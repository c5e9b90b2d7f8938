package catalog

import (
	"context"
	"fmt"
	"strings"

	"github.com/barmancloud/barman-cloud/shared/backupinfo"
)

// IsBackupID reports whether s has the shape of a backup ID,
// "YYYYMMDDTHHMMSS" (barman/utils.py is_backup_id: re.match(r"(\d{8})T\d{6}$")).
// Unlike Python's \d, only ASCII digits count, and the trailing newline
// Python's "$" lets through is refused: no backup has such an ID.
func IsBackupID(s string) bool {
	if len(s) != 15 || s[8] != 'T' {
		return false
	}
	for i, c := range []byte(s) {
		if i != 8 && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// Shortcuts name a backup by its place in the catalog (Barman ≥ 3.15).
var Shortcuts = []string{"latest", "last", "oldest", "first", "last-failed"}

// ReservedNames cannot be backup names (utils.check_backup_name): the
// shortcuts, those that fall through to names, and restore's "auto".
var ReservedNames = []string{"latest", "last", "oldest", "first", "last-failed", "latest-full", "last-full", "auto"}

// CheckName refuses a backup name (-n) that would be taken for something
// else, with Barman's messages; and, unlike Barman, one with a control
// character, which would break the backup.info line it is written on.
func CheckName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("Backup name cannot be empty")
	case IsBackupID(name):
		return fmt.Errorf("Backup name '%s' is not allowed: backup ID", name)
	case contains(ReservedNames, name):
		return fmt.Errorf("Backup name '%s' is not allowed: reserved word", name)
	case strings.IndexFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
		return fmt.Errorf("Backup name %q is not allowed: control character", name)
	}
	return nil
}

// UnknownBackupError is an identifier that names no backup.
type UnknownBackupError struct{ Arg, Server string }

func (e *UnknownBackupError) Error() string {
	return fmt.Sprintf("Unknown backup '%s' for server '%s'", e.Arg, e.Server)
}

// AmbiguousNameError is a name that several backups have.
type AmbiguousNameError struct {
	Name string
	IDs  []string
}

func (e *AmbiguousNameError) Error() string {
	return fmt.Sprintf("Multiple backups found matching name '%s' (try using backup ID instead): %s", e.Name, strings.Join(e.IDs, " "))
}

// Resolve turns a backup identifier of the command line into a backup ID
// (barman/clients/cloud_cli.py parse_backup_id), in Barman's order: an ID
// as it is, without checking it exists (and without listing the catalog);
// a shortcut over every readable backup, any status (latest/last: the
// newest ID, oldest/first: the oldest, last-failed: the newest FAILED),
// falling through to names when there is none; else the one backup whose
// backup_name is exactly arg.
func (c *Catalog) Resolve(ctx context.Context, arg string) (string, error) {
	if IsBackupID(arg) {
		return arg, nil
	}
	l, err := c.List(ctx)
	if err != nil {
		return "", err
	}
	return l.Resolve(arg, c.Server)
}

// Resolve is Catalog.Resolve over an already read list.
func (l *List) Resolve(arg, server string) (string, error) {
	if IsBackupID(arg) {
		return arg, nil
	}
	if n := len(l.Backups); n > 0 {
		switch arg {
		case "latest", "last":
			return l.Backups[n-1].ID, nil
		case "oldest", "first":
			return l.Backups[0].ID, nil
		case "last-failed":
			for i := n - 1; i >= 0; i-- {
				if s, _ := l.Backups[i].Info.Status.Get(); s == backupinfo.StatusFailed {
					return l.Backups[i].ID, nil
				}
			}
		}
	}
	var ids []string
	for _, b := range l.Backups {
		if name, ok := b.Info.BackupName.Get(); ok && name == arg {
			ids = append(ids, b.ID)
		}
	}
	switch len(ids) {
	case 0:
		return "", &UnknownBackupError{Arg: arg, Server: server}
	case 1:
		return ids[0], nil
	}
	return "", &AmbiguousNameError{Name: arg, IDs: ids}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
