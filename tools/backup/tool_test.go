package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/barmancloud/barman-cloud/shared/catalog/catalogtest"
	"github.com/barmancloud/barman-cloud/shared/cloudcli"
	"github.com/barmancloud/barman-cloud/shared/cloudcli/clitest"
	"github.com/barmancloud/barman-cloud/shared/compress"
	"github.com/barmancloud/barman-cloud/shared/storage"
)

// oneLine checks that stderr is one line.
func oneLine(t *testing.T, what, stderr string) {
	t.Helper()
	if strings.Count(stderr, "\n") != 1 {
		t.Errorf("%s: stderr is not one line: %q", what, stderr)
	}
}

// TestToolRefusals: command lines and environments refused before
// anything is stored, with their exit statuses and one line each.
func TestToolRefusals(t *testing.T) {
	_, u := catalogtest.FileStore(t)
	var tags []string
	for i := range 11 {
		tags = append(tags, "--tag", fmt.Sprintf("k%d,v", i))
	}
	done := map[string]string{"BARMAN_HOOK": "backup_script", "BARMAN_PHASE": "post", "BARMAN_BACKUP_DIR": "/x", "BARMAN_BACKUP_ID": id, "BARMAN_STATUS": "DONE"}
	without := func(k string) map[string]string {
		m := map[string]string{}
		for kk, v := range done {
			if kk != k {
				m[kk] = v
			}
		}
		return m
	}
	with := func(k, v string) map[string]string {
		m := without(k)
		m[k] = v
		return m
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		msg  string // in stderr
	}{
		{"two compressions", nil, []string{"-z", "-j", u, "srv"}, 3, "argument -j/--bzip2: not allowed with argument -z/--gzip"},
		{"snappy and gzip", nil, []string{"--snappy", "--gzip", u, "srv"}, 3, "not allowed with argument"},
		{"xz does not exist here", nil, []string{"--xz", u, "srv"}, 3, "unrecognized arguments: --xz"},
		{"jobs 0", nil, []string{"-J", "0", u, "srv"}, 3, "argument -J/--jobs:"},
		{"max-archive-size 0", nil, []string{"-S", "0", u, "srv"}, 3, "argument -S/--max-archive-size:"},
		{"min-chunk-size not a size", nil, []string{"--min-chunk-size", "lots", u, "srv"}, 3, "argument --min-chunk-size:"},
		{"max-bandwidth 0", nil, []string{"--max-bandwidth", "0", u, "srv"}, 3, "argument --max-bandwidth: '0' is not a valid size string"},
		{"name a shortcut", nil, []string{"-n", "latest", u, "srv"}, 3, "Backup name 'latest' is not allowed: reserved word"},
		{"name a backup ID", nil, []string{"-n", "20240101T000000", u, "srv"}, 3, "is not allowed: backup ID"},
		{"empty name", nil, []string{"-n", "", u, "srv"}, 3, "Backup name cannot be empty"},
		{"name with a newline", nil, []string{"-n", "a\nb", u, "srv"}, 3, "control character"},
		{"backup.info format", nil, []string{"--backup-info-format", "3.11", u, "srv"}, 3, "invalid choice: '3.11'"},
		{"snapshot instance", nil, []string{"--snapshot-instance", "vm1", "--snapshot-disk", "d1", u, "srv"}, 3, "argument --snapshot-instance: snapshot backups are not supported"},
		{"snapshot lock", nil, []string{"--aws-snapshot-lock-mode", "governance", u, "srv"}, 3, "argument --aws-snapshot-lock-mode: snapshot backups are not supported"},
		{"gcp zone", nil, []string{"--gcp-zone", "z", u, "srv"}, 3, "snapshot backups are not supported"},
		{"azure resource group", nil, []string{"--azure-resource-group", "g", u, "srv"}, 3, "snapshot backups are not supported"},
		{"no server", nil, []string{u}, 3, "the following arguments are required: server_name"},
		{"server name with a slash", nil, []string{u, "a/b"}, 3, ""},
		{"eleven tags", nil, append(tags, u, "srv"), 4, "ERROR: Barman cloud backup exception: Maximum number of tags per object exceeded. S3 allows no more than 10 tags per object."},
		{"a tag key twice", nil, []string{"--tags", "a,1", "a,2", "--", u, "srv"}, 4, "ERROR: Barman cloud backup exception: Duplicate tag keys found: a. Tag keys must be unique."},
		{"bucket missing, -t", nil, []string{"-t", u + "/missing", "srv"}, 1, "ERROR: "},
		{"unsupported hook", with("BARMAN_PHASE", "pre"), []string{u, "srv"}, 4, "barman-cloud-backup called as unsupported hook script: pre_backup_script"},
		{"archive hook", with("BARMAN_HOOK", "archive_script"), []string{u, "srv"}, 4, "unsupported hook script: post_archive_script"},
		{"hook without a backup dir", without("BARMAN_BACKUP_DIR"), []string{u, "srv"}, 4, "BARMAN_BACKUP_DIR environment variable not set"},
		{"hook without a backup ID", without("BARMAN_BACKUP_ID"), []string{u, "srv"}, 4, "BARMAN_BACKUP_ID environment variable not set"},
		{"hook, backup not DONE", with("BARMAN_STATUS", "FAILED"), []string{u, "srv"}, 63, "backup in '/x' has status 'FAILED' (status should be: DONE)"},
		{"hook, no status", without("BARMAN_STATUS"), []string{u, "srv"}, 63, "has status 'None'"},
		{"hook with a name", done, []string{"-n", "nightly", u, "srv"}, 4, "Cannot set backup name when running as a hook script"},
		{"hook, no backup.info", done, []string{u, "srv"}, 4, "/x/backup.info"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := clitest.Run(t, Tool, tc.env, tc.args...)
			if r.Code != tc.code || !strings.Contains(r.Stderr, tc.msg) || r.Stdout != "" {
				t.Errorf("exit %d, want %d with %q; stderr %q, stdout %q", r.Code, tc.code, tc.msg, r.Stderr, r.Stdout)
			}
			oneLine(t, tc.name, r.Stderr)
		})
	}
	if k, _ := os.ReadDir(strings.TrimPrefix(u, "file://")); len(k) > 0 {
		t.Errorf("refused runs stored %v", k)
	}
	if r := clitest.Run(t, Tool, nil, "-t", u, "srv"); r.Code != 0 || r.Stderr != "" {
		t.Errorf("-t: exit %d, %q", r.Code, r.Stderr)
	}
}

