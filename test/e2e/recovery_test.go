//go:build integration

// Package e2e proves barman-cloud-wal-archive, barman-cloud-wal-restore and
// barman-cloud-check-wal-archive with real PostgreSQL 15 servers: a primary
// archives through archive_command to MinIO, and clusters restored from a
// base backup through restore_command must come back with exactly the data
// written before a recovery target, then follow a timeline switch.
//
// The servers are throwaway clusters on a unix socket, run as user
// postgres when the tests run as root (see test/pgtest).
package e2e

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/barmancloud/barman-cloud/shared/wal"
	"github.com/barmancloud/barman-cloud/test/harness"
	"github.com/barmancloud/barman-cloud/test/pgtest"
)

// variant is one run of the whole scenario.
type variant struct {
	name   string
	flag   string // wal-archive's compression option
	ext    string // the suffix it gives objects
	segMiB int    // initdb --wal-segsize
	// archiveFlags and restoreFlags are added to wal-archive's and
	// wal-restore's command lines.
	archiveFlags, restoreFlags string
}

var variants = []variant{
	{name: "zstd", flag: "--zstd", ext: ".zst", segMiB: 16},
	// A non-default segment size, so that the WAL header check and the
	// segment arithmetic of the tools meet real 1 MiB segments.
	{name: "gzip-1MiB-segments", flag: "--gzip", ext: ".gz", segMiB: 1},
	// Parallel archiving and restore prefetch through the same recovery,
	// timeline switches included: the same data must come back.
	{name: "lz4-jobs-prefetch", flag: "--lz4", ext: ".lz4", segMiB: 1, archiveFlags: "-v --jobs 4", restoreFlags: "-v --prefetch 4"},
}

// TestArchiveRecovery: archive, point-in-time recovery to a named restore
// point, then recovery across the timeline that recovery created.
func TestArchiveRecovery(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			newScenario(t, v).run()
			t.Logf("%s: %v", v.name, time.Since(start).Round(100*time.Millisecond))
		})
	}
}

const rowsPerBatch = 1000

type scenario struct {
	t        *testing.T
	v        variant
	s        *pgtest.Sandbox
	endpoint string
	url      string
	bucket   string
	prefix   string
	segSize  uint64
}

func newScenario(t *testing.T, v variant) *scenario {
	sc := &scenario{t: t, v: v, s: pgtest.New(t), segSize: uint64(v.segMiB) << 20}
	// What archive_command and restore_command need to reach the storage.
	sc.s.AddStorageEnv()
	sc.endpoint = harness.Env(t, "S3_ENDPOINT_URL")
	sc.bucket = harness.Env(t, "S3_BUCKET")
	sc.prefix = harness.UniquePrefix(t)
	sc.url = "s3://" + sc.bucket + "/" + sc.prefix
	return sc
}

