package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/barmancloud/barman-cloud/shared/backupinfo"
	"github.com/barmancloud/barman-cloud/shared/catalog/catalogtest"
	"github.com/barmancloud/barman-cloud/shared/cloudcli"
	"github.com/barmancloud/barman-cloud/shared/compress"
	"github.com/barmancloud/barman-cloud/shared/exitcode"
	"github.com/barmancloud/barman-cloud/shared/pg"
	"github.com/barmancloud/barman-cloud/shared/pylit"
	"github.com/barmancloud/barman-cloud/shared/storage"
	"github.com/barmancloud/barman-cloud/shared/tags"
)

const (
	base = "pfx/srv/base/20240501T120000/"
	id   = "20240501T120000"
)

func memStore() *storage.Store {
	return storage.NewMemStore(storage.Location{Provider: storage.S3, Bucket: "b", Prefix: "pfx"})
}

// TestBackupDone: a backup of the fake cluster in each compression, split
// by a small -S: the keys, what each archive holds, and backup.info.
func TestBackupDone(t *testing.T) {
	for _, alg := range []*compress.Algorithm{nil, compress.Gzip, compress.Bzip2, compress.Snappy} {
		name := "plain"
		if alg != nil {
			name = alg.Name
		}
		t.Run(name, func(t *testing.T) {
			// The compressors hold up to a megabyte before their output
			// counts (pgzip's blocks, bzip2's): a relation of 3 MB crosses
			// -S 1MB whatever the compression.
			c := newCluster(t, 3<<20)
			s := memStore()
			o := newOptions()
			o.compression, o.maxArchiveSize, o.name = alg, 1<<20, "nightly"
			o.tags = tags.List{{Key: "env", Value: "test"}}
			f := &fakePG{c: c}
			j, log := testJob(t, s, f, o)
			if err := j.run(context.Background()); err != nil {
				t.Fatalf("%v\n%s", err, log)
			}
			ext := "tar"
			if alg != nil {
				ext += alg.Ext
			}
			got := keys(t, s, "pfx/")
			// The relation fills data.tar past -S: the members after it go
			// to data_0001 (and on).
			want := []string{base + "16400." + ext, base + "backup.info", base + "data." + ext}
			continuations := len(got) - len(want)
			for n := 1; n <= continuations; n++ {
				want = append(want, fmt.Sprintf("%sdata_%04d.%s", base, n, ext))
			}
			slices.Sort(want)
			if continuations < 1 || !slices.Equal(got, want) {
				t.Fatalf("keys %q, want %q and at least one continuation", got, want)
			}
			if open := s.OpenUploads(); len(open) > 0 {
				t.Errorf("uploads left open: %q", open)
			}
			for _, k := range got {
				md, err := s.Metadata(context.Background(), k)
				if err != nil || md["tag-env"] != "test" {
					t.Errorf("%s: metadata %v, %v: the tag is missing", k, md, err)
				}
			}

			ts := members(t, s, base+"16400."+ext, alg)
			if n := names(ts); !slices.Equal(n, []string{"PG_15_202209061/", "PG_15_202209061/5/", "PG_15_202209061/5/16500"}) {
				t.Errorf("16400 holds %q", n)
			}
			var data []member
			for _, k := range got {
				if strings.HasPrefix(k, base+"data") {
					data = append(data, members(t, s, k, alg)...)
				}
			}
			last := data[len(data)-1]
			if last.name != "backup_label" || string(last.data) != label || last.hdr.Mode != 0o600 || !last.hdr.ModTime.Equal(stopTime) {
				t.Errorf("last data member %s (mode %o, %v): %q", last.name, last.hdr.Mode, last.hdr.ModTime, last.data)
			}
			n := names(data)
			for _, m := range []string{"./", "./PG_VERSION", "base/5/16384", "pg_wal/", "pg_tblspc/", "global/pg_control", "postgresql.conf", "./pg_hba.conf"} {
				if !slices.Contains(n, m) {
					t.Errorf("data archives lack %s: %q", m, n)
				}
			}
			for _, m := range []string{"pg_wal/000000010000000000000001", "./postmaster.pid", "pg_tblspc/16400", "pg_hba.conf"} {
				if slices.Contains(n, m) {
					t.Errorf("data archives hold %s", m)
				}
			}

			i := info(t, s, base+"backup.info")
			checks := []struct {
				field string
				got   any
				want  any
			}{
				{"status", i.Status.V, backupinfo.StatusDone},
				{"server_name", i.ServerName.V, "cloud"},
				{"backup_name", i.BackupName.V, "nightly"},
				{"compression", i.Compression.Valid, false},
				{"begin_wal", i.BeginWAL.V, "000000010000000000000002"},
				{"begin_offset", i.BeginOffset.V, int64(40)},
				{"begin_xlog", i.BeginXlog.V, startLSN},
				{"begin_time", i.BeginTime.V.Equal(startTime), true},
				{"end_wal", i.EndWAL.V, "000000010000000000000003"},
				{"end_offset", i.EndOffset.V, int64(256)},
				{"end_time", backupinfo.StrTime(i.EndTime.V), "2024-05-01 12:05:30.654321+02:00"},
				{"timeline", i.Timeline.V, int64(1)},
				{"version", i.Version.V, int64(150004)},
				{"backup_label", i.BackupLabel.V, label},
				{"systemid", i.SystemID.V, "7363823450123456789"},
				{"pgdata", i.PGData.V, c.pgdata},
				{"config_file", i.ConfigFile.V, c.configFile},
				{"cluster_size", i.ClusterSize.V, int64(31457280)},
				{"data_checksums", i.DataChecksums.V, "on"},
				{"summarize_wal", i.SummarizeWAL.Valid, false},
				{"tablespaces", i.Tablespaces, []backupinfo.Tablespace{{Name: "tbs1", OID: 16400, Location: c.tablespace}}},
				{"included_files", len(i.IncludedFiles), 2},
				{"error", i.Error.Valid, false},
			}
			for _, ck := range checks {
				if !equal(ck.got, ck.want) {
					t.Errorf("%s = %v, want %v", ck.field, ck.got, ck.want)
				}
			}
			var statKeys []string
			for _, it := range i.CopyStats {
				statKeys = append(statKeys, it.Key.(string))
			}
			if want := []string{"total_time", "number_of_workers", "analysis_time", "analysis_time_per_item", "copy_time_per_item", "serialized_copy_time_per_item", "copy_time", "serialized_copy_time"}; !slices.Equal(statKeys, want) {
				t.Errorf("copy_stats keys %q, want %q", statKeys, want)
			}
			perItem, _ := i.CopyStats.Get("copy_time_per_item")
			if d, ok := perItem.(pylit.Dict); !ok || len(d) != 2 || d[0].Key != "16400" || d[1].Key != "data" {
				t.Errorf("copy_time_per_item = %s, want the tablespace, then data", pylit.Repr(perItem))
			}
			if w, _ := i.CopyStats.Get("number_of_workers"); w != int64(2) {
				t.Errorf("number_of_workers = %v, want -J's 2", w)
			}
			if want := "label=Barman backup cloud " + id; !slices.Contains(f.calls, want) || !slices.Contains(f.calls, "restore point barman_"+id) {
				t.Errorf("PostgreSQL calls %q", f.calls)
			}
			warning := "warn: The usage of include directives is not supported for files that reside outside PGDATA.\nPlease manually backup the following files:\n\t/etc/extra.conf\n"
			if !slices.Contains(messages(t, log), warning) {
				t.Errorf("no warning for the included file outside PGDATA:\n%s", log)
			}
		})
	}
}

