//go:build integration

package faults

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/barmancloud/barman-cloud/test/faultproxy"
	"github.com/barmancloud/barman-cloud/test/harness"
)

// restoreScenarios break wal-restore's requests: the listing, the
// metadata read and the download.
var restoreScenarios = []scenario{
	{
		name: "cuts in the middle of the download",
		rules: func(base string) []*faultproxy.Rule {
			return []*faultproxy.Rule{{Name: "cut-download", Match: isDownload(base), Times: 2, Fault: faultproxy.Fault{Kind: faultproxy.CutResponse, After: 64 << 10}}}
		},
		minFaults: 2,
	},
	{
		name: "a burst of 503 on the download",
		rules: func(base string) []*faultproxy.Rule {
			return []*faultproxy.Rule{{Name: "503-download", Match: isDownload(base), Times: 3, Fault: faultproxy.Fault{Kind: faultproxy.Unavailable}}}
		},
		minFaults: 3, stderr: "HTTP 503",
	},
	{
		name: "resets before the listing and 503 on the metadata read",
		rules: func(base string) []*faultproxy.Rule {
			return []*faultproxy.Rule{
				{Name: "reset-list", Match: isList, Times: 2, Fault: faultproxy.Fault{Kind: faultproxy.ResetBeforeForward}},
				{Name: "503-metadata", Match: isMetadata(base), Times: 2, Fault: faultproxy.Fault{Kind: faultproxy.Unavailable}},
			}
		},
		minFaults: 4, stderr: "connection reset by peer; trying again in",
	},
	{
		// Two stalls: net/http itself sends a GET again, once, when a
		// reused connection fails before the first byte of the answer.
		name: "stalled downloads, given up after --read-timeout and retried",
		rules: func(base string) []*faultproxy.Rule {
			return []*faultproxy.Rule{{Name: "stall-download", Match: isDownload(base), Times: 2, Fault: faultproxy.Fault{Kind: faultproxy.Stall}}}
		},
		args: []string{"--read-timeout", "1"}, minFaults: 2, stderr: "no data sent or received for 1s",
	},
}

var restoreFailures = []scenario{
	{
		name: "503 on every download",
		rules: func(base string) []*faultproxy.Rule {
			return []*faultproxy.Rule{{Name: "503-forever", Match: isDownload(base), Fault: faultproxy.Fault{Kind: faultproxy.Unavailable}}}
		},
		code: 2, minFaults: 5, stderr: "(gave up after 5 attempts)",
	},
	{
		name: "every download cut, bounded by --max-time",
		rules: func(base string) []*faultproxy.Rule {
			return []*faultproxy.Rule{{Name: "cut-forever", Match: isDownload(base), Fault: faultproxy.Fault{Kind: faultproxy.CutResponse, After: 64 << 10}}}
		},
		args: []string{"--max-time", "2"}, code: 2, minFaults: 1,
		stderr: "the time limit of 2s (--max-time)", maxTime: 5 * time.Second,
	},
}

// TestRestoreFaults archives a segment (uncompressed and compressed) on
// each provider, then restores it through every scenario: either the
// restored file is the segment, byte for byte, or the tool exits 2 and
// nothing is left in the destination directory, temporary file included.
func TestRestoreFaults(t *testing.T) {
	t.Parallel() // mostly waiting: backoff and stalls
	wals := harness.WALs(t)
	src := wals.Segments[1]
	eachProvider(t, func(t *testing.T, p provider) {
		for _, comp := range []string{"", "--zstd"} {
			t.Run(compName(comp), func(t *testing.T) {
				prefix := harness.UniquePrefix(t)
				p.cleanup(t, prefix)
				archive(t, p, prefix, comp, src)
				for _, sc := range restoreScenarios {
					t.Run(sc.name, func(t *testing.T) { runRestore(t, p, sc, prefix, src) })
				}
				if comp == "" {
					for _, sc := range append([]scenario{slow}, restoreFailures...) {
						t.Run(sc.name, func(t *testing.T) { runRestore(t, p, sc, prefix, src) })
					}
				}
			})
		}
	})
}

