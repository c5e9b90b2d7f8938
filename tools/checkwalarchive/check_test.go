package checkwalarchive

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/barmancloud/barman-cloud/shared/cloudcli/clitest"
	"github.com/barmancloud/barman-cloud/shared/storage"
)

func execTool(t *testing.T, args ...string) clitest.Result {
	t.Helper()
	r := clitest.Run(t, Tool, nil, args...)
	if r.Stdout != "" {
		t.Errorf("stdout: %q", r.Stdout)
	}
	return r
}

// store makes a file:// store holding empty objects at keys.
func store(t *testing.T, keys ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "store")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		p := filepath.Join(dir, filepath.FromSlash(k))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return "file://" + dir
}

func TestCheck(t *testing.T) {
	const d = "pg/wals/0000000100000000/"
	// The spec's observed case (§5.5).
	spec := []string{d + "0000000100000000000000A1.gz", d + "0000000100000000000000A2.zst", "pg/wals/00000002.history", d + "000000010000000000000001"}
	tests := []struct {
		name     string
		keys     []string
		server   string // "pg" when empty
		timeline string // none when empty
		code     int
		msg      string
	}{
		{name: "spec: no timeline", keys: spec, code: 1, msg: "WAL archive check failed for server pg: Expected empty archive"},
		{name: "spec: timeline 1", keys: spec, timeline: "1", code: 1, msg: "Found 4 files in WAL archive equal to or newer than timeline 1"},
		{name: "spec: timeline 2 counts the history file", keys: spec, timeline: "2", code: 1,
			msg: "WAL archive check failed for server pg: Found 1 file in WAL archive equal to or newer than timeline 2"},
		{name: "spec: timeline 3", keys: spec, timeline: "3", code: 0},
		{name: "spec: another server", keys: spec, server: "other", code: 0},
		{name: "a server whose name extends another's", keys: spec, server: "p", code: 0},
		{name: "empty store", code: 0},
		{name: "empty store, timeline", timeline: "7", code: 0},
		{name: "objects that are not WALs are ignored", keys: []string{
			"pg/wals/README", d + "000000010000000000000001.tmp", d + "000000010000000000000001.gz.gz",
			d + "000000010000000000000001.GZ", "pg/base/20240101T000000/backup.info", "pg/walsX/000000010000000000000001",
		}, code: 0},
		{name: "a WAL and its compressed copy are one file", keys: []string{
			"pg/wals/0000000300000000/000000030000000000000001", "pg/wals/0000000300000000/000000030000000000000001.gz",
		}, timeline: "3", code: 1, msg: "Found 1 file in"},
		{name: "plural", keys: []string{
			"pg/wals/0000000300000000/000000030000000000000001.lz4", "pg/wals/0000000400000000/000000040000000000000001.xz",
			"pg/wals/0000000200000000/000000020000000000000001",
		}, timeline: "3", code: 1, msg: "Found 2 files in WAL archive equal to or newer than timeline 3"},
		{name: "partial and backup label count", keys: []string{
			"pg/wals/0000000500000000/000000050000000000000001.partial.snappy", "pg/wals/0000000500000000/000000050000000000000001.00000028.backup.bz2",
		}, timeline: "5", code: 1, msg: "Found 2 files"},
		{name: "hex timelines", keys: []string{"pg/wals/0000000A.history"}, timeline: "10", code: 1, msg: "Found 1 file"},
		{name: "hex timelines, below", keys: []string{"pg/wals/0000000A.history"}, timeline: "11", code: 0},
		{name: "one WAL anywhere under wals/", keys: []string{"pg/wals/deep/er/000000010000000000000001.zst"}, code: 1, msg: "Expected empty archive"},
		{name: "python int for --timeline", keys: spec, timeline: " +3", code: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			server := tc.server
			if server == "" {
				server = "pg"
			}
			var args []string
			if tc.timeline != "" {
				args = append(args, "--timeline", tc.timeline)
			}
			r := execTool(t, append(args, store(t, tc.keys...), server)...)
			if r.Code != tc.code {
				t.Fatalf("exit %d, want %d: %s", r.Code, tc.code, r.Stderr)
			}
			if tc.code == 0 && r.Stderr != "" {
				t.Errorf("output at the default verbosity: %q", r.Stderr)
			}
			if !strings.Contains(r.Stderr, tc.msg) {
				t.Errorf("stderr %q lacks %q", r.Stderr, tc.msg)
			}
			if tc.code == 1 && !strings.Contains(r.Stderr, "ERROR: ") {
				t.Errorf("a failed check is an ERROR: %q", r.Stderr)
			}
		})
	}
}

