package retention

import (
	"fmt"
	"strings"
)

// The refusals of barman-cloud-backup-delete, in the order main checks
// them: CheckReadable (both -b and -r), then for -b CheckKeep and
// CheckMinimumRedundancy, then a -b of an ID the catalog does not hold is
// a *NoSuchBackupError. Each error's message is Barman's log line.
// PlanDeletion applies them all itself, so a plan never deletes what they
// refuse; the tool maps *NoSuchBackupError to a WARNING and exit 0, the
// others to an ERROR and exit 1.

// UnreadableError: some backup.info could not be parsed, so the catalog
// the rules see is incomplete.
type UnreadableError struct {
	IDs []string
}

func (e *UnreadableError) Error() string {
	q := make([]string, len(e.IDs))
	for i, id := range e.IDs {
		q[i] = pyQuote(id)
	}
	return "Cannot read the following backups: [" + strings.Join(q, ", ") + "]\n" +
		"Unsafe to proceed with deletion due to failure reading backup catalog"
}

// pyQuote is Python's repr of a backup ID as far as IDs go: single quotes,
// or double quotes when the ID holds a single quote and no double quote.
// (A directory name with control characters would be escaped by Python;
// such names are not backup IDs.)
func pyQuote(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(s, "'", `\'`) + "'"
}

// CheckReadable refuses any deletion when a backup.info of the catalog
// could not be read (cloud_backup_delete.main): without it, the WAL rules
// could delete WALs that backup needs.
func CheckReadable(unreadable []string) error {
	if len(unreadable) > 0 {
		return &UnreadableError{IDs: unreadable}
	}
	return nil
}

// KeepError: -b names a backup with a keep annotation.
type KeepError struct {
	ID, Server string
}

func (e *KeepError) Error() string {
	return fmt.Sprintf("Skipping delete of backup %s for server %s as it has a current keep request. "+
		"If you really want to delete this backup please remove the keep and try again.", e.ID, e.Server)
}

// CheckKeep refuses to delete backup id with -b when it has a keep
// annotation of any content (should_keep_backup: the annotation exists).
func CheckKeep(id string, keep Keep, server string) error {
	if keep != NoKeep {
		return &KeepError{ID: id, Server: server}
	}
	return nil
}

// MinimumRedundancyError: deleting the backup would go below
// --minimum-redundancy.
type MinimumRedundancyError struct {
	ID, Server       string
	Minimum, Current int
}

func (e *MinimumRedundancyError) Error() string {
	return fmt.Sprintf("Skipping delete of backup %s for server %s due to minimum redundancy requirements "+
		"(minimum redundancy = %d, current redundancy = %d)", e.ID, e.Server, e.Minimum, e.Current)
}

// CheckMinimumRedundancy is the -b check of cloud_backup_delete.main plus
// ours. Barman refuses when minimum > 0 and minimum >= the number of
// backups in the catalog, whatever their status (current redundancy = that
// number). Deliberate difference: because that count includes FAILED
// backups, Barman deletes the last DONE backups of a catalog padded with
// FAILED ones ({DONE, FAILED, FAILED} with -m 2 leaves no DONE backup);
// here deleting a DONE backup is also refused when it would leave fewer
// than minimum DONE backups (current redundancy = the DONE count).
func CheckMinimumRedundancy(backups []Backup, id string, minimum int, server string) error {
	if minimum <= 0 {
		return nil
	}
	if minimum >= len(backups) {
		return &MinimumRedundancyError{ID: id, Server: server, Minimum: minimum, Current: len(backups)}
	}
	done, target := 0, false
	for _, b := range backups {
		if b.Status == StatusDone {
			done++
			target = target || b.ID == id
		}
	}
	if target && done-1 < minimum {
		return &MinimumRedundancyError{ID: id, Server: server, Minimum: minimum, Current: done}
	}
	return nil
}

// NoSuchBackupError: -b names an ID the catalog does not hold (an ID
// shaped argument is not checked when it is resolved). Barman logs it as a
// WARNING "Backup ID does not exist" and exits 0.
type NoSuchBackupError struct {
	ID string
}

func (e *NoSuchBackupError) Error() string { return fmt.Sprintf("Backup %s does not exist", e.ID) }
