//go:build integration

package integration

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/barmancloud/barman-cloud/shared/compress"
	"github.com/barmancloud/barman-cloud/shared/storage"
	"github.com/barmancloud/barman-cloud/test/harness"
	"github.com/barmancloud/barman-cloud/test/oracle"
	"github.com/barmancloud/barman-cloud/test/targets"
)

// rsCompressions are wal-archive's compression options, "" for none.
var rsCompressions = []string{"", "--gzip", "--bzip2", "--xz", "--snappy", "--zstd", "--lz4"}

func rsCompressionName(opt string) string {
	if opt == "" {
		return "none"
	}
	return strings.TrimPrefix(opt, "--")
}

// rsAssertRestored checks that dest holds exactly the content of src, and
// that nothing else was left in dest's directory.
func rsAssertRestored(t *testing.T, src, dest string) {
	t.Helper()
	want, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(dest)
	if err != nil {
		t.Fatalf("%s: %v", filepath.Base(src), err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: restored %d bytes that differ from the %d archived", filepath.Base(src), len(got), len(want))
	}
	if entries, _ := os.ReadDir(filepath.Dir(dest)); len(entries) != 1 {
		t.Errorf("%d files in the destination directory, want only WAL_DEST", len(entries))
	}
}

// rsAssertEmpty checks that a failed restore left nothing in dir.
func rsAssertEmpty(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("left behind: %s", e.Name())
	}
}

// TestWALRestoreRoundTrip archives a segment, a .partial and a .history
// file with our wal-archive under every compression, on each provider,
// and restores them with our wal-restore, byte for byte.
func TestWALRestoreRoundTrip(t *testing.T) {
	wals := harness.WALs(t)
	files := []string{wals.Segments[0], wals.Partial, wals.History}
	for _, p := range oracle.Targets(t) {
		t.Run(p.Name, func(t *testing.T) {
			for _, c := range rsCompressions {
				t.Run(rsCompressionName(c), func(t *testing.T) {
					url := p.URL(harness.UniquePrefix(t))
					for _, f := range files {
						args := []string{url, "pg", f}
						if c != "" {
							args = append([]string{c}, args...)
						}
						if r := targets.Run(t, p, "barman-cloud-wal-archive", args...); r.Code != 0 {
							t.Fatalf("archiving %s: exit %d: %s", filepath.Base(f), r.Code, r.Stderr)
						}
					}
					for _, f := range files {
						dest := filepath.Join(t.TempDir(), "RECOVERYXLOG")
						r := targets.Run(t, p, "barman-cloud-wal-restore", url, "pg", filepath.Base(f), dest)
						if r.Code != 0 {
							t.Fatalf("restoring %s: exit %d: %s", filepath.Base(f), r.Code, r.Stderr)
						}
						if r.Stderr != "" {
							t.Errorf("restoring %s: output at the default verbosity: %s", filepath.Base(f), r.Stderr)
						}
						rsAssertRestored(t, f, dest)
					}
				})
			}
		})
	}
}

// TestWALRestoreExitStatuses: a missing WAL is exit 1 and silent, an
// unreachable storage exit 2, and -t gives 0/1/2, on each provider.
func TestWALRestoreExitStatuses(t *testing.T) {
	wals := harness.WALs(t)
	for _, p := range oracle.Targets(t) {
		t.Run(p.Name, func(t *testing.T) {
			url := p.URL(harness.UniquePrefix(t))
			if r := targets.Run(t, p, "barman-cloud-wal-archive", "--zstd", url, "pg", wals.Segments[0]); r.Code != 0 {
				t.Fatalf("archiving: exit %d: %s", r.Code, r.Stderr)
			}
			dir := t.TempDir()
			dest := filepath.Join(dir, "RECOVERYXLOG")
			for _, name := range []string{filepath.Base(wals.Segments[1]), "00000005.history"} {
				r := targets.Run(t, p, "barman-cloud-wal-restore", url, "pg", name, dest)
				if r.Code != 1 || r.Stderr != "" {
					t.Errorf("missing %s: exit %d, want 1 and no output: %q", name, r.Code, r.Stderr)
				}
				rsAssertEmpty(t, dir)
			}
			r := targets.Run(t, p, "barman-cloud-wal-restore", "-v", url, "pg", filepath.Base(wals.Segments[1]), dest)
			if r.Code != 1 || !strings.Contains(r.Stderr, "INFO: WAL file "+filepath.Base(wals.Segments[1])+" for server pg does not exist") {
				t.Errorf("missing, -v: exit %d: %q", r.Code, r.Stderr)
			}

			seg := filepath.Base(wals.Segments[0])
			if r := targets.RunVia(t, p, "127.0.0.1:1", []string{"AWS_MAX_ATTEMPTS=1"}, time.Minute, "barman-cloud-wal-restore", url, "pg", seg, dest); r.Code != 2 {
				t.Errorf("unreachable: exit %d, want 2: %s", r.Code, r.Stderr)
			}
			rsAssertEmpty(t, dir)

			for _, tc := range []struct {
				name string
				run  func() harness.Result
				want int
			}{
				{"bucket exists", func() harness.Result {
					return targets.Run(t, p, "barman-cloud-wal-restore", "-t", url, "pg", seg, dest)
				}, 0},
				{"bucket missing", func() harness.Result {
					return targets.Run(t, p, "barman-cloud-wal-restore", "-t", p.Missing(), "pg", seg, dest)
				}, 1},
				{"unreachable", func() harness.Result {
					return targets.RunVia(t, p, "127.0.0.1:1", []string{"AWS_MAX_ATTEMPTS=1"}, time.Minute, "barman-cloud-wal-restore", "-t", url, "pg", seg, dest)
				}, 2},
			} {
				if r := tc.run(); r.Code != tc.want {
					t.Errorf("-t, %s: exit %d, want %d: %s", tc.name, r.Code, tc.want, r.Stderr)
				}
				rsAssertEmpty(t, dir)
			}
		})
	}
}