// TestObjectsWrittenThroughTheStore: an object written through the file
// store (with metadata, as wal-archive writes) is listed once, as itself.
func TestObjectsWrittenThroughTheStore(t *testing.T) {
	u := store(t)
	loc, err := storage.ParseURL(storage.S3, u)
	if err != nil {
		t.Fatal(err)
	}
	s, err := storage.Open(context.Background(), loc, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	key := "pg/wals/0000000100000000/000000010000000000000001.gz"
	if err := s.Upload(context.Background(), key, strings.NewReader("x"), 1, storage.UploadOptions{Metadata: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	if r := execTool(t, "--timeline", "2", u, "pg"); r.Code != 0 {
		t.Errorf("exit %d: %s", r.Code, r.Stderr)
	}
	if r := execTool(t, u, "pg"); r.Code != 1 || !strings.Contains(r.Stderr, "(found "+key+")") {
		t.Errorf("exit %d: %s", r.Code, r.Stderr)
	}
}

func TestMissingBucket(t *testing.T) {
	missing := "file://" + filepath.Join(t.TempDir(), "nope")
	r := execTool(t, missing, "pg")
	if r.Code != 1 || !strings.Contains(r.Stderr, "WAL archive check failed for server pg: Directory") || !strings.Contains(r.Stderr, "it is not created") {
		t.Errorf("exit %d: %s", r.Code, r.Stderr)
	}
	if _, err := os.Stat(strings.TrimPrefix(missing, "file://")); err == nil {
		t.Error("the directory was created")
	}
	// -t only tests the connection (§8.8: 0 with a missing bucket).
	if r := execTool(t, "-t", missing, "pg"); r.Code != 0 {
		t.Errorf("-t: exit %d: %s", r.Code, r.Stderr)
	}
}

func TestTestModeSkipsTheListing(t *testing.T) {
	u := store(t, "pg/wals/00000001.history")
	if r := execTool(t, "-t", u, "pg"); r.Code != 0 {
		t.Errorf("exit %d: %s", r.Code, r.Stderr)
	}
}

func TestUsage(t *testing.T) {
	u := store(t)
	tests := []struct {
		args []string
		msg  string
	}{
		{nil, "the following arguments are required: destination_url, server_name"},
		{[]string{u}, "the following arguments are required: server_name"},
		{[]string{u, "pg", "extra"}, "unrecognized arguments: extra"},
		{[]string{"--timeline", "x", u, "pg"}, "argument --timeline: 'x' is not a valid input"},
		{[]string{"--timeline", "0", u, "pg"}, "argument --timeline: '0' is not a valid positive integer"},
		{[]string{"--timeline=-1", u, "pg"}, "'-1' is not a valid positive integer"},
		{[]string{"--timeline", "2.0", u, "pg"}, "'2.0' is not a valid input"},
		{[]string{"--timeline", u, "pg"}, ""},
		{[]string{"--tim", "0", u, "pg"}, "argument --timeline"},
		{[]string{"--timeline", "x"}, "argument --timeline: 'x' is not a valid input"},
		{[]string{u, "a/b"}, "must not contain '/'"},
		{[]string{"--no-partial", u, "pg"}, "--no-partial"},
	}
	for _, tc := range tests {
		r := execTool(t, tc.args...)
		if r.Code != 3 {
			t.Errorf("%q: exit %d, want 3: %s", tc.args, r.Code, r.Stderr)
		}
		if !strings.Contains(r.Stderr, tc.msg) {
			t.Errorf("%q: stderr %q lacks %q", tc.args, r.Stderr, tc.msg)
		}
	}
}

func TestUnreachable(t *testing.T) {
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_MAX_ATTEMPTS": "1", "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"} {
		t.Setenv(k, v)
	}
	for _, opts := range [][]string{{"-t"}, nil, {"--timeline", "2"}} {
		r := execTool(t, append(opts, "--endpoint-url", "http://127.0.0.1:1", "s3://bucket/p", "pg")...)
		if r.Code != 2 {
			t.Errorf("%v: exit %d, want 2: %s", opts, r.Code, r.Stderr)
		}
	}
}
