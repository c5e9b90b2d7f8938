package catalog

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/barmancloud/barman-cloud/shared/backupinfo/backupinfotest"
	"github.com/barmancloud/barman-cloud/shared/catalog/catalogtest"
	"github.com/barmancloud/barman-cloud/shared/retention"
	"github.com/barmancloud/barman-cloud/shared/storage"
)

var put = catalogtest.Put

// fixtureC is the spec's catalog C (§11.1) in a memory store at
// s3://bucket/<prefix>, keep annotations written as Barman writes them.
func fixtureC(t *testing.T, prefix string) *Catalog {
	t.Helper()
	s := storage.NewMemStore(storage.Location{Provider: storage.S3, Bucket: "bucket", Prefix: prefix})
	catalogtest.FixtureC(t, s, "srv")
	return New(s, "srv")
}

func TestList(t *testing.T) {
	c := fixtureC(t, "pfx")
	ctx := context.Background()
	// A backup still running (no backup.info yet) and an unreadable one.
	put(t, c.Store, c.Dir("20240301T000000")+"data.tar", "tar")
	put(t, c.Store, c.InfoKey("20240302T000000"), "status=DONE\ngarbage line\n")
	l, err := c.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, b := range l.Backups {
		ids = append(ids, b.ID)
	}
	want := []string{"20240101T000000", "20240108T000000", "20240115T000000", "20240122T000000", "20240129T000000", "20240205T000000"}
	if !slices.Equal(ids, want) {
		t.Errorf("backups %q, want %q", ids, want)
	}
	if got := l.UnreadableIDs(); !slices.Equal(got, []string{"20240302T000000"}) {
		t.Errorf("unreadable %q", got)
	}
	if b, ok := l.ByID("20240122T000000"); !ok || b.Info.BackupName.V != "weekly" {
		t.Errorf("ByID: %v %v", b, ok)
	}
	if _, err := c.Read(ctx, "20230101T000000"); !errors.Is(err, ErrNoBackup) {
		t.Errorf("Read of a missing backup: %v", err)
	}
}

func TestResolve(t *testing.T) {
	c := fixtureC(t, "pfx")
	put(t, c.Store, c.InfoKey("20240301T000000"), strings.Replace(string(backupinfotest.CatalogC()[0].Info), "status=DONE", "status=DONE\nbackup_name=weekly", 1))
	for _, tc := range []struct{ arg, id, err string }{
		{"20230101T000000", "20230101T000000", ""}, // not checked
		{"latest", "20240301T000000", ""},
		{"last", "20240301T000000", ""},
		{"oldest", "20240101T000000", ""},
		{"first", "20240101T000000", ""},
		{"last-failed", "20240115T000000", ""},
		{"weekly", "", "Multiple backups found matching name 'weekly' (try using backup ID instead): 20240122T000000 20240301T000000"},
		{"nosuch", "", "Unknown backup 'nosuch' for server 'srv'"},
		{"latest-full", "", "Unknown backup 'latest-full' for server 'srv'"},
	} {
		id, err := c.Resolve(context.Background(), tc.arg)
		if id != tc.id || (err == nil) != (tc.err == "") || (err != nil && err.Error() != tc.err) {
			t.Errorf("Resolve(%q) = %q, %v; want %q, %q", tc.arg, id, err, tc.id, tc.err)
		}
	}
	empty := &List{}
	if _, err := empty.Resolve("last-failed", "srv"); !errors.As(err, new(*UnknownBackupError)) {
		t.Errorf("a shortcut on an empty catalog falls through to names: %v", err)
	}
}

func TestIsBackupIDAndNames(t *testing.T) {
	for s, want := range map[string]bool{
		"20240101T000000": true, "99999999T999999": true,
		"20240101T0000000": false, "20240101t000000": false, "20240101T000000\n": false, "2024010AT000000": false,
	} {
		if IsBackupID(s) != want {
			t.Errorf("IsBackupID(%q) = %v", s, !want)
		}
	}
	for _, ok := range []string{"nightly", "Latest", "a b", "2024", "20240101T000000x", "x20240101T000000"} {
		if err := CheckName(ok); err != nil {
			t.Errorf("CheckName(%q): %v", ok, err)
		}
	}
	for name, msg := range map[string]string{
		"":                "Backup name cannot be empty",
		"20240101T000000": "Backup name '20240101T000000' is not allowed: backup ID",
		"latest":          "Backup name 'latest' is not allowed: reserved word",
		"last-full":       "Backup name 'last-full' is not allowed: reserved word",
		"auto":            "Backup name 'auto' is not allowed: reserved word",
		"a\nb":            `Backup name "a\nb" is not allowed: control character`,
	} {
		if err := CheckName(name); err == nil || err.Error() != msg {
			t.Errorf("CheckName(%q) = %v, want %q", name, err, msg)
		}
	}
}

