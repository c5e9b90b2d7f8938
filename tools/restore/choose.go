package restore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/barmancloud/barman-cloud/shared/backupinfo"
	"github.com/barmancloud/barman-cloud/shared/catalog"
	"github.com/barmancloud/barman-cloud/shared/pylit"
	"github.com/barmancloud/barman-cloud/shared/wal"
)

// Targets are the options that choose the backup when BACKUP_ID is
// "auto": --target-tli ("", "current", "latest" or a positive number),
// and at most one of --target-lsn and --target-time.
type Targets struct {
	TLI, LSN, Time string
}

// errNoCandidate is auto's failure to find a backup (exit 1).
var errNoCandidate = errors.New("Cannot find any candidate backup for recovery.")

// chooseAuto picks the backup to restore for BACKUP_ID "auto", as
// barman/clients/cloud_restore.py main does with parse_target_tli and the
// get_backup_id_from_target_* functions of barman/utils.py.
//
// Deliberate improvement: only DONE backups are candidates. Barman looks
// at every readable backup, so "auto" may pick a FAILED one, and a FAILED
// backup met while comparing targets makes it crash.
func chooseAuto(ctx context.Context, c *catalog.Catalog, t Targets) (string, error) {
	var (
		tli    int64
		lsn    *wal.LSN
		before *time.Time
	)
	switch t.TLI {
	case "":
	case "current":
		return "", fmt.Errorf("'%s' is not a valid timeline keyword when recovering without a backup_id", t.TLI)
	case "latest":
		var err error
		if tli, err = latestTimeline(ctx, c); err != nil {
			return "", err
		}
	default:
		// --target-tli has checked it is a positive number.
		tli, _ = strconv.ParseInt(t.TLI, 10, 64)
	}
	switch {
	case t.Time != "":
		at, err := backupinfo.ParseTime(t.Time)
		if err != nil {
			return "", fmt.Errorf("Unable to parse the target time parameter %s: %w", pylit.Repr(t.Time), err)
		}
		before = &at
	case t.LSN != "":
		l, err := wal.ParseLSN(t.LSN)
		if err != nil {
			return "", err
		}
		lsn = &l
	}
	l, err := c.List(ctx)
	if err != nil {
		return "", err
	}
	if id := choose(l.Backups, tli, lsn, before); id != "" {
		return id, nil
	}
	return "", errNoCandidate
}

// choose returns the newest DONE backup (by ID) on timeline tli (any when
// 0) that ended at or before lsn, or at or before the time before, when
// they are set; "" when there is none.
func choose(backups []catalog.Backup, tli int64, lsn *wal.LSN, before *time.Time) string {
	for _, b := range slices.Backward(backups) {
		info := b.Info
		if s, _ := info.Status.Get(); s != backupinfo.StatusDone {
			continue
		}
		if tl, _ := info.Timeline.Get(); tli != 0 && tl != tli {
			continue
		}
		if before != nil {
			end, ok := info.EndTime.Get()
			if !ok || end.After(*before) {
				continue
			}
		}
		if lsn != nil {
			end, err := wal.ParseLSN(info.EndXlog.V)
			if err != nil || end > *lsn {
				continue
			}
		}
		return b.ID
	}
	return ""
}

// latestTimeline is the timeline of the newest WAL file in the archive
// (parse_target_tli "latest": CloudBackupCatalog.get_latest_archived_wals_info,
// which takes the timeline of the greatest WAL name).
func latestTimeline(ctx context.Context, c *catalog.Catalog) (int64, error) {
	wals, err := c.WALs(ctx)
	if err != nil {
		return 0, err
	}
	newest := ""
	for name := range wals.Names {
		newest = max(newest, name)
	}
	if newest == "" {
		// Barman fails here with "max() arg is an empty sequence".
		return 0, fmt.Errorf("there are no WAL files in the archive of server %s: --target-tli latest names no timeline", c.Server)
	}
	// Every listed name is a valid WAL name: its first 8 characters are
	// the timeline in hexadecimal.
	tli, err := strconv.ParseInt(newest[:8], 16, 64)
	if err != nil {
		return 0, fmt.Errorf("WAL file %s: %w", newest, err)
	}
	return tli, nil
}
