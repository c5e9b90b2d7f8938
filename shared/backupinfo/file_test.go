package backupinfo

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/barmancloud/barman-cloud/shared/backupinfo/backupinfotest"
	"github.com/barmancloud/barman-cloud/shared/pylit"
)

// specExample is spec §3.3 verbatim: a backup.info written by Barman 3.17.
const specExample = `backup_label='START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\nCHECKPOINT LOCATION: 0/2000060\nBACKUP METHOD: streamed\nBACKUP FROM: primary\nSTART TIME: 2024-05-01 12:00:00 UTC\nLABEL: Barman backup cloud 20240501T120000\nSTART TIMELINE: 1\n'
begin_offset=40
begin_time=2024-05-01 12:00:00.123456+00:00
begin_wal=000000010000000000000002
begin_xlog=0/2000028
children_backup_ids=None
cluster_size=31457280
compression=None
config_file=/var/lib/postgresql/16/main/postgresql.conf
copy_stats={'total_time': 0.126452, 'number_of_workers': 2, 'analysis_time': 0, 'analysis_time_per_item': {'16400': 0, 'data': 0}, 'copy_time_per_item': {'16400': 0.002179, 'data': 0.033049}, 'serialized_copy_time_per_item': {'16400': 0.000608, 'data': 0.014378}, 'copy_time': 0.033049, 'serialized_copy_time': 0.028818}
data_checksums=on
deduplicated_size=None
encryption=None
end_offset=256
end_time=2024-05-01 12:05:30.654321+00:00
end_wal=000000010000000000000003
end_xlog=0/3000100
error=None
hba_file=/etc/postgresql/pg_hba.conf
ident_file=/var/lib/postgresql/16/main/pg_ident.conf
included_files=['/var/lib/postgresql/16/main/postgresql.auto.conf']
mode=None
parent_backup_id=None
pgdata=/var/lib/postgresql/16/main
server_name=cloud
size=None
status=DONE
summarize_wal=None
systemid=7363823450123456789
tablespaces=[('tbs1', 16400, '/srv/tbs1')]
timeline=1
version=160004
xlog_segment_size=16777216
`

func mustParse(t *testing.T, text string) *Info {
	t.Helper()
	info, err := parse([]byte(text), time.UTC)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return info
}

// §11.7: the example parses to these values and re-serialises byte for byte.
func TestSpecExample(t *testing.T) {
	info := mustParse(t, specExample)
	wantBegin := time.Date(2024, 5, 1, 12, 0, 0, 123456000, time.UTC)
	if bt, ok := info.BeginTime.Get(); !ok || !bt.Equal(wantBegin) {
		t.Errorf("BeginTime = %v, want %v", info.BeginTime, wantBegin)
	} else if _, off := bt.Zone(); off != 0 {
		t.Errorf("BeginTime offset %d, want 0", off)
	}
	if want := []Tablespace{{"tbs1", 16400, "/srv/tbs1"}}; !reflect.DeepEqual(info.Tablespaces, want) {
		t.Errorf("Tablespaces = %v, want %v", info.Tablespaces, want)
	}
	perItem, _ := info.CopyStats.Get("copy_time_per_item")
	d, _ := perItem.(pylit.Dict)
	if v, _ := d.Get("16400"); v != 0.002179 {
		t.Errorf("copy_stats['copy_time_per_item']['16400'] = %#v, want 0.002179", v)
	}
	if info.ChildrenBackupIDs != nil || info.Mode.Valid || info.Size.Valid {
		t.Errorf("children_backup_ids, mode, size = %v, %v, %v; want None", info.ChildrenBackupIDs, info.Mode, info.Size)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"BackupLabel", info.BackupLabel.V, "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\nCHECKPOINT LOCATION: 0/2000060\nBACKUP METHOD: streamed\nBACKUP FROM: primary\nSTART TIME: 2024-05-01 12:00:00 UTC\nLABEL: Barman backup cloud 20240501T120000\nSTART TIMELINE: 1\n"},
		{"BeginOffset", info.BeginOffset, Some[int64](40)},
		{"ClusterSize", info.ClusterSize, Some[int64](31457280)},
		{"Compression", info.Compression, Null[string]{}},
		{"DataChecksums", info.DataChecksums, Some("on")},
		{"IncludedFiles", info.IncludedFiles, []string{"/var/lib/postgresql/16/main/postgresql.auto.conf"}},
		{"Status", info.Status, Some(StatusDone)},
		{"SystemID", info.SystemID, Some("7363823450123456789")},
		{"Timeline", info.Timeline, Some[int64](1)},
		{"Version", info.Version, Some[int64](160004)},
		{"XlogSegmentSize", info.XlogSegmentSize, Some[int64](16777216)},
		{"Unknown", info.Unknown, []string(nil)},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
	out, err := info.Marshal(Fields317)
	if err != nil || string(out) != specExample {
		t.Errorf("Marshal = %v\n%s\nwant\n%s", err, out, specExample)
	}
}

