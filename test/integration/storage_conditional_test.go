//go:build integration

package integration

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/barmancloud/barman-cloud/shared/storage"
	"github.com/barmancloud/barman-cloud/shared/storage/gcsrest"
	"github.com/barmancloud/barman-cloud/test/harness"
	"github.com/barmancloud/barman-cloud/test/oracle"
	"github.com/barmancloud/barman-cloud/test/targets"
)

// TestConditionalOnServers records what each test server does with the
// versioned operations wal-archive's rule uses (shared/storage
// conditional.go): the version a conditional create reports is the one
// listings and attribute reads report, and a delete or a touch naming
// another version is refused, or, by the servers that ignore the
// precondition, carried out anyway. The table is what the documentation
// says of these servers: a change of server behaviour fails here first.
func TestConditionalOnServers(t *testing.T) {
	// honours: whether the server refuses a DELETE naming another version;
	// touch: whether Touch gives a new version there.
	expect := map[string]struct{ honours, touch bool }{
		"s3":    {honours: false, touch: false}, // MinIO ignores If-Match on DELETE; S3 ETags cannot be touched
		"azure": {honours: true, touch: true},   // Azurite: If-Match honoured, Set Blob Metadata gives a new ETag
		"gcs":   {honours: false, touch: true},  // fake-gcs-server ignores ifGenerationMatch and ifMetagenerationMatch on DELETE
	}
	ctx := context.Background()
	for _, p := range oracle.Targets(t) {
		t.Run(p.Name, func(t *testing.T) {
			prefix := harness.UniquePrefix(t)
			s := targets.Store(t, p, prefix, "", storage.Options{})
			key := prefix + "/obj"
			create := func() string {
				t.Helper()
				v, err := s.Create(ctx, key, bytes.NewReader([]byte("content")), 7, storage.UploadOptions{Metadata: map[string]string{"k": "v"}})
				if err != nil || v == "" {
					t.Fatalf("Create: %q, %v", v, err)
				}
				return v
			}
			v1 := create()
			objs, err := s.List(ctx, prefix+"/", "")
			if err != nil || len(objs) != 1 || objs[0].Version != v1 || objs[0].ModTime.IsZero() {
				t.Fatalf("listing %+v, %v; want version %s and a time", objs, err, v1)
			}
			info, err := s.Stat(ctx, key)
			if err != nil || info.Version != v1 || info.Metadata["k"] != "v" {
				t.Fatalf("Stat %+v, %v; want version %s", info, err, v1)
			}
			wrong := map[string]string{"s3": `"00000000000000000000000000000000"`, "azure": `"0x8D000000000000"`}[p.Name]
			if p.Name == "gcs" {
				v, _ := gcsrest.ParseVersion(v1)
				v.Generation++
				wrong = v.String()
			}
			err = s.DeleteIfVersion(ctx, key, wrong)
			_, serr := s.Stat(ctx, key)
			honoured := errors.Is(err, storage.ErrVersionChanged) && serr == nil
			t.Logf("%s: DELETE naming another version: %v; object still there: %v", p.Name, err, serr == nil)
			if honoured != expect[p.Name].honours {
				t.Errorf("DELETE naming another version honoured: %v, expected %v (err %v, then %v)", honoured, expect[p.Name].honours, err, serr)
			}
			if serr != nil {
				v1 = create()
			}

			v2, err := s.Touch(ctx, key, v1, map[string]string{"barman-cloud-writer": "test"})
			switch {
			case !expect[p.Name].touch:
				if !errors.Is(err, storage.ErrTouchUnsupported) {
					t.Errorf("Touch: %q, %v; want ErrTouchUnsupported", v2, err)
				}
				v2 = v1
			case err != nil || v2 == v1 || v2 == "":
				t.Fatalf("Touch: %q, %v", v2, err)
			default:
				after, err := s.Stat(ctx, key)
				if err != nil || after.Metadata["k"] != "v" || after.Metadata["barman-cloud-writer"] != "test" {
					t.Errorf("after Touch: %+v, %v", after, err)
				}
				err = s.DeleteIfVersion(ctx, key, v1)
				_, serr := s.Stat(ctx, key)
				t.Logf("%s: DELETE naming the version before a touch: %v; object still there: %v", p.Name, err, serr == nil)
				if (serr == nil) != expect[p.Name].honours {
					t.Errorf("DELETE of the version before a touch left the object: %v, expected %v", serr == nil, expect[p.Name].honours)
				}
				if serr != nil {
					v2 = create()
				}
			}
			if err := s.DeleteIfVersion(ctx, key, v2); err != nil {
				t.Errorf("DELETE of the current version: %v", err)
			}
			if _, err := s.Stat(ctx, key); !storage.IsNotFound(err) {
				t.Errorf("after the DELETE of the current version: %v", err)
			}

			// A body of unknown length larger than one block or part: S3
			// completes a multipart upload, Azure commits a block list;
			// the version reported is still the object's.
			big := bytes.Repeat([]byte("0123456789abcdef"), 6<<20/16)
			v, err := s.Create(ctx, prefix+"/big", struct{ io.Reader }{bytes.NewReader(big)}, -1, storage.UploadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			info, err = s.Stat(ctx, prefix+"/big")
			if err != nil || info.Version != v || info.Size != int64(len(big)) {
				t.Errorf("a %d-byte stream: Create reported %q, Stat %+v, %v", len(big), v, info, err)
			}
			if err := s.DeleteIfVersion(ctx, prefix+"/big", v); err != nil {
				t.Error(err)
			}
		})
	}
}
