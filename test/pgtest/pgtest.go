//go:build integration

// Package pgtest runs throwaway PostgreSQL 15 clusters for the integration
// tests: a Sandbox is a temporary directory that the PostgreSQL processes
// of one test can use, and a Cluster one server in it, listening only on a
// unix socket in its own directory.
//
// PostgreSQL refuses to run as root, so when the tests run as root (as in
// CI) every PostgreSQL program runs as user postgres, and everything it
// touches (data directories, sockets, logs, tablespaces, the barman-cloud
// binary its archive_command and restore_command run) lives in the sandbox
// rather than under the 0700 directories of t.TempDir and the harness.
//
// This package is part of the barman-cloud tests and has no compatibility
// promise as a library.
package pgtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/barmancloud/barman-cloud/test/harness"
)

// Bin holds Debian's PostgreSQL 15 programs (testenv/install-postgres.sh).
const Bin = "/usr/lib/postgresql/15/bin"

// Stop modes of pg_ctl.
const (
	Immediate = "immediate"
	Fast      = "fast"
	Smart     = "smart"
)

// Sandbox is the directory of one test's PostgreSQL processes.
type Sandbox struct {
	Dir  string
	t    *testing.T
	bin  string              // a copy of barman-cloud with its tool symlinks, once Tool made it
	cred *syscall.Credential // nil: run as the current user
	env  []string            // the environment of every PostgreSQL program
}

// New makes a sandbox, removed at the end of the test.
func New(t *testing.T) *Sandbox {
	t.Helper()
	s := &Sandbox{t: t}
	dir, err := os.MkdirTemp("", "barman-pgtest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s.Dir = dir
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, PostgreSQL must run as user postgres: %v (testenv/install-postgres.sh creates it)", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	// A minimal, explicit environment, nothing of the caller's (HOME must
	// be readable by postgres); AddEnv adds what a test's servers need.
	s.env = []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HOME=" + dir,
		"LC_ALL=C.UTF-8",
		"TZ=UTC",
	}
	return s
}

// AddEnv adds "K=V" variables to the environment of the PostgreSQL
// programs started from now on (the storage credentials archive_command
// needs, say).
func (s *Sandbox) AddEnv(kv ...string) { s.env = append(s.env, kv...) }