// The §3.3 note: "-n nightly" adds backup_name between backup_label and
// begin_offset; Fields34 leaves out the six fields added after 3.4.0.
func TestMarshalVariants(t *testing.T) {
	named := strings.Replace(specExample, "\nbegin_offset=", "\nbackup_name=nightly\nbegin_offset=", 1)
	info := mustParse(t, named)
	if info.BackupName != Some("nightly") {
		t.Fatalf("BackupName = %v", info.BackupName)
	}
	if out, err := info.Marshal(Fields317); err != nil || string(out) != named {
		t.Errorf("Marshal with backup_name = %v\n%s", err, out)
	}
	var want34 []string
	for _, line := range strings.SplitAfter(named, "\n") {
		name, _, _ := strings.Cut(line, "=")
		switch name {
		case "children_backup_ids", "cluster_size", "data_checksums", "parent_backup_id", "summarize_wal", "encryption":
		default:
			want34 = append(want34, line)
		}
	}
	if out, err := info.Marshal(Fields34); err != nil || string(out) != strings.Join(want34, "") {
		t.Errorf("Marshal(Fields34) = %v\n%s\nwant\n%s", err, out, strings.Join(want34, ""))
	}
}

// Barman's defaults, and how Barman dumps empty values (null_repr: an
// empty literal is written None) and hidden fields (left out only when None).
func TestMarshalDefaultsAndEmpties(t *testing.T) {
	info := New()
	out, err := info.Marshal(Fields317)
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for _, f := range fields {
		switch f.name {
		case "backup_name", "snapshots_info":
		case "status":
			want.WriteString("status=EMPTY\n")
		case "xlog_segment_size":
			want.WriteString("xlog_segment_size=16777216\n")
		default:
			want.WriteString(f.name + "=None\n")
		}
	}
	if string(out) != want.String() {
		t.Errorf("Marshal(New()) =\n%s\nwant\n%s", out, want.String())
	}
	if parsed := mustParse(t, ""); !reflect.DeepEqual(parsed, info) {
		t.Errorf("parse of an empty file = %+v, want New()", parsed)
	}

	info.BackupLabel = Some("")
	info.CopyStats = pylit.Dict{}
	info.SnapshotsInfo = pylit.Dict{}
	info.IncludedFiles = []string{}
	info.Tablespaces = []Tablespace{}
	info.ChildrenBackupIDs = []string{"a", "b"}
	info.BackupName = Some("")
	out, _ = info.Marshal(Fields317)
	for _, line := range []string{
		"backup_label=None\n", "copy_stats=None\n", "snapshots_info=None\n", "included_files=None\n",
		"tablespaces=None\n", "children_backup_ids=a,b\n", "backup_name=\n",
	} {
		if !strings.Contains(string(out), line) {
			t.Errorf("Marshal of empty values lacks %q:\n%s", line, out)
		}
	}
	// to_json shows the raw empty containers but the dumped label.
	j, err := info.JSON("x", Fields317)
	if err != nil {
		t.Fatal(err)
	}
	for _, frag := range []string{
		`"backup_label": null`, `"backup_name": ""`, `"copy_stats": {}`, `"snapshots_info": {}`,
		`"included_files": []`, `"tablespaces": []`, `"children_backup_ids": "a,b"`,
	} {
		if !strings.Contains(string(j), frag) {
			t.Errorf("JSON lacks %s: %s", frag, j)
		}
	}

	info.BackupName = Some("a\nb")
	if _, err := info.Marshal(Fields317); !errors.Is(err, ErrNewline) {
		t.Errorf("Marshal of a name with a newline: %v, want ErrNewline", err)
	}
}

