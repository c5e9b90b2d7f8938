package backupdelete

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/barmancloud/barman-cloud/shared/catalog"
	"github.com/barmancloud/barman-cloud/shared/catalog/catalogtest"
	"github.com/barmancloud/barman-cloud/shared/cloudcli"
	"github.com/barmancloud/barman-cloud/shared/exitcode"
	"github.com/barmancloud/barman-cloud/shared/retention"
	"github.com/barmancloud/barman-cloud/shared/storage"
)

// nowC is spec §11.2's evaluation time.
var nowC = time.Date(2024, 2, 10, 0, 0, 0, 0, time.UTC)

// storeC is catalog C with its WALs in a memory store standing for
// s3://bucket/pfx (prefix deletions on), or another provider; only the
// backups named (all when none) are kept.
func storeC(t *testing.T, p storage.Provider, only ...string) *storage.Store {
	t.Helper()
	s := storage.NewMemStore(storage.Location{Provider: p, Bucket: "bucket", Prefix: "pfx"})
	catalogtest.FixtureC(t, s, "srv")
	catalogtest.FixtureCWALs(t, s, "srv")
	if len(only) > 0 {
		for _, o := range keys(t, s) {
			id, _, _ := strings.Cut(strings.TrimPrefix(o, "pfx/srv/base/"), "/")
			if strings.HasPrefix(o, "pfx/srv/base/") && !slices.Contains(only, id) {
				if _, err := s.Delete(context.Background(), []string{o}, 0); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	return s
}

func keys(t *testing.T, s *storage.Store) []string {
	t.Helper()
	objs, err := s.List(context.Background(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	var ks []string
	for _, o := range objs {
		ks = append(ks, o.Key)
	}
	slices.Sort(ks)
	return ks
}

type result struct {
	out, log string
	err      error
}

func runDelete(t *testing.T, s *storage.Store, req Request) result {
	t.Helper()
	var out, log bytes.Buffer
	if req.Now.IsZero() {
		req.Now = nowC
	}
	err := Delete(context.Background(), cloudcli.NewLogger(&log, 1), &out, s, "srv", req)
	return result{out.String(), log.String(), err}
}

func pol(t *testing.T, s string) *retention.Policy {
	p, err := retention.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return &p
}

// The dry-run lines of spec §11.3, byte for byte.
const (
	line0101 = "Skipping deletion of objects ['pfx/srv/base/20240101T000000/data.tar.gz', 'pfx/srv/base/20240101T000000/backup.info'] due to --dry-run option\n"
	wals0101 = "Skipping deletion of objects ['pfx/srv/wals/0000000100000000/000000010000000000000001.gz', 'pfx/srv/wals/0000000100000000/000000010000000000000002.00000028.backup.gz', 'pfx/srv/wals/0000000100000000/000000010000000000000002.gz', 'pfx/srv/wals/0000000100000000/000000010000000000000003.gz'] due to --dry-run option\n"
	line0122 = "Skipping deletion of objects ['pfx/srv/base/20240122T000000/data.tar.gz', 'pfx/srv/base/20240122T000000/backup.info'] due to --dry-run option\n"
	wals0122 = "Skipping deletion of objects ['pfx/srv/wals/0000000100000000/000000010000000000000012.gz', 'pfx/srv/wals/0000000100000000/000000010000000000000030.gz'] due to --dry-run option\n"
	line0205 = "Skipping deletion of objects ['pfx/srv/base/20240205T000000/data.tar.gz', 'pfx/srv/base/20240205T000000/backup.info'] due to --dry-run option\n"
	line0115 = "Skipping deletion of objects ['pfx/srv/base/20240115T000000/data.tar.gz', 'pfx/srv/base/20240115T000000/backup.info'] due to --dry-run option\n"
)

func TestDryRunC(t *testing.T) {
	tl1 := func(names ...string) string {
		var q []string
		for _, n := range names {
			q = append(q, "'pfx/srv/wals/"+n+"'")
		}
		return "Skipping deletion of objects [" + strings.Join(q, ", ") + "] due to --dry-run option\n"
	}
	tests := []struct {
		name     string
		provider storage.Provider
		only     []string
		req      Request
		out      string
		err      string // error text, "" for none
		code     int
	}{
		{name: "REDUNDANCY 2", req: Request{Policy: pol(t, "REDUNDANCY 2")}, out: line0101 + wals0101 + line0122 + wals0122},
		{name: "REDUNDANCY 1", req: Request{Policy: pol(t, "REDUNDANCY 1")}, out: line0101 + wals0101 + line0122 + wals0122},
		{name: "RECOVERY WINDOW OF 1 WEEK", req: Request{Policy: pol(t, "RECOVERY WINDOW OF 1 WEEK")}, out: line0101 + wals0101 + line0122 + wals0122},
		{name: "REDUNDANCY 2 on azure", provider: storage.Azure, req: Request{Policy: pol(t, "REDUNDANCY 2")}, out: line0101 + wals0101 + line0122 + wals0122},
		{name: "REDUNDANCY 0", req: Request{Policy: pol(t, "REDUNDANCY 0")}, out: line0101 + wals0101 + line0122 + wals0122 + line0205},
		{name: "REDUNDANCY 3", req: Request{Policy: pol(t, "REDUNDANCY 3")}, out: line0101 + wals0101},
		{name: "-b kept", req: Request{BackupArg: "20240108T000000"}, code: 1,
			err: "Skipping delete of backup 20240108T000000 for server srv as it has a current keep request. If you really want to delete this backup please remove the keep and try again."},
		{name: "-b -m 6", req: Request{BackupArg: "20240101T000000", MinRedundancy: 6}, code: 1,
			err: "Skipping delete of backup 20240101T000000 for server srv due to minimum redundancy requirements (minimum redundancy = 6, current redundancy = 6)"},
		// Deliberate difference: Barman deletes with -m 5 (it counts the
		// FAILED backup); 5 DONE backups minus one would be 4 < 5.
		{name: "-b -m 5", req: Request{BackupArg: "20240101T000000", MinRedundancy: 5}, code: 1,
			err: "Skipping delete of backup 20240101T000000 for server srv due to minimum redundancy requirements (minimum redundancy = 5, current redundancy = 5)"},
		{name: "-b -m 4", req: Request{BackupArg: "20240101T000000", MinRedundancy: 4}, out: line0101 + wals0101},
		{name: "-b first", req: Request{BackupArg: "first"}, out: line0101 + wals0101},
		{name: "-b weekly", req: Request{BackupArg: "weekly"}, out: line0122},
		{name: "-b last-failed", req: Request{BackupArg: "last-failed"}, out: line0115},
		{name: "-b latest", req: Request{BackupArg: "latest"}, out: line0205},
		{name: "-b absent ID", req: Request{BackupArg: "20230101T000000"}, err: "Backup 20230101T000000 does not exist"},
		{name: "-b nosuch", req: Request{BackupArg: "nosuch"}, code: 4, err: "Unknown backup 'nosuch' for server 'srv'"},
		{name: "{0101, 0129 unkept}: a prefix", only: []string{"20240101T000000", "20240129T000000"}, req: Request{BackupArg: "20240101T000000"},
			out: line0101 + "Skipping deletion of all objects under prefix pfx/srv/wals/0000000100000000/ due to --dry-run option\n"},
		{name: "{0205}: every timeline-1 WAL", only: []string{"20240205T000000"}, req: Request{BackupArg: "20240205T000000"},
			out: line0205 + tl1("0000000100000000/000000010000000000000001.gz", "0000000100000000/000000010000000000000002.00000028.backup.gz",
				"0000000100000000/000000010000000000000002.gz", "0000000100000000/000000010000000000000003.gz",
				"0000000100000000/000000010000000000000010.gz", "0000000100000000/000000010000000000000011.gz",
				"0000000100000000/000000010000000000000012.gz", "0000000100000000/000000010000000000000030.gz",
				"0000000100000001/000000010000000100000005.gz", "0000000100000001/000000010000000100000006.partial")},
		// Barman crashes after the archive line (exit 4); we skip the
		// WAL clean-up with a warning.
		{name: "{0115}: no WAL clean-up", only: []string{"20240115T000000"}, req: Request{BackupArg: "20240115T000000"}, out: line0115},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.provider
			if p == "" {
				p = storage.S3
			}
			s := storeC(t, p, tc.only...)
			if tc.name == "{0101, 0129 unkept}: a prefix" {
				if err := catalog.New(s, "srv").ReleaseKeep(context.Background(), "20240129T000000"); err != nil {
					t.Fatal(err)
				}
			}
			before := keys(t, s)
			tc.req.DryRun = true
			r := runDelete(t, s, tc.req)
			if r.out != tc.out {
				t.Errorf("stdout:\n%s\nwant:\n%s", r.out, tc.out)
			}
			switch {
			case tc.err == "" && r.err != nil:
				t.Errorf("error %v", r.err)
			case tc.err != "" && (r.err == nil || r.err.Error() != tc.err):
				t.Errorf("error %v, want %s", r.err, tc.err)
			case tc.code != 0 && cloudcli.StatusOf(r.err) != tc.code:
				t.Errorf("exit status %d, want %d", cloudcli.StatusOf(r.err), tc.code)
			}
			if got := keys(t, s); !slices.Equal(got, before) {
				t.Errorf("a dry run changed the store: %v", got)
			}
		})
	}
}

// TestRealRunC: a real run deletes what the dry run printed, no more, and
// logs the same lists at INFO.
func TestRealRunC(t *testing.T) {
	for _, p := range []storage.Provider{storage.S3, storage.Azure, storage.GCS} {
		for _, batch := range []int{0, 1, 3} {
			s := storeC(t, p)
			dry := runDelete(t, s, Request{Policy: pol(t, "REDUNDANCY 2"), DryRun: true})
			before := keys(t, s)
			r := runDelete(t, s, Request{Policy: pol(t, "REDUNDANCY 2"), BatchSize: batch})
			if r.err != nil || r.out != "" {
				t.Fatalf("%s batch %d: %v, stdout %q", p, batch, r.err, r.out)
			}
			var printed []string
			for _, l := range strings.Split(strings.TrimSpace(dry.out), "\n") {
				list := strings.TrimSuffix(strings.TrimPrefix(l, "Skipping deletion of objects "), " due to --dry-run option")
				if !strings.Contains(r.log, "INFO: Deleting objects "+list+"\n") {
					t.Errorf("%s: the real run did not log %s:\n%s", p, list, r.log)
				}
				for _, k := range strings.Split(strings.Trim(list, "[]"), ", ") {
					printed = append(printed, strings.Trim(k, "'"))
				}
			}
			slices.Sort(printed)
			var gone []string
			after := keys(t, s)
			for _, k := range before {
				if !slices.Contains(after, k) {
					gone = append(gone, k)
				}
			}
			if !slices.Equal(gone, printed) {
				t.Errorf("%s batch %d: deleted %v, the dry run printed %v", p, batch, gone, printed)
			}
			for _, k := range after {
				if strings.HasSuffix(k, ".deleting") {
					t.Errorf("%s: marker %s left", p, k)
				}
			}
		}
	}
}

// TestUnreadable: any unreadable backup.info refuses everything.
func TestUnreadable(t *testing.T) {
	s := storeC(t, storage.S3)
	catalogtest.Put(t, s, "pfx/srv/base/20240108T000000/backup.info", "status=DONE\ngarbage line\n")
	before := keys(t, s)
	for _, req := range []Request{{Policy: pol(t, "REDUNDANCY 1")}, {BackupArg: "20240101T000000"}, {BackupArg: "nosuch"}} {
		r := runDelete(t, s, req)
		if cloudcli.StatusOf(r.err) != 1 || !strings.Contains(r.err.Error(), "Cannot read the following backups: ['20240108T000000']") {
			t.Errorf("%+v: %v", req, r.err)
		}
	}
	if !slices.Equal(keys(t, s), before) {
		t.Error("deleted something")
	}
}

// TestInterrupted cuts the deletion off at every delete request in turn;
// after each cut, no listed backup lacks its archive and nothing a kept
// backup needs is gone; running the same command again ends where an
// uninterrupted run ends.
func TestInterrupted(t *testing.T) {
	for _, p := range []storage.Provider{storage.S3, storage.GCS} {
		for _, req := range []Request{{Policy: pol(t, "REDUNDANCY 1"), BatchSize: 1}, {Policy: pol(t, "REDUNDANCY 0")}, {BackupArg: "oldest"}} {
			ref := storeC(t, p)
			if r := runDelete(t, ref, req); r.err != nil {
				t.Fatal(r.err)
			}
			want := keys(t, ref)
			cuts := 0
			for cut := 1; ; cut++ {
				s := storeC(t, p)
				var n atomic.Int32
				s.FailDeletes(func(string) error {
					if n.Add(1) == int32(cut) {
						return errors.New("connection reset")
					}
					return nil
				})
				r := runDelete(t, s, req)
				s.FailDeletes(nil)
				if r.err == nil {
					if !slices.Equal(keys(t, s), want) {
						t.Errorf("%s %+v: uncut run differs", p, req)
					}
					break
				}
				cuts++
				if cloudcli.StatusOf(r.err) != exitcode.Failure || !exitcode.IsReported(r.err) ||
					!strings.Contains(r.log, "ERROR: Could not delete backup ") ||
					!(strings.Contains(r.log, "Deleted by this run before the failure") || strings.Contains(r.log, "Nothing was deleted by this run")) {
					t.Errorf("%s cut %d: %v, log:\n%s", p, cut, r.err, r.log)
				}
				checkIntact(t, s)
				// Barman's catalog (backup.info) never lists a backup
				// without its archive.
				ks := keys(t, s)
				for _, k := range ks {
					if strings.HasSuffix(k, "/backup.info") && !slices.Contains(ks, strings.TrimSuffix(k, "backup.info")+"data.tar.gz") {
						t.Errorf("%s cut %d: %s listed without its archive", p, cut, k)
					}
				}
				if r := runDelete(t, s, req); r.err != nil {
					t.Fatalf("%s cut %d: re-run: %v", p, cut, r.err)
				}
				if got := keys(t, s); !slices.Equal(got, want) {
					t.Errorf("%s %+v cut %d: after the re-run\n got %v\nwant %v", p, req, cut, got, want)
				}
			}
			if cuts < 3 {
				t.Errorf("%s %+v: only %d cut points", p, req, cuts)
			}
		}
	}
}

// checkIntact: the kept and remaining DONE backups of C still have the
// WALs from their begin_wal to their end_wal, and the history file is
// there.
func checkIntact(t *testing.T, s *storage.Store) {
	t.Helper()
	ks := keys(t, s)
	need := map[string][]string{
		"20240108T000000": {"0000000100000000/000000010000000000000010.gz", "0000000100000000/000000010000000000000011.gz"},
		"20240129T000000": {"0000000100000001/000000010000000100000005.gz", "0000000100000001/000000010000000100000006.partial"},
		"20240205T000000": {"0000000200000001/000000020000000100000010.gz"},
	}
	for id, ws := range need {
		if !slices.Contains(ks, "pfx/srv/base/"+id+"/backup.info") {
			continue
		}
		for _, w := range ws {
			if !slices.Contains(ks, "pfx/srv/wals/"+w) {
				t.Errorf("backup %s lost %s", id, w)
			}
		}
	}
	if !slices.Contains(ks, "pfx/srv/wals/00000002.history.gz") {
		t.Error("history file deleted")
	}
}

// TestResumeDryRun: a dry run after an interrupted deletion prints the
// rest of it first, the marker last, and "-b latest" run again names the
// backup it named the first time.
func TestResumeDryRun(t *testing.T) {
	s := storeC(t, storage.S3)
	var n atomic.Int32
	s.FailDeletes(func(k string) error {
		if n.Add(1) == 2 { // backup.info went, the archive did not
			return fmt.Errorf("cut at %s", k)
		}
		return nil
	})
	if r := runDelete(t, s, Request{BackupArg: "latest"}); r.err == nil {
		t.Fatal("no failure")
	}
	s.FailDeletes(nil)
	r := runDelete(t, s, Request{BackupArg: "latest", DryRun: true})
	want := "Skipping deletion of objects ['pfx/srv/base/20240205T000000/data.tar.gz'] due to --dry-run option\n" +
		"Skipping deletion of objects ['pfx/srv/base/20240205T000000/backup.info.deleting'] due to --dry-run option\n"
	if r.err != nil || r.out != want {
		t.Errorf("%v, stdout:\n%s\nwant:\n%s", r.err, r.out, want)
	}
	// Another command finishes it first, then does its own work.
	r = runDelete(t, s, Request{BackupArg: "20240101T000000", DryRun: true})
	if r.err != nil || !strings.HasPrefix(r.out, want) || !strings.HasSuffix(r.out, line0101+wals0101) {
		t.Errorf("%v, stdout:\n%s", r.err, r.out)
	}
	r = runDelete(t, s, Request{BackupArg: "20230101T000000"})
	var nsb *retention.NoSuchBackupError
	if !errors.As(r.err, &nsb) || slices.ContainsFunc(keys(t, s), func(k string) bool { return strings.Contains(k, "20240205T000000") }) {
		t.Errorf("%v: %v", r.err, keys(t, s))
	}
}
