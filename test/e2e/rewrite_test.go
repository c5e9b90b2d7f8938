//go:build integration

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/barmancloud/barman-cloud/shared/wal/waltest"
	"github.com/barmancloud/barman-cloud/test/harness"
	"github.com/barmancloud/barman-cloud/test/oracle"
)

// TestRewrittenAfterPreUpload: the binary with --jobs 2, on every provider, in a
// pg_wal laid out as PostgreSQL's: the call for segment 1 pre-uploads
// segment 2 and records it; segment 2 is then rewritten under its name
// (a failed-over primary reusing the name), and the call for it is not
// answered from the record: the normal path refuses the other content
// (exit 1), and the bucket keeps the first content.
func TestRewrittenAfterPreUpload(t *testing.T) {
	for _, tg := range oracle.Targets(t) {
		t.Run(tg.Name, func(t *testing.T) { rewrittenAfterPreUpload(t, tg) })
	}
}

func rewrittenAfterPreUpload(t *testing.T, tg oracle.Target) {
	url := tg.URL(harness.UniquePrefix(t))
	pgwal := filepath.Join(t.TempDir(), "pg_wal")
	if err := os.MkdirAll(filepath.Join(pgwal, "archive_status"), 0o700); err != nil {
		t.Fatal(err)
	}
	seg1, seg2 := "000000010000000000000001", "000000010000000000000002"
	write := func(name string, seed int64) []byte {
		b := waltest.Segment(name, 1<<20, 0, seed)
		if err := os.WriteFile(filepath.Join(pgwal, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(pgwal, "archive_status", name+".ready"), nil, 0o600)
		return b
	}
	write(seg1, 1)
	first := write(seg2, 2)
	archive := func(name string) harness.Result {
		return harness.Run(t, nil, harness.Tool(t, "barman-cloud-wal-archive"),
			append(append([]string{"-vv"}, tg.Args...), "--jobs", "2", url, "pg", filepath.Join(pgwal, name))...)
	}
	if r := archive(seg1); r.Code != 0 || !strings.Contains(r.Stderr, "Pre-uploaded "+seg2) {
		t.Fatalf("segment 1: exit %d, no pre-upload of segment 2\n%s", r.Code, r.Stderr)
	}
	if _, err := os.Stat(filepath.Join(pgwal, "barman-cloud", "archived", seg2)); err != nil {
		t.Fatalf("no record of the pre-upload: %v", err)
	}
	write(seg2, 99)
	r := archive(seg2)
	if r.Code != 1 || !strings.Contains(r.Stderr, "does not match") || !strings.Contains(r.Stderr, "different content") {
		t.Fatalf("rewritten segment 2: exit %d, want 1 after the record's mismatch and the different-content refusal\n%s", r.Code, r.Stderr)
	}
	dest := filepath.Join(t.TempDir(), "RECOVERYXLOG")
	rr := harness.Run(t, nil, harness.Tool(t, "barman-cloud-wal-restore"), append(append([]string{}, tg.Args...), url, "pg", seg2, dest)...)
	got, _ := os.ReadFile(dest)
	if rr.Code != 0 || string(got) != string(first) {
		t.Fatalf("restore of segment 2: exit %d, first content %v\n%s", rr.Code, string(got) == string(first), rr.Stderr)
	}
}
