// Package backupinfo reads, writes and renders Barman's backup.info, the
// metadata object of a base backup (barman/infofile.py FieldListFile and
// BackupInfo): "name=value" lines sorted by name, None for a null value,
// Python literals for the structured fields, and BackupInfo.to_json for the
// JSON output of barman-cloud-backup-list and -show.
//
// It is pure: no storage, no clock except the local zone given to naive
// timestamps, as Barman does.
//
// This package is part of the barman-cloud command and has no compatibility
// promise as a library.
package backupinfo

import (
	"time"

	"github.com/barmancloud/barman-cloud/shared/pylit"
)

// Null is a value that may be None. The zero value is None.
type Null[T any] struct {
	V     T
	Valid bool // false: None
}

// Some returns a non-null value.
func Some[T any](v T) Null[T] { return Null[T]{V: v, Valid: true} }

// Get returns the value and whether it is set.
func (n Null[T]) Get() (T, bool) { return n.V, n.Valid }

// Status is a backup status (BackupInfo.EMPTY and the others).
type Status string

// The statuses of barman/infofile.py BackupInfo. barman-cloud-backup
// uploads only DONE and FAILED; the others can be met in catalogs written
// by Barman's hook scripts.
const (
	StatusEmpty          Status = "EMPTY"
	StatusStarted        Status = "STARTED"
	StatusFailed         Status = "FAILED"
	StatusWaitingForWALs Status = "WAITING_FOR_WALS"
	StatusDone           Status = "DONE"
	StatusSyncing        Status = "SYNCING"
)

// CopyDone reports whether s is one of BackupInfo.STATUS_COPY_DONE (DONE,
// WAITING_FOR_WALS): the data copy is complete.
func (s Status) CopyDone() bool { return s == StatusDone || s == StatusWaitingForWALs }

// DefaultXlogSegmentSize is the xlog_segment_size of a backup.info without
// one (barman/xlog.py DEFAULT_XLOG_SEG_SIZE).
const DefaultXlogSegmentSize = 1 << 24

// Tablespace is one tablespace of the backup (infofile.py Tablespace).
type Tablespace struct {
	Name     string
	OID      int64
	Location string
}

// Info is the content of one backup.info, one Go field per Barman field
// (barman-cloud-backup.md §3.2). Slices and dicts are nil for None. Timestamps keep
// the UTC offset they were written with; a naive one is in the local zone.
type Info struct {
	BackupLabel       Null[string] // the backup_label file's text (decoded, not the repr)
	BackupName        Null[string]
	BeginOffset       Null[int64]
	BeginTime         Null[time.Time]
	BeginWAL          Null[string]
	BeginXlog         Null[string] // the start LSN as text, "0/2000028"
	ChildrenBackupIDs []string     // since 3.11.0
	ClusterSize       Null[int64]  // since 3.11.0
	Compression       Null[string]
	ConfigFile        Null[string]
	CopyStats         pylit.Dict   // kept as a literal: its keys vary between versions
	DataChecksums     Null[string] // since 3.11.0
	DeduplicatedSize  Null[int64]
	Encryption        Null[string] // since 3.14.0
	EndOffset         Null[int64]
	EndTime           Null[time.Time]
	EndWAL            Null[string]
	EndXlog           Null[string]
	Error             Null[string]
	HBAFile           Null[string]
	IdentFile         Null[string]
	IncludedFiles     []string
	Mode              Null[string]
	ParentBackupID    Null[string] // since 3.11.0
	PGData            Null[string]
	ServerName        Null[string]
	Size              Null[int64]
	SnapshotsInfo     pylit.Dict // snapshot backups; written as stored (Barman normalises it per provider)
	Status            Null[Status]
	SummarizeWAL      Null[string] // since 3.11.0
	SystemID          Null[string]
	Tablespaces       []Tablespace
	Timeline          Null[int64]
	Version           Null[int64] // PostgreSQL server_version_num, 160004
	XlogSegmentSize   Null[int64]

	// Unknown lists the names of the lines Parse ignored because Barman
	// 3.17 has no such field, in file order, for the caller to log.
	// Marshal never writes them.
	Unknown []string
}

// New returns an Info with Barman's defaults: every field None except
// status EMPTY and xlog_segment_size 16777216.
func New() *Info {
	return &Info{
		Status:          Some(StatusEmpty),
		XlogSegmentSize: Some[int64](DefaultXlogSegmentSize),
	}
}

// FieldSet selects the Barman version whose field set Marshal and JSON
// follow.
type FieldSet int

const (
	// Fields317 is Barman 3.17's (HEAD) set: every field, and
	// begin_time_iso/end_time_iso in JSON (since 3.12.1).
	Fields317 FieldSet = iota
	// Fields34 is Barman 3.4.0's set, which Debian's barman-cloud can
	// read: without children_backup_ids, cluster_size, data_checksums,
	// parent_backup_id, summarize_wal (3.11.0) and encryption (3.14.0),
	// and without the *_iso JSON fields.
	Fields34
)