func TestParseLines(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		check      func(*Info) bool
	}{
		{"comments and blank lines", "# c\n\n \t\n\x1c\nstatus=DONE\n#x=1\n", func(i *Info) bool {
			return i.Status == Some(StatusDone) && i.Unknown == nil
		}},
		{"stripped, split at the first =", "  backup_name =  a=b \r\n", func(i *Info) bool {
			return i.BackupName == Some("a=b")
		}},
		{"no final newline", "timeline=3", func(i *Info) bool { return i.Timeline == Some[int64](3) }},
		{"None nulls a default", "status=None\nxlog_segment_size=None\n", func(i *Info) bool {
			return !i.Status.Valid && !i.XlogSegmentSize.Valid
		}},
		{"the last line wins", "timeline=1\ntimeline=2\n", func(i *Info) bool { return i.Timeline == Some[int64](2) }},
		{"int() syntax", "size=+1_000\nversion=-0\nend_offset=007\n", func(i *Info) bool {
			return i.Size == Some[int64](1000) && i.Version == Some[int64](0) && i.EndOffset == Some[int64](7)
		}},
		{"unknown fields", "zzz_new_field=1\nstatus=DONE\nbackup_id=x\n", func(i *Info) bool {
			return reflect.DeepEqual(i.Unknown, []string{"zzz_new_field", "backup_id"}) && i.Status == Some(StatusDone)
		}},
		{"children", "children_backup_ids=20240101T000000,20240102T000000\n", func(i *Info) bool {
			return reflect.DeepEqual(i.ChildrenBackupIDs, []string{"20240101T000000", "20240102T000000"})
		}},
		{"empty children", "children_backup_ids=\n", func(i *Info) bool { return i.ChildrenBackupIDs == nil }},
		{"empty tablespaces", "tablespaces=[]\n", func(i *Info) bool { return i.Tablespaces == nil }},
		{"tablespaces as lists, in a tuple", `tablespaces=(['a', 1, '/a'], ("b", 2, "/b"))` + "\n", func(i *Info) bool {
			return reflect.DeepEqual(i.Tablespaces, []Tablespace{{"a", 1, "/a"}, {"b", 2, "/b"}})
		}},
		{"label in double quotes", `backup_label="it's"` + "\n", func(i *Info) bool { return i.BackupLabel == Some("it's") }},
		{"empty included_files", "included_files=[]\n", func(i *Info) bool {
			return i.IncludedFiles != nil && len(i.IncludedFiles) == 0
		}},
		{"snapshots_info", "snapshots_info={'provider': 'gcp', 'snapshots': []}\n", func(i *Info) bool {
			return reflect.DeepEqual(i.SnapshotsInfo, pylit.Dict{{Key: "provider", Value: "gcp"}, {Key: "snapshots", Value: pylit.List{}}})
		}},
	} {
		info, err := parse([]byte(tc.text), time.UTC)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
		} else if !tc.check(info) {
			t.Errorf("%s: got %+v", tc.name, info)
		}
	}
}

func TestParseErrors(t *testing.T) {
	var lineErr *LineError
	_, err := Parse([]byte("status=DONE\ngarbage line\n"))
	if !errors.As(err, &lineErr) || lineErr.Number != 2 || err.Error() != "invalid line garbage line" {
		t.Errorf("a line without '=': %v", err)
	}
	_, err = Parse([]byte("  # indented is not a comment\n"))
	if !errors.As(err, &lineErr) {
		t.Errorf("an indented '#' line: %v, want a LineError", err)
	}
	for _, text := range []string{
		"timeline=one",
		"timeline=1.0",
		"timeline=1__0",
		"timeline=",
		"timeline=+-1",
		"version=99999999999999999999",
		"begin_time=yesterday",
		"begin_time=2024-02-30 00:00:00+00:00",
		"begin_time=2024-01-01 24:00:00",
		"begin_time=2024-01-01 00:00:00+25:00",
		"backup_label=START",
		"backup_label=['a']",
		"copy_stats=[1]",
		"copy_stats={'a': ",
		"included_files='a'",
		"included_files=['a', 1]",
		"tablespaces=[('tbs1', '16400', '/srv')]",
		"tablespaces=[('tbs1', 16400)]",
		"tablespaces={}",
		"snapshots_info=None,",
		"status=DONE\xff",
	} {
		_, err := parse([]byte(text+"\n"), time.UTC)
		var fe *FieldError
		if err == nil || (!errors.As(err, &fe) && !strings.Contains(err.Error(), "UTF-8")) {
			t.Errorf("parse(%q): %v, want a FieldError", text, err)
		}
	}
}

