//go:build integration

package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/barmancloud/barman-cloud/shared/storage"
	"github.com/barmancloud/barman-cloud/shared/tags"
	"github.com/barmancloud/barman-cloud/test/faultproxy"
	"github.com/barmancloud/barman-cloud/test/harness"
	"github.com/barmancloud/barman-cloud/test/oracle"
)

const partSize = 5 << 20

var testTags = tags.List{{Key: "env", Value: "test"}, {Key: "k 1", Value: "v/1"}}

// TestWriterRoundTrip: a 40 MiB object in 5 MiB parts, 4 at a time, and a
// 1 MiB one in one request, read back by the oracle byte for byte, with
// their tags (GCS: metadata), S3 server-side encryption, the number of
// parts the server assembled, and the conditional create refused on the
// second write.
func TestWriterRoundTrip(t *testing.T) {
	for _, tg := range oracle.Targets(t) {
		t.Run(tg.Name, func(t *testing.T) {
			prefix := harness.UniquePrefix(t)
			var opts storage.Options
			if tg.Name == "s3" {
				opts.Encryption = "AES256"
			}
			s := open(t, tg, prefix, "", opts)
			o := storage.WriteOptions{UploadOptions: storage.UploadOptions{IfNotExist: true, Tags: testTags,
				Metadata: map[string]string{"m": "1"}}, PartSize: partSize, Jobs: 4}
			big, small := prefix+"/base/20240101T000000/data.tar", prefix+"/base/20240101T000000/backup.info"
			ctx := context.Background()
			if err := write(ctx, s, big, testData(), o); err != nil {
				t.Fatal(err)
			}
			if err := write(ctx, s, small, testData()[:1<<20], o); err != nil {
				t.Fatal(err)
			}
			objs := tg.Objects(t, prefix+"/", true)
			if len(objs) != 2 {
				t.Fatalf("objects %v", objs)
			}
			for _, obj := range objs {
				want, parts := testData()[:1<<20], 0
				if obj.Key == big {
					want, parts = testData(), 8
				}
				if !bytes.Equal(obj.Data(t), want) {
					t.Errorf("%s: %d bytes that differ from the %d written", obj.Key, obj.Size, len(want))
				}
				switch tg.Name {
				case "s3":
					if !reflect.DeepEqual(obj.Tags, [][2]string{{"env", "test"}, {"k 1", "v/1"}}) || obj.SSE != "AES256" || obj.Metadata["m"] != "1" {
						t.Errorf("%s: tags %v, SSE %q, metadata %v", obj.Key, obj.Tags, obj.SSE, obj.Metadata)
					}
					if multipart := strings.HasSuffix(strings.Trim(obj.ETag, `"`), fmt.Sprintf("-%d", parts)); multipart != (parts > 0) {
						t.Errorf("%s: ETag %s, want %d parts", obj.Key, obj.ETag, parts)
					}
				case "azure":
					if !reflect.DeepEqual(obj.Tags, [][2]string{{"env", "test"}, {"k 1", "v/1"}}) || obj.Blocks != parts || obj.Metadata["m"] != "1" {
						t.Errorf("%s: tags %v, %d blocks (want %d), metadata %v", obj.Key, obj.Tags, obj.Blocks, parts, obj.Metadata)
					}
				case "gcs":
					if obj.Metadata["env"] != "test" || obj.Metadata["k 1"] != "v/1" || obj.Metadata["m"] != "1" {
						t.Errorf("%s: metadata %v", obj.Key, obj.Metadata)
					}
				}
			}
			for _, key := range []string{big, small} {
				size := 2 * partSize
				if key == small {
					size = 10
				}
				if err := write(ctx, s, key, testData()[:size], o); !errors.Is(err, storage.ErrExists) {
					t.Errorf("second write of %s: %v, want ErrExists", key, err)
				}
			}
			if tg.Name == "s3" {
				if open := tg.OpenUploads(t, prefix+"/"); len(open) > 0 {
					t.Errorf("open multipart uploads: %q", open)
				}
			}
			if md, err := s.Metadata(ctx, big); err != nil || md["m"] != "1" {
				t.Errorf("Metadata: %v, %v", md, err)
			}
		})
	}
}

// TestWriterAbort: an upload aborted, or whose context is cancelled,
// after three parts leaves no object and, on S3, no open multipart upload.
func TestWriterAbort(t *testing.T) {
	for _, tg := range oracle.Targets(t) {
		for _, how := range []string{"Abort", "cancel"} {
			t.Run(tg.Name+"/"+how, func(t *testing.T) {
				prefix := harness.UniquePrefix(t)
				s := open(t, tg, prefix, "", storage.Options{})
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				w, err := s.NewWriter(ctx, prefix+"/data.tar", storage.WriteOptions{PartSize: partSize, Jobs: 2})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := w.Write(testData()[:3*partSize+100]); err != nil {
					t.Fatal(err)
				}
				switch how {
				case "Abort":
					if err := w.Abort(errors.New("backup failed")); err != nil {
						t.Errorf("Abort: %v", err)
					}
				case "cancel":
					cancel()
				}
				if err := w.Close(); err == nil {
					t.Fatal("Close succeeded")
				}
				if keys := tg.Keys(t, prefix+"/"); len(keys) > 0 {
					t.Errorf("objects left: %q", keys)
				}
				if tg.Name == "s3" {
					if open := tg.OpenUploads(t, prefix+"/"); len(open) > 0 {
						t.Errorf("open multipart uploads: %q", open)
					}
				}
			})
		}
	}
}

// TestWriterPartCut: the fault proxy cuts part 3 in the middle of its body;
// that part alone is sent again, and the object is whole.
func TestWriterPartCut(t *testing.T) {
	for _, tg := range oracle.Targets(t) {
		t.Run(tg.Name, func(t *testing.T) {
			prefix := harness.UniquePrefix(t)
			px, s := proxied(t, tg, prefix, storage.Options{Retry: quickRetries})
			var (
				mu   sync.Mutex
				sent = map[int]int{}
			)
			px.SetRules(&faultproxy.Rule{Name: "cut part 3", Times: 1,
				Match: func(r *http.Request) bool {
					n := isPart(tg, r, partSize)
					mu.Lock()
					sent[n]++
					mu.Unlock()
					return n == 3
				},
				Fault: faultproxy.Fault{Kind: faultproxy.ResetMidBody, After: 1 << 20}})
			data := testData()[:6*partSize+12345]
			if err := write(context.Background(), s, prefix+"/data.tar", data, storage.WriteOptions{PartSize: partSize, Jobs: 3}); err != nil {
				t.Fatal(err)
			}
			if px.Counts()["cut part 3"] != 1 {
				t.Fatalf("faults injected: %v", px.Counts())
			}
			mu.Lock()
			delete(sent, 0)
			want := map[int]int{1: 1, 2: 1, 3: 2, 4: 1, 5: 1, 6: 1, 7: 1}
			if !reflect.DeepEqual(sent, want) {
				t.Errorf("parts sent %v, want %v", sent, want)
			}
			mu.Unlock()
			objs := tg.Objects(t, prefix+"/", true)
			if len(objs) != 1 || !bytes.Equal(objs[0].Data(t), data) {
				t.Errorf("the object differs from what was written")
			}
		})
	}
}
