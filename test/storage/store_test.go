//go:build integration

// Package storagetest checks shared/storage's write path (Writer, Delete,
// DeletePrefix) against the servers of the test environment (MinIO,
// Azurite, fake-gcs-server), reading back what they hold with test/oracle,
// which shares no code with it; test/faultproxy cuts requests in the
// middle. BenchmarkWriter measures the Writer's throughput to MinIO.
package storagetest

import (
	"bytes"
	"context"
	"encoding/base64"
	"math/rand"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/barmancloud/barman-cloud/shared/retry"
	"github.com/barmancloud/barman-cloud/shared/storage"
	"github.com/barmancloud/barman-cloud/test/faultproxy"
	"github.com/barmancloud/barman-cloud/test/oracle"
	"github.com/barmancloud/barman-cloud/test/targets"
)

// quickRetries retry soon, so that tests with faults run fast.
var quickRetries = retry.Policy{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond}

// noRetries makes one attempt per request: the requests a proxy counts
// are the operation's.
var noRetries = storage.Options{Retry: retry.Policy{Tries: 1}}

// open opens prefix in the target's bucket as the tools do, through
// hostport (a fault proxy) when it is not empty.
func open(t testing.TB, tg oracle.Target, prefix, hostport string, opts storage.Options) *storage.Store {
	return targets.Store(t, tg, prefix, hostport, opts)
}

// proxied opens the target through a new fault proxy.
func proxied(t testing.TB, tg oracle.Target, prefix string, opts storage.Options) (*faultproxy.Proxy, *storage.Store) {
	t.Helper()
	px := targets.Proxy(t, tg)
	return px, open(t, tg, prefix, px.Addr, opts)
}

var (
	dataOnce sync.Once
	data     []byte
)

// testData is 40 MiB of incompressible bytes, made once.
func testData() []byte {
	dataOnce.Do(func() {
		data = make([]byte, 40<<20)
		rand.New(rand.NewSource(1)).Read(data)
	})
	return data
}

// write writes data to key in 64 KiB pieces, as a tar writer does.
func write(ctx context.Context, s *storage.Store, key string, data []byte, o storage.WriteOptions) error {
	w, err := s.NewWriter(ctx, key, o)
	if err != nil {
		return err
	}
	for len(data) > 0 {
		n := min(len(data), 64<<10)
		if _, err := w.Write(data[:n]); err != nil {
			w.Abort(err)
			return err
		}
		data = data[n:]
	}
	return w.Close()
}

// uploadMany stores small objects under keys, 4 at a time.
func uploadMany(t *testing.T, s *storage.Store, keys []string) {
	t.Helper()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	ch := make(chan string)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range ch {
				if err := s.Upload(context.Background(), k, bytes.NewReader([]byte(k)), int64(len(k)), storage.UploadOptions{}); err != nil {
					mu.Lock()
					first = err
					mu.Unlock()
				}
			}
		}()
	}
	for _, k := range keys {
		ch <- k
	}
	close(ch)
	wg.Wait()
	if first != nil {
		t.Fatal(first)
	}
}

// isPart tells which part of an upload a request carries (S3 UploadPart,
// Azure Put Block, a GCS chunk of partSize bytes), 0 for none.
func isPart(tg oracle.Target, r *http.Request, partSize int64) int {
	q := r.URL.Query()
	switch {
	case r.Method != http.MethodPut:
	case tg.Name == "s3" && q.Has("partNumber"):
		n, _ := strconv.Atoi(q.Get("partNumber"))
		return n
	case tg.Name == "azure" && q.Get("comp") == "block":
		// Barman's block ids: the part number on five digits, base64.
		id, _ := base64.StdEncoding.DecodeString(q.Get("blockid"))
		n, _ := strconv.Atoi(string(id))
		return n
	case tg.Name == "gcs" && q.Has("upload_id"):
		first, _, _ := strings.Cut(strings.TrimPrefix(r.Header.Get("Content-Range"), "bytes "), "-")
		if off, err := strconv.ParseInt(first, 10, 64); err == nil {
			return int(off/partSize) + 1
		}
	}
	return 0
}