func equal(a, b any) bool {
	if ta, ok := a.([]backupinfo.Tablespace); ok {
		return slices.Equal(ta, b.([]backupinfo.Tablespace))
	}
	return a == b
}

// TestBackupInfoFormat34: --backup-info-format 3.4 leaves out the fields
// Barman 3.4.0 does not know.
func TestBackupInfoFormat34(t *testing.T) {
	s := memStore()
	o := newOptions()
	o.infoFormat = backupinfo.Fields34
	j, log := testJob(t, s, &fakePG{c: newCluster(t, 100)}, o)
	if err := j.run(context.Background()); err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	text := string(readObject(t, s, base+"backup.info"))
	for _, f := range []string{"cluster_size=", "data_checksums=", "summarize_wal=", "parent_backup_id=", "children_backup_ids=", "encryption="} {
		if strings.Contains(text, f) {
			t.Errorf("3.4 format has %s", f)
		}
	}
	if !strings.Contains(text, "status=DONE\n") || !strings.Contains(text, "copy_stats={'total_time': ") {
		t.Errorf("3.4 format:\n%s", text)
	}
}

// TestBackupIDTaken: an ID whose directory holds objects is not reused:
// the backup waits for the next second.
func TestBackupIDTaken(t *testing.T) {
	s := memStore()
	catalogtest.Put(t, s, base+"data.tar", "another backup's")
	j, log := testJob(t, s, &fakePG{c: newCluster(t, 100)}, newOptions())
	if err := j.run(context.Background()); err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	if j.id != "20240501T120001" {
		t.Errorf("ID %s, want the next second's", j.id)
	}
	if got := string(readObject(t, s, base+"data.tar")); got != "another backup's" {
		t.Errorf("the other backup's archive was replaced: %q", got)
	}
	if !slices.Contains(messages(t, log), "warn: Backup ID 20240501T120000 is already taken under pfx/srv/base: waiting for the next second") {
		t.Errorf("no warning:\n%s", log)
	}
}

