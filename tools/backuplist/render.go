// Package backuplist is barman-cloud-backup-list: it lists the backups of
// a server stored in a cloud bucket.
//
//	barman-cloud-backup-list [OPTIONS] SOURCE_URL SERVER_NAME
//
// It mirrors barman/clients/cloud_backup_list.py (Barman 3.17). This file
// holds the output, which is pure: it gets the catalog already read.
//
// This package is part of the barman-cloud command and has no compatibility
// promise as a library.
package backuplist

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/barmancloud/barman-cloud/shared/backupinfo"
	"github.com/barmancloud/barman-cloud/shared/pylit"
)

// Backup is one readable backup of the catalog.
type Backup struct {
	ID   string // the backup's directory name
	Info *backupinfo.Info
	Keep string // the keep annotation's target ("full", "standalone"), "" for none
}

// columns is main's COLUMNS: padded, never truncated.
const columns = "%-20s%-25s%-30s%-17s%-20s\n"

// Errors of a DONE backup Barman cannot print, with Python's messages
// (Barman then exits 4 with "Barman cloud backup list exception: <msg>").
var (
	ErrNoEndTime  = errors.New("'NoneType' object has no attribute 'strftime'")
	ErrNoBeginWAL = errors.New("unsupported format string passed to NoneType.__format__")
)

// Console returns what "--format console" prints: the header, then one
// line per DONE backup in ID (string) order with its end time in the
// offset backup.info stores, first WAL, "KEEP:"+TARGET and name. A DONE
// backup without end_time or begin_wal makes Barman fail part-way: Console
// then returns the lines printed before it, and the error.
func Console(backups []Backup) ([]byte, error) {
	var b strings.Builder
	fmt.Fprintf(&b, columns, "Backup ID", "End Time", "Begin Wal", "Archival Status", "Name")
	for _, bk := range sorted(backups) {
		info := bk.Info
		if info.Status != backupinfo.Some(backupinfo.StatusDone) {
			continue
		}
		end, ok := info.EndTime.Get()
		if !ok {
			return []byte(b.String()), fmt.Errorf("backup %s: %w", bk.ID, ErrNoEndTime)
		}
		if !info.BeginWAL.Valid {
			return []byte(b.String()), fmt.Errorf("backup %s: %w", bk.ID, ErrNoBeginWAL)
		}
		keep := ""
		if bk.Keep != "" {
			keep = "KEEP:" + strings.ToUpper(bk.Keep)
		}
		fmt.Fprintf(&b, columns, bk.ID, end.Format("2006-01-02 15:04:05"), info.BeginWAL.V, keep, info.BackupName.V)
	}
	return []byte(b.String()), nil
}

// JSON returns what any other --format prints: {"backups_list": [...]}
// with BackupInfo.to_json of every backup, whatever its status, in ID
// order; one line, as json.dumps writes it, and print's newline.
func JSON(backups []Backup) ([]byte, error) {
	list := pylit.List{}
	for _, bk := range sorted(backups) {
		list = append(list, bk.Info.ToJSON(bk.ID, backupinfo.Fields317))
	}
	out, err := pylit.JSON(pylit.Dict{{Key: "backups_list", Value: list}})
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// sorted returns the backups in ID order, as sorted(backup_list) gives them.
func sorted(backups []Backup) []Backup {
	s := slices.Clone(backups)
	slices.SortStableFunc(s, func(a, b Backup) int { return cmp.Compare(a.ID, b.ID) })
	return s
}