// TestToolCannotConnect: PostgreSQL unreachable (no server on the socket)
// or a connection string that does not parse: one ERROR line, exit 1 or
// 4, nothing stored.
func TestToolCannotConnect(t *testing.T) {
	s, u := catalogtest.FileStore(t)
	sock := t.TempDir()
	r := clitest.Run(t, Tool, nil, "-h", sock, "-p", "5999", "-U", "backup", u, "srv")
	if r.Code != 1 || !strings.HasPrefix(r.Stderr[strings.Index(r.Stderr, "ERROR"):], "ERROR: Cannot connect to postgres: ") {
		t.Errorf("no server: exit %d, stderr %q", r.Code, r.Stderr)
	}
	oneLine(t, "no server", r.Stderr)
	r = clitest.Run(t, Tool, nil, "-d", "host='unterminated", u, "srv")
	if r.Code != 4 || !strings.Contains(r.Stderr, "ERROR: Barman cloud backup exception: Cannot connect to postgres: ") {
		t.Errorf("bad conninfo: exit %d, stderr %q", r.Code, r.Stderr)
	}
	oneLine(t, "bad conninfo", r.Stderr)
	if k := keys(t, s, ""); len(k) > 0 {
		t.Errorf("stored %q", k)
	}
}

// TestToolHook: as a Barman backup_retry_script, the tool uploads the
// Barman backup directory: PGDATA from data/ (its backup_label with it),
// the tablespace from its OID directory, pg_control, and backup.info as it
// is; no PostgreSQL is contacted.
func TestToolHook(t *testing.T) {
	s, u := catalogtest.FileStore(t)
	dir := t.TempDir()
	writeFile(t, dir, "data/PG_VERSION", []byte("15\n"))
	writeFile(t, dir, "data/backup_label", []byte(label))
	writeFile(t, dir, "data/global/pg_control", make([]byte, 8192))
	writeFile(t, dir, "data/base/5/16384", make([]byte, 1000))
	writeFile(t, dir, "data/pg_wal/000000010000000000000002", make([]byte, 100))
	writeFile(t, dir, "16400/PG_15_202209061/5/16500", make([]byte, 500))
	rawInfo := "backup_label=None\nbegin_wal=000000010000000000000002\nmode=rsync\npgdata=/var/lib/postgresql/15/main\nserver_name=pg\nstatus=DONE\n" +
		"tablespaces=[('tbs1', 16400, '/srv/tbs1')]\nversion=150004\n"
	writeFile(t, dir, "info/backup.info", []byte(rawInfo))
	env := map[string]string{"BARMAN_HOOK": "backup_retry_script", "BARMAN_PHASE": "post", "BARMAN_BACKUP_DIR": dir,
		"BARMAN_BACKUP_ID": id, "BARMAN_STATUS": "DONE", "BARMAN_BACKUP_INFO_PATH": filepath.Join(dir, "info/backup.info")}
	r := clitest.Run(t, Tool, env, "-z", "-v", u, "srv")
	if r.Code != 0 || r.Stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", r.Code, r.Stdout, r.Stderr)
	}
	if !strings.Contains(r.Stderr, "INFO: Upload of backup completed (start time: ") {
		t.Errorf("stderr:\n%s", r.Stderr)
	}
	prefix := "srv/base/" + id + "/"
	got := keys(t, s, "")
	if want := []string{prefix + "16400.tar.gz", prefix + "backup.info", prefix + "data.tar.gz"}; !slices.Equal(got, want) {
		t.Fatalf("keys %q, want %q", got, want)
	}
	if b := string(readObject(t, s, prefix+"backup.info")); b != rawInfo {
		t.Errorf("backup.info %q, want Barman's as it is", b)
	}
	data := names(members(t, s, prefix+"data.tar.gz", compress.Gzip))
	for _, m := range []string{"./PG_VERSION", "./backup_label", "base/5/16384", "pg_wal/", "global/pg_control"} {
		if !slices.Contains(data, m) {
			t.Errorf("data.tar.gz lacks %s: %q", m, data)
		}
	}
	if slices.Contains(data, "pg_wal/000000010000000000000002") {
		t.Error("data.tar.gz holds WAL")
	}
	if ts := names(members(t, s, prefix+"16400.tar.gz", compress.Gzip)); !slices.Contains(ts, "PG_15_202209061/5/16500") {
		t.Errorf("16400.tar.gz holds %q", ts)
	}

	// Without BARMAN_BACKUP_INFO_PATH (Barman before 3.13.3), the
	// backup.info of the backup directory; the run replaces the objects.
	writeFile(t, dir, "backup.info", []byte(rawInfo))
	delete(env, "BARMAN_BACKUP_INFO_PATH")
	if r := clitest.Run(t, Tool, env, "-z", u, "srv"); r.Code != 0 {
		t.Errorf("without BARMAN_BACKUP_INFO_PATH: exit %d, %s", r.Code, r.Stderr)
	}
	// A Barman backup directory that lost its tablespace: upload failed,
	// exit 1, one ERROR line.
	os.RemoveAll(filepath.Join(dir, "16400"))
	r = clitest.Run(t, Tool, env, "-z", u, "srv")
	if r.Code != 1 || !strings.Contains(r.Stderr, "ERROR: Backup upload failed uploading data (") {
		t.Errorf("missing tablespace: exit %d, %s", r.Code, r.Stderr)
	}
	oneLine(t, "missing tablespace", r.Stderr)
}