// archive stores src under prefix, through a proxy that breaks nothing.
func archive(t *testing.T, p provider, prefix, comp, src string) {
	t.Helper()
	args := []string{p.URL(prefix), "pg", src}
	if comp != "" {
		args = append([]string{comp}, args...)
	}
	if r := p.run(t, p.proxy(t), time.Minute, "barman-cloud-wal-archive", args...); r.Code != 0 {
		t.Fatalf("archiving %s: exit %d: %s", filepath.Base(src), r.Code, r.Stderr)
	}
}

func runRestore(t *testing.T, p provider, sc scenario, prefix, src string) {
	t.Helper()
	px := p.proxy(t)
	base := filepath.Base(src)
	px.SetRules(sc.rules(base)...)
	dir := t.TempDir()
	dest := filepath.Join(dir, "RECOVERYXLOG")
	args := append(append([]string{"-v"}, sc.args...), p.URL(prefix), "pg", base, dest)
	r := p.run(t, px, 2*time.Minute, "barman-cloud-wal-restore", args...)
	checkOutcome(t, sc, r, px)
	lost, corrupt := checkRestored(t, src, dir, dest, r.Code == 0)
	count(px.Injected(), 1, lost, corrupt)
	t.Logf("exit %d in %s; %d faults injected %v; %d lost, %d corrupt",
		r.Code, r.Elapsed.Round(time.Millisecond), px.Injected(), px.Counts(), lost, corrupt)
}

// checkRestored checks the destination directory after a restore: with
// restored, exactly WAL_DEST holding src's bytes; otherwise nothing at
// all. It returns the number of lost WALs (0 or 1) and of corrupt or
// stray files, each reported as a test error.
func checkRestored(t *testing.T, src, dir, dest string, restored bool) (lost, corrupt int) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if filepath.Join(dir, e.Name()) == dest && restored {
			continue
		}
		corrupt++
		t.Errorf("left in the destination directory: %s", e.Name())
	}
	if !restored {
		return 0, corrupt
	}
	got, err := os.ReadFile(dest)
	if err != nil {
		t.Errorf("reported restored, but: %v", err)
		return 1, corrupt
	}
	want, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		corrupt++
		t.Errorf("restored %d bytes that differ from the %d archived", len(got), len(want))
	}
	return 0, corrupt
}

// TestCheckWALArchiveFaults: check-wal-archive lists through the faults,
// or exits 2.
func TestCheckWALArchiveFaults(t *testing.T) {
	t.Parallel()
	scenarios := []scenario{
		{
			name: "resets and 503 on the listing",
			rules: func(string) []*faultproxy.Rule {
				return []*faultproxy.Rule{
					{Name: "reset-list", Match: isList, Times: 1, Fault: faultproxy.Fault{Kind: faultproxy.ResetBeforeForward}},
					{Name: "503-list", Match: isList, Times: 2, Fault: faultproxy.Fault{Kind: faultproxy.Unavailable}},
				}
			},
			minFaults: 3,
		},
		{
			name: "503 on every request",
			rules: func(string) []*faultproxy.Rule {
				return []*faultproxy.Rule{{Name: "503-forever", Fault: faultproxy.Fault{Kind: faultproxy.Unavailable}}}
			},
			code: 2, minFaults: 5, stderr: "(gave up after 5 attempts)",
		},
	}
	eachProvider(t, func(t *testing.T, p provider) {
		for _, sc := range scenarios {
			t.Run(sc.name, func(t *testing.T) {
				px := p.proxy(t)
				px.SetRules(sc.rules("")...)
				r := p.run(t, px, time.Minute, "barman-cloud-check-wal-archive", "-v", p.URL(harness.UniquePrefix(t)), "pg")
				checkOutcome(t, sc, r, px)
				count(px.Injected(), 0, 0, 0)
				t.Logf("exit %d in %s; %d faults injected %v", r.Code, r.Elapsed.Round(time.Millisecond), px.Injected(), px.Counts())
			})
		}
	})
}