func TestTimes(t *testing.T) {
	cest := time.FixedZone("CEST", 2*3600)
	for _, tc := range []struct {
		in, str, iso, ctime string
		instant             time.Time
	}{
		// §11.7
		{"2024-01-02 03:04:05+00:00", "2024-01-02 03:04:05+00:00", "2024-01-02T03:04:05+00:00", "Tue Jan  2 03:04:05 2024",
			time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
		{"2024-01-02 03:04:05.120000+05:30", "2024-01-02 03:04:05.120000+05:30", "2024-01-02T03:04:05.120000+05:30", "Tue Jan  2 03:04:05 2024",
			time.Date(2024, 1, 1, 21, 34, 5, 120000000, time.UTC)},
		// A naive timestamp is local time (here CEST).
		{"2024-05-01 12:00:00", "2024-05-01 12:00:00+02:00", "2024-05-01T12:00:00+02:00", "Wed May  1 12:00:00 2024",
			time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)},
		{"2024-12-31T23:59:59.1234567Z", "2024-12-31 23:59:59.123456+00:00", "2024-12-31T23:59:59.123456+00:00", "Tue Dec 31 23:59:59 2024",
			time.Date(2024, 12, 31, 23, 59, 59, 123456000, time.UTC)},
		{"2024-03-10 01:02-0330", "2024-03-10 01:02:00-03:30", "2024-03-10T01:02:00-03:30", "Sun Mar 10 01:02:00 2024",
			time.Date(2024, 3, 10, 4, 32, 0, 0, time.UTC)},
		{"2024-03-10 01:02:03 +01:02:03", "2024-03-10 01:02:03+01:02:03", "2024-03-10T01:02:03+01:02:03", "Sun Mar 10 01:02:03 2024",
			time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC)},
	} {
		got, err := parseTime(tc.in, cest)
		if err != nil {
			t.Errorf("parseTime(%q): %v", tc.in, err)
			continue
		}
		if !got.Equal(tc.instant) {
			t.Errorf("parseTime(%q) = %v, want %v", tc.in, got, tc.instant)
		}
		if s := StrTime(got); s != tc.str {
			t.Errorf("str(%q) = %q, want %q", tc.in, s, tc.str)
		}
		if s := isoformat(got, 'T'); s != tc.iso {
			t.Errorf("isoformat(%q) = %q, want %q", tc.in, s, tc.iso)
		}
		if s := formatCtime(got); s != tc.ctime {
			t.Errorf("ctime(%q) = %q, want %q", tc.in, s, tc.ctime)
		}
	}
}

// §11.4: the JSON of the FAILED backup of catalog C, verbatim.
const failedJSON = `{"backup_label": null, "begin_offset": null, "begin_time": null, "begin_wal": null, "begin_xlog": null, "children_backup_ids": null, "cluster_size": null, "compression": null, "config_file": null, "copy_stats": null, "data_checksums": null, "deduplicated_size": null, "encryption": null, "end_offset": null, "end_time": null, "end_wal": null, "end_xlog": null, "error": "failure uploading data (pg_backup_start command: boom)", "hba_file": null, "ident_file": null, "included_files": null, "mode": null, "parent_backup_id": null, "pgdata": "/var/lib/postgresql/16/main", "server_name": "cloud", "size": null, "status": "FAILED", "summarize_wal": null, "systemid": "7363823450123456789", "tablespaces": null, "timeline": null, "version": 160004, "xlog_segment_size": 16777216, "backup_id": "20240115T000000"}`

