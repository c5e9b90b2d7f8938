package backupshow

import (
	"errors"
	"strings"
	"testing"

	"github.com/barmancloud/barman-cloud/shared/backupinfo"
	"github.com/barmancloud/barman-cloud/shared/backupinfo/backupinfotest"
)

// fixture returns the backup.info of catalog C's backup id with the given
// "name=value" lines replacing (or added to) its own.
func fixture(t *testing.T, id string, lines ...string) *backupinfo.Info {
	t.Helper()
	var text string
	for _, b := range backupinfotest.CatalogC() {
		if b.ID == id {
			text = string(b.Info)
		}
	}
	if text == "" {
		t.Fatalf("no backup %s in catalog C", id)
	}
	for _, l := range lines {
		name, _, _ := strings.Cut(l, "=")
		kept := []string{}
		for _, old := range strings.SplitAfter(text, "\n") {
			if !strings.HasPrefix(old, name+"=") {
				kept = append(kept, old)
			}
		}
		text = strings.Join(kept, "") + l + "\n"
	}
	info, err := backupinfo.Parse([]byte(text))
	if err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	return info
}

// §11.5 verbatim.
const showWeekly = `Backup 20240122T000000:
  Backup Name            : weekly
  Server Name            : cloud
  System Id              : 7363823450123456789
  Status                 : DONE
  PostgreSQL Version     : 160004
  PGDATA directory       : /var/lib/postgresql/16/main
  Estimated Cluster Size : 30.0 MiB

  Server information:
    Checksums            : on

  Base backup information:
    Timeline             : 1
    Begin WAL            : 000000010000000000000030
    End WAL              : 000000010000000000000031
    Begin time           : 2024-01-22 00:00:00+00:00
    End time             : 2024-01-22 00:10:00+00:00
    Copy time            : 10 seconds
    Begin Offset         : 40
    End Offset           : 256
    Begin LSN            : 0/30000028
    End LSN              : 0/31000100

`

// §11.5: with a tablespace, its section comes before the base backup's.
var showWeeklyTablespace = strings.Replace(showWeekly, "  Base backup information:\n",
	"  Tablespaces:\n    tbs1                 : /srv/tbs1 (oid: 16400)\n\n  Base backup information:\n", 1)

// §11.5: last-failed.
const showFailed = `Backup 20240115T000000:
  Server Name            : cloud
  System Id              : 7363823450123456789
  Status                 : FAILED

  Error                  : failure uploading data (pg_backup_start command: boom)
`

// The outputs below are Barman 3.17's, printed by render_show_backup for
// the same backup.info.
const showExtras = `Backup 20240122T000000:
  Backup Name            : weekly
  Server Name            : cloud
  System Id              : 7363823450123456789
  Status                 : WAITING_FOR_WALS
  PostgreSQL Version     : 160004
  PGDATA directory       : /var/lib/postgresql/16/main

  Server information:
    Checksums            : on
    WAL summarizer       : on

  Base backup information:
    Backup Method        : postgres
    Encryption           : gpg
    Backup Size          : 1.5 KiB
    Backup Compression   : gzip
    Timeline             : 1
    Begin WAL            : 000000010000000000000030
    End WAL              : 000000010000000000000031
    Begin time           : 2024-01-22 00:00:00+00:00
    End time             : 2024-01-22 00:10:00+00:00
    Copy time            : 1 day, 1 hour, 1 minute, 1 second + 1 minute, 1 second startup
    Begin Offset         : 40
    End Offset           : 256
    Begin LSN            : 0/30000028
    End LSN              : 0/31000100

    Children Backup(s)   : 20240123T000000,20240124T000000
`

const snapshotsInfo = `snapshots_info={'provider': 'gcp', 'provider_info': {'project': 'proj'}, 'snapshots': [{'mount': {'mount_options': 'rw,noatime', 'mount_point': '/opt/disk0'}, 'provider': {'snapshot_project': 'proj', 'device_name': 'dev0', 'snapshot_name': 'snap0'}}]}`

