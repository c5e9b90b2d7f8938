//go:build integration

// Package faults runs the tools against the real servers of the test
// environment through test/faultproxy, which breaks requests on purpose
// (resets, error bursts, stalls, a killed server, a signal), and checks
// after every run that no WAL was lost or corrupted: every object under
// the run's prefix is read back from the server directly, decompressed
// and compared with the source file.
package faults

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/barmancloud/barman-cloud/shared/retry"
	"github.com/barmancloud/barman-cloud/shared/storage"
	"github.com/barmancloud/barman-cloud/shared/wal"
	"github.com/barmancloud/barman-cloud/shared/walobject"
	"github.com/barmancloud/barman-cloud/test/faultproxy"
	"github.com/barmancloud/barman-cloud/test/harness"
	"github.com/barmancloud/barman-cloud/test/oracle"
	"github.com/barmancloud/barman-cloud/test/targets"
)

// tally is what the whole package injected and found.
var tally struct {
	sync.Mutex
	faults, runs, objects, lost, corrupt int
}

func count(faults, objects, lost, corrupt int) {
	tally.Lock()
	defer tally.Unlock()
	tally.runs++
	tally.faults += faults
	tally.objects += objects
	tally.lost += lost
	tally.corrupt += corrupt
}

func TestMain(m *testing.M) {
	code := m.Run()
	tally.Lock()
	fmt.Printf("faults: %d tool runs, %d faults injected, %d objects read back, %d WALs lost, %d objects corrupt\n",
		tally.runs, tally.faults, tally.objects, tally.lost, tally.corrupt)
	tally.Unlock()
	if bigDir != "" {
		os.RemoveAll(bigDir)
	}
	os.Exit(code)
}

// provider is one server of the test environment, reached through a
// proxy by the tools and directly by the checks.
type provider struct {
	oracle.Target
	// upstream is what the proxy forwards to: the target's server, or a
	// test's own (TestServerKilledDuringUpload).
	upstream string
}

func providers(t *testing.T) []provider {
	t.Helper()
	var ps []provider
	for _, tg := range oracle.Targets(t) {
		ps = append(ps, provider{Target: tg, upstream: targets.Upstream(t, tg)})
	}
	return ps
}

// eachProvider runs fn for every provider at once, each in its own
// subtest. The runs mostly wait (backoff, stalls), and go test's
// -parallel limit (the number of cores) would run them two by two.
func eachProvider(t *testing.T, fn func(t *testing.T, p provider)) {
	var wg sync.WaitGroup
	for _, p := range providers(t) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(p.Name, func(t *testing.T) { fn(t, p) })
		}()
	}
	wg.Wait()
}

// proxy starts a proxy in front of the provider's server for one test.
func (p provider) proxy(t *testing.T) *faultproxy.Proxy {
	t.Helper()
	px, err := faultproxy.New(p.upstream, targets.Flavor(p.Target))
	if err != nil {
		t.Fatal(err)
	}
	px.Logf = t.Logf
	t.Cleanup(func() { px.Close() })
	return px
}

// Requests of each kind, as each provider's client sends them. They tell
// the requests of one WAL (base) apart by its name in the path; each test
// has its own prefix, so nothing else matches.

// isUpload: a request that carries (part of) the WAL's data, or creates
// or completes its multipart upload.
func isUpload(base string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		switch r.Method {
		case http.MethodPut:
			return strings.Contains(r.URL.Path, base)
		case http.MethodPost:
			// S3's CreateMultipartUpload and CompleteMultipartUpload; GCS's
			// upload (the object's name is in the body).
			return strings.Contains(r.URL.Path, base) || strings.HasPrefix(r.URL.Path, "/upload/storage/v1/")
		}
		return false
	}
}

// isCommit: the request whose success makes the object visible: S3's
// PutObject or CompleteMultipartUpload, Azure's Put Blob or Put Block
// List, GCS's upload.
func isCommit(base string) func(*http.Request) bool {
	up := isUpload(base)
	return func(r *http.Request) bool {
		q := r.URL.Query()
		switch {
		case !up(r):
			return false
		case r.Method == http.MethodPut:
			return !q.Has("partNumber") && q.Get("comp") != "block"
		case r.Method == http.MethodPost:
			return !q.Has("uploads")
		}
		return false
	}
}

