package backuplist

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/barmancloud/barman-cloud/shared/backupinfo"
	"github.com/barmancloud/barman-cloud/shared/backupinfo/backupinfotest"
)

// catalogC returns fixture C as the catalog gives it, in a scrambled order.
func catalogC(t *testing.T) []Backup {
	t.Helper()
	var backups []Backup
	for _, b := range backupinfotest.CatalogC() {
		info, err := backupinfo.Parse(b.Info)
		if err != nil {
			t.Fatalf("%s: %v", b.ID, err)
		}
		backups = append([]Backup{{ID: b.ID, Info: info, Keep: b.Keep}}, backups...)
	}
	return backups
}

// §11.4 verbatim; "·" marks the end of a line.
const consoleC = `Backup ID           End Time                 Begin Wal                     Archival Status  Name                ·
20240101T000000     2024-01-01 00:10:00      000000010000000000000002                                           ·
20240108T000000     2024-01-08 00:10:00      000000010000000000000010      KEEP:STANDALONE                      ·
20240122T000000     2024-01-22 00:10:00      000000010000000000000030                       weekly              ·
20240129T000000     2024-01-29 00:10:00      000000010000000100000005      KEEP:FULL                            ·
20240205T000000     2024-02-05 00:10:00      000000020000000100000010                                           ·
`

const header = "Backup ID           End Time                 Begin Wal                     Archival Status  Name                \n"

func TestConsole(t *testing.T) {
	c := catalogC(t)
	// The end time is the wall clock of the stored offset, not converted.
	tokyo := *c[0].Info
	tokyo.EndTime = backupinfo.Some(time.Date(2024, 2, 5, 9, 10, 0, 0, time.FixedZone("", 9*3600)))
	longName := *c[1].Info
	longName.BackupName = backupinfo.Some("a name longer than twenty")
	waiting := *c[0].Info
	waiting.Status = backupinfo.Some(backupinfo.StatusWaitingForWALs)
	for _, tc := range []struct {
		name    string
		backups []Backup
		want    string
	}{
		{"catalog C", c, strings.ReplaceAll(consoleC, "·", "")},
		{"no backups", nil, header},
		{"only DONE", []Backup{{ID: "20240301T000000", Info: &waiting}}, header},
		{"offset kept, never truncated", []Backup{
			{ID: "20240205T000000", Info: &tokyo},
			{ID: "20240129T000000", Info: &longName, Keep: "standalone"},
		}, header +
			"20240129T000000     2024-01-29 00:10:00      000000010000000100000005      KEEP:STANDALONE  a name longer than twenty\n" +
			"20240205T000000     2024-02-05 09:10:00      000000020000000100000010                                           \n"},
	} {
		got, err := Console(tc.backups)
		if err != nil || string(got) != tc.want {
			t.Errorf("%s: Console = %v\n%s\nwant\n%s", tc.name, err, got, tc.want)
		}
	}
}

// A DONE backup Barman cannot print: the lines before it, then the error.
func TestConsoleErrors(t *testing.T) {
	c := catalogC(t)
	noEnd := *c[0].Info // 20240205T000000
	noEnd.EndTime = backupinfo.Null[time.Time]{}
	noWAL := *c[0].Info
	noWAL.BeginWAL = backupinfo.Null[string]{}
	first := strings.SplitAfter(strings.ReplaceAll(consoleC, "·", ""), "\n")
	for _, tc := range []struct {
		info *backupinfo.Info
		want error
	}{
		{&noEnd, ErrNoEndTime},
		{&noWAL, ErrNoBeginWAL},
	} {
		backups := append(catalogC(t)[1:], Backup{ID: "20240205T000000", Info: tc.info})
		got, err := Console(backups)
		if !errors.Is(err, tc.want) || string(got) != strings.Join(first[:5], "") {
			t.Errorf("Console = %v\n%s\nwant %v after\n%s", err, got, tc.want, strings.Join(first[:5], ""))
		}
	}
}

func TestJSON(t *testing.T) {
	c := catalogC(t)
	got, err := JSON(c)
	if err != nil {
		t.Fatal(err)
	}
	var elems []string
	for _, b := range backupinfotest.CatalogC() {
		info, _ := backupinfo.Parse(b.Info)
		j, _ := info.JSON(b.ID, backupinfo.Fields317)
		elems = append(elems, string(j))
	}
	want := `{"backups_list": [` + strings.Join(elems, ", ") + "]}\n"
	if string(got) != want {
		t.Errorf("JSON =\n%s\nwant\n%s", got, want)
	}
	// §11.4: the FAILED element, verbatim.
	failed := `{"backup_label": null, "begin_offset": null, "begin_time": null, "begin_wal": null, "begin_xlog": null, "children_backup_ids": null, "cluster_size": null, "compression": null, "config_file": null, "copy_stats": null, "data_checksums": null, "deduplicated_size": null, "encryption": null, "end_offset": null, "end_time": null, "end_wal": null, "end_xlog": null, "error": "failure uploading data (pg_backup_start command: boom)", "hba_file": null, "ident_file": null, "included_files": null, "mode": null, "parent_backup_id": null, "pgdata": "/var/lib/postgresql/16/main", "server_name": "cloud", "size": null, "status": "FAILED", "summarize_wal": null, "systemid": "7363823450123456789", "tablespaces": null, "timeline": null, "version": 160004, "xlog_segment_size": 16777216, "backup_id": "20240115T000000"}`
	if !strings.Contains(string(got), `"end_time_iso": "2024-01-08T00:10:00+00:00"}, `+failed+`, {"backup_label": "'START WAL LOCATION: 0/30000028`) {
		t.Errorf("JSON lacks the FAILED element between 0108 and 0122:\n%s", got)
	}
	if got, _ := JSON(nil); string(got) != `{"backups_list": []}`+"\n" {
		t.Errorf("JSON(nil) = %s", got)
	}
}