// TestMaxArchiveSizeCap: -S of 1 TiB or more is capped with Barman's
// warning.
func TestMaxArchiveSizeCap(t *testing.T) {
	for _, tc := range []struct {
		size, want int64
		warn       bool
	}{
		{100 << 30, 100 << 30, false},
		{1<<40 - 1, 1<<40 - 1, false},
		{1 << 40, 1 << 40, true},
		{2 << 40, 1 << 40, true},
	} {
		o := newOptions()
		o.maxArchiveSize = tc.size
		j, log := testJob(t, memStore(), &fakePG{}, o)
		a := j.newArchiver(context.Background())
		warned := slices.Contains(messages(t, log), "warn: max-archive-size too big. Capping it to to 1.0 TiB")
		if a.maxSize != tc.want || warned != tc.warn || a.write.MaxSize != 2*tc.want {
			t.Errorf("-S %d: archives of %d (parts for %d), warning %v; want %d, %v", tc.size, a.maxSize, a.write.MaxSize, warned, tc.want, tc.warn)
		}
		if a.write.PartSize != storage.StreamPartSize(storage.S3, 0) || !a.write.IfNotExist {
			t.Errorf("write options %+v", a.write)
		}
	}
}

// TestToolInterruptedBeforeStart: a signal before the backup starts (here,
// while connecting) ends the run with exit 1 and Barman's message, nothing
// stored.
func TestToolInterruptedBeforeStart(t *testing.T) {
	s, u := catalogtest.FileStore(t)
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errors.New("terminated signal received"))
	var stdout, stderr bytes.Buffer
	code := cloudcli.Execute(ctx, cloudcli.Env{
		Args:      []string{Tool.Prog(), "-h", t.TempDir(), u, "srv"},
		Stdout:    &stdout,
		Stderr:    &stderr,
		LookupEnv: func(string) (string, bool) { return "", false },
	}, Tool)
	if code != 1 || !strings.Contains(stderr.String(), "ERROR: Barman cloud backup was interrupted by the user (interrupted: terminated signal received)") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
	oneLine(t, "interrupted", stderr.String())
	if k := keys(t, s, ""); len(k) > 0 {
		t.Errorf("stored %q", k)
	}
}