func (sc *scenario) run() {
	t := sc.t
	// 1. The location is empty, so a new cluster may archive into it.
	if r := sc.check(); r.Code != 0 {
		t.Fatalf("check-wal-archive on the empty prefix: exit %d, want 0\n%s", r.Code, r.Stderr)
	}

	primary := sc.s.InitDB("primary", sc.v.segMiB)
	set := primary.BaseSettings()
	set["archive_mode"] = "on"
	set["archive_command"] = sc.archiveCommand(primary)
	primary.Configure(set)
	primary.Start()
	primary.Psql("create table t (id int primary key, batch int not null)")

	// 2. Without WAL (-X none): the backup is restorable only with every
	// WAL segment from its start on, which recovery must then get from the
	// archive through restore_command; with -X fetch, the backup's own
	// segments would be in pg_wal, a fallback that could hide a failed
	// restore of them.
	backup := filepath.Join(sc.s.Dir, "backup")
	sc.s.MustRun(3*time.Minute, pgtest.Bin+"/pg_basebackup", "-D", backup, "-X", "none", "-c", "fast",
		"--no-sync", "-h", primary.Dir, "-U", "postgres")
	backupStart := sc.backupStart(backup)

	// 3. Batches 1-4 before the target (three segment switches on the
	// way), 5 and 6 after it, all archived.
	for b := 1; b <= 3; b++ {
		sc.insert(primary, b)
		primary.WaitArchived(primary.SwitchWAL())
	}
	sc.insert(primary, 4)
	primary.Psql("select pg_create_restore_point('target')")
	sc.insert(primary, 5)
	primary.WaitArchived(primary.SwitchWAL())
	sc.insert(primary, 6)
	primary.WaitArchived(primary.SwitchWAL())
	primary.Stop(pgtest.Immediate)
	arch1 := sc.list()
	calls := sc.checkArchiveCalls(primary, arch1)
	if !hasSuffix(calls, ".backup") {
		t.Errorf("the primary archived no backup label: %v", calls)
	}

	// 4. Recovery to the target, then promotion to timeline 2, which
	// archives into the same location (archive_mode takes effect at
	// promotion).
	rec1 := sc.s.FromBackup("rec1", backup)
	set = rec1.BaseSettings()
	set["restore_command"] = sc.restoreCommand(rec1)
	set["recovery_target_name"] = "target"
	set["recovery_target_action"] = "promote"
	set["archive_mode"] = "on"
	set["archive_command"] = sc.archiveCommand(rec1)
	rec1.Configure(set)
	rec1.Touch("recovery.signal")
	rec1.Start()
	rec1.WaitPromoted()
	sc.checkRows(rec1, 1, 2, 3, 4)
	if tl := rec1.Timeline(); tl != "2" {
		t.Fatalf("rec1 is on timeline %s after promotion, want 2", tl)
	}

	// 5. Timeline 2: its history file and its segments are archived, the
	// first of which starts with timeline 1's pages (wal-archive's header
	// check must accept it). Batch 8 stays in the segment being written,
	// not archived. No .partial of timeline 1 is archived here:
	// PostgreSQL renames the old timeline's last segment to .partial and
	// archives it only when that segment did not come from the archive
	// (it has no .done), which is not the case when recovery got all its
	// WAL through restore_command; rec2 makes one.
	sc.insert(rec1, 7)
	lastTL2 := rec1.SwitchWAL()
	rec1.WaitArchived(lastTL2)
	sc.insert(rec1, 8)
	tail := rec1.Psql("select pg_walfile_name(pg_current_wal_lsn())")
	rec1.Stop(pgtest.Immediate)
	arch2 := sc.list()
	switchLSN := sc.switchPoint()
	switchSeg := switchLSN / sc.segSize
	firstTL2 := sc.walName(2, switchLSN)
	sc.checkRestoreCalls(rec1, arch1, sc.segments(1, backupStart, switchSeg))
	calls = sc.checkArchiveCalls(rec1, arch2)
	for _, want := range []string{"00000002.history", firstTL2, lastTL2} {
		if !contains(calls, want) || !arch2.has(want) {
			t.Errorf("rec1 did not archive %s (archive_command runs: %v); archive:\n%s", want, calls, arch2)
		}
	}
	if arch2.serves(tail) {
		t.Fatalf("%s, the segment rec1 was writing, is archived:\n%s", tail, arch2)
	}
	sc.checkFirstSegment(firstTL2, switchSeg)

	// 6. The archive holds timelines 1 and 2, nothing of 3.
	sc.checkArchive(map[string]int{"": 1, "1": 1, "2": 1, "3": 0})

	// Recovery along the latest timeline, with no target: timeline 1 up
	// to the switch point, then timeline 2 to the end of the archive,
	// then, as the PostgreSQL documentation advises after losing a
	// server, the unarchived segment saved from rec1's pg_wal. That
	// segment did not come from the archive: at promotion to timeline 3,
	// rec2 archives it as a .partial, with 00000003.history.
	rec2 := sc.s.FromBackup("rec2", backup)
	sc.s.MustRun(time.Minute, "cp", "-a", filepath.Join(rec1.Data, "pg_wal", tail), filepath.Join(rec2.Data, "pg_wal"))
	set = rec2.BaseSettings()
	set["restore_command"] = sc.restoreCommand(rec2)
	set["recovery_target_timeline"] = "latest"
	set["archive_mode"] = "on"
	set["archive_command"] = sc.archiveCommand(rec2)
	rec2.Configure(set)
	rec2.Touch("recovery.signal")
	rec2.Start()
	rec2.WaitPromoted()
	sc.checkRows(rec2, 1, 2, 3, 4, 7, 8)
	// Having replayed timeline 2 to its end, it promotes to timeline 3.
	if tl := rec2.Timeline(); tl != "3" {
		t.Errorf("rec2 is on timeline %s after recovery, want 3", tl)
	}
	lastSeg := sc.segNo(lastTL2)
	want := append(sc.segments(1, backupStart, switchSeg-1), "00000002.history")
	want = append(want, sc.segments(2, switchSeg, lastSeg)...)
	sc.checkRestoreCalls(rec2, arch2, want)
	if !containsCall(readCalls(t, filepath.Join(rec2.Dir, "restore-calls")), call{tail, 1}) {
		t.Errorf("rec2 did not look for %s in the archive before reading it from pg_wal", tail)
	}
	if sc.v.restoreFlags != "" {
		// Recovery went through the spool. The prefetcher ran ahead on
		// timeline 1, whose segments past the switch point are archived
		// too (the primary went on): rows above show none of them was
		// served for timeline 2.
		log := rec2.ServerLog()
		if !strings.Contains(log, "from the prefetch spool") || !strings.Contains(log, "Prefetched 00000001") {
			t.Errorf("rec2 did not restore through the prefetch spool:\n%s", pgtest.Tail(log, 60))
		}
	}
	firstTL3 := rec2.SwitchWAL()
	rec2.WaitArchived(firstTL3)
	rec2.Stop(pgtest.Immediate)
	arch3 := sc.list()
	calls = sc.checkArchiveCalls(rec2, arch3)
	for _, want := range []string{"00000003.history", tail + ".partial", firstTL3} {
		if !contains(calls, want) || !arch3.has(want) {
			t.Errorf("rec2 did not archive %s (archive_command runs: %v); archive:\n%s", want, calls, arch3)
		}
	}
	// The .partial is rec1's segment, whole: PostgreSQL renamed it.
	if got, want := sc.restore(tail+".partial"), sc.readFile(filepath.Join(rec1.Data, "pg_wal", tail)); !bytes.Equal(got, want) {
		t.Errorf("%s.partial restored from the archive differs from rec1's %s", tail, tail)
	}
	sc.checkArchive(map[string]int{"": 1, "2": 1, "3": 1, "4": 0})
}

