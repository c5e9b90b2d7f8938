//go:build integration

package backup

import (
	"bytes"
	"errors"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/barmancloud/barman-cloud/test/faultproxy"
	"github.com/barmancloud/barman-cloud/test/harness"
	"github.com/barmancloud/barman-cloud/test/oracle"
)

// oneError checks that stderr is exactly one ERROR line holding want.
func oneError(t *testing.T, stderr, want string) {
	t.Helper()
	if strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "ERROR: ") || !strings.Contains(stderr, want) {
		t.Errorf("stderr %q, want one ERROR line with %q", stderr, want)
	}
}

// TestBackupBadInput: PostgreSQL unreachable or refusing the user, a
// missing bucket, an invalid option: each refused with its exit status
// and one line, nothing stored.
func TestBackupBadInput(t *testing.T) {
	cl := newCluster(t)
	// Only the user bob is turned away.
	cl.c.SetHBA("local all bob reject", "local all all trust")
	tg := oracle.S3(t)
	tool := harness.Tool(t, "barman-cloud-backup")
	for _, tc := range []struct {
		name string
		args func(url string) []string
		code int
		want string
	}{
		{"PostgreSQL unreachable", func(url string) []string {
			return []string{"-h", t.TempDir(), url, "pg"}
		}, 1, "Cannot connect to postgres: "},
		{"user refused by pg_hba", func(url string) []string {
			return []string{"-h", cl.c.Dir, "-U", "bob", url, "pg"}
		}, 1, `Cannot connect to postgres: failed to connect to `},
		{"bucket missing", func(string) []string {
			return []string{"-h", cl.c.Dir, "-U", "postgres", tg.BucketURL("no-such-bucket-backup", "x"), "pg"}
		}, 1, "no-such-bucket-backup"},
		{"max-bandwidth 0", func(url string) []string {
			return []string{"--max-bandwidth", "0", "-h", cl.c.Dir, url, "pg"}
		}, 3, "argument --max-bandwidth: '0' is not a valid size string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := harness.UniquePrefix(t)
			r := harness.Run(t, nil, tool, append(append([]string{}, tg.Args...), tc.args(tg.URL(prefix))...)...)
			if r.Code != tc.code || r.Stdout != "" {
				t.Errorf("exit %d, want %d; stdout %q", r.Code, tc.code, r.Stdout)
			}
			if tc.code == 3 {
				if strings.Count(r.Stderr, "\n") != 1 || !strings.Contains(r.Stderr, tc.want) {
					t.Errorf("stderr %q, want one line with %q", r.Stderr, tc.want)
				}
			} else {
				oneError(t, r.Stderr, tc.want)
			}
			if k := tg.Keys(t, prefix); len(k) > 0 {
				t.Errorf("stored %q", k)
			}
		})
	}
	if out := cl.c.Psql("select count(*) from pg_stat_activity where application_name = 'barman_cloud_backup'"); out != "0" {
		t.Errorf("%s sessions of barman_cloud_backup left", out)
	}
}

// isDataPart matches the upload of a part of the data archive to S3.
func isDataPart(r *http.Request) bool {
	return r.Method == http.MethodPut && r.URL.Query().Has("partNumber") && strings.Contains(r.URL.Path, "/data.tar")
}

// failedBackup checks that prefix holds one backup, FAILED with an error
// starting with errPrefix, without a data archive, and no open multipart
// upload.
func failedBackup(t *testing.T, tg oracle.Target, prefix, errPrefix string) {
	t.Helper()
	backups := storedBackups(t, tg, prefix)
	if len(backups) != 1 {
		t.Fatalf("%d backups stored, want 1", len(backups))
	}
	b := backups[0]
	for name := range b.objects {
		if strings.HasPrefix(name, "data") {
			t.Errorf("the data archive %s was stored", name)
		}
	}
	o, ok := b.objects["backup.info"]
	if !ok {
		t.Fatal("no backup.info")
	}
	info := py[map[string]any](t, o.Data(t), "-c", pyInfo)
	if e, _ := info["error"].(string); info["status"] != "FAILED" || !strings.HasPrefix(e, errPrefix) {
		t.Errorf("backup.info status %v, error %v; want FAILED, %q…", info["status"], info["error"], errPrefix)
	}
	if open := tg.OpenUploads(t, prefix); len(open) > 0 {
		t.Errorf("multipart uploads left open: %q", open)
	}
}

// TestBackupStorageCutOff: the storage stops taking the data archive's
// parts in the middle of the backup: every attempt at the next part is
// reset, the retries run out, the upload is aborted, and backup.info says
// FAILED; exit 1.
func TestBackupStorageCutOff(t *testing.T) {
	cl := newCluster(t)
	tg := oracle.S3(t)
	p, err := faultproxy.New(harness.Env(t, "S3_ENDPOINT_URL"), faultproxy.S3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	p.SetRules(&faultproxy.Rule{Name: "cut", Match: isDataPart, Skip: 1, Fault: faultproxy.Fault{Kind: faultproxy.ResetBeforeForward}})
	prefix := harness.UniquePrefix(t)
	r := cl.backup(nil, "--endpoint-url", p.URL, tg.URL(prefix), "pg")
	if r.Code != 1 {
		t.Fatalf("exit %d, want 1; stderr %q", r.Code, r.Stderr)
	}
	oneError(t, r.Stderr, "Backup failed uploading data (")
	if p.Injected() < 2 {
		t.Errorf("%d faults injected: the part was not retried", p.Injected())
	}
	failedBackup(t, tg, prefix, "failure uploading data (")
}

// TestBackupSIGTERM: SIGTERM in the middle of a backup aborts its uploads
// and writes a FAILED backup.info; exit 1, one ERROR line. PostgreSQL's
// backup ends with the session.
func TestBackupSIGTERM(t *testing.T) {
	cl := newCluster(t)
	tg := oracle.S3(t)
	prefix := harness.UniquePrefix(t)
	// 4 MB/s: the data archive takes several seconds.
	args := append(append([]string{"--immediate-checkpoint", "-h", cl.c.Dir, "-U", "postgres", "--max-bandwidth", "4MB"}, tg.Args...), tg.URL(prefix), "pg")
	cmd := exec.Command(harness.Tool(t, "barman-cloud-backup"), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the data archive is being uploaded.
	deadline := time.Now().Add(time.Minute)
	for !hasDataUpload(t, tg, prefix) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no upload of the data archive began; stderr %q", stderr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("wait: %v, want exit 1; stderr %q", err, stderr.String())
	}
	if stdout.Len() > 0 {
		t.Errorf("stdout %q", stdout.String())
	}
	oneError(t, stderr.String(), "Backup failed uploading data (interrupted: terminated signal received)")
	failedBackup(t, tg, prefix, "failure uploading data (interrupted: terminated signal received)")
	cl.c.Eventually("the end of the backup session", 30*time.Second, func() (bool, string) {
		out := cl.c.Psql("select count(*) from pg_stat_activity where application_name = 'barman_cloud_backup'")
		return out == "0", out + " sessions"
	})
}

// hasDataUpload reports whether a multipart upload of the data archive is
// open under prefix.
func hasDataUpload(t *testing.T, tg oracle.Target, prefix string) bool {
	for _, k := range tg.OpenUploads(t, prefix) {
		if strings.HasSuffix(k, "/data.tar") {
			return true
		}
	}
	return false
}
