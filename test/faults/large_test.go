//go:build integration

package faults

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/barmancloud/barman-cloud/test/faultproxy"
	"github.com/barmancloud/barman-cloud/test/harness"
)

// Large segments: 1 GiB (PostgreSQL's largest) on MinIO, whose uploads
// take seconds here; 64 MiB on Azurite and fake-gcs-server, which keep
// objects in memory (Azurite in a Node.js process), so that the suite
// stays within minutes. Uncompressed, a 1 GiB segment is one PutObject
// streamed from the file; zstd-compressed (about 120 MiB), a multipart
// upload of 5 MiB parts; on Azure, blocks of 4 MiB.
func largeSize(p provider) int64 {
	if p.Name == "s3" {
		return 1 << 30
	}
	return 64 << 20
}

// midUpload says where the middle of the upload of a size-byte segment
// is, as a Rule for isUpload gets it: the number of upload requests to let
// through (skip) and the byte of the next one's body (after). Uncompressed
// on S3 and on GCS, and compressed on GCS, the upload is one request; on
// Azure, blocks of 4 MiB; compressed on S3, CreateMultipartUpload, then
// parts of 5 MiB. The 64 MiB segment compresses to about 8 MiB: two parts
// or blocks.
func midUpload(p provider, comp string, size int64) (skip int, after int64) {
	switch {
	case p.Name == "gcs" && comp != "":
		return 0, 2 << 20
	case p.Name == "gcs", p.Name == "s3" && comp == "":
		return 0, size / 4
	case p.Name == "azure" && comp == "":
		return int(size / (4 << 20) / 4), 1 << 20
	case p.Name == "azure":
		return 1, 1 << 20
	}
	return 2, 1 << 20
}

// TestLargeSegmentFaults breaks the upload of a large segment in its
// middle: the retry uploads it all again, and what is stored is the whole
// segment.
func TestLargeSegmentFaults(t *testing.T) {
	for _, p := range providers(t) {
		t.Run(p.Name, func(t *testing.T) {
			t.Parallel()
			size := largeSize(p)
			src := bigSegment(t, size)
			base := filepath.Base(src)
			resetMid := func(comp string) *faultproxy.Rule {
				skip, after := midUpload(p, comp, size)
				return &faultproxy.Rule{Name: "reset-mid-body", Match: isUpload(base), Skip: skip, Times: 1,
					Fault: faultproxy.Fault{Kind: faultproxy.ResetMidBody, After: after}}
			}
			for _, tc := range []struct {
				comp string
				rule *faultproxy.Rule
			}{
				{"", resetMid("")},
				{"--zstd", resetMid("--zstd")},
			} {
				sc := scenario{
					name:      fmt.Sprintf("%s %s", tc.rule.Name, compName(tc.comp)),
					rules:     func(string) []*faultproxy.Rule { return []*faultproxy.Rule{tc.rule} },
					minFaults: max(tc.rule.Times, 1),
				}
				t.Run(sc.name, func(t *testing.T) { runArchive(t, p, sc, tc.comp, src) })
			}
			// Throttled at the end: the multipart upload (or block list)
			// is refused twice and done again whole; 64 MiB is enough.
			sc := scenario{
				name: "503-commit zstd",
				rules: func(string) []*faultproxy.Rule {
					return []*faultproxy.Rule{{Name: "503-commit", Match: isCommit(filepath.Base(src)), Times: 2,
						Fault: faultproxy.Fault{Kind: faultproxy.Unavailable}}}
				},
				minFaults: 2,
			}
			t.Run(sc.name, func(t *testing.T) { runArchive(t, p, sc, "--zstd", bigSegment(t, 64<<20)) })
		})
	}
}

// TestSIGTERMDuringUpload signals wal-archive in the middle of a large
// upload: it must exit non-zero within a second or two, leaving nothing
// under the WAL's key.
func TestSIGTERMDuringUpload(t *testing.T) {
	for _, p := range providers(t) {
		t.Run(p.Name, func(t *testing.T) {
			t.Parallel()
			size := largeSize(p)
			src := bigSegment(t, size)
			for _, comp := range []string{"", "--zstd"} {
				t.Run(compName(comp), func(t *testing.T) {
					px := p.proxy(t)
					prefix := harness.UniquePrefix(t)
					p.cleanup(t, prefix)
					var (
						proc      *os.Process
						signalled time.Time
					)
					skip, after := midUpload(p, comp, size)
					px.SetRules(&faultproxy.Rule{Name: "sigterm", Match: isUpload(filepath.Base(src)), Skip: skip, Times: 1,
						Fault: faultproxy.Fault{After: after, Do: func() {
							signalled = time.Now()
							proc.Signal(syscall.SIGTERM)
							// Hold the body a moment: the signal lands while
							// the upload is in flight.
							time.Sleep(200 * time.Millisecond)
						}}})
					args := []string{p.URL(prefix), "pg", src}
					if comp != "" {
						args = append([]string{comp}, args...)
					}
					r := harness.Wait(t, p.command(t, px, "barman-cloud-wal-archive", args...), 2*time.Minute,
						func(pr *os.Process) { proc = pr })
					exited := time.Now()
					if signalled.IsZero() {
						t.Fatalf("the upload never reached %d bytes: exit %d: %s", after, r.Code, r.Stderr)
					}
					if r.Code == 0 {
						t.Errorf("exit 0 after SIGTERM in the middle of the upload")
					}
					if d := exited.Sub(signalled); d > 2*time.Second {
						t.Errorf("exited %s after SIGTERM, want promptly", d)
					}
					checkStderr(t, r)
					objects, lost, corrupt := p.audit(t, prefix, src, false)
					if objects != 0 {
						t.Errorf("%d objects under the WAL's key after an interrupted upload", objects)
					}
					count(px.Injected(), objects, lost, corrupt)
					t.Logf("exit %d, %s after SIGTERM: %s", r.Code, exited.Sub(signalled).Round(time.Millisecond), strings.TrimSpace(r.Stderr))
				})
			}
		})
	}
}