// isDataPart: S3's UploadPart, Azure's Put Block (the requests of a
// multipart or block upload that carry data).
func isDataPart(base string) func(*http.Request) bool {
	up := isUpload(base)
	return func(r *http.Request) bool {
		q := r.URL.Query()
		return up(r) && r.Method == http.MethodPut && (q.Has("partNumber") || q.Get("comp") == "block")
	}
}

// isList: a listing (S3 ListObjectsV2, Azure List Blobs, GCS objects.list).
func isList(r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	q := r.URL.Query()
	return q.Has("list-type") || q.Get("comp") == "list" || strings.HasSuffix(r.URL.Path, "/o")
}

// isDownload: a read of the object's content.
func isDownload(base string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, base) {
			return false
		}
		// GCS serves metadata and media at the same path.
		return !strings.Contains(r.URL.Path, "/storage/v1/") || r.URL.Query().Get("alt") == "media"
	}
}

// isMetadata: a read of the object's metadata (HEAD on S3 and Azure, the
// object resource on GCS).
func isMetadata(base string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		if !strings.Contains(r.URL.Path, base) {
			return false
		}
		return r.Method == http.MethodHead ||
			(r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/storage/v1/") && r.URL.Query().Get("alt") != "media")
	}
}

// run runs a tool through px, killing it after limit.
func (p provider) run(t *testing.T, px *faultproxy.Proxy, limit time.Duration, tool string, args ...string) harness.Result {
	t.Helper()
	return harness.Wait(t, p.command(t, px, tool, args...), limit)
}

func (p provider) command(t *testing.T, px *faultproxy.Proxy, tool string, args ...string) *exec.Cmd {
	via, env := p.Via(px.Addr)
	cmd := exec.Command(harness.Tool(t, tool), append(via, args...)...)
	cmd.Env = append(os.Environ(), env...)
	return cmd
}

// openDirect opens the test bucket without the proxy, for the checks.
func (p provider) openDirect(t *testing.T) *storage.Store {
	t.Helper()
	opts := storage.Options{Log: zerolog.Nop(), Retry: retry.Policy{Tries: 1}}
	if p.Name == "s3" {
		opts.EndpointURL = p.upstream
	}
	return targets.Store(t, p.Target, "x", "", opts)
}

// audit reads back every object under prefix and checks that each is a
// complete copy of src stored under src's key: the WAL's key plus a
// compression suffix and with the digest wal-archive records. archived
// says the tool reported success, so a copy must exist. It returns the
// number of objects, of lost WALs (0 or 1) and of corrupt or stray
// objects, each reported as a test error.
func (p provider) audit(t *testing.T, prefix, src string, archived bool) (objects, lost, corrupt int) {
	t.Helper()
	s := p.openDirect(t)
	ctx := context.Background()
	name, err := wal.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	want, err := fileDigest(src)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := s.List(ctx, prefix+"/", "")
	if err != nil {
		t.Fatalf("listing %s: %v", prefix, err)
	}
	cands, err := walobject.Find(ctx, s, wal.Dir(prefix, "pg", name), name.Base)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != len(cands) {
		corrupt += len(objs) - len(cands)
		t.Errorf("objects under %s that are not copies of %s: %v", prefix, name.Base, objs)
	}
	for _, c := range cands {
		objects++
		got, n, err := objectDigest(ctx, s, c)
		rec, rerr := walobject.RecordedDigest(ctx, s, c)
		switch {
		case err != nil:
			corrupt++
			t.Errorf("%s: unreadable: %v", c.Key, err)
		case !bytes.Equal(got, want):
			corrupt++
			t.Errorf("%s: %d bytes that differ from %s", c.Key, n, src)
		case rerr != nil || !bytes.Equal(rec, want):
			corrupt++
			t.Errorf("%s: recorded digest %x, %v", c.Key, rec, rerr)
		}
	}
	if archived && len(cands) == 0 {
		lost++
		t.Errorf("%s: reported archived, but nothing is under its key", name.Base)
	}
	return objects, lost, corrupt
}

