//go:build integration

// Package harness is what the integration tests share: the barman-cloud
// binary built once with a symlink per tool, a way to run it, and the
// environment scripts/testenv.sh exports (servers on 127.0.0.1, Debian's
// Barman client, real WAL files).
//
// A variable the tests need but do not find is a failure, never a skip:
// these tests run in CI, where scripts/test.sh sets everything up.
package harness

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/barmancloud/barman-cloud/tools/all"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// Tools are the symlink names created next to the binary: one per tool of
// tools/all, the list the binary dispatches on.
var Tools = func() []string {
	var names []string
	for _, t := range all.Tools {
		names = append(names, t.Prog())
	}
	return names
}()

// BinDir builds ./cmd/barman-cloud (static, as released) into a temporary
// directory shared by the whole test process, with one symlink per tool,
// and returns the directory.
func BinDir(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		binDir, buildErr = os.MkdirTemp("", "barman-cloud-bin-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(binDir, "barman-cloud"), "./cmd/barman-cloud")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = errors.New(string(out))
			return
		}
		for _, tool := range Tools {
			if err := os.Symlink("barman-cloud", filepath.Join(binDir, tool)); err != nil {
				buildErr = err
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatalf("building barman-cloud: %v", buildErr)
	}
	return binDir
}

// Main runs a test package's tests and then removes the binary BinDir
// built: call it from the package's TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// Tool is the path of a tool's symlink ("barman-cloud-wal-archive") or of
// the binary itself ("barman-cloud").
func Tool(t testing.TB, name string) string {
	return filepath.Join(BinDir(t), name)
}

// Wait runs cmd, whose output it collects, and kills it after limit: a
// tool that does not end by itself fails the test (its Code is then -1).
// started, when given, is called once the process runs.
func Wait(t testing.TB, cmd *exec.Cmd, limit time.Duration, started ...func(*os.Process)) Result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for _, f := range started {
		f(cmd.Process)
	}
	start := time.Now()
	timer := time.AfterFunc(limit, func() { cmd.Process.Kill() })
	err := cmd.Wait()
	stopped := timer.Stop()
	r := Result{Stdout: stdout.String(), Stderr: stderr.String(), Elapsed: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case !stopped:
		t.Errorf("%s still running after %s: killed\n%s", filepath.Base(cmd.Path), limit, r.Stderr)
		r.Code = -1
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return r
}

// Result is the outcome of a command.
type Result struct {
	Stdout, Stderr string
	Code           int
	Elapsed        time.Duration
}

// Run runs a command with the process environment plus env ("K=V"), and
// returns its output and exit status. It fails the test only when the
// command cannot be started.
func Run(t testing.TB, env []string, name string, args ...string) Result {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := Result{Stdout: stdout.String(), Stderr: stderr.String(), Elapsed: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	case err != nil:
		t.Fatalf("running %s: %v", name, err)
	}
	return r
}

// Env returns a variable exported by scripts/testenv.sh, failing the test
// when it is not set.
func Env(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set: run the integration tests through scripts/test.sh (or eval \"$(scripts/testenv.sh up)\" first)", name)
	}
	return v
}

// WALs returns the real WAL files made by testenv/make-wals.sh: segments
// first (sorted), then the other kinds, keyed by kind.
type WALSet struct {
	Dir      string
	Segments []string // full paths
	Backup   string
	History  string
	Partial  string
}

// WALs lists the WAL files in $WALS_DIR.
func WALs(t testing.TB) WALSet {
	t.Helper()
	dir := Env(t, "WALS_DIR")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := WALSet{Dir: dir}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		switch n := e.Name(); {
		case strings.HasSuffix(n, ".backup"):
			s.Backup = p
		case strings.HasSuffix(n, ".history"):
			s.History = p
		case strings.HasSuffix(n, ".partial"):
			s.Partial = p
		case len(n) == 24:
			s.Segments = append(s.Segments, p)
		}
	}
	sort.Strings(s.Segments)
	if len(s.Segments) < 4 || s.Backup == "" || s.History == "" || s.Partial == "" {
		t.Fatalf("%s does not hold the WAL files make-wals.sh makes", dir)
	}
	return s
}

// UniquePrefix returns a key prefix no other test uses, so tests can share
// one bucket.
func UniquePrefix(t testing.TB) string {
	name := strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())
	return "it/" + name + "-" + time.Now().Format("150405.000000")
}