// checkArchive runs check-wal-archive on the used prefix, with each
// --timeline ("": none) and the exit status expected.
func (sc *scenario) checkArchive(want map[string]int) {
	sc.t.Helper()
	for _, tl := range slices.Sorted(maps.Keys(want)) {
		var args []string
		if tl != "" {
			args = []string{"--timeline", tl}
		}
		if r := sc.check(args...); r.Code != want[tl] {
			sc.t.Errorf("check-wal-archive %v on the used prefix: exit %d, want %d\n%s", args, r.Code, want[tl], r.Stderr)
		}
	}
}

func (sc *scenario) readFile(path string) []byte {
	sc.t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		sc.t.Fatal(err)
	}
	return b
}

func (sc *scenario) check(args ...string) harness.Result {
	a := append([]string{"--endpoint-url", sc.endpoint}, args...)
	return harness.Run(sc.t, nil, harness.Tool(sc.t, "barman-cloud-check-wal-archive"), append(a, sc.url, "pg")...)
}

// archiveCommand calls the wal-archive symlink directly; the storage
// credentials come from the server's environment (Sandbox.AddEnv).
func (sc *scenario) archiveCommand(c *pgtest.Cluster) string {
	cmd := fmt.Sprintf("%s %s %s --endpoint-url %s %s pg %%p", sc.s.Tool("barman-cloud-wal-archive"), sc.v.flag, sc.v.archiveFlags, sc.endpoint, sc.url)
	return logCalls(cmd, filepath.Join(c.Dir, "archive-calls"))
}