func fileDigest(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

func objectDigest(ctx context.Context, s *storage.Store, c walobject.Candidate) ([]byte, int64, error) {
	r, err := walobject.Open(ctx, s, c)
	if err != nil {
		return nil, 0, err
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, r)
	return h.Sum(nil), n, err
}

// cleanup deletes what a test left under prefix, so that large segments
// do not pile up on the servers' disks.
func (p provider) cleanup(t *testing.T, prefix string) {
	t.Cleanup(func() {
		s := p.openDirect(t)
		ctx := context.Background()
		objs, err := s.List(ctx, prefix+"/", "")
		if err != nil {
			t.Logf("cleaning up %s: %v", prefix, err)
			return
		}
		for _, o := range objs {
			if err := s.Bucket.Delete(ctx, o.Key); err != nil {
				t.Logf("cleaning up %s: %v", o.Key, err)
			}
		}
	})
}

// checkStderr checks what every run's stderr must be: without any
// credential, and, when the run failed, with exactly one ERROR line.
func checkStderr(t *testing.T, r harness.Result) {
	t.Helper()
	for _, name := range []string{"AZURE_STORAGE_KEY"} {
		if v := os.Getenv(name); v != "" && strings.Contains(r.Stderr, v) {
			t.Errorf("stderr contains %s", name)
		}
	}
	if strings.Contains(r.Stderr, "sig=") || strings.Contains(strings.ToLower(r.Stderr), "x-amz-signature=") {
		t.Errorf("stderr contains a signature: %s", r.Stderr)
	}
	if r.Code != 0 {
		if n := strings.Count(r.Stderr, "ERROR: "); n != 1 {
			t.Errorf("%d ERROR lines, want 1:\n%s", n, r.Stderr)
		}
	}
}

var (
	bigOnce sync.Once
	bigDir  string
	bigErr  error
	bigWALs map[int64]string
)

// bigSegment returns a synthetic WAL segment of size bytes (64 MiB or
// 1 GiB), named 000000010000000100000000: the real 16 MiB segments of
// $WALS_DIR repeated, with the long page header of that segment for that
// segment size (as bench/run.sh makes its 1 GiB segment). wal-archive
// checks the header, so it must be right.
func bigSegment(t *testing.T, size int64) string {
	t.Helper()
	wals := harness.WALs(t)
	bigOnce.Do(func() {
		bigDir, bigErr = os.MkdirTemp("", "barman-faults-")
		bigWALs = map[int64]string{}
		for _, sz := range []int64{64 << 20, 1 << 30} {
			if bigErr != nil {
				return
			}
			var path string
			path, bigErr = makeSegment(filepath.Join(bigDir, fmt.Sprint(sz)), wals.Segments, sz)
			bigWALs[sz] = path
		}
	})
	if bigErr != nil {
		t.Fatalf("making large segments: %v", bigErr)
	}
	p, ok := bigWALs[size]
	if !ok {
		t.Fatalf("no %d-byte segment", size)
	}
	return p
}

func makeSegment(dir string, segments []string, size int64) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "000000010000000100000000")
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var written int64
	for i := 0; written < size; i++ {
		b, err := os.ReadFile(segments[i%len(segments)])
		if err != nil {
			return "", err
		}
		n, err := f.Write(b[:min(int64(len(b)), size-written)])
		if err != nil {
			return "", err
		}
		written += int64(n)
	}
	// magic 0xD110, XLP_LONG_HEADER, timeline 1, page address 1/00000000
	// (segment 1/00 of 64 MiB or 1 GiB segments), then the segment size.
	if _, err := f.WriteAt([]byte{0x10, 0xd1, 0x02, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0x01, 0, 0, 0}, 0); err != nil {
		return "", err
	}
	sz := []byte{byte(size), byte(size >> 8), byte(size >> 16), byte(size >> 24)}
	if _, err := f.WriteAt(sz, 32); err != nil {
		return "", err
	}
	return path, f.Close()
}