// TestRestoreLocalErrors: a destination directory that is full, or
// read-only, is a clear one-line error (exit 4, not retried), and leaves
// nothing at or next to WAL_DEST. Both are real file systems: a 1 MiB
// tmpfs, and a tmpfs mounted read-only (root ignores permission bits, so
// chmod could not make a directory read-only for these tests).
func TestRestoreLocalErrors(t *testing.T) {
	wals := harness.WALs(t)
	src := wals.Segments[2]
	base := filepath.Base(src)
	p := providers(t)[0]
	prefix := harness.UniquePrefix(t)
	p.cleanup(t, prefix)
	archive(t, p, prefix, "--lz4", src)
	for _, tc := range []struct {
		name, opts, msg string
	}{
		{"full", "size=1m", "no space left on device"},
		{"read-only", "ro,size=1m", "read-only file system"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := mountTmpfs(t, tc.opts)
			dest := filepath.Join(dir, "RECOVERYXLOG")
			px := p.proxy(t)
			r := p.run(t, px, time.Minute, "barman-cloud-wal-restore", p.URL(prefix), "pg", base, dest)
			if r.Code != 4 {
				t.Errorf("exit %d, want 4: %s", r.Code, r.Stderr)
			}
			lines := strings.Split(strings.TrimSpace(r.Stderr), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], "ERROR: ") || !strings.Contains(lines[0], tc.msg) {
				t.Errorf("want one ERROR line saying %q:\n%s", tc.msg, r.Stderr)
			}
			if strings.Contains(r.Stderr, "trying again") {
				t.Errorf("a local error was retried:\n%s", r.Stderr)
			}
			_, corrupt := checkRestored(t, src, dir, dest, false)
			count(0, 0, 0, corrupt)
			t.Logf("exit %d: %s", r.Code, lines[0])
		})
	}
}

// mountTmpfs mounts a tmpfs with opts on a new directory, unmounted at the
// end of the test.
func mountTmpfs(t *testing.T, opts string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "barman-faults-mnt-")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput(); err != nil {
		os.Remove(dir)
		t.Fatalf("mounting a tmpfs (the tests run as root, as in CI): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
			return
		}
		os.Remove(dir)
	})
	return dir
}

// TestRestoreKilled: a wal-restore killed outright (SIGKILL, as the OOM
// killer does) mid-download cannot clean up, so its partial temporary
// file stays next to WAL_DEST, but WAL_DEST itself is not there. The next
// run into the same directory, once that file is older than a minute (set
// back here rather than waited for), removes it and restores the WAL.
func TestRestoreKilled(t *testing.T) {
	wals := harness.WALs(t)
	src := wals.Segments[3]
	base := filepath.Base(src)
	p := providers(t)[0]
	prefix := harness.UniquePrefix(t)
	p.cleanup(t, prefix)
	archive(t, p, prefix, "", src)

	dir := t.TempDir()
	dest := filepath.Join(dir, "RECOVERYXLOG")
	px := p.proxy(t)
	px.SetRules(&faultproxy.Rule{Name: "slow-download", Match: isDownload(base), Fault: faultproxy.Fault{Rate: 1 << 20}})
	cmd := p.command(t, px, "barman-cloud-wal-restore", p.URL(prefix), "pg", base, dest)
	var tmp string
	harness.Wait(t, cmd, time.Minute, func(proc *os.Process) {
		// Kill it once a part of the WAL is in its temporary file.
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if m, _ := filepath.Glob(filepath.Join(dir, ".RECOVERYXLOG.barman-cloud-tmp-*")); len(m) == 1 {
				if fi, err := os.Stat(m[0]); err == nil && fi.Size() >= 1<<20 {
					tmp = m[0]
					break
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
		proc.Signal(syscall.SIGKILL)
	})
	if tmp == "" {
		t.Fatal("no temporary file with 1 MiB in it within 30 s")
	}
	if _, err := os.Stat(dest); !os.IsNotExist(err) {
		t.Fatalf("WAL_DEST exists after the kill (%v)", err)
	}
	if _, err := os.Stat(tmp); err != nil {
		t.Fatalf("the killed run's temporary file: %v", err)
	}

	old := time.Now().Add(-2 * time.Minute)
	if err := os.Chtimes(tmp, old, old); err != nil {
		t.Fatal(err)
	}
	px.SetRules()
	r := p.run(t, px, time.Minute, "barman-cloud-wal-restore", "-v", p.URL(prefix), "pg", base, dest)
	if r.Code != 0 {
		t.Fatalf("restore after the kill: exit %d: %s", r.Code, r.Stderr)
	}
	if !strings.Contains(r.Stderr, "removed "+filepath.Base(tmp)+", left by a wal-restore that was killed") {
		t.Errorf("no INFO line about the removed file:\n%s", r.Stderr)
	}
	lost, corrupt := checkRestored(t, src, dir, dest, true)
	count(1, 1, lost, corrupt)
}
