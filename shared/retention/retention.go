// Package retention holds the decisions of barman-cloud-backup-delete and
// barman-cloud-backup-keep, without any storage access: the retention
// policy grammar (Parse), the retention report (Report), the deletion plan
// with Barman's WAL clean-up rules and our safety rules (PlanDeletion), the
// refusals checked before a deletion (CheckReadable, CheckKeep,
// CheckMinimumRedundancy) and the keep annotation (AnnotationKey,
// ParseKeep).
//
// It mirrors barman/retention_policies.py, barman/backup.py
// (BackupManager.should_remove_wals, find_previous_backup_in,
// find_next_backup_in, get_timelines_to_protect) and
// barman/clients/cloud_backup_delete.py (_remove_wals_for_backup,
// _delete_backup, main) of Barman 3.17. Where this package decides
// differently, the doc at the place says so and why: Parse, Report,
// CheckMinimumRedundancy, PlanDeletion (which also lists the cases where
// Barman's WAL rules delete a WAL a remaining backup needs), ParseKeep and
// Keep.String.
//
// This package is part of the barman-cloud command and has no compatibility
// promise as a library.
package retention

import (
	"sort"
	"time"
)

// Backup statuses of backup.info that the rules look at (barman/infofile.py
// BackupInfo). Every other status (FAILED, STARTED, EMPTY, SYNCING) is
// simply "not DONE".
const (
	StatusDone           = "DONE"
	StatusWaitingForWALs = "WAITING_FOR_WALS"
	StatusFailed         = "FAILED"
)

// Keep is a backup's keep annotation as the retention rules read it.
type Keep int

const (
	// NoKeep: no annotation object.
	NoKeep Keep = iota
	// KeepFull: the backup and every WAL after it are kept.
	KeepFull
	// KeepStandalone: the backup and only the WALs from its begin_wal to
	// its end_wal are kept.
	KeepStandalone
)

// String is the word barman-cloud-backup-keep -s prints after "Keep: ".
// Barman prints the annotation's first line as it is; for an annotation
// not written by barman-cloud-backup-keep ("weird", "standalone\n") this
// prints how the retention rules read it instead (deliberate difference).
func (k Keep) String() string {
	switch k {
	case KeepFull:
		return TargetFull
	case KeepStandalone:
		return TargetStandalone
	}
	return "nokeep"
}

// Target is the annotation's recovery target, "" for none: what
// barman-cloud-backup-list shows upper-cased after "KEEP:".
func (k Keep) Target() string {
	if k == NoKeep {
		return ""
	}
	return k.String()
}

// Backup is what the rules need to know about one backup of the catalog,
// read from its backup.info and its keep annotation.
type Backup struct {
	ID     string
	Status string // backup.info status: DONE, FAILED, ...
	// Timeline is backup.info's timeline; 0 stands for None (a FAILED
	// backup). PostgreSQL timelines start at 1, so 0 never names a real one.
	Timeline int
	// BeginWAL and EndWAL are backup.info's begin_wal and end_wal; "" stands
	// for None.
	BeginWAL, EndWAL string
	// EndTime is backup.info's end_time; the zero time stands for None.
	EndTime time.Time
	Keep    Keep
}

// doneLike is Barman's DEFAULT_STATUS_FILTER (BackupInfo.STATUS_COPY_DONE):
// the statuses the WAL clean-up walks over when it looks for the previous
// and the next backup.
func doneLike(b Backup) bool {
	return b.Status == StatusDone || b.Status == StatusWaitingForWALs
}

// byIDDesc returns the backups sorted by descending ID, the order in which
// both policies walk the catalog ("simulate reverse chronology": IDs are
// compared as strings, as Python's sorted(reverse=True) does).
func byIDDesc(backups []Backup) []Backup {
	s := append([]Backup(nil), backups...)
	sort.SliceStable(s, func(i, j int) bool { return s[i].ID > s[j].ID })
	return s
}