// TestBackupFailed: a failure once the backup started, or an
// interruption, aborts every upload in progress and leaves a FAILED
// backup.info with the fields known so far, never a DONE one; the error
// has exit status 1.
func TestBackupFailed(t *testing.T) {
	boom := errors.New("boom\nsecond line")
	for _, tc := range []struct {
		name string
		// setup makes the failure; cancel interrupts the run.
		setup     func(f *fakePG, cancel context.CancelCauseFunc)
		errorText string
		begun     bool // begin_* fields are known
		stopped   bool // end_* fields are known
		archives  []string
	}{
		{"metadata query", func(f *fakePG, _ context.CancelCauseFunc) { f.fail = map[string]error{"Metadata": boom} },
			"failure uploading data (boom)", false, false, nil},
		{"pg_backup_start", func(f *fakePG, _ context.CancelCauseFunc) {
			f.fail = map[string]error{"StartBackup": &pg.QueryError{Op: "pg_backup_start command", Err: boom}}
		}, "failure uploading data (pg_backup_start command: boom; second line)", false, false, nil},
		// The tablespace's archive is stored before the stop; the data
		// archive, a part of it already sent, is aborted.
		{"pg_backup_stop", func(f *fakePG, _ context.CancelCauseFunc) {
			f.fail = map[string]error{"StopBackup": &pg.QueryError{Op: "Error issuing pg_backup_stop command", Err: boom}}
		}, "failure uploading data (Error issuing pg_backup_stop command: boom; second line)", true, false, []string{"16400.tar"}},
		{"SIGTERM", func(f *fakePG, cancel context.CancelCauseFunc) {
			f.onStop = func() { cancel(errors.New("terminated signal received")) }
		}, "failure uploading data (interrupted: terminated signal received)", true, false, []string{"16400.tar"}},
		{"no backup privileges", func(f *fakePG, _ context.CancelCauseFunc) {
			f.fail = map[string]error{"SwitchWAL": &pg.PrivilegesError{User: "bob"}}
		}, "failure uploading data (Postgres user 'bob' is missing required privileges (see \"Preliminary steps\" in the Barman manual))", true, true, []string{"16400.tar"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := memStore()
			f := &fakePG{c: newCluster(t, 6<<20)} // more than one 5 MiB part
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			tc.setup(f, cancel)
			j, log := testJob(t, s, f, newOptions())
			err := j.run(ctx)
			if got := cloudcli.StatusOf(err); got != exitcode.Failure || !exitcode.IsReported(err) {
				t.Fatalf("run: %v (exit %d), want a reported failure, exit 1", err, got)
			}
			i := info(t, s, base+"backup.info")
			if i.Status.V != backupinfo.StatusFailed || i.Error.V != tc.errorText {
				t.Errorf("status %s, error %q; want FAILED, %q", i.Status.V, i.Error.V, tc.errorText)
			}
			if i.BeginWAL.Valid != tc.begun || i.EndWAL.Valid != tc.stopped || i.CopyStats != nil {
				t.Errorf("begin_wal %v, end_wal %v, copy_stats %v", i.BeginWAL, i.EndWAL, i.CopyStats)
			}
			if i.ServerName.V != "cloud" || i.SystemID.V == "" {
				t.Errorf("server_name %v, systemid %v", i.ServerName, i.SystemID)
			}
			if tc.name != "metadata query" && i.PGData.V != f.c.pgdata {
				t.Errorf("pgdata %v, known before the failure", i.PGData)
			}
			var archives []string
			for _, k := range keys(t, s, "pfx/") {
				if k != base+"backup.info" {
					archives = append(archives, strings.TrimPrefix(k, base))
				}
			}
			if !slices.Equal(archives, tc.archives) {
				t.Errorf("archives %q, want %q", archives, tc.archives)
			}
			if open := s.OpenUploads(); len(open) > 0 {
				t.Errorf("uploads left open: %q", open)
			}
			if want := "error: Backup failed uploading data (" + strings.TrimPrefix(tc.errorText, "failure uploading data ("); !slices.Contains(messages(t, log), want) {
				t.Errorf("no ERROR %q in the log:\n%s", want, log)
			}
		})
	}
}

