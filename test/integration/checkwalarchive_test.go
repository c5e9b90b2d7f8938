//go:build integration

package integration

import (
	"strings"
	"testing"
	"time"

	"github.com/barmancloud/barman-cloud/test/harness"
	"github.com/barmancloud/barman-cloud/test/oracle"
	"github.com/barmancloud/barman-cloud/test/targets"
)

// TestCheckWALArchive runs the cases of the spec's §5.5 on each provider:
// an empty location passes, a location holding WALs fails unless they are
// all of timelines before --timeline, a missing bucket fails (and is not
// created), -t only tests the connection, and an unreachable storage is
// exit 2.
func TestCheckWALArchive(t *testing.T) {
	wals := harness.WALs(t)
	const tool = "barman-cloud-check-wal-archive"
	for _, p := range oracle.Targets(t) {
		t.Run(p.Name, func(t *testing.T) {
			url := p.URL(harness.UniquePrefix(t))
			if r := targets.Run(t, p, tool, url, "pg"); r.Code != 0 || r.Stderr != "" {
				t.Fatalf("empty location: exit %d, want 0 and no output: %s", r.Code, r.Stderr)
			}
			for _, a := range [][]string{{"--gzip", wals.Segments[0]}, {"--zstd", wals.Segments[1]}, {wals.History}} {
				args := append(append(a[:len(a)-1:len(a)-1], url, "pg"), a[len(a)-1])
				if r := targets.Run(t, p, "barman-cloud-wal-archive", args...); r.Code != 0 {
					t.Fatalf("archiving %v: exit %d: %s", a, r.Code, r.Stderr)
				}
			}
			for _, tc := range []struct {
				args []string
				code int
				msg  string
			}{
				{[]string{url, "pg"}, 1, "WAL archive check failed for server pg: Expected empty archive"},
				{[]string{"--timeline", "1", url, "pg"}, 1, "Found 3 files in WAL archive equal to or newer than timeline 1"},
				{[]string{"--timeline", "2", url, "pg"}, 1, "Found 1 file in WAL archive equal to or newer than timeline 2"},
				{[]string{"--timeline", "3", url, "pg"}, 0, ""},
				{[]string{url, "other"}, 0, ""},
				{[]string{"-t", url, "pg"}, 0, ""},
				{[]string{p.Missing(), "pg"}, 1, "does not exist; it is not created"},
				{[]string{"-t", p.Missing(), "pg"}, 0, ""},
				{[]string{"--timeline", "0", url, "pg"}, 3, "'0' is not a valid positive integer"},
			} {
				r := targets.Run(t, p, tool, tc.args...)
				if r.Code != tc.code || !strings.Contains(r.Stderr, tc.msg) {
					t.Errorf("%v: exit %d, want %d with %q: %s", tc.args, r.Code, tc.code, tc.msg, r.Stderr)
				}
			}
			// The check did not create the missing bucket.
			if r := targets.Run(t, p, tool, "-t", p.Missing(), "pg"); r.Code != 0 {
				t.Errorf("-t on the missing bucket: exit %d", r.Code)
			}
			if r := targets.Run(t, p, "barman-cloud-wal-restore", "-t", p.Missing(), "pg", "00000001.history", t.TempDir()+"/x"); r.Code != 1 {
				t.Errorf("the missing bucket exists after the check (wal-restore -t: exit %d)", r.Code)
			}
			for _, args := range [][]string{{url, "pg"}, {"-t", url, "pg"}, {"--timeline", "2", url, "pg"}} {
				if r := targets.RunVia(t, p, "127.0.0.1:1", []string{"AWS_MAX_ATTEMPTS=1"}, time.Minute, tool, args...); r.Code != 2 {
					t.Errorf("unreachable %v: exit %d, want 2: %s", args, r.Code, r.Stderr)
				}
			}
		})
	}
}