// TestKeeps: the annotations of fixture C, read by listing and one by one,
// written and released, also through a URL whose prefix ends with "/"
// (Barman's pfx//srv key).
func TestKeeps(t *testing.T) {
	ctx := context.Background()
	for _, prefix := range []string{"pfx", "pfx/"} {
		c := fixtureC(t, prefix)
		keeps, err := c.Keeps(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]retention.Keep{"20240108T000000": retention.KeepStandalone, "20240129T000000": retention.KeepFull}
		if len(keeps) != len(want) || keeps["20240108T000000"] != want["20240108T000000"] || keeps["20240129T000000"] != want["20240129T000000"] {
			t.Errorf("prefix %q: keeps %v, want %v", prefix, keeps, want)
		}
		if err := c.SetKeep(ctx, "20240122T000000", retention.TargetStandalone); err != nil {
			t.Fatal(err)
		}
		key := retention.AnnotationKey(prefix, "srv", "20240122T000000")
		if prefix == "pfx/" && key != "pfx//srv/base/20240122T000000/annotations/keep" {
			t.Errorf("annotation key %q", key)
		}
		if k, err := c.Keep(ctx, "20240122T000000"); err != nil || k != retention.KeepStandalone {
			t.Errorf("Keep after SetKeep: %v %v", k, err)
		}
		if err := c.ReleaseKeep(ctx, "20240122T000000"); err != nil {
			t.Fatal(err)
		}
		if err := c.ReleaseKeep(ctx, "20240122T000000"); err != nil {
			t.Errorf("releasing a released keep: %v", err)
		}
		if k, err := c.Keep(ctx, "20240122T000000"); err != nil || k != retention.NoKeep {
			t.Errorf("Keep after ReleaseKeep: %v %v", k, err)
		}
	}
}

func TestArchives(t *testing.T) {
	ctx := context.Background()
	s := storage.NewMemStore(storage.Location{Provider: storage.S3, Bucket: "bucket", Prefix: "pfx"})
	c := New(s, "srv")
	const id = "20240101T000000"
	info := backupinfotest.WithTablespace(backupinfotest.CatalogC()[0].Info)
	info = []byte(strings.Replace(string(info), "('tbs1', 16400, '/srv/tbs1')", "('tbs1', 16400, '/srv/tbs1'), ('t2', 1640, '/srv/t2')", 1))
	put(t, s, c.InfoKey(id), string(info))
	for _, name := range []string{"data.tar.gz", "data_0002.tar.gz", "data_0001.tar.gz", "data.tar.lz4", "16400.tar", "16400_0001.tar", "1640.tar.bz2", "backup_label", "annotations/keep"} {
		put(t, s, c.Dir(id)+name, "x")
	}
	bi, err := c.Read(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	fams, warnings, err := c.Archives(ctx, id, bi, false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fams {
		got = append(got, f.Item+":"+strings.TrimPrefix(f.Main.Key, c.Dir(id)))
		for _, p := range f.Parts {
			got = append(got, f.Item+":"+strings.TrimPrefix(p.Key, c.Dir(id)))
		}
	}
	want := []string{"data:data.tar.gz", "data:data_0001.tar.gz", "data:data_0002.tar.gz", "16400:16400.tar", "16400:16400_0001.tar", "1640:1640.tar.bz2"}
	if !slices.Equal(got, want) {
		t.Errorf("archives %q, want %q", got, want)
	}
	if !slices.Equal(warnings, []string{"Skipping unknown extension: tar.lz4"}) {
		t.Errorf("warnings %q", warnings)
	}
	if fams[1].Tablespace == nil || fams[1].Tablespace.Location != "/srv/tbs1" || fams[0].Main.Compression == nil {
		t.Errorf("families %+v", fams)
	}

	if _, err := s.Delete(ctx, []string{c.Dir(id) + "16400.tar"}, 0); err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Archives(ctx, id, bi, false)
	if want := "Missing file pfx/srv/base/20240101T000000/16400.* for server srv"; err == nil || err.Error() != want {
		t.Errorf("missing first archive: %v, want %q", err, want)
	}
	if _, _, err := c.Archives(ctx, id, bi, true); err != nil {
		t.Errorf("allowMissing: %v", err)
	}
}

func TestWALs(t *testing.T) {
	s := storage.NewMemStore(storage.Location{Provider: storage.S3, Bucket: "bucket", Prefix: "pfx"})
	for _, k := range []string{"pfx/srv/wals/0000000100000000/000000010000000000000001.gz", "pfx/srv/wals/0000000100000000/000000010000000000000001",
		"pfx/srv/wals/0000000100000000/garbage.txt", "pfx/srv/wals/00000002.history.gz", "pfx/other/wals/0000000100000000/000000010000000000000002"} {
		put(t, s, k, "x")
	}
	w, err := New(s, "srv").WALs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if w.Prefix != "pfx/srv/wals" || len(w.Names) != 2 || len(w.Names["000000010000000000000001"]) != 2 || len(w.Names["00000002.history"]) != 1 {
		t.Errorf("WALs %+v", w)
	}
}

// TestPending: a backup whose backup.info is gone but whose deletion
// marker remains is Pending, read from the marker; a broken marker is
// unreadable; a directory with neither is skipped.
func TestPending(t *testing.T) {
	c := fixtureC(t, "pfx")
	ctx := context.Background()
	if err := c.WriteMarker(ctx, "20240101T000000"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Store.Delete(ctx, []string{c.InfoKey("20240101T000000")}, 0); err != nil {
		t.Fatal(err)
	}
	put(t, c.Store, c.MarkerKey("20240301T000000"), "status=DONE\ngarbage line\n")
	put(t, c.Store, c.Dir("20240302T000000")+"data.tar", "tar")
	if err := c.WriteMarker(ctx, "20240303T000000"); !errors.Is(err, ErrNoBackup) {
		t.Errorf("marker of a backup without backup.info: %v", err)
	}
	l, err := c.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Pending) != 1 || l.Pending[0].ID != "20240101T000000" || l.Pending[0].Retention(retention.NoKeep).BeginWAL != "000000010000000000000002" {
		t.Errorf("pending %+v", l.Pending)
	}
	if _, ok := l.ByID("20240101T000000"); ok || len(l.Backups) != 5 {
		t.Errorf("a pending backup is listed: %d backups", len(l.Backups))
	}
	if ids := l.UnreadableIDs(); !slices.Equal(ids, []string{"20240301T000000"}) {
		t.Errorf("unreadable %v", ids)
	}
}
