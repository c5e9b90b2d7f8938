package backuplist

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/barmancloud/barman-cloud/shared/catalog/catalogtest"
	"github.com/barmancloud/barman-cloud/shared/cloudcli/clitest"
)

// fixtureC writes the spec's catalog C (§11.1) into a file:// store and
// returns its URL.
func fixtureC(t *testing.T) string {
	s, u := catalogtest.FileStore(t)
	catalogtest.FixtureC(t, s, "srv")
	return u
}

func TestTool(t *testing.T) {
	u := fixtureC(t)
	r := clitest.Run(t, Tool, nil, u, "srv")
	want := "Backup ID           End Time                 Begin Wal                     Archival Status  Name                \n" +
		"20240101T000000     2024-01-01 00:10:00      000000010000000000000002                                           \n" +
		"20240108T000000     2024-01-08 00:10:00      000000010000000000000010      KEEP:STANDALONE                      \n" +
		"20240122T000000     2024-01-22 00:10:00      000000010000000000000030                       weekly              \n" +
		"20240129T000000     2024-01-29 00:10:00      000000010000000100000005      KEEP:FULL                            \n" +
		"20240205T000000     2024-02-05 00:10:00      000000020000000100000010                                           \n"
	if r.Code != 0 || r.Stdout != want || r.Stderr != "" {
		t.Errorf("exit %d, stderr %q, stdout:\n%s\nwant:\n%s", r.Code, r.Stderr, r.Stdout, want)
	}

	r = clitest.Run(t, Tool, nil, "--format", "json", u, "srv")
	var out struct {
		List []map[string]any `json:"backups_list"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &out); r.Code != 0 || err != nil || len(out.List) != 6 || out.List[2]["status"] != "FAILED" {
		t.Errorf("json: exit %d, %v, %q", r.Code, err, r.Stdout)
	}

	// An unreadable backup.info: a warning, the others listed, exit 0.
	dir := strings.TrimPrefix(u, "file://")
	if err := os.WriteFile(filepath.Join(dir, "srv/base/20240108T000000/backup.info"), []byte("status=DONE\ngarbage line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = clitest.Run(t, Tool, nil, u, "srv")
	if r.Code != 0 || strings.Contains(r.Stdout, "20240108T000000") || !strings.Contains(r.Stderr, "WARNING: Unable to open backup.info file for 20240108T000000: ") {
		t.Errorf("unreadable: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}

	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"-t", u, "srv"}, 0},
		{[]string{"-t", u + "/missing", "srv"}, 1},
		{[]string{u + "/missing", "srv"}, 1},
		{[]string{u}, 3},
		{[]string{u, "a/b"}, 3},
	} {
		if r := clitest.Run(t, Tool, nil, tc.args...); r.Code != tc.code {
			t.Errorf("%q: exit %d, want %d: %s", tc.args, r.Code, tc.code, r.Stderr)
		}
	}
}
