//go:build integration

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/barmancloud/barman-cloud/test/harness"
)

// pgBin holds Debian's PostgreSQL 15 programs (testenv/install-postgres.sh).
const pgBin = "/usr/lib/postgresql/15/bin"

// sandbox is a temporary directory that the PostgreSQL processes of one
// test can use: PostgreSQL refuses to run as root, so when the tests run
// as root (as in CI) every PostgreSQL program runs as user postgres, and
// everything it touches (data directories, sockets, logs, the
// barman-cloud binary its archive_command and restore_command run) lives
// here rather than under the 0700 directories of t.TempDir and the
// harness.
type sandbox struct {
	t    *testing.T
	dir  string
	bin  string              // a copy of barman-cloud with its tool symlinks
	cred *syscall.Credential // nil: run as the current user
	env  []string            // the environment of every PostgreSQL program
}

func newSandbox(t *testing.T) *sandbox {
	t.Helper()
	s := &sandbox{t: t}
	dir, err := os.MkdirTemp("", "barman-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s.dir = dir
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s.bin = filepath.Join(dir, "bin")
	if err := os.Mkdir(s.bin, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, harness.Tool(t, "barman-cloud"), filepath.Join(s.bin, "barman-cloud"), 0o755)
	for _, tool := range harness.Tools {
		if err := os.Symlink("barman-cloud", filepath.Join(s.bin, tool)); err != nil {
			t.Fatal(err)
		}
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
	// A minimal, explicit environment: what the storage client needs and
	// nothing of the caller's (HOME must be readable by postgres).
	s.env = []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HOME=" + dir,
		"LC_ALL=C.UTF-8",
		"TZ=UTC",
		"AWS_ACCESS_KEY_ID=" + harness.Env(t, "AWS_ACCESS_KEY_ID"),
		"AWS_SECRET_ACCESS_KEY=" + harness.Env(t, "AWS_SECRET_ACCESS_KEY"),
		"AWS_REGION=" + harness.Env(t, "AWS_REGION"),
		"AWS_EC2_METADATA_DISABLED=true",
	}
	return s
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

// tool is the path of a barman-cloud tool that PostgreSQL can run.
func (s *sandbox) tool(name string) string { return filepath.Join(s.bin, name) }

// run runs a PostgreSQL program as the PostgreSQL user and returns its
// combined output; err is non-nil when it fails or times out.
func (s *sandbox) run(timeout time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = s.dir
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

// mustRun is run, failing the test on error.
func (s *sandbox) mustRun(timeout time.Duration, name string, args ...string) string {
	s.t.Helper()
	out, err := s.run(timeout, name, args...)
	if err != nil {
		s.t.Fatal(err)
	}
	return out
}

// cluster is a throwaway PostgreSQL cluster of the sandbox, listening only
// on a unix socket in its own directory.
type cluster struct {
	s       *sandbox
	name    string
	dir     string // socket, server log, archive and restore call logs
	data    string
	started bool
}

func (s *sandbox) cluster(name string) *cluster {
	c := &cluster{s: s, name: name, dir: filepath.Join(s.dir, name)}
	c.data = filepath.Join(c.dir, "data")
	s.mustRun(time.Minute, "mkdir", "-m", "0755", c.dir)
	return c
}

// initdb creates a new cluster with WAL segments of segMiB MiB.
func (s *sandbox) initdb(name string, segMiB int) *cluster {
	c := s.cluster(name)
	s.mustRun(2*time.Minute, pgBin+"/initdb", "-D", c.data, "-A", "trust", "-U", "postgres",
		"--no-sync", "--wal-segsize", strconv.Itoa(segMiB))
	return c
}

// fromBackup creates a cluster from a copy of a base backup directory.
func (s *sandbox) fromBackup(name, backup string) *cluster {
	c := s.cluster(name)
	s.mustRun(2*time.Minute, "cp", "-a", backup, c.data)
	return c
}

// configure appends settings to postgresql.conf, where they override
// earlier ones (a base backup brings its primary's).
func (c *cluster) configure(settings map[string]string) {
	c.s.t.Helper()
	var b strings.Builder
	b.WriteString("\n# test/e2e\n")
	for _, k := range sortedKeys(settings) {
		fmt.Fprintf(&b, "%s = '%s'\n", k, strings.ReplaceAll(settings[k], "'", "''"))
	}
	f, err := os.OpenFile(filepath.Join(c.data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		c.s.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(b.String()); err != nil {
		c.s.t.Fatal(err)
	}
}

// baseSettings are what every cluster of the tests needs.
func (c *cluster) baseSettings() map[string]string {
	return map[string]string{
		"listen_addresses":        "",
		"unix_socket_directories": c.dir,
		"fsync":                   "off", // throwaway clusters: spare the shared disk
		"log_checkpoints":         "off",
	}
}

// touch creates an empty file in the data directory (recovery.signal).
func (c *cluster) touch(name string) {
	c.s.mustRun(time.Minute, "touch", filepath.Join(c.data, name))
}

func (c *cluster) logFile() string { return filepath.Join(c.dir, "server.log") }

// serverLog is the server's log so far.
func (c *cluster) serverLog() string {
	b, _ := os.ReadFile(c.logFile())
	return string(b)
}

// start starts the server and makes sure it is stopped at the end of the
// test, whatever happens; the server log is shown when the test failed.
func (c *cluster) start() {
	c.s.t.Helper()
	if !c.started {
		c.started = true
		c.s.t.Cleanup(func() {
			c.stop()
			if c.s.t.Failed() {
				c.s.t.Logf("server log of %s:\n%s", c.name, tail(c.serverLog(), 80))
			}
		})
	}
	if _, err := c.s.run(3*time.Minute, pgBin+"/pg_ctl", "-D", c.data, "-l", c.logFile(), "-w", "-t", "170", "start"); err != nil {
		c.s.t.Fatalf("starting %s: %v\nserver log:\n%s", c.name, err, tail(c.serverLog(), 60))
	}
}

// stop stops the server at once, if it runs.
func (c *cluster) stop() {
	c.s.run(time.Minute, pgBin+"/pg_ctl", "-D", c.data, "-m", "immediate", "-w", "stop") //nolint:errcheck // may not be running
}

// running reports whether the postmaster runs.
func (c *cluster) running() bool {
	_, err := c.s.run(time.Minute, pgBin+"/pg_ctl", "-D", c.data, "status")
	return err == nil
}

// query runs SQL through psql and returns its unaligned, tuples-only
// output, without the final newline.
func (c *cluster) query(sql string) string {
	c.s.t.Helper()
	out, err := c.tryQuery(sql)
	if err != nil {
		c.s.t.Fatalf("%s: %v", c.name, err)
	}
	return out
}

func (c *cluster) tryQuery(sql string) (string, error) {
	out, err := c.s.run(time.Minute, pgBin+"/psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1",
		"-h", c.dir, "-U", "postgres", "-d", "postgres", "-c", sql)
	return strings.TrimSuffix(out, "\n"), err
}

// eventually polls cond every 200 ms until it returns true, failing the
// test with what it last reported after timeout, or at once when the
// server has stopped.
func (c *cluster) eventually(what string, timeout time.Duration, cond func() (bool, string)) {
	c.s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if !c.running() {
			c.s.t.Fatalf("%s: the server stopped while waiting for %s (%s)\nserver log:\n%s", c.name, what, state, tail(c.serverLog(), 60))
		}
		if time.Now().After(deadline) {
			c.s.t.Fatalf("%s: timed out after %v waiting for %s (%s)", c.name, timeout, what, state)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// switchWAL completes the current WAL segment and returns its name.
func (c *cluster) switchWAL() string {
	c.s.t.Helper()
	return c.query("select pg_walfile_name(pg_switch_wal())")
}

// waitArchived waits until the archiver has archived segment and has
// nothing left to archive (so a history file or .partial made at
// promotion is archived too), failing at once on an archive_command
// failure.
func (c *cluster) waitArchived(segment string) {
	c.s.t.Helper()
	c.eventually("the archiving of "+segment, 2*time.Minute, func() (bool, string) {
		out, err := c.tryQuery("select coalesce(last_archived_wal, ''), failed_count, coalesce(last_failed_wal, ''), " +
			"(select count(*) from pg_ls_archive_statusdir() where name like '%.ready') from pg_stat_archiver")
		if err != nil {
			return false, err.Error()
		}
		f := strings.Split(out, "|")
		if len(f) != 4 {
			return false, "pg_stat_archiver: " + out
		}
		if f[1] != "0" {
			c.s.t.Fatalf("%s: archive_command failed %s times, last for %s\nserver log:\n%s", c.name, f[1], f[2], tail(c.serverLog(), 60))
		}
		last := f[0]
		return len(last) == len(segment) && last >= segment && f[3] == "0", "last archived: " + last + ", waiting: " + f[3]
	})
}

// waitPromoted waits until recovery has ended and the server accepts
// writes.
func (c *cluster) waitPromoted() {
	c.s.t.Helper()
	c.eventually("the end of recovery", 3*time.Minute, func() (bool, string) {
		out, err := c.tryQuery("select pg_is_in_recovery()")
		if err != nil {
			return false, err.Error()
		}
		return out == "f", "pg_is_in_recovery: " + out
	})
}

// timeline is the server's current timeline, once a checkpoint has
// recorded it.
func (c *cluster) timeline() string {
	c.s.t.Helper()
	c.query("checkpoint")
	return c.query("select timeline_id from pg_control_checkpoint()")
}

func tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > lines {
		l = append([]string{"[...]"}, l[len(l)-lines:]...)
	}
	return strings.Join(l, "\n")
}
