package backupkeep

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/barmancloud/barman-cloud/shared/catalog/catalogtest"
	"github.com/barmancloud/barman-cloud/shared/cloudcli/clitest"
)

// TestKeepC is spec §11.7's keep vectors on catalog C, in a file:// store.
func TestKeepC(t *testing.T) {
	s, u := catalogtest.FileStore(t)
	catalogtest.FixtureC(t, s, "srv")
	dir := strings.TrimPrefix(u, "file://")
	annotation := func(id string) string { return filepath.Join(dir, "srv/base", id, "annotations/keep") }
	read := func(id string) (string, bool) {
		b, err := os.ReadFile(annotation(id))
		return string(b), err == nil
	}

	for _, tc := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"-s", u, "srv", "20240108T000000"}, 0, "Keep: standalone\n", ""},
		{[]string{"-s", u, "srv", "20240129T000000"}, 0, "Keep: full\n", ""},
		{[]string{"-s", u, "srv", "latest"}, 0, "Keep: nokeep\n", ""},
		{[]string{"-s", u, "srv", "20230101T000000"}, 0, "Keep: nokeep\n", ""},
		{[]string{"-r", u, "srv", "20230101T000000"}, 0, "", ""},
		{[]string{"--target", "full", u, "srv", "20240115T000000"}, 1, "",
			"ERROR: Cannot add keep to backup 20240115T000000 because it has status FAILED. Only backups with status DONE can be kept.\n"},
		{[]string{"--target", "full", u, "srv", "20230101T000000"}, 4, "", "ERROR: Backup 20230101T000000 for server srv does not exist\n"},
		{[]string{"--target", "full", u, "srv", "nosuch"}, 4, "", "ERROR: Unknown backup 'nosuch' for server 'srv'\n"},
		{[]string{"--target", "other", u, "srv", "latest"}, 3, "", "barman-cloud-backup-keep: error: argument --target: invalid choice: 'other' (choose from 'full', 'standalone')\n"},
		{[]string{u, "srv", "latest"}, 3, "", "barman-cloud-backup-keep: error: one of the arguments -r/--release -s/--status --target is required\n"},
		{[]string{"-r", "-s", u, "srv", "latest"}, 3, "", "barman-cloud-backup-keep: error: argument -s/--status: not allowed with argument -r/--release\n"},
	} {
		r := clitest.Run(t, Tool, nil, tc.args...)
		stderr := r.Stderr
		if i := strings.Index(stderr, "ERROR: "); i > 0 {
			stderr = stderr[i:] // without the log prefix (time, pid)
		}
		if r.Code != tc.code || r.Stdout != tc.stdout || stderr != tc.stderr {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want %d, %q, %q", tc.args, r.Code, r.Stdout, r.Stderr, tc.code, tc.stdout, tc.stderr)
		}
	}

	// --target standalone weekly writes Barman's object: the word, no newline.
	if r := clitest.Run(t, Tool, nil, "--target", "standalone", u, "srv", "weekly"); r.Code != 0 || r.Stdout != "" || r.Stderr != "" {
		t.Fatalf("target: %+v", r)
	}
	if got, ok := read("20240122T000000"); !ok || got != "standalone" {
		t.Errorf("annotation %q (%v)", got, ok)
	}
	// Overwritten silently, then released.
	if r := clitest.Run(t, Tool, nil, "--target", "full", u, "srv", "20240122T000000"); r.Code != 0 {
		t.Fatalf("overwrite: %+v", r)
	}
	if got, _ := read("20240122T000000"); got != "full" {
		t.Errorf("annotation %q", got)
	}
	if r := clitest.Run(t, Tool, nil, "-r", u, "srv", "weekly"); r.Code != 0 || r.Stdout != "" || r.Stderr != "" {
		t.Fatalf("release: %+v", r)
	}
	if _, ok := read("20240122T000000"); ok {
		t.Error("annotation left after -r")
	}
	if r := clitest.Run(t, Tool, nil, "-s", u, "srv", "weekly"); r.Stdout != "Keep: nokeep\n" {
		t.Errorf("after release: %+v", r)
	}

	// An annotation not written by Barman's tool: read as the retention
	// rules read it (deliberate difference: Barman prints its first line).
	if err := os.MkdirAll(filepath.Dir(annotation("20240101T000000")), 0o755); err != nil {
		t.Fatal(err)
	}
	for content, want := range map[string]string{"": "full", "weird": "full", "standalone\n": "full", "standalone": "standalone"} {
		if err := os.WriteFile(annotation("20240101T000000"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if r := clitest.Run(t, Tool, nil, "-s", u, "srv", "20240101T000000"); r.Stdout != "Keep: "+want+"\n" {
			t.Errorf("annotation %q: %q", content, r.Stdout)
		}
	}
}