func (sc *scenario) restoreCommand(c *pgtest.Cluster) string {
	cmd := fmt.Sprintf("%s %s --endpoint-url %s %s pg %%f %%p", sc.s.Tool("barman-cloud-wal-restore"), sc.v.restoreFlags, sc.endpoint, sc.url)
	return logCalls(cmd, filepath.Join(c.Dir, "restore-calls"))
}

func (sc *scenario) list() archive {
	return listArchive(sc.t, sc.endpoint, sc.bucket, sc.prefix, "pg", sc.v.ext)
}

// insert writes batch b: rowsPerBatch rows whose ids no other batch uses.
func (sc *scenario) insert(c *pgtest.Cluster, b int) {
	c.Psql(fmt.Sprintf("insert into t select g, %d from generate_series(%d, %d) g", b, (b-1)*rowsPerBatch+1, b*rowsPerBatch))
}

// checkRows checks that table t holds exactly the given batches: row
// count, sum of ids and the batch numbers.
func (sc *scenario) checkRows(c *pgtest.Cluster, batches ...int) {
	sc.t.Helper()
	var n, sum int
	var names []string
	for _, b := range batches {
		for id := (b-1)*rowsPerBatch + 1; id <= b*rowsPerBatch; id++ {
			n++
			sum += id
		}
		names = append(names, fmt.Sprint(b))
	}
	want := fmt.Sprintf("%d|%d|%s", n, sum, strings.Join(names, ","))
	got := c.Psql("select count(*), coalesce(sum(id), 0), " +
		"coalesce((select string_agg(b::text, ',' order by b) from (select distinct batch b from t) d), '') from t")
	if got != want {
		sc.t.Fatalf("%s: rows (count|sum of ids|batches) = %s, want %s", c.Name, got, want)
	}
}

// checkArchiveCalls checks that every archive_command run of c succeeded
// and that the archive holds what it archived; it returns the names.
func (sc *scenario) checkArchiveCalls(c *pgtest.Cluster, a archive) []string {
	sc.t.Helper()
	calls := readCalls(sc.t, filepath.Join(c.Dir, "archive-calls"))
	if len(calls) == 0 {
		sc.t.Fatalf("%s: archive_command never ran", c.Name)
	}
	var names []string
	for _, cl := range calls {
		names = append(names, cl.wal)
		if cl.code != 0 {
			sc.t.Errorf("%s: archive_command for %s: exit %d", c.Name, cl.wal, cl.code)
		}
		if !a.has(cl.wal) {
			sc.t.Errorf("%s: %s was archived (exit %d) but is not in the archive:\n%s", c.Name, cl.wal, cl.code, a)
		}
	}
	return names
}

// checkRestoreCalls checks the restore_command runs of c against the
// archive as it was when c ran: each WAL of required was restored; a run
// either restored a WAL the archive has (exit 0, and the server logged
// it), or reported one it lacks as not found (exit 1: PostgreSQL probes
// for history files and the segment after the last); nothing else.
func (sc *scenario) checkRestoreCalls(c *pgtest.Cluster, a archive, required []string) {
	sc.t.Helper()
	calls := readCalls(sc.t, filepath.Join(c.Dir, "restore-calls"))
	log := c.ServerLog()
	restored := map[string]bool{}
	for _, cl := range calls {
		switch {
		case cl.code == 0 && a.serves(cl.wal):
			restored[cl.wal] = true
			if !strings.Contains(log, fmt.Sprintf("restored log file %q from archive", cl.wal)) {
				sc.t.Errorf("%s: restore_command restored %s, but the server did not log it", c.Name, cl.wal)
			}
		case cl.code == 1 && !a.serves(cl.wal):
		default:
			sc.t.Errorf("%s: restore_command for %s: exit %d, with the WAL in the archive: %v", c.Name, cl.wal, cl.code, a.serves(cl.wal))
		}
	}
	for _, w := range required {
		if !restored[w] {
			sc.t.Errorf("%s: %s was not restored through restore_command; runs: %v", c.Name, w, calls)
		}
	}
	if sc.t.Failed() {
		sc.t.Logf("archive:\n%s", a)
	}
}