const showSnapshot = `Backup 20240122T000000:
  Backup Name            : weekly
  Server Name            : srv
  System Id              : 7363823450123456789
  Status                 : DONE
  PostgreSQL Version     : 160004
  PGDATA directory       : /var/lib/postgresql/16/main
  Estimated Cluster Size : 30.0 MiB

  Snapshot information:
    provider             : gcp
    project              : proj

    device_name          : dev0
    snapshot_name        : snap0
    snapshot_project     : proj
    Mount point          : /opt/disk0
    Mount options        : rw,noatime

  Base backup information:
    Timeline             : 1
    Begin WAL            : 000000010000000000000030
    End WAL              : 000000010000000000000031
    Begin time           : 2024-01-22 00:00:00+00:00
    End time             : 2024-01-22 00:10:00+00:00
    Copy time            : less than one second
    Begin Offset         : 40
    End Offset           : 256
    Begin LSN            : 0/30000028
    End LSN              : 0/31000100

`

const showStarted = `Backup 20240122T000000:
  Backup Name            : weekly
  Server Name            : cloud
  Status                 : STARTED

`

func TestConsole(t *testing.T) {
	for _, tc := range []struct {
		name string
		id   string
		info *backupinfo.Info
		want string
	}{
		{"DONE", "20240122T000000", fixture(t, "20240122T000000"), showWeekly},
		{"DONE with a tablespace", "20240122T000000",
			fixture(t, "20240122T000000", strings.TrimSuffix(backupinfotest.Tablespace, "\n")), showWeeklyTablespace},
		{"FAILED", "20240115T000000", fixture(t, "20240115T000000"), showFailed},
		{"WAITING_FOR_WALS with every optional row", "20240122T000000", fixture(t, "20240122T000000",
			"status=WAITING_FOR_WALS", "mode=postgres", "children_backup_ids=20240123T000000,20240124T000000",
			"encryption=gpg", "deduplicated_size=1536", "compression=gzip", "summarize_wal=on", "cluster_size=0",
			"copy_stats={'total_time': 12.5, 'number_of_workers': 2, 'analysis_time': 61.5, 'copy_time': 90061.0}",
		), showExtras},
		{"snapshot backup", "20240122T000000", fixture(t, "20240122T000000",
			snapshotsInfo, "data_checksums=None", "copy_stats={'copy_time': 0.5}", "server_name=srv"), showSnapshot},
		{"STARTED, empty error", "20240122T000000", fixture(t, "20240122T000000",
			"status=STARTED", "data_checksums=None", "systemid=None", "error="), showStarted},
		{"nulls print None", "X", fixture(t, "20240122T000000",
			"server_name=None", "status=None", "backup_name=None", "systemid=None", "data_checksums=None"),
			"Backup X:\n  Server Name            : None\n  Status                 : None\n\n"},
		{"no copy time", "20240122T000000", fixture(t, "20240122T000000", "copy_stats={'copy_time': 0}"),
			strings.Replace(showWeekly, "    Copy time            : 10 seconds\n", "", 1)},
	} {
		got, err := Console(tc.id, tc.info)
		if err != nil || string(got) != tc.want {
			t.Errorf("%s: Console = %v\n%s\nwant\n%s", tc.name, err, got, tc.want)
		}
	}
}

// Where Barman raises part-way, Console returns what was printed before.
func TestConsoleErrors(t *testing.T) {
	upToBase := showWeekly[:strings.Index(showWeekly, "    Copy time")]
	for _, tc := range []struct {
		name string
		info *backupinfo.Info
		want string
	}{
		{"copy_time not a number", fixture(t, "20240122T000000", "copy_stats={'copy_time': '10'}"), upToBase},
		{"analysis_time not a number", fixture(t, "20240122T000000", "copy_stats={'copy_time': 1, 'analysis_time': None}"), upToBase},
		{"copy_time too large", fixture(t, "20240122T000000", "copy_stats={'copy_time': 1e20}"), upToBase},
		{"snapshots_info without provider_info", fixture(t, "20240122T000000", "snapshots_info={'provider': 'gcp', 'snapshots': []}"),
			showWeekly[:strings.Index(showWeekly, "  Server information:")] +
				"  Server information:\n    Checksums            : on\n\n  Snapshot information:\n    provider             : gcp\n"},
	} {
		got, err := Console("20240122T000000", tc.info)
		if err == nil || string(got) != tc.want {
			t.Errorf("%s: Console = %v\n%s\nwant an error after\n%s", tc.name, err, got, tc.want)
		}
	}
	_, err := Console("x", fixture(t, "20240122T000000", "copy_stats={'copy_time': 'x'}"))
	if !errors.Is(err, ErrCopyStats) {
		t.Errorf("copy_time 'x': %v, want ErrCopyStats", err)
	}
}

