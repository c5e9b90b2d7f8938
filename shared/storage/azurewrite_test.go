package storage

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/barmancloud/barman-cloud/shared/tags"
)

// fakeAzure keeps the blocks and blobs of one container, "cont", as far as
// the Azure code needs, and records the requests.
type fakeAzure struct {
	mu       sync.Mutex
	blocks   map[string]map[string][]byte // blob: block id: data
	blobs    map[string][]byte
	requests []azureRequest
}

type azureRequest struct {
	method, blob, comp, blockID string
	header                      http.Header
	body                        []byte
}

func newFakeAzure(t *testing.T, opts Options) (*fakeAzure, *Store) {
	t.Helper()
	f := &fakeAzure{blocks: map[string]map[string][]byte{}, blobs: map[string][]byte{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint="+srv.URL+"/devstoreaccount1;")
	loc, err := ParseURL(Azure, srv.URL+"/devstoreaccount1/cont/p")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), loc, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return f, s
}

func (f *fakeAzure) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	// The path's blob name, as the service decodes it.
	name := strings.TrimPrefix(r.URL.Path, "/devstoreaccount1/cont/")
	q := r.URL.Query()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, azureRequest{r.Method, name, q.Get("comp"), q.Get("blockid"), r.Header.Clone(), body})
	exists := f.blobs[name] != nil
	switch {
	case r.Method == http.MethodPut && q.Get("comp") == "block":
		if f.blocks[name] == nil {
			f.blocks[name] = map[string][]byte{}
		}
		f.blocks[name][q.Get("blockid")] = body
		w.WriteHeader(http.StatusCreated)
	case r.Method == http.MethodPut && (q.Get("comp") == "blocklist" || q.Get("comp") == ""):
		if r.Header.Get("If-None-Match") == "*" && exists {
			w.Header().Set("x-ms-error-code", "BlobAlreadyExists")
			w.WriteHeader(http.StatusConflict)
			return
		}
		data := body
		if q.Get("comp") == "blocklist" {
			var list struct {
				Latest []string `xml:"Latest"`
			}
			xml.Unmarshal(body, &list)
			data = []byte{}
			for _, id := range list.Latest {
				data = append(data, f.blocks[name][id]...)
			}
			delete(f.blocks, name)
		}
		f.blobs[name] = data
		w.Header().Set("ETag", `"0x1"`)
		w.WriteHeader(http.StatusCreated)
	default:
		w.WriteHeader(http.StatusBadRequest)
	}
}

// TestWriterAzureBlocks: Barman's block ids, staged concurrently, committed
// in order with the tags, the metadata, the encryption scope and the
// conditional create; a small object in one Put Blob with the same.
func TestWriterAzureBlocks(t *testing.T) {
	const block = 64 << 10
	for _, tc := range []struct {
		name   string
		size   int
		blocks int
	}{
		{"one Put Blob", block - 1, 0},
		{"five blocks", 4*block + 99, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, s := newFakeAzure(t, Options{EncryptionScope: "scope1"})
			data := randomData(tc.size)
			o := WriteOptions{UploadOptions: UploadOptions{IfNotExist: true, Tags: tags.List{{Key: "k 1", Value: "v/1"}},
				Metadata: map[string]string{"m": "1"}}, PartSize: block, Jobs: 3}
			if _, err := writeAll(t, s, "p/srv/data.tar", data, o); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(f.blobs["p/srv/data.tar"], data) {
				t.Fatalf("blob holds %d bytes, want the %d written", len(f.blobs["p/srv/data.tar"]), len(data))
			}
			var ids []string
			for _, r := range f.requests[:len(f.requests)-1] {
				if r.comp != "block" || r.header.Get("X-Ms-Encryption-Scope") != "scope1" {
					t.Errorf("request %s %s: want Put Block with the encryption scope", r.method, r.comp)
				}
				ids = append(ids, r.blockID)
			}
			slices.Sort(ids)
			var want []string
			for n := 1; n <= tc.blocks; n++ {
				want = append(want, base64.StdEncoding.EncodeToString([]byte(strings.Repeat("0", 4)+string(rune('0'+n)))))
			}
			if !slices.Equal(ids, want) {
				t.Errorf("block ids %q, want %q", ids, want)
			}
			last := f.requests[len(f.requests)-1]
			if tc.blocks > 0 {
				var list struct {
					Latest []string `xml:"Latest"`
				}
				xml.Unmarshal(last.body, &list)
				if last.comp != "blocklist" || !slices.Equal(list.Latest, want) {
					t.Errorf("last request %s %q, want Put Block List of %q", last.comp, list.Latest, want)
				}
			} else if last.comp != "" || len(f.requests) != 1 {
				t.Errorf("requests %v, want one Put Blob", f.requests)
			}
			h := last.header
			if tg, _ := url.ParseQuery(h.Get("X-Ms-Tags")); tg.Get("k 1") != "v/1" {
				t.Errorf("tags %q", h.Get("X-Ms-Tags"))
			}
			if h.Get("X-Ms-Meta-M") != "1" || h.Get("X-Ms-Encryption-Scope") != "scope1" || h.Get("If-None-Match") != "*" ||
				h.Get("X-Ms-Blob-Content-Type") != "application/octet-stream" {
				t.Errorf("commit headers %v", h)
			}

			// The key is taken now.
			if _, err := writeAll(t, s, "p/srv/data.tar", data, o); !errors.Is(err, ErrExists) {
				t.Errorf("second create: %v, want ErrExists", err)
			}
		})
	}
}

// TestAzureBlobName: the blob names of the Writer and the batch deletes
// are those gocloud's driver gives the same keys.
func TestAzureBlobName(t *testing.T) {
	f, s := newFakeAzure(t, Options{})
	for _, key := range []string{
		"p/srv/base/20240101T000000/data.tar.gz", "a%b", `q?#"\`, "ctl\x01x", "x/../y", "trail/",
		"é/", "__0x41__", "a__0x2f__b", "__0x__", "_0x41__", "dots/../../z",
	} {
		f.mu.Lock()
		f.requests = nil
		f.mu.Unlock()
		if err := s.Upload(context.Background(), key, strings.NewReader("x"), 1, UploadOptions{}); err != nil {
			t.Fatalf("%q: %v", key, err)
		}
		f.mu.Lock()
		got := f.requests[0].blob
		f.mu.Unlock()
		if want := azureBlobName(key); got != want {
			t.Errorf("%q: gocloud stores %q, azureBlobName gives %q", key, got, want)
		}
	}
}