// TestBackupUnsupportedVersion: PostgreSQL older than 9.6 stops the
// backup before it starts: exit 4, nothing stored.
func TestBackupUnsupportedVersion(t *testing.T) {
	s := memStore()
	f := &fakePG{c: newCluster(t, 100), fail: map[string]error{"CheckVersion": &pg.UnsupportedVersionError{Version: 90500, Major: "9.5"}}}
	j, _ := testJob(t, s, f, newOptions())
	err := j.run(context.Background())
	if cloudcli.StatusOf(err) != exitcode.General || err.Error() != "Barman cloud backup exception: unsupported PostgresSQL version 9.5. Expecting 9.6.0 or above." {
		t.Errorf("run: %v (exit %d)", err, cloudcli.StatusOf(err))
	}
	if k := keys(t, s, "pfx/"); len(k) > 0 {
		t.Errorf("stored %q", k)
	}
}

// TestBackupStorageFailures: on a file:// store, an archive that cannot
// be stored fails the backup (FAILED); a backup.info that cannot be
// stored either leaves none, with Barman's message.
func TestBackupStorageFailures(t *testing.T) {
	t.Run("archive", func(t *testing.T) {
		s, u := catalogtest.FileStore(t)
		dir := strings.TrimPrefix(u, "file://")
		// A directory where data.tar would go: the object cannot be made.
		if err := os.MkdirAll(filepath.Join(dir, "srv/base", id, "data.tar", "x"), 0o755); err != nil {
			t.Fatal(err)
		}
		j, log := testJob(t, s, &fakePG{c: newCluster(t, 100)}, newOptions())
		err := j.run(context.Background())
		if cloudcli.StatusOf(err) != exitcode.Failure {
			t.Fatalf("run: %v", err)
		}
		i := info(t, s, "srv/base/"+id+"/backup.info")
		if i.Status.V != backupinfo.StatusFailed || !strings.HasPrefix(i.Error.V, "failure uploading data (") {
			t.Errorf("status %s, error %q\n%s", i.Status.V, i.Error.V, log)
		}
	})
	t.Run("backup.info", func(t *testing.T) {
		s, u := catalogtest.FileStore(t)
		dir := strings.TrimPrefix(u, "file://")
		f := &fakePG{c: newCluster(t, 100)}
		f.onStop = func() { os.RemoveAll(dir) } // the storage goes away
		j, log := testJob(t, s, f, newOptions())
		err := j.run(context.Background())
		if cloudcli.StatusOf(err) != exitcode.Failure || !exitcode.IsReported(err) {
			t.Fatalf("run: %v", err)
		}
		if !strings.Contains(log.String(), "Backup failed uploading backup.info file (") {
			t.Errorf("log:\n%s", log)
		}
		if _, err := os.Stat(filepath.Join(dir, "srv/base", id, "backup.info")); err == nil {
			t.Error("a backup.info was stored")
		}
	})
}