// AddStorageEnv gives the PostgreSQL programs (archive_command,
// restore_command) the credentials and endpoints of the test servers of
// scripts/testenv.sh: MinIO's keys, Azurite's connection string,
// fake-gcs-server's host.
func (s *Sandbox) AddStorageEnv() {
	s.t.Helper()
	s.AddEnv(
		"AWS_ACCESS_KEY_ID="+harness.Env(s.t, "AWS_ACCESS_KEY_ID"),
		"AWS_SECRET_ACCESS_KEY="+harness.Env(s.t, "AWS_SECRET_ACCESS_KEY"),
		"AWS_REGION="+harness.Env(s.t, "AWS_REGION"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AZURE_STORAGE_CONNECTION_STRING="+harness.Env(s.t, "AZURE_STORAGE_CONNECTION_STRING"),
		"STORAGE_EMULATOR_HOST="+harness.Env(s.t, "STORAGE_EMULATOR_HOST"),
	)
}

// Tool is the path of a barman-cloud tool that PostgreSQL can run: the
// first call copies the binary harness builds, with its tool symlinks, into
// the sandbox.
func (s *Sandbox) Tool(name string) string {
	s.t.Helper()
	if s.bin == "" {
		bin := filepath.Join(s.Dir, "bin")
		if err := os.Mkdir(bin, 0o755); err != nil {
			s.t.Fatal(err)
		}
		copyFile(s.t, harness.Tool(s.t, "barman-cloud"), filepath.Join(bin, "barman-cloud"), 0o755)
		for _, tool := range harness.Tools(s.t) {
			if err := os.Symlink("barman-cloud", filepath.Join(bin, tool)); err != nil {
				s.t.Fatal(err)
			}
		}
		s.bin = bin
	}
	return filepath.Join(s.bin, name)
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

// Run runs a program as the PostgreSQL user, in the sandbox, with the
// sandbox's environment, and returns its combined output; err is non-nil
// when it fails or times out.
func (s *Sandbox) Run(timeout time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = s.Dir
	cmd.Env = s.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	// pg_ctl leaves the postmaster running: should it ever hold our pipe,
	// do not wait for it.
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %v: %w", timeout, err)
	}
	if err != nil {
		return out.String(), fmt.Errorf("%s %s: %w\n%s", filepath.Base(name), strings.Join(args, " "), err, out.String())
	}
	return out.String(), nil
}

// MustRun is Run, failing the test on error.
func (s *Sandbox) MustRun(timeout time.Duration, name string, args ...string) string {
	s.t.Helper()
	out, err := s.Run(timeout, name, args...)
	if err != nil {
		s.t.Fatal(err)
	}
	return out
}

// Mkdir makes a directory of the PostgreSQL user in the sandbox (mode
// 0700, as PostgreSQL wants its directories) and returns its path.
func (s *Sandbox) Mkdir(name string) string {
	s.t.Helper()
	dir := filepath.Join(s.Dir, name)
	s.MustRun(time.Minute, "mkdir", "-m", "0700", dir)
	return dir
}

// Cluster is a throwaway PostgreSQL cluster of the sandbox, listening only
// on a unix socket in its own directory.
type Cluster struct {
	Name    string
	Dir     string // socket, server log, archive and restore call logs
	Data    string
	s       *Sandbox
	started bool
}

// Cluster makes the directory of a cluster named name, without a data
// directory.
func (s *Sandbox) Cluster(name string) *Cluster {
	c := &Cluster{s: s, Name: name, Dir: filepath.Join(s.Dir, name)}
	c.Data = filepath.Join(c.Dir, "data")
	s.MustRun(time.Minute, "mkdir", "-m", "0755", c.Dir)
	return c
}

// InitDB creates a new cluster with WAL segments of segMiB MiB, superuser
// postgres and trust authentication.
func (s *Sandbox) InitDB(name string, segMiB int) *Cluster {
	c := s.Cluster(name)
	s.MustRun(2*time.Minute, Bin+"/initdb", "-D", c.Data, "-A", "trust", "-U", "postgres",
		"--no-sync", "--wal-segsize", strconv.Itoa(segMiB))
	return c
}

// FromBackup creates a cluster from a copy of a base backup directory.
func (s *Sandbox) FromBackup(name, backup string) *Cluster {
	c := s.Cluster(name)
	s.MustRun(2*time.Minute, "cp", "-a", backup, c.Data)
	return c
}

// Configure appends settings to postgresql.conf, where they override
// earlier ones (a base backup brings its primary's).
func (c *Cluster) Configure(settings map[string]string) {
	c.s.t.Helper()
	var b strings.Builder
	b.WriteString("\n# test/pgtest\n")
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		fmt.Fprintf(&b, "%s = '%s'\n", k, strings.ReplaceAll(settings[k], "'", "''"))
	}
	f, err := os.OpenFile(filepath.Join(c.Data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		c.s.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(b.String()); err != nil {
		c.s.t.Fatal(err)
	}
}

// BaseSettings are what every cluster of the tests needs.
func (c *Cluster) BaseSettings() map[string]string {
	return map[string]string{
		"listen_addresses":        "",
		"unix_socket_directories": c.Dir,
		"fsync":                   "off", // throwaway clusters: spare the shared disk
		"log_checkpoints":         "off",
	}
}

// SetHBA replaces pg_hba.conf with lines (first match wins), and makes a
// running server reload it.
func (c *Cluster) SetHBA(lines ...string) {
	c.s.t.Helper()
	// Truncating keeps the file's owner and mode.
	if err := os.WriteFile(filepath.Join(c.Data, "pg_hba.conf"), []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		c.s.t.Fatal(err)
	}
	if c.Running() {
		c.Psql("select pg_reload_conf()")
	}
}

// Touch creates an empty file in the data directory (recovery.signal).
func (c *Cluster) Touch(name string) {
	c.s.MustRun(time.Minute, "touch", filepath.Join(c.Data, name))
}

// LogFile is the server's log file.
func (c *Cluster) LogFile() string { return filepath.Join(c.Dir, "server.log") }

// ServerLog is the server's log so far.
func (c *Cluster) ServerLog() string {
	b, _ := os.ReadFile(c.LogFile())
	return string(b)
}

// Start starts the server and makes sure it is stopped at the end of the
// test, whatever happens; the server log is shown when the test failed.
func (c *Cluster) Start() {
	c.s.t.Helper()
	if !c.started {
		c.started = true
		c.s.t.Cleanup(func() {
			c.Stop(Immediate)
			if c.s.t.Failed() {
				c.s.t.Logf("server log of %s:\n%s", c.Name, Tail(c.ServerLog(), 80))
			}
		})
	}
	if _, err := c.s.Run(3*time.Minute, Bin+"/pg_ctl", "-D", c.Data, "-l", c.LogFile(), "-w", "-t", "170", "start"); err != nil {
		c.s.t.Fatalf("starting %s: %v\nserver log:\n%s", c.Name, err, Tail(c.ServerLog(), 60))
	}
}

// Stop stops the server, if it runs, with pg_ctl's mode (Immediate, Fast,
// Smart), failing the test if it is still running after.
func (c *Cluster) Stop(mode string) {
	c.s.t.Helper()
	_, err := c.s.Run(3*time.Minute, Bin+"/pg_ctl", "-D", c.Data, "-m", mode, "-w", "-t", "170", "stop")
	if err != nil && c.Running() {
		c.s.t.Errorf("stopping %s: %v", c.Name, err)
	}
}

// Running reports whether the postmaster runs.
func (c *Cluster) Running() bool {
	_, err := c.s.Run(time.Minute, Bin+"/pg_ctl", "-D", c.Data, "status")
	return err == nil
}

// Conninfo is a libpq connection string for user to database postgres of
// the cluster, through its socket.
func (c *Cluster) Conninfo(user string) string {
	return fmt.Sprintf("host=%s port=5432 user=%s dbname=postgres", c.Dir, user)
}

// Psql runs SQL as superuser postgres through psql and returns its
// unaligned, tuples-only output, without the final newline.
func (c *Cluster) Psql(sql string) string {
	c.s.t.Helper()
	out, err := c.TryPsql(sql)
	if err != nil {
		c.s.t.Fatalf("%s: %v", c.Name, err)
	}
	return out
}

// TryPsql is Psql returning the error.
func (c *Cluster) TryPsql(sql string) (string, error) {
	out, err := c.s.Run(time.Minute, Bin+"/psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1",
		"-h", c.Dir, "-U", "postgres", "-d", "postgres", "-c", sql)
	return strings.TrimSuffix(out, "\n"), err
}

// CreateTablespace creates tablespace name in a new directory of the
// sandbox and returns that directory.
func (c *Cluster) CreateTablespace(name string) string {
	c.s.t.Helper()
	dir := c.s.Mkdir(c.Name + "-tblspc-" + name)
	c.Psql(fmt.Sprintf("CREATE TABLESPACE %s LOCATION '%s'", name, dir))
	return dir
}

// Eventually polls cond every 200 ms until it returns true, failing the
// test with what it last reported after timeout, or at once when the
// server has stopped.
func (c *Cluster) Eventually(what string, timeout time.Duration, cond func() (bool, string)) {
	c.s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if !c.Running() {
			c.s.t.Fatalf("%s: the server stopped while waiting for %s (%s)\nserver log:\n%s", c.Name, what, state, Tail(c.ServerLog(), 60))
		}
		if time.Now().After(deadline) {
			c.s.t.Fatalf("%s: timed out after %v waiting for %s (%s)", c.Name, timeout, what, state)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// SwitchWAL completes the current WAL segment and returns its name.
func (c *Cluster) SwitchWAL() string {
	c.s.t.Helper()
	return c.Psql("select pg_walfile_name(pg_switch_wal())")
}

// WaitArchived waits until the archiver has archived segment and has
// nothing left to archive (so a history file or .partial made at
// promotion is archived too), failing at once on an archive_command
// failure.
func (c *Cluster) WaitArchived(segment string) {
	c.s.t.Helper()
	c.Eventually("the archiving of "+segment, 2*time.Minute, func() (bool, string) {
		out, err := c.TryPsql("select coalesce(last_archived_wal, ''), failed_count, coalesce(last_failed_wal, ''), " +
			"(select count(*) from pg_ls_archive_statusdir() where name like '%.ready') from pg_stat_archiver")
		if err != nil {
			return false, err.Error()
		}
		f := strings.Split(out, "|")
		if len(f) != 4 {
			return false, "pg_stat_archiver: " + out
		}
		if f[1] != "0" {
			c.s.t.Fatalf("%s: archive_command failed %s times, last for %s\nserver log:\n%s", c.Name, f[1], f[2], Tail(c.ServerLog(), 60))
		}
		last := f[0]
		return len(last) == len(segment) && last >= segment && f[3] == "0", "last archived: " + last + ", waiting: " + f[3]
	})
}

// WaitPromoted waits until recovery has ended and the server accepts
// writes.
func (c *Cluster) WaitPromoted() {
	c.s.t.Helper()
	c.Eventually("the end of recovery", 3*time.Minute, func() (bool, string) {
		out, err := c.TryPsql("select pg_is_in_recovery()")
		if err != nil {
			return false, err.Error()
		}
		return out == "f", "pg_is_in_recovery: " + out
	})
}

// Timeline is the server's current timeline, once a checkpoint has
// recorded it.
func (c *Cluster) Timeline() string {
	c.s.t.Helper()
	c.Psql("checkpoint")
	return c.Psql("select timeline_id from pg_control_checkpoint()")
}

// Tail is the last lines of s, after "[...]" when it has more.
func Tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > lines {
		l = append([]string{"[...]"}, l[len(l)-lines:]...)
	}
	return strings.Join(l, "\n")
}
