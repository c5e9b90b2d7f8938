package main

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// Server names and WAL names that would put or look for objects outside
// the server's own part of the archive, or that no store can address.
// Barman takes such server names as they are; refusing them is a
// deliberate deviation (shared/wal.CheckServer).
var (
	escapingServers = []string{
		"a/b", "/x", "x/", "/", "..", ".", "../x", "x/..", "../../etc",
		"a\tb", "a\nb", "a\rb", "\x1b[31mred", "\x7f", "pg\u0085", "caf\xe9", "",
	}
	// escapingWALNames are WAL_NAME arguments of wal-restore.
	escapingWALNames = []string{
		"../000000010000000000000001", "x/000000010000000000000001", "/000000010000000000000001",
		"..", ".", "000000010000000000000001/..", "000000010000000000000001/", "../00000002.history",
		"0000000100000000000000\t01", "000000010000000000000001\n", "00000002.history\r",
		"000000010000000000000001\x7f", "00000001000000000000000\u0661", "000000010000000000000001.gz",
	}
	// escapingWALPaths are WAL_PATH arguments of wal-archive: a path is
	// fine, its base name must be a WAL name.
	escapingWALPaths = []string{
		"dir/..", "dir/.", "dir/", "..", "dir/000000010000000000000001\n",
		"dir/0000000100000000000000\t01", "dir/00000002.history\x1b", "dir/000000010000000000000001/",
	}
)

// storageProbe is an HTTP server on 127.0.0.1 standing in for every
// provider: it refuses every request and counts them, so a test can tell
// whether a tool reached its storage at all.
type storageProbe struct {
	*httptest.Server
	requests atomic.Int64
}

func newStorageProbe(t *testing.T) *storageProbe {
	p := &storageProbe{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)
		http.Error(w, "refused by the test", http.StatusForbidden)
	}))
	t.Cleanup(p.Close)
	return p
}

// escapeProvider points the tools at the probe (or at a file store).
type escapeProvider struct {
	name string
	url  string
	args []string
	env  []string
}

func escapeProviders(t *testing.T, probe *storageProbe, store string) []escapeProvider {
	host := strings.TrimPrefix(probe.URL, "http://")
	return []escapeProvider{
		{name: "s3", url: "s3://bucket/p", args: []string{"--endpoint-url", probe.URL},
			env: []string{"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
				"AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true", "AWS_MAX_ATTEMPTS=1"}},
		{name: "azure", url: probe.URL + "/devstoreaccount1/container/p", args: []string{"--cloud-provider", "azure-blob-storage"},
			env: []string{"AZURE_STORAGE_CONNECTION_STRING=DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
				"AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
				"BlobEndpoint=" + probe.URL + "/devstoreaccount1;"}},
		{name: "gcs", url: "gs://bucket/p", args: []string{"--cloud-provider", "google-cloud-storage"},
			env: []string{"STORAGE_EMULATOR_HOST=" + host}},
		{name: "file", url: "file://" + store},
	}
}