// TestWALRestoreCorruptObject: a corrupt object on a real server (a zstd
// stream cut short, stored without a digest as Barman stores it) fails
// with exit 4 and leaves nothing behind.
func TestWALRestoreCorruptObject(t *testing.T) {
	wals := harness.WALs(t)
	seg := wals.Segments[2]
	data, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw, _ := compress.Zstd.NewWriter(&buf, compress.Level{})
	zw.Write(data)
	zw.Close()
	for _, p := range oracle.Targets(t) {
		t.Run(p.Name, func(t *testing.T) {
			prefix := harness.UniquePrefix(t)
			key := prefix + "/pg/wals/0000000100000000/" + filepath.Base(seg) + ".zst"
			rsPut(t, p, prefix, key, buf.Bytes()[:buf.Len()/2])
			dir := t.TempDir()
			r := targets.Run(t, p, "barman-cloud-wal-restore", p.URL(prefix), "pg", filepath.Base(seg), filepath.Join(dir, "RECOVERYXLOG"))
			if r.Code != 4 || !strings.Contains(r.Stderr, "invalid zstd data") {
				t.Errorf("exit %d, want 4: %s", r.Code, r.Stderr)
			}
			rsAssertEmpty(t, dir)
		})
	}
}

// rsPut stores data at key in the provider's test bucket without any
// metadata, as Barman does, through the shared storage package.
func rsPut(t *testing.T, p oracle.Target, prefix, key string, data []byte) {
	t.Helper()
	s := targets.Store(t, p, prefix, "", storage.Options{})
	if err := s.Upload(context.Background(), key, bytes.NewReader(data), int64(len(data)), storage.UploadOptions{}); err != nil {
		t.Fatalf("uploading %s: %v", key, err)
	}
}

// TestWALRestoreMemory: restore streams, so its peak memory does not grow
// with the WAL's size: a 1 GiB segment (the largest PostgreSQL allows),
// zstd-compressed, restores within the same few MiB as a 16 MiB one.
func TestWALRestoreMemory(t *testing.T) {
	p := oracle.Targets(t)[0]
	prefix := harness.UniquePrefix(t)
	peak := map[int64]int64{}
	for _, size := range []int64{16 << 20, 1 << 30} {
		// Mostly zeros, as a WAL segment's unused tail is: the object
		// stays small while the restored file is the full size.
		var buf bytes.Buffer
		zw, _ := compress.Zstd.NewWriter(&buf, compress.Level{})
		chunk := make([]byte, 1<<20)
		copy(chunk, strings.Repeat("page header ", 10))
		for off := int64(0); off < size; off += int64(len(chunk)) {
			zw.Write(chunk)
		}
		zw.Close()
		name := map[int64]string{16 << 20: "000000010000000000000001", 1 << 30: "000000010000000000000002"}[size]
		rsPut(t, p, prefix, prefix+"/pg/wals/0000000100000000/"+name+".zst", buf.Bytes())
		dest := filepath.Join(t.TempDir(), "RECOVERYXLOG")
		peak[size] = rsPeakRSS(t, harness.Tool(t, "barman-cloud-wal-restore"), append(append([]string{}, p.Args...), p.URL(prefix), "pg", name, dest)...)
		fi, err := os.Stat(dest)
		if err != nil || fi.Size() != size {
			t.Fatalf("restored %v bytes, want %d (%v)", fi, size, err)
		}
		os.Remove(dest)
		t.Logf("restoring %d MiB: peak RSS %d KiB", size>>20, peak[size])
	}
	if grow := peak[1<<30] - peak[16<<20]; grow > 16<<10 {
		t.Errorf("peak RSS grew by %d KiB from a 16 MiB to a 1 GiB segment", grow)
	}
}

// rsPeakRSS runs a command and returns its peak resident set size in KiB.
// It is measured by a small Python parent: a child started straight from
// the test process would be charged the test process's own peak, because
// Go starts children with vfork and Linux records the parent's memory at
// exec.
func rsPeakRSS(t *testing.T, name string, args ...string) int64 {
	t.Helper()
	const py = `import resource, subprocess, sys
r = subprocess.run(sys.argv[1:])
if r.returncode != 0:
    sys.exit("exit status %d" % r.returncode)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)`
	out, err := exec.Command("/usr/bin/python3", append([]string{"-c", py, name}, args...)...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("%s %v: %v: %s", name, args, err, ee.Stderr)
		}
		t.Fatal(err)
	}
	kib, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		t.Fatalf("peak RSS: %q", out)
	}
	return kib
}
