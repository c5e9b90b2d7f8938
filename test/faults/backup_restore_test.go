//go:build integration

package faults

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/barmancloud/barman-cloud/shared/backupinfo"
	"github.com/barmancloud/barman-cloud/shared/catalog"
	"github.com/barmancloud/barman-cloud/shared/compress"
	"github.com/barmancloud/barman-cloud/shared/pgtar"
	"github.com/barmancloud/barman-cloud/shared/storage"
	"github.com/barmancloud/barman-cloud/test/faultproxy"
	"github.com/barmancloud/barman-cloud/test/harness"
)

// The backups of TestBackupRestoreFaults.
const (
	restoreDone    = "20240501T120000" // complete: PGDATA in parts, a tablespace
	restoreFailed  = "20240502T120000" // FAILED
	restoreMissing = "20240503T120000" // DONE, without its PGDATA archive
)

// backupRestoreScenarios break the downloads of a backup's archives.
var backupRestoreScenarios = []scenario{
	{
		name: "cuts in the middle of the archives, resumed",
		rules: func(id string) []*faultproxy.Rule {
			return []*faultproxy.Rule{{Name: "cut-archive", Match: isArchiveDownload(id), Times: 3, Fault: faultproxy.Fault{Kind: faultproxy.CutResponse, After: 300 << 10}}}
		},
		minFaults: 3, stderr: "resuming at byte",
	},
	{
		name: "a burst of 503 on an archive",
		rules: func(id string) []*faultproxy.Rule {
			return []*faultproxy.Rule{{Name: "503-archive", Match: isArchiveDownload(id), Skip: 1, Times: 3, Fault: faultproxy.Fault{Kind: faultproxy.Unavailable}}}
		},
		minFaults: 3, stderr: "HTTP 503",
	},
	{
		name: "a stalled archive, given up after --read-timeout and retried",
		rules: func(id string) []*faultproxy.Rule {
			return []*faultproxy.Rule{{Name: "stall-archive", Match: isArchiveDownload(id), Skip: 2, Times: 2, Fault: faultproxy.Fault{Kind: faultproxy.Stall}}}
		},
		args: []string{"--read-timeout", "1"}, minFaults: 2, stderr: "no data sent or received for 1s",
	},
	{
		name: "every archive cut before its first byte",
		rules: func(id string) []*faultproxy.Rule {
			return []*faultproxy.Rule{{Name: "cut-forever", Match: isArchiveDownload(id), Fault: faultproxy.Fault{Kind: faultproxy.CutResponse, After: 0}}}
		},
		code: 2, minFaults: 5, stderr: "(gave up after 5 attempts)",
	},
	{
		name: "503 on every archive",
		rules: func(id string) []*faultproxy.Rule {
			return []*faultproxy.Rule{{Name: "503-forever", Match: isArchiveDownload(id), Skip: 1, Fault: faultproxy.Fault{Kind: faultproxy.Unavailable}}}
		},
		code: 2, minFaults: 5, stderr: "(gave up after 5 attempts)",
	},
}

// isArchiveDownload: a read of an archive of backup id (not of its
// backup.info).
func isArchiveDownload(id string) func(*http.Request) bool {
	dl := isDownload(id)
	return func(r *http.Request) bool { return dl(r) && !strings.Contains(r.URL.Path, "backup.info") }
}