// The JSON of catalog C's first DONE backup, as Barman 3.17's
// json.dumps(BackupInfo.to_json()) prints it; it holds the §11.4 fragments.
const doneJSON = `{"backup_label": "'START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\\n'", "begin_offset": 40, "begin_time": "Mon Jan  1 00:00:00 2024", "begin_wal": "000000010000000000000002", "begin_xlog": "0/2000028", "children_backup_ids": null, "cluster_size": 31457280, "compression": null, "config_file": "/var/lib/postgresql/16/main/postgresql.conf", "copy_stats": {"total_time": 12.5, "number_of_workers": 2, "analysis_time": 0, "copy_time": 10.25}, "data_checksums": "on", "deduplicated_size": null, "encryption": null, "end_offset": 256, "end_time": "Mon Jan  1 00:10:00 2024", "end_wal": "000000010000000000000003", "end_xlog": "0/3000100", "error": null, "hba_file": "/var/lib/postgresql/16/main/pg_hba.conf", "ident_file": "/var/lib/postgresql/16/main/pg_ident.conf", "included_files": ["/var/lib/postgresql/16/main/postgresql.auto.conf"], "mode": null, "parent_backup_id": null, "pgdata": "/var/lib/postgresql/16/main", "server_name": "cloud", "size": null, "status": "DONE", "summarize_wal": null, "systemid": "7363823450123456789", "tablespaces": null, "timeline": 1, "version": 160004, "xlog_segment_size": 16777216, "backup_id": "20240101T000000", "begin_time_iso": "2024-01-01T00:00:00+00:00", "end_time_iso": "2024-01-01T00:10:00+00:00"}`

func TestJSON(t *testing.T) {
	c := backupinfotest.CatalogC()
	for _, frag := range []string{
		`"backup_label": "'START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\\n'"`,
		`"begin_time": "Mon Jan  1 00:00:00 2024"`,
		`"copy_stats": {"total_time": 12.5, "number_of_workers": 2, "analysis_time": 0, "copy_time": 10.25}`,
		`, "backup_id": "20240101T000000", "begin_time_iso": "2024-01-01T00:00:00+00:00", "end_time_iso": "2024-01-01T00:10:00+00:00"}`,
	} {
		if !strings.Contains(doneJSON, frag) {
			t.Fatalf("the DONE golden lacks the §11.4 fragment %s", frag)
		}
	}
	for _, tc := range []struct {
		backup backupinfotest.Backup
		want   string
	}{
		{c[0], doneJSON},
		{c[2], failedJSON},
	} {
		info := mustParse(t, string(tc.backup.Info))
		got, err := info.JSON(tc.backup.ID, Fields317)
		if err != nil || string(got) != tc.want {
			t.Errorf("JSON(%s) = %v\n%s\nwant\n%s", tc.backup.ID, err, got, tc.want)
		}
	}

	// The weekly backup: backup_name follows backup_label; a tablespace.
	info := mustParse(t, string(backupinfotest.WithTablespace(c[3].Info)))
	got, _ := info.JSON(c[3].ID, Fields317)
	for _, frag := range []string{
		`{"backup_label": "'START WAL LOCATION: 0/30000028 (file 000000010000000000000030)\\n'", "backup_name": "weekly", "begin_offset": 40,`,
		`"tablespaces": [["tbs1", 16400, "/srv/tbs1"]]`,
	} {
		if !strings.Contains(string(got), frag) {
			t.Errorf("JSON of %s lacks %s:\n%s", c[3].ID, frag, got)
		}
	}

	// Barman 3.4.0: no post-3.4 fields, no *_iso.
	info = mustParse(t, string(c[0].Info))
	got, _ = info.JSON(c[0].ID, Fields34)
	want34 := doneJSON
	for _, drop := range []string{
		`"children_backup_ids": null, `, `"cluster_size": 31457280, `, `"data_checksums": "on", `,
		`"encryption": null, `, `"parent_backup_id": null, `, `"summarize_wal": null, `,
		`, "begin_time_iso": "2024-01-01T00:00:00+00:00", "end_time_iso": "2024-01-01T00:10:00+00:00"`,
	} {
		want34 = strings.Replace(want34, drop, "", 1)
	}
	if string(got) != want34 {
		t.Errorf("JSON(Fields34) =\n%s\nwant\n%s", got, want34)
	}

	info.CopyStats = pylit.Dict{{Key: "x", Value: pylit.Set{}}}
	if _, err := info.JSON("x", Fields317); err == nil {
		t.Errorf("JSON of copy_stats with a set: no error")
	}
}
