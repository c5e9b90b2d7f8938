// Package backupshow is barman-cloud-backup-show: it shows the metadata of
// one backup stored in a cloud bucket.
//
//	barman-cloud-backup-show [OPTIONS] SOURCE_URL SERVER_NAME BACKUP_ID
//
// It mirrors barman/clients/cloud_backup_show.py (Barman 3.17). This file
// holds the output, which is pure: it gets the backup.info already read.
//
// This package is part of the barman-cloud command and has no compatibility
// promise as a library.
package backupshow

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/barmancloud/barman-cloud/shared/backupinfo"
	"github.com/barmancloud/barman-cloud/shared/humanize"
	"github.com/barmancloud/barman-cloud/shared/pylit"
)

// JSON returns what "--format json" (or any format but console) prints:
// {"<server_name>": to_json}, one line as json.dumps writes it, and
// print's newline. The key is backup.info's server_name ("cloud" for
// object-store backups), "null" if it has none, as json.dumps makes it.
func JSON(backupID string, info *backupinfo.Info) ([]byte, error) {
	var key any
	if s, ok := info.ServerName.Get(); ok {
		key = s
	}
	out, err := pylit.JSON(pylit.Dict{{Key: key, Value: info.ToJSON(backupID, backupinfo.Fields317)}})
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// ErrCopyStats is a copy_stats value Barman fails to show.
var ErrCopyStats = errors.New("copy_stats cannot be shown")

// Console returns what "--format console" prints, as barman/output.py
// ConsoleOutputWriter.render_show_backup does for backup_info.to_dict():
// general rows, server information, and for DONE and WAITING_FOR_WALS the
// snapshot, tablespace and base backup sections; for other statuses the
// error. Where Barman would fail part-way (a copy_stats it cannot use, a
// malformed snapshots_info), Console returns the text printed before and
// the error.
func Console(backupID string, info *backupinfo.Info) ([]byte, error) {
	w := &writer{}
	w.line("Backup " + backupID + ":")
	general(w, info)
	server(w, info)
	if !copyDone(info) {
		if info.Error.V != "" {
			w.row("Error", info.Error.V)
		}
		return w.bytes(), nil
	}
	if info.SnapshotsInfo != nil {
		if err := snapshots(w, info.SnapshotsInfo); err != nil {
			return w.bytes(), err
		}
	}
	if len(info.Tablespaces) > 0 {
		w.header("Tablespaces")
		for _, t := range info.Tablespaces {
			w.nested(t.Name, fmt.Sprintf("%s (oid: %d)", t.Location, t.OID))
		}
		w.line("")
	}
	if err := base(w, info); err != nil {
		return w.bytes(), err
	}
	// render_show_backup_catalog_info: only "postgres" backups (Barman's
	// own, never barman-cloud's) show their children.
	if info.Mode == backupinfo.Some("postgres") && len(info.ChildrenBackupIDs) > 0 {
		w.nested("Children Backup(s)", strings.Join(info.ChildrenBackupIDs, ","))
	}
	return w.bytes(), nil
}

// writer prints render_show_backup's three row formats.
type writer struct{ b strings.Builder }

func (w *writer) line(s string)             { w.b.WriteString(s + "\n") }
func (w *writer) row(k, v string)           { w.line(fmt.Sprintf("  %-23s: %s", k, v)) }
func (w *writer) header(k string)           { w.line("  " + k + ":") }
func (w *writer) nested(k, v string)        { w.line(fmt.Sprintf("    %-21s: %s", k, v)) }
func (w *writer) bytes() []byte             { return []byte(w.b.String()) }
func (w *writer) nestedAny(k string, v any) { w.nested(k, pylit.Str(v)) }

// The text "{}".format(value) gives a backup.info value: "None" for null.

func str(n backupinfo.Null[string]) string {
	if s, ok := n.Get(); ok {
		return s
	}
	return "None"
}

func integer(n backupinfo.Null[int64]) string {
	if v, ok := n.Get(); ok {
		return strconv.FormatInt(v, 10)
	}
	return "None"
}

func timestamp(n backupinfo.Null[time.Time]) string {
	if t, ok := n.Get(); ok {
		return backupinfo.StrTime(t)
	}
	return "None"
}

// copyDone: status in BackupInfo.STATUS_COPY_DONE.
func copyDone(info *backupinfo.Info) bool {
	s, ok := info.Status.Get()
	return ok && s.CopyDone()
}

// general is render_show_backup_general.
func general(w *writer, info *backupinfo.Info) {
	if info.BackupName.V != "" {
		w.row("Backup Name", info.BackupName.V)
	}
	w.row("Server Name", str(info.ServerName))
	if info.SystemID.V != "" {
		w.row("System Id", info.SystemID.V)
	}
	status := "None"
	if s, ok := info.Status.Get(); ok {
		status = string(s)
	}
	w.row("Status", status)
	if copyDone(info) {
		w.row("PostgreSQL Version", integer(info.Version))
		w.row("PGDATA directory", str(info.PGData))
		if info.ClusterSize.V != 0 {
			w.row("Estimated Cluster Size", humanize.PrettySize(info.ClusterSize.V))
		}
	}
	w.line("")
}

// server is render_show_backup_server.
func server(w *writer, info *backupinfo.Info) {
	checksums, summarizer := info.DataChecksums.V, info.SummarizeWAL.V
	if checksums == "" && summarizer == "" {
		return
	}
	w.header("Server information")
	if checksums != "" {
		w.nested("Checksums", checksums)
	}
	if summarizer != "" {
		w.nested("WAL summarizer", summarizer)
	}
	w.line("")
}

// snapshots is render_show_backup_snapshots, on the snapshots_info dict as
// stored, which for a backup.info written by Barman is in the order its
// SnapshotsInfo.to_dict gives.
func snapshots(w *writer, si pylit.Dict) error {
	w.header("Snapshot information")
	for _, it := range si {
		if it.Key != "snapshots" && it.Key != "provider_info" {
			w.nestedAny(pylit.Str(it.Key), it.Value)
		}
	}
	providerInfo, err := dictAt(si, "provider_info")
	if err != nil {
		return err
	}
	for _, it := range providerInfo {
		w.nestedAny(pylit.Str(it.Key), it.Value)
	}
	w.line("")
	v, _ := si.Get("snapshots")
	var list []any
	switch v := v.(type) {
	case pylit.List:
		list = v
	case pylit.Tuple:
		list = v
	default:
		return fmt.Errorf("snapshots_info: 'snapshots' is not a list: %s", pylit.Repr(v))
	}
	for _, m := range list {
		metadata, ok := m.(pylit.Dict)
		if !ok {
			return fmt.Errorf("snapshots_info: a snapshot is not a dict: %s", pylit.Repr(m))
		}
		provider, err := dictAt(metadata, "provider")
		if err != nil {
			return err
		}
		provider = slices.Clone(provider)
		slices.SortStableFunc(provider, func(a, b pylit.Item) int {
			return cmp.Compare(pylit.Str(a.Key), pylit.Str(b.Key))
		})
		for _, it := range provider {
			w.nestedAny(pylit.Str(it.Key), it.Value)
		}
		mount, err := dictAt(metadata, "mount")
		if err != nil {
			return err
		}
		for _, k := range []struct{ key, label string }{{"mount_point", "Mount point"}, {"mount_options", "Mount options"}} {
			v, ok := mount.Get(k.key)
			if !ok {
				return fmt.Errorf("snapshots_info: no %s in %s", k.key, pylit.Repr(mount))
			}
			w.nestedAny(k.label, v)
		}
		w.line("")
	}
	return nil
}

func dictAt(d pylit.Dict, key string) (pylit.Dict, error) {
	v, ok := d.Get(key)
	if !ok {
		return nil, fmt.Errorf("snapshots_info: no %s in %s", key, pylit.Repr(d))
	}
	sub, ok := v.(pylit.Dict)
	if !ok {
		return nil, fmt.Errorf("snapshots_info: %s is not a dict: %s", key, pylit.Repr(v))
	}
	return sub, nil
}

// base is render_show_backup_base for a backup_info.to_dict(), which has
// none of the keys of Barman's own catalog (backup_type, wal_size,
// copy_time, estimated_throughput…): those rows never show.
func base(w *writer, info *backupinfo.Info) error {
	w.header("Base backup information")
	if info.Mode.V != "" {
		w.nested("Backup Method", info.Mode.V)
	}
	if info.Encryption.V != "" {
		w.nested("Encryption", info.Encryption.V)
	}
	if info.DeduplicatedSize.V != 0 {
		w.nested("Backup Size", humanize.PrettySize(info.DeduplicatedSize.V))
	}
	if c := info.Compression.V; c != "" && c != "none" {
		w.nested("Backup Compression", c)
	}
	w.nested("Timeline", integer(info.Timeline))
	w.nested("Begin WAL", str(info.BeginWAL))
	w.nested("End WAL", str(info.EndWAL))
	w.nested("Begin time", timestamp(info.BeginTime))
	w.nested("End time", timestamp(info.EndTime))
	if len(info.CopyStats) > 0 {
		copyTime, err := copyTime(info.CopyStats)
		if err != nil {
			return err
		}
		if copyTime != "" {
			w.nested("Copy time", copyTime)
		}
	}
	w.nested("Begin Offset", integer(info.BeginOffset))
	w.nested("End Offset", integer(info.EndOffset))
	w.nested("Begin LSN", str(info.BeginXlog))
	w.nested("End LSN", str(info.EndXlog))
	w.line("")
	return nil
}

// copyTime is the "Copy time" row's value from copy_stats' copy_time and
// analysis_time (both default 0), "" when copy_time is zero.
func copyTime(stats pylit.Dict) (string, error) {
	var ct, at any = int64(0), int64(0)
	if v, ok := stats.Get("copy_time"); ok {
		ct = v
	}
	if v, ok := stats.Get("analysis_time"); ok {
		at = v
	}
	if !pylit.Truthy(ct) {
		return "", nil
	}
	seconds, ok := pylit.Number(ct)
	if !ok {
		return "", fmt.Errorf("%w: copy_time %s is not a number", ErrCopyStats, pylit.Repr(ct))
	}
	out, err := humanize.HumanTimedelta(seconds)
	if err != nil {
		return "", fmt.Errorf("%w: copy_time: %w", ErrCopyStats, err)
	}
	analysis, ok := pylit.Number(at)
	if !ok {
		return "", fmt.Errorf("%w: analysis_time %s is not a number", ErrCopyStats, pylit.Repr(at))
	}
	if analysis >= 1 {
		startup, err := humanize.HumanTimedelta(analysis)
		if err != nil {
			return "", fmt.Errorf("%w: analysis_time: %w", ErrCopyStats, err)
		}
		out += " + " + startup + " startup"
	}
	return out, nil
}