// TestServerKilledDuringUpload kills MinIO (kill -9) in the middle of an
// upload: wal-archive exits non-zero and nothing is under the WAL's key
// once MinIO is back on the same data; archiving again then succeeds. It
// uses a MinIO of its own, not the one other tests share.
func TestServerKilledDuringUpload(t *testing.T) {
	m := startMinIO(t)
	p := providers(t)[0]
	p.upstream = m.url
	for _, tc := range []struct {
		comp  string
		size  int64
		skip  int
		after int64
	}{
		{"", 1 << 30, 0, 400 << 20},
		// In the second part of the multipart upload (after
		// CreateMultipartUpload and the first part).
		{"--zstd", 64 << 20, 2, 2 << 20},
	} {
		t.Run(compName(tc.comp), func(t *testing.T) {
			src := bigSegment(t, tc.size)
			px := p.proxy(t)
			prefix := harness.UniquePrefix(t)
			px.SetRules(&faultproxy.Rule{Name: "kill -9", Match: isUpload(filepath.Base(src)), Skip: tc.skip, Times: 1,
				Fault: faultproxy.Fault{After: tc.after, Do: m.kill}})
			args := []string{p.URL(prefix), "pg", src}
			if tc.comp != "" {
				args = append([]string{tc.comp}, args...)
			}
			// Three attempts, not five: each one reads the whole segment
			// to sign it before it meets the dead server.
			cmd := p.command(t, px, "barman-cloud-wal-archive", args...)
			cmd.Env = append(cmd.Env, "AWS_MAX_ATTEMPTS=3")
			r := harness.Wait(t, cmd, 2*time.Minute)
			if px.Injected() != 1 {
				t.Fatalf("MinIO was not killed during the upload: exit %d: %s", r.Code, r.Stderr)
			}
			if r.Code != 2 {
				t.Errorf("exit %d, want 2:\n%s", r.Code, r.Stderr)
			}
			checkStderr(t, r)
			t.Logf("with MinIO killed: exit %d in %s: %s", r.Code, r.Elapsed.Round(time.Millisecond), lastLine(r.Stderr))
			m.start(t)
			objects, lost, corrupt := p.audit(t, prefix, src, false)
			if objects != 0 {
				t.Errorf("%d objects under the WAL's key after the server died during the upload", objects)
			}
			count(px.Injected(), objects, lost, corrupt)
			r = p.run(t, px, 2*time.Minute, "barman-cloud-wal-archive", args...)
			if r.Code != 0 {
				t.Fatalf("archiving again once MinIO is back: exit %d: %s", r.Code, r.Stderr)
			}
			objects, lost, corrupt = p.audit(t, prefix, src, true)
			count(0, objects, lost, corrupt)
			t.Logf("again: exit 0 in %s; %d objects read back, %d lost, %d corrupt", r.Elapsed.Round(time.Millisecond), objects, lost, corrupt)
		})
	}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndexByte(s, '\n')+1:]
}

// minIO is a MinIO server of one test, started by testenv/start-s3.sh.
type minIO struct {
	dir, url, script string
	port             int
}

func startMinIO(t *testing.T) *minIO {
	t.Helper()
	harness.Env(t, "S3_BUCKET")
	_, file, _, _ := runtime.Caller(0)
	m := &minIO{
		dir:    t.TempDir(),
		script: filepath.Join(filepath.Dir(file), "..", "..", "testenv", "start-s3.sh"),
		port:   freePortPair(t),
	}
	m.url = fmt.Sprintf("http://127.0.0.1:%d", m.port)
	m.start(t)
	t.Cleanup(func() {
		cmd := exec.Command(m.script, "stop", fmt.Sprint(m.port))
		cmd.Env = append(os.Environ(), "TESTENV_DIR="+m.dir, "S3_BACKEND=minio")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("stopping MinIO: %v: %s", err, out)
		}
	})
	return m
}

// start starts MinIO on its data directory (again, after a kill).
func (m *minIO) start(t *testing.T) {
	t.Helper()
	cmd := exec.Command(m.script, fmt.Sprint(m.port))
	cmd.Env = append(os.Environ(), "TESTENV_DIR="+m.dir, "S3_BACKEND=minio")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("starting MinIO on %s: %v: %s", m.dir, err, out)
	}
}

// kill kills MinIO with SIGKILL and waits until it is gone.
func (m *minIO) kill() {
	b, err := os.ReadFile(filepath.Join(m.dir, "server.pid"))
	if err != nil {
		panic(err)
	}
	var pid int
	fmt.Sscan(string(b), &pid)
	syscall.Kill(pid, syscall.SIGKILL)
	for i := 0; i < 100 && alive(pid); i++ {
		time.Sleep(50 * time.Millisecond)
	}
}

// alive: the process exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || !strings.HasPrefix(s[i+1:], " Z")
}

// freePortPair finds a port p such that p and p+1 (MinIO's console) are
// free.
func freePortPair(t *testing.T) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l2, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port+1))
		l.Close()
		if err == nil {
			l2.Close()
			return port
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			t.Fatal(err)
		}
	}
	t.Fatal("no two consecutive free ports")
	return 0
}