func TestJSON(t *testing.T) {
	info := fixture(t, "20240101T000000")
	got, err := JSON("20240101T000000", info)
	if err != nil {
		t.Fatal(err)
	}
	inner, _ := info.JSON("20240101T000000", backupinfo.Fields317)
	if want := `{"cloud": ` + string(inner) + "}\n"; string(got) != want {
		t.Errorf("JSON =\n%s\nwant\n%s", got, want)
	}
	if !strings.HasPrefix(string(got), `{"cloud": {"backup_label": "'START WAL LOCATION: `) {
		t.Errorf("JSON does not start as §11.5 says: %s", got)
	}
	// Barman 3.17's output for the snapshot backup (key: its server_name).
	const snapJSON = `{"srv": {"backup_label": "'START WAL LOCATION: 0/30000028 (file 000000010000000000000030)\\n'", "backup_name": "weekly", "begin_offset": 40, "begin_time": "Mon Jan 22 00:00:00 2024", "begin_wal": "000000010000000000000030", "begin_xlog": "0/30000028", "children_backup_ids": null, "cluster_size": 31457280, "compression": null, "config_file": "/var/lib/postgresql/16/main/postgresql.conf", "copy_stats": {"copy_time": 0.5}, "data_checksums": null, "deduplicated_size": null, "encryption": null, "end_offset": 256, "end_time": "Mon Jan 22 00:10:00 2024", "end_wal": "000000010000000000000031", "end_xlog": "0/31000100", "error": null, "hba_file": "/var/lib/postgresql/16/main/pg_hba.conf", "ident_file": "/var/lib/postgresql/16/main/pg_ident.conf", "included_files": ["/var/lib/postgresql/16/main/postgresql.auto.conf"], "mode": null, "parent_backup_id": null, "pgdata": "/var/lib/postgresql/16/main", "server_name": "srv", "size": null, "snapshots_info": {"provider": "gcp", "provider_info": {"project": "proj"}, "snapshots": [{"mount": {"mount_options": "rw,noatime", "mount_point": "/opt/disk0"}, "provider": {"device_name": "dev0", "snapshot_name": "snap0", "snapshot_project": "proj"}}]}, "status": "DONE", "summarize_wal": null, "systemid": "7363823450123456789", "tablespaces": null, "timeline": 1, "version": 160004, "xlog_segment_size": 16777216, "backup_id": "20240122T000000", "begin_time_iso": "2024-01-22T00:00:00+00:00", "end_time_iso": "2024-01-22T00:10:00+00:00"}}` + "\n"
	snap := fixture(t, "20240122T000000", strings.Replace(snapshotsInfo,
		"{'snapshot_project': 'proj', 'device_name': 'dev0', 'snapshot_name': 'snap0'}",
		"{'device_name': 'dev0', 'snapshot_name': 'snap0', 'snapshot_project': 'proj'}", 1),
		"data_checksums=None", "copy_stats={'copy_time': 0.5}", "server_name=srv")
	if got, err := JSON("20240122T000000", snap); err != nil || string(got) != snapJSON {
		t.Errorf("JSON of the snapshot backup = %v\n%s\nwant\n%s", err, got, snapJSON)
	}
	if got, _ := JSON("x", fixture(t, "20240115T000000", "server_name=None")); !strings.HasPrefix(string(got), `{"null": {`) {
		t.Errorf("JSON without server_name: %s", got)
	}
}
