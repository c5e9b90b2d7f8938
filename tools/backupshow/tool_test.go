package backupshow

import (
	"strings"
	"testing"

	"github.com/barmancloud/barman-cloud/shared/catalog/catalogtest"
	"github.com/barmancloud/barman-cloud/shared/cloudcli/clitest"
)

func TestTool(t *testing.T) {
	s, u := catalogtest.FileStore(t)
	catalogtest.FixtureC(t, s, "srv")
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string // a prefix of it
		stderr string // a part of it
	}{
		{args: []string{u, "srv", "weekly"}, stdout: "Backup 20240122T000000:\n  Backup Name            : weekly\n  Server Name            : cloud\n"},
		{args: []string{u, "srv", "last-failed"}, stdout: "Backup 20240115T000000:\n"},
		{args: []string{"--format", "json", u, "srv", "oldest"}, stdout: `{"cloud": {"backup_label": `},
		{args: []string{u, "srv", "latest"}, stdout: "Backup 20240205T000000:\n"},
		{args: []string{u, "srv", "nosuch"}, code: 4, stderr: "ERROR: Unknown backup 'nosuch' for server 'srv'"},
		{args: []string{u, "srv", "20230101T000000"}, code: 1, stderr: "ERROR: Backup 20230101T000000 for server srv does not exist"},
		{args: []string{u, "srv"}, code: 3, stderr: "the following arguments are required: backup_id"},
		{args: []string{"-t", u, "srv", "x"}, code: 0},
	} {
		r := clitest.Run(t, Tool, nil, tc.args...)
		if r.Code != tc.code || !strings.HasPrefix(r.Stdout, tc.stdout) || !strings.Contains(r.Stderr, tc.stderr) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", tc.args, r.Code, r.Stdout, r.Stderr)
		}
	}
}
