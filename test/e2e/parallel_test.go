//go:build integration

package e2e

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/barmancloud/barman-cloud/shared/wal"
	"github.com/barmancloud/barman-cloud/test/pgtest"
)

// drain is a primary whose archive_command can be held shut (a gate file
// it tests first), so that a backlog of ready segments builds up, then
// opened with wal-archive --jobs.
type drain struct {
	*scenario
	c       *pgtest.Cluster
	gate    string
	pidFile string
	copies  map[string][]byte // segment name -> its bytes, read before archiving
	seq     int
}

func newDrain(t *testing.T, jobs int) *drain {
	sc := newScenario(t, variant{name: "parallel", flag: "--gzip", ext: ".gz", segMiB: 1})
	d := &drain{scenario: sc, copies: map[string][]byte{}}
	d.c = sc.s.InitDB("primary", 1)
	d.gate = filepath.Join(d.c.Dir, "gate")
	d.pidFile = filepath.Join(d.c.Dir, "archiver.pid")
	set := d.c.BaseSettings()
	set["archive_mode"] = "on"
	// $$ is the shell's pid, which exec hands to the tool: the test can
	// SIGKILL the very process that is archiving.
	set["archive_command"] = fmt.Sprintf("test -f %s && echo $$ > %s && exec %s -v --gzip --jobs %d --endpoint-url %s %s pg %%p",
		d.gate, d.pidFile, sc.s.Tool("barman-cloud-wal-archive"), jobs, sc.endpoint, sc.url)
	d.c.Configure(set)
	d.c.Start()
	d.c.Psql("create table t (id int)")
	return d
}

// backlog writes n segments while the gate is shut, and keeps their bytes.
func (d *drain) backlog(n int) []string {
	d.t.Helper()
	os.Remove(d.gate)
	var names []string
	for i := 0; i < n; i++ {
		d.seq++
		names = append(names, d.c.Psql(fmt.Sprintf("insert into t values (%d); select pg_walfile_name(pg_switch_wal())", d.seq)))
	}
	for _, name := range names {
		d.copies[name] = d.readFile(filepath.Join(d.c.Data, "pg_wal", name))
	}
	if got := d.ready(); got < n {
		d.t.Fatalf("%d segments ready, want at least %d", got, n)
	}
	return names
}

func (d *drain) ready() int {
	out, err := d.c.TryPsql("select count(*) from pg_ls_archive_statusdir() where name like '%.ready'")
	if err != nil {
		return -1
	}
	n, _ := strconv.Atoi(out)
	return n
}

// open opens the gate and wakes the archiver (a reload sets its latch;
// after three failures it would otherwise sleep up to a minute).
func (d *drain) open() {
	d.t.Helper()
	if err := os.WriteFile(d.gate, nil, 0o644); err != nil {
		d.t.Fatal(err)
	}
	d.c.Psql("select pg_reload_conf()")
}

// wait waits until last is archived and nothing is ready. After an
// immediate stop PostgreSQL starts with its statistics reset
// (last_archived_wal empty), so once nothing is ready, last (which was
// ready when the backlog was written) is taken as archived too.
func (d *drain) wait(last string, limit time.Duration) time.Duration {
	d.t.Helper()
	start := time.Now()
	d.c.Eventually("the drain up to "+last, limit, func() (bool, string) {
		out, err := d.c.TryPsql("select coalesce(last_archived_wal, ''), (select count(*) from pg_ls_archive_statusdir() where name like '%.ready') from pg_stat_archiver")
		if err != nil {
			return false, err.Error()
		}
		f := strings.Split(out, "|")
		return len(f) == 2 && f[1] == "0" && (f[0] == "" || len(f[0]) == len(last) && f[0] >= last), out
	})
	return time.Since(start)
}

// verify checks that every segment written is in the bucket once (one
// object, under the gzip suffix; listed with boto3) and restores, with
// wal-restore, to the bytes PostgreSQL wrote.
func (d *drain) verify() archive {
	d.t.Helper()
	a := d.list()
	for name, want := range d.copies {
		if !a.has(name) {
			d.t.Errorf("%s is not in the bucket", name)
			continue
		}
		if got := d.restore(name); !bytes.Equal(got, want) {
			d.t.Errorf("%s restores to other bytes (%d, want %d)", name, len(got), len(want))
		}
	}
	seen := map[string]int{}
	for _, k := range a.keys {
		base := k[strings.LastIndexByte(k, '/')+1:]
		seen[strings.TrimSuffix(base, ".gz")]++
	}
	for name, n := range seen {
		if n != 1 {
			d.t.Errorf("%s is in the bucket %d times", name, n)
		}
	}
	return a
}

