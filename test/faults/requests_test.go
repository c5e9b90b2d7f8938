//go:build integration

package faults

import (
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/barmancloud/barman-cloud/test/faultproxy"
	"github.com/barmancloud/barman-cloud/test/harness"
)

// requestKind names what a request of one WAL's archiving does.
func requestKind(base string, r *http.Request) string {
	q := r.URL.Query()
	switch {
	case isList(r):
		return "list"
	case r.Method == http.MethodDelete:
		return "delete"
	case r.Method == http.MethodPatch || (r.Method == http.MethodPut && q.Get("comp") == "metadata"):
		return "metadata write"
	case isCommit(base)(r):
		return "commit"
	case isUpload(base)(r):
		return "upload part"
	case isDownload(base)(r):
		return "download"
	case isMetadata(base)(r):
		return "metadata read"
	}
	return r.Method + " " + r.URL.Path
}

// spy records the kind of every request through a proxy, injecting
// nothing.
type spy struct {
	mu    sync.Mutex
	kinds map[string]int
}

func (s *spy) rule(base string) *faultproxy.Rule {
	return &faultproxy.Rule{Name: "spy", Match: func(r *http.Request) bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.kinds[requestKind(base, r)]++
		return false
	}}
}

func (s *spy) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var parts []string
	for k, n := range s.kinds {
		parts = append(parts, fmt.Sprintf("%d %s", n, k))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// TestArchiveRequests counts the requests of one wal-archive run on each
// provider: a WAL archived for the first time costs its upload and one
// listing, nothing else (the listing that decides the outcome replaced the
// one that looked for the WAL before the upload); archiving it again
// costs the refused conditional create, one read of the object's
// metadata, its claim where the provider can (a metadata write on GCS; a
// read and a write on Azure) and the listing.
func TestArchiveRequests(t *testing.T) {
	wals := harness.WALs(t)
	src := wals.Segments[7]
	base := filepath.Base(src)
	eachProvider(t, func(t *testing.T, p provider) {
		for _, comp := range []string{"", "--zstd"} {
			t.Run(compName(comp), func(t *testing.T) {
				prefix := harness.UniquePrefix(t)
				p.cleanup(t, prefix)
				args := []string{p.URL(prefix), "pg", src}
				if comp != "" {
					args = append([]string{comp}, args...)
				}
				for _, run := range []string{"first", "again"} {
					px := p.proxy(t)
					s := &spy{kinds: map[string]int{}}
					px.SetRules(s.rule(base))
					r := p.run(t, px, time.Minute, "barman-cloud-wal-archive", args...)
					if r.Code != 0 {
						t.Fatalf("%s run: exit %d: %s", run, r.Code, r.Stderr)
					}
					t.Logf("%s, %s, %s run: %d requests: %s", p.Name, compName(comp), run, px.Requests(), s)
					want := map[string]int{"list": 1}
					if run == "again" {
						want["metadata read"] = 1
						switch p.Name {
						case "gcs":
							// The claim: a metadata patch.
							want["metadata write"] = 1
						case "azure":
							// The claim reads the metadata under the same
							// precondition, then writes it back with the token.
							want["metadata read"], want["metadata write"] = 2, 1
						}
					}
					extra := map[string]int{}
					if run == "again" && p.Name == "s3" && comp == "" {
						// MinIO refuses a large conditional PUT as soon as it
						// has the headers and closes the connection under the
						// body: the client sees a reset, and asks whether the
						// key is taken (Store.Upload).
						extra["metadata read"] = 1
					}
					for _, k := range []string{"list", "metadata read", "metadata write", "download", "delete"} {
						if n := s.kinds[k]; n < want[k] || n > want[k]+extra[k] {
							t.Errorf("%s run: %d %s requests, want %d (%s)", run, s.kinds[k], k, want[k], s)
						}
					}
					if s.kinds["commit"] != 1 {
						t.Errorf("%s run: %d commits, want 1 (%s)", run, s.kinds["commit"], s)
					}
				}
				objects, lost, corrupt := p.audit(t, prefix, src, true)
				count(0, objects, lost, corrupt)
			})
		}
	})
}
