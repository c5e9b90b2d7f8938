package backup

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/barmancloud/barman-cloud/shared/backupinfo"
	"github.com/barmancloud/barman-cloud/shared/compress"
	"github.com/barmancloud/barman-cloud/shared/pg"
	"github.com/barmancloud/barman-cloud/shared/storage"
)

// cluster is a fake data directory and tablespace on disk, shaped like
// PostgreSQL 15's.
type cluster struct {
	pgdata, tablespace string
	configFile         string // postgresql.conf, outside PGDATA
}

// writeFile writes size bytes (or text) at dir/name, making directories.
func writeFile(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// newCluster makes a data directory with a relation of relSize bytes, WAL
// and a postmaster.pid that must be left out, and a tablespace.
func newCluster(t *testing.T, relSize int) cluster {
	root := t.TempDir()
	c := cluster{pgdata: filepath.Join(root, "data"), tablespace: filepath.Join(root, "tbs"), configFile: filepath.Join(root, "etc", "postgresql.conf")}
	writeFile(t, c.pgdata, "PG_VERSION", []byte("15\n"))
	writeFile(t, c.pgdata, "global/pg_control", bytes.Repeat([]byte{1}, 8192))
	writeFile(t, c.pgdata, "global/1260", bytes.Repeat([]byte{2}, 8192))
	// Random, so that no compression keeps it below a small -S.
	rel := make([]byte, relSize)
	rand.New(rand.NewSource(int64(relSize))).Read(rel)
	writeFile(t, c.pgdata, "base/5/16384", rel)
	writeFile(t, c.pgdata, "base/5/16385", bytes.Repeat([]byte{3}, 3000))
	writeFile(t, c.pgdata, "pg_wal/000000010000000000000001", make([]byte, 4096))
	writeFile(t, c.pgdata, "postmaster.pid", []byte("4242\n"))
	writeFile(t, c.pgdata, "pg_hba.conf", []byte("local all all trust\n"))
	if err := os.MkdirAll(filepath.Join(c.pgdata, "pg_tblspc"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(c.tablespace, filepath.Join(c.pgdata, "pg_tblspc", "16400")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, c.tablespace, "PG_15_202209061/5/16500", bytes.Repeat([]byte{4}, 5000))
	writeFile(t, c.tablespace, "PG_14_202107181/5/1", []byte("old"))
	writeFile(t, filepath.Dir(c.configFile), "postgresql.conf", []byte("port = 5432\n"))
	return c
}

// fakePG is a PostgreSQL 15 server for the orchestration: fixed answers,
// a record of the calls, and hooks to make a step fail.
type fakePG struct {
	c     cluster
	calls []string
	// fail makes the named step ("Metadata", "StartBackup",
	// "StopBackup", "SwitchWAL") fail with this error.
	fail map[string]error
	// onStop runs when the backup is stopped, before its answer: a
	// signal, a storage outage.
	onStop func()
}

const (
	startLSN = "0/2000028"
	stopLSN  = "0/3000100"
	label    = "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\nCHECKPOINT LOCATION: 0/2000060\nBACKUP METHOD: streamed\nBACKUP FROM: primary\nSTART TIME: 2024-05-01 12:00:00 UTC\nLABEL: Barman backup cloud 20240501T120000\nSTART TIMELINE: 1\n"
)

var (
	startTime = time.Date(2024, 5, 1, 12, 0, 0, 123456000, time.FixedZone("", 0))
	stopTime  = time.Date(2024, 5, 1, 12, 5, 30, 654321000, time.FixedZone("", 2*3600))
)

func (f *fakePG) call(name string) error {
	f.calls = append(f.calls, name)
	return f.fail[name]
}

func (f *fakePG) SystemID(context.Context) (string, error) {
	return "7363823450123456789", f.call("SystemID")
}
func (f *fakePG) CheckVersion(context.Context) error { return f.call("CheckVersion") }
func (f *fakePG) ServerVersion() int                 { return 150004 }
func (f *fakePG) MajorVersion(context.Context) (string, error) {
	return "15", f.call("MajorVersion")
}

func (f *fakePG) Metadata(context.Context) (*pg.Metadata, error) {
	if err := f.call("Metadata"); err != nil {
		return nil, err
	}
	str := func(s string) *string { return &s }
	size := int64(31457280)
	return &pg.Metadata{
		DataDirectory: str(f.c.pgdata),
		SegmentSize:   16 << 20,
		ConfigFile:    str(f.c.configFile),
		HBAFile:       str(filepath.Join(f.c.pgdata, "pg_hba.conf")),
		IdentFile:     str("/nonexistent/pg_ident.conf"),
		IncludedFiles: []string{filepath.Join(f.c.pgdata, "postgresql.auto.conf"), "/etc/extra.conf"},
		Tablespaces:   []pg.Tablespace{{Name: "tbs1", OID: 16400, Location: f.c.tablespace}},
		DataChecksums: str("on"),
		ClusterSize:   &size,
	}, nil
}

func (f *fakePG) StartBackup(_ context.Context, lbl string, fast bool) (pg.Start, error) {
	f.calls = append(f.calls, "label="+lbl)
	return pg.Start{LSN: startLSN, Timeline: 1, Time: startTime}, f.call("StartBackup")
}

func (f *fakePG) StopBackup(ctx context.Context) (pg.Stop, error) {
	if f.onStop != nil {
		f.onStop()
	}
	if err := f.call("StopBackup"); err != nil {
		return pg.Stop{}, err
	}
	if ctx.Err() != nil {
		return pg.Stop{}, &pg.QueryError{Op: "Error issuing pg_backup_stop command", Err: ctx.Err()}
	}
	return pg.Stop{LSN: stopLSN, Timeline: 1, Label: label, Time: stopTime}, nil
}

func (f *fakePG) SwitchWAL(context.Context) (string, error) {
	return "000000010000000000000003", f.call("SwitchWAL")
}

func (f *fakePG) CreateRestorePoint(_ context.Context, name string) string {
	f.calls = append(f.calls, "restore point "+name)
	return "0/3000200"
}

// testJob is a backup of c into s with o, with a clock that starts at
// 2024-05-01 12:00:00 local time and advances 1 ms per reading.
func testJob(t *testing.T, s *storage.Store, f *fakePG, o *options) (*job, *bytes.Buffer) {
	var log bytes.Buffer
	j := newJob(o, s, "srv", f, zerolog.New(&log).Level(zerolog.DebugLevel))
	clock := time.Date(2024, 5, 1, 12, 0, 0, 0, time.Local)
	j.now = func() time.Time { clock = clock.Add(time.Millisecond); return clock }
	j.sleep = func(_ context.Context, d time.Duration) error { clock = clock.Add(d); return nil }
	return j, &log
}

// member is one tar member read back.
type member struct {
	name string
	hdr  *tar.Header
	data []byte
}

// readObject reads key from s whole.
func readObject(t *testing.T, s *storage.Store, key string) []byte {
	t.Helper()
	r, err := s.NewReader(context.Background(), key)
	if err != nil {
		t.Fatalf("reading %s: %v", key, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// members decompresses (alg nil: none) and lists the tar archive at key.
func members(t *testing.T, s *storage.Store, key string, alg *compress.Algorithm) []member {
	t.Helper()
	var r io.Reader = bytes.NewReader(readObject(t, s, key))
	if alg != nil {
		zr, err := alg.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	tr := tar.NewReader(r)
	var out []member
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, member{name: h.Name, hdr: h, data: data})
	}
}

func names(ms []member) []string {
	var n []string
	for _, m := range ms {
		n = append(n, m.name)
	}
	return n
}

// keys lists every key under prefix.
func keys(t *testing.T, s *storage.Store, prefix string) []string {
	t.Helper()
	objs, err := s.List(context.Background(), prefix, "")
	if err != nil {
		t.Fatal(err)
	}
	var k []string
	for _, o := range objs {
		k = append(k, o.Key)
	}
	return k
}

// info reads and parses backup.info of id.
func info(t *testing.T, s *storage.Store, key string) *backupinfo.Info {
	t.Helper()
	i, err := backupinfo.Parse(readObject(t, s, key))
	if err != nil {
		t.Fatal(err)
	}
	return i
}

// messages are the messages of a JSON log, one per line.
func messages(t *testing.T, log *bytes.Buffer) []string {
	t.Helper()
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(log.String()), "\n") {
		if l == "" {
			continue
		}
		var e struct{ Level, Message string }
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, e.Level+": "+e.Message)
	}
	return out
}