// records are the names recorded in pg_wal/barman-cloud/archived.
func (d *drain) records() []string {
	entries, _ := os.ReadDir(filepath.Join(d.c.Data, "pg_wal", "barman-cloud", "archived"))
	var out []string
	for _, e := range entries {
		if wal.IsValid(e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out
}

// checkRecords: no segment is recorded archived that the bucket lacks.
// The records are read before the bucket is listed: a record is written
// only after its object is stored.
func (d *drain) checkRecords(when string) {
	d.t.Helper()
	recs := d.records()
	a := d.list()
	for _, r := range recs {
		if !a.has(r) {
			d.t.Errorf("%s: %s is recorded as archived but is not in the bucket", when, r)
		}
	}
}

// killArchiver SIGKILLs the wal-archive process running now, if any.
func (d *drain) killArchiver() bool {
	b, err := os.ReadFile(d.pidFile)
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return false
	}
	// Only the tool itself: the pid file outlives the process, and its
	// number may have been reused.
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.Contains(cmdline, []byte("barman-cloud-wal-archive")) {
		return false
	}
	return syscall.Kill(pid, syscall.SIGKILL) == nil
}

// killUploader SIGKILLs the background uploader running now, if any: its
// lock file (pg_wal/barman-cloud/archived/.uploader-DEST) holds its pid.
func (d *drain) killUploader() bool {
	locks, _ := filepath.Glob(filepath.Join(d.c.Data, "pg_wal", "barman-cloud", "archived", ".uploader-*"))
	killed := false
	for _, l := range locks {
		b, err := os.ReadFile(l)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || !bytes.Contains(cmdline, []byte("barman-cloud-wal-archive")) {
			continue
		}
		killed = syscall.Kill(pid, syscall.SIGKILL) == nil || killed
	}
	return killed
}

// TestParallelDrain: a backlog of 65 ready segments drains with --jobs 4,
// each segment stored once and byte-identical; then another backlog drains
// while the tool (PostgreSQL's call, and the background uploader) is
// SIGKILLed and PostgreSQL stopped (immediate) at random points: nothing
// is missing or corrupt, and no record ever names a segment the bucket
// lacks.
func TestParallelDrain(t *testing.T) {
	d := newDrain(t, 4)
	names := d.backlog(65)
	d.open()
	took := d.wait(names[len(names)-1], 4*time.Minute)
	t.Logf("65 segments drained in %v", took.Round(10*time.Millisecond))
	d.verify()
	d.checkRecords("after the first drain")
	log := d.c.ServerLog()
	if !strings.Contains(log, "Pre-uploaded ") {
		t.Errorf("no pre-upload in the server log:\n%s", pgtest.Tail(log, 40))
	}

	// Crashes during a drain.
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	names = d.backlog(60)
	d.open()
	kills, uploaderKills := 0, 0
	for round := 0; round < 8; round++ {
		// The uploader drains 60 segments in about a second here: the
		// rounds fall within it.
		time.Sleep(time.Duration(20+rng.Intn(130)) * time.Millisecond)
		if round == 3 {
			d.c.Stop(pgtest.Immediate)
			d.checkRecords("after an immediate stop")
			d.c.Start()
			continue
		}
		if round%2 == 0 && d.killUploader() {
			uploaderKills++
		}
		if round%2 == 1 || rng.Intn(2) == 0 {
			if d.killArchiver() {
				kills++
			}
		}
		d.checkRecords(fmt.Sprintf("after kill round %d", round))
	}
	t.Logf("%d archive_command calls and %d uploaders killed", kills, uploaderKills)
	if uploaderKills == 0 {
		t.Errorf("no uploader was running to be killed in 4 rounds")
	}
	d.wait(names[len(names)-1], 4*time.Minute)
	d.verify()
	d.checkRecords("after the second drain")
	// One more segment: its call removes the records of the segments
	// PostgreSQL has marked done since, which is all of them; its own
	// record stays until the next call.
	d.c.Psql("insert into t values (0)")
	last := d.c.SwitchWAL()
	d.wait(last, time.Minute)
	if recs := d.records(); len(recs) > 1 || len(recs) == 1 && recs[0] != last {
		t.Errorf("records left after the drain: %v, want at most %s", recs, last)
	}
}