// backupStart is the segment number where the base backup starts.
func (sc *scenario) backupStart(dir string) uint64 {
	sc.t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "backup_label"))
	if err != nil {
		sc.t.Fatal(err)
	}
	m := regexp.MustCompile(`START WAL LOCATION: (\S+)`).FindSubmatch(b)
	if m == nil {
		sc.t.Fatalf("no START WAL LOCATION in backup_label:\n%s", b)
	}
	lsn, err := wal.ParseLSN(string(m[1]))
	if err != nil {
		sc.t.Fatal(err)
	}
	return uint64(lsn) / sc.segSize
}

// walName is the name of the segment holding WAL location lsn on timeline
// tli.
func (sc *scenario) walName(tli uint32, lsn uint64) string {
	sc.t.Helper()
	name, _, err := wal.LSN(lsn).FileNameOffset(tli, int64(sc.segSize))
	if err != nil {
		sc.t.Fatal(err)
	}
	return name
}

// segments are the names of segments from..to (included) of timeline tli.
func (sc *scenario) segments(tli uint32, from, to uint64) []string {
	var names []string
	for n := from; n <= to; n++ {
		names = append(names, sc.walName(tli, n*sc.segSize))
	}
	return names
}

// segNo is the segment number of a segment name.
func (sc *scenario) segNo(name string) uint64 {
	var tli, log, seg uint64
	if _, err := fmt.Sscanf(name, "%08X%08X%08X", &tli, &log, &seg); err != nil {
		sc.t.Fatalf("segment name %q: %v", name, err)
	}
	return log*(uint64(1<<32)/sc.segSize) + seg
}

// switchPoint restores 00000002.history with barman-cloud-wal-restore and
// returns where timeline 2 branched off timeline 1.
func (sc *scenario) switchPoint() uint64 {
	sc.t.Helper()
	h := sc.restore("00000002.history")
	// "1	0/3000148	at restore point "target""
	f := strings.Split(strings.TrimSpace(string(h)), "\t")
	if len(f) < 2 || f[0] != "1" || !strings.Contains(string(h), "target") {
		sc.t.Fatalf("00000002.history:\n%s", h)
	}
	lsn, err := wal.ParseLSN(f[1])
	if err != nil {
		sc.t.Fatal(err)
	}
	return uint64(lsn)
}

// restore fetches a WAL file with barman-cloud-wal-restore and returns its
// content.
func (sc *scenario) restore(name string) []byte {
	sc.t.Helper()
	dest := filepath.Join(sc.t.TempDir(), name)
	r := harness.Run(sc.t, nil, harness.Tool(sc.t, "barman-cloud-wal-restore"), "--endpoint-url", sc.endpoint, sc.url, "pg", name, dest)
	if r.Code != 0 {
		sc.t.Fatalf("wal-restore %s: exit %d\n%s", name, r.Code, r.Stderr)
	}
	b, err := os.ReadFile(dest)
	if err != nil {
		sc.t.Fatal(err)
	}
	return b
}

// checkFirstSegment checks that the first segment of timeline 2, which
// wal-archive's header check accepted, is the case that check must allow:
// PostgreSQL copied timeline 1's part of it, so its first page names
// timeline 1.
func (sc *scenario) checkFirstSegment(name string, segno uint64) {
	sc.t.Helper()
	b := sc.restore(name)
	if uint64(len(b)) != sc.segSize {
		sc.t.Fatalf("%s: %d bytes, want %d", name, len(b), sc.segSize)
	}
	// XLogPageHeaderData, in the server's byte order: magic, info,
	// timeline, page address.
	bo := binary.NativeEndian
	if tli, addr := bo.Uint32(b[4:]), bo.Uint64(b[8:]); tli != 1 || addr != segno*sc.segSize {
		sc.t.Errorf("%s: first page header says timeline %d at %X, want timeline 1 at %X", name, tli, addr, segno*sc.segSize)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func containsCall(list []call, c call) bool {
	for _, x := range list {
		if x == c {
			return true
		}
	}
	return false
}

func hasSuffix(list []string, suffix string) bool {
	for _, x := range list {
		if strings.HasSuffix(x, suffix) {
			return true
		}
	}
	return false
}