// TestBackupRestoreFaults: barman-cloud-restore through the faults of the
// storage, on every provider: either the restored tree is the source,
// byte for byte, or the tool exits 2 with one ERROR line and does not
// claim success. Then a FAILED backup and one missing its first archive
// are refused with exit status 1.
func TestBackupRestoreFaults(t *testing.T) {
	t.Parallel() // mostly waiting: backoff and stalls
	src, tbs := sourceTree(t)
	eachProvider(t, func(t *testing.T, p provider) {
		prefix := harness.UniquePrefix(t)
		p.cleanup(t, prefix)
		putBackups(t, p.openDirect(t), prefix, src, tbs)
		for _, sc := range backupRestoreScenarios {
			t.Run(sc.name, func(t *testing.T) {
				px := p.proxy(t)
				px.SetRules(sc.rules(restoreDone)...)
				dest, newTbs := filepath.Join(t.TempDir(), "data"), filepath.Join(t.TempDir(), "tbs")
				args := append(append([]string{"-v"}, sc.args...), "--tablespace", "tbs:"+newTbs, p.URL(prefix), "pg", restoreDone, dest)
				r := p.run(t, px, 3*time.Minute, "barman-cloud-restore", args...)
				checkOutcome(t, sc, r, px)
				corrupt := 0
				if r.Code == 0 {
					corrupt += compareDirs(t, src, dest, "pg_tblspc") + compareDirs(t, tbs, newTbs, "")
				} else if strings.Contains(r.Stderr, "INFO: Restored") {
					corrupt++
					t.Errorf("a failed restore claims success:\n%s", r.Stderr)
				}
				count(px.Injected(), 0, 0, corrupt)
				t.Logf("exit %d in %s; %d faults injected %v", r.Code, r.Elapsed.Round(time.Millisecond), px.Injected(), px.Counts())
			})
		}
		t.Run("SIGTERM during the download", func(t *testing.T) { restoreTerminated(t, p, prefix) })
		for _, tc := range []struct{ id, stderr string }{
			{restoreFailed, "ERROR: Backup " + restoreFailed + " for server pg has status FAILED (failure uploading data): only a DONE backup can be restored"},
			{restoreMissing, "ERROR: Missing file " + prefix + "/pg/base/" + restoreMissing + "/data.* for server pg"},
		} {
			r := p.run(t, p.proxy(t), time.Minute, "barman-cloud-restore", p.URL(prefix), "pg", tc.id, filepath.Join(t.TempDir(), "data"))
			if r.Code != 1 || !strings.Contains(r.Stderr, tc.stderr) {
				t.Errorf("%s: exit %d, want 1 and %q:\n%s", tc.id, r.Code, tc.stderr, r.Stderr)
			}
			checkStderr(t, r)
		}
	})
}

// restoreTerminated sends SIGTERM to a restore once it has extracted a
// file: it stops with exit status 1 and Barman's words, without claiming
// success.
func restoreTerminated(t *testing.T, p provider, prefix string) {
	px := p.proxy(t)
	px.SetRules(&faultproxy.Rule{Name: "slow-archive", Match: isArchiveDownload(restoreDone), Fault: faultproxy.Fault{Rate: 512 << 10}})
	dest := filepath.Join(t.TempDir(), "data")
	cmd := p.command(t, px, "barman-cloud-restore", "-v", "--tablespace", "tbs:"+filepath.Join(t.TempDir(), "tbs"), p.URL(prefix), "pg", restoreDone, dest)
	started := false
	r := harness.Wait(t, cmd, time.Minute, func(proc *os.Process) {
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) && !started {
			_, err := os.Stat(filepath.Join(dest, "PG_VERSION"))
			started = err == nil
			time.Sleep(10 * time.Millisecond)
		}
		proc.Signal(syscall.SIGTERM)
	})
	if !started {
		t.Fatal("nothing extracted within 30 s")
	}
	if r.Code != 1 || !strings.Contains(r.Stderr, "ERROR: Barman cloud restore was interrupted by the user: ") || strings.Contains(r.Stderr, "INFO: Restored") {
		t.Errorf("exit %d, want 1 and Barman's words, no success:\n%s", r.Code, r.Stderr)
	}
	checkStderr(t, r)
}