// runTool runs the test binary as tool (see TestMain), with a clean
// environment plus env.
func runTool(t *testing.T, env []string, tool string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Args = append([]string{tool}, args...)
	cmd.Env = append([]string{"HOME=/nonexistent", "PATH=" + os.Getenv("PATH")}, env...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// TestNamesCannotEscape: every tool, on every provider, refuses a server
// name or a WAL name that would leave the server's part of the archive
// (or that no store can address) with exit status 3 and one ERROR line,
// before it touches the storage: the probe standing in for the storage
// gets no request, and the file store is not created. With a good name
// the same command does reach the storage, which shows the probe works.
func TestNamesCannotEscape(t *testing.T) {
	dir := t.TempDir()
	seg := filepath.Join(dir, "pg_wal", "000000010000000000000001")
	if err := writeSegment(seg, 0); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(dir, "restored", "RECOVERYXLOG")
	if err := os.MkdirAll(filepath.Dir(dest), 0o777); err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(dir, "store")
	probe := newStorageProbe(t)

	// argv builds a tool's positionals from a URL, a server name and the
	// WAL argument (or "" for the tool's good one). Every tool must be
	// here: a new tool is covered by being added.
	argv := map[string]func(url, server, wal string) []string{
		"wal-archive": func(url, server, wal string) []string {
			if wal == "" {
				wal = seg
			}
			return []string{url, server, wal}
		},
		"wal-restore": func(url, server, wal string) []string {
			if wal == "" {
				wal = filepath.Base(seg)
			}
			return []string{url, server, wal, dest}
		},
		"check-wal-archive": func(url, server, _ string) []string { return []string{url, server} },
		"backup-list":       func(url, server, _ string) []string { return []string{url, server} },
		"backup-show":       func(url, server, _ string) []string { return []string{url, server, "latest"} },
		"backup-delete": func(url, server, _ string) []string {
			return []string{"--dry-run", "-r", "REDUNDANCY 1", url, server}
		},
		"backup-keep": func(url, server, _ string) []string { return []string{"-s", url, server, "latest"} },
		// -t: without it, the backup contacts PostgreSQL before the
		// storage, and the control below would not reach the probe.
		"backup": func(url, server, _ string) []string { return []string{"-t", url, server} },
		"restore": func(url, server, _ string) []string {
			return []string{url, server, "latest", filepath.Join(dir, "recovery")}
		},
	}
	badWALs := map[string][]string{"wal-archive": escapingWALPaths, "wal-restore": escapingWALNames}

	tried := 0
	for _, tool := range Tools {
		build, ok := argv[tool.Name]
		if !ok {
			t.Fatalf("%s: no command line for this tool in TestNamesCannotEscape", tool.Name)
		}
		for _, p := range escapeProviders(t, probe, store) {
			t.Run(tool.Name+"/"+p.name, func(t *testing.T) {
				type input struct{ server, wal string }
				var inputs []input
				for _, s := range escapingServers {
					inputs = append(inputs, input{s, ""})
				}
				for _, w := range badWALs[tool.Name] {
					inputs = append(inputs, input{"pg", w})
				}
				for _, in := range inputs {
					before := probe.requests.Load()
					args := append(append([]string{}, p.args...), build(p.url, in.server, in.wal)...)
					out, errOut, code := runTool(t, p.env, tool.Prog(), args...)
					tried++
					if code != 3 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "ERROR: ") {
						t.Errorf("server %q, WAL %q: exit %d, stdout %q, stderr %q; want 3 and one ERROR line", in.server, in.wal, code, out, errOut)
					}
					if strings.Contains(errOut, "panic") || strings.Contains(errOut, "goroutine ") {
						t.Errorf("server %q, WAL %q: %s", in.server, in.wal, errOut)
					}
					if n := probe.requests.Load() - before; n != 0 {
						t.Errorf("server %q, WAL %q: %d requests reached the storage", in.server, in.wal, n)
					}
					if _, err := os.Stat(store); !errors.Is(err, os.ErrNotExist) {
						t.Fatalf("server %q, WAL %q: the file store was created", in.server, in.wal)
					}
					if entries, _ := os.ReadDir(filepath.Dir(dest)); len(entries) != 0 {
						t.Fatalf("server %q, WAL %q: %d files written next to WAL_DEST", in.server, in.wal, len(entries))
					}
				}
				// The control: a good name reaches the storage.
				if p.name == "file" {
					return
				}
				before := probe.requests.Load()
				args := append(append([]string{}, p.args...), build(p.url, "pg", "")...)
				if _, errOut, code := runTool(t, p.env, tool.Prog(), args...); code == 0 || probe.requests.Load() == before {
					t.Errorf("good names: exit %d after %d requests to the probe, want a refused request: %s", code, probe.requests.Load()-before, errOut)
				}
			})
		}
	}
	t.Logf("%d bad names tried", tried)
	if tried == 0 {
		t.Fatal("no names tried")
	}
}