// sourceTree makes a small data directory (three incompressible files of
// 1.5 MiB, a link) and a tablespace directory.
func sourceTree(t *testing.T) (src, tbs string) {
	t.Helper()
	dir := t.TempDir()
	src, tbs = filepath.Join(dir, "data"), filepath.Join(dir, "tbs")
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return string(b)
	}
	files := map[string]string{
		"data/PG_VERSION": "15\n", "data/global/pg_control": "control",
		"data/base/1/16384": random(1536 << 10), "data/base/1/16385": random(1536 << 10), "data/base/5/16386": random(1536 << 10),
		"data/pg_tblspc/.keep": "", "tbs/PG_15_202209061/5/16400": random(1 << 20),
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("PG_VERSION", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	return src, tbs
}

// putBackups stores the three backups, archived with pgtar's Writer:
// PGDATA gzip-compressed in parts of about 2 MiB, the tablespace as a
// plain tar.
func putBackups(t *testing.T, s *storage.Store, prefix, src, tbs string) {
	t.Helper()
	ctx := context.Background()
	// The store's prefix is the run's; the catalog works under it.
	s.Loc.Prefix = prefix
	c := catalog.New(s, "pg")
	archive := func(id, item, root string, alg *compress.Algorithm) {
		w := &pgtar.Writer{MaxSize: 2 << 20, Open: func(part int) (pgtar.Part, error) {
			var buf bytes.Buffer
			var zw io.WriteCloser = nopWriteCloser{&buf}
			if alg != nil {
				var err error
				if zw, err = alg.NewWriter(&buf, compress.Medium); err != nil {
					return nil, err
				}
			}
			key := c.ArchiveKey(id, item, part, catalog.ArchiveExt(alg))
			return &pgtar.CountingPart{W: zw, OnClose: func() error {
				if err := zw.Close(); err != nil {
					return err
				}
				return s.Upload(ctx, key, bytes.NewReader(buf.Bytes()), int64(buf.Len()), storage.UploadOptions{})
			}}, nil
		}}
		if err := w.AddTree(root, pgtar.NewRules(nil, nil)); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if item == "data" && w.Parts() < 2 {
			t.Fatalf("PGDATA in %d part, want several", w.Parts())
		}
	}
	info := func(status backupinfo.Status) *backupinfo.Info {
		i := backupinfo.New()
		i.Status = backupinfo.Some(status)
		i.Version = backupinfo.Some[int64](150004)
		i.PGData = backupinfo.Some(src)
		i.Tablespaces = []backupinfo.Tablespace{{Name: "tbs", OID: 16400, Location: "/nonexistent/tbs"}}
		if status == backupinfo.StatusFailed {
			i.Error = backupinfo.Some("failure uploading data")
		}
		return i
	}
	for _, b := range []struct {
		id     string
		status backupinfo.Status
		data   bool
	}{{restoreDone, backupinfo.StatusDone, true}, {restoreFailed, backupinfo.StatusFailed, true}, {restoreMissing, backupinfo.StatusDone, false}} {
		if b.data {
			archive(b.id, "data", src, compress.Gzip)
		}
		archive(b.id, "16400", tbs, nil)
		if err := c.WriteInfo(ctx, b.id, info(b.status), backupinfo.Fields317, storage.UploadOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

type nopWriteCloser struct{ *bytes.Buffer }

func (nopWriteCloser) Close() error { return nil }

// compareDirs compares the files and links under got with those under
// want (skipping the directory skip), and returns the number of
// differences, each reported.
func compareDirs(t *testing.T, want, got, skip string) int {
	t.Helper()
	a, b := digests(t, want, skip), digests(t, got, skip)
	bad := 0
	for p, d := range a {
		if b[p] != d {
			bad++
			t.Errorf("%s: restored %.20q, want %.20q", p, b[p], d)
		}
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			bad++
			t.Errorf("%s: restored, not in the source", p)
		}
	}
	return bad
}

// digests maps every file under root to its sha256, every link to its
// target.
func digests(t *testing.T, root, skip string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		switch {
		case skip != "" && rel == skip:
			return filepath.SkipDir
		case fi.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(p)
			out[rel] = "-> " + target
			return err
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			sum := sha256.Sum256(b)
			out[rel] = hex.EncodeToString(sum[:])
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
