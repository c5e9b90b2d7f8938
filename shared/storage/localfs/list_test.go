package localfs

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gocloud.dev/blob"
	"gocloud.dev/blob/driver"
	"gocloud.dev/blob/memblob"
)

type pagedLister interface {
	ListPaged(context.Context, *driver.ListOptions) (*driver.ListPage, error)
}

// listAll pages through a listing and returns its items, one page per line.
func listAll(t *testing.T, b pagedLister, prefix, delim string, pageSize int) []string {
	t.Helper()
	var pages []string
	var token []byte
	for range 10000 {
		p, err := b.ListPaged(context.Background(), &driver.ListOptions{Prefix: prefix, Delimiter: delim, PageSize: pageSize, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		var items []string
		for _, o := range p.Objects {
			items = append(items, fmt.Sprintf("%s:%v:%d", o.Key, o.IsDir, o.Size))
		}
		pages = append(pages, strings.Join(items, " "))
		if len(p.NextPageToken) == 0 {
			return pages
		}
		token = p.NextPageToken
	}
	t.Fatal("endless listing")
	return nil
}

// TestList compares listings with gocloud's in-memory bucket, the
// reference for a bucket's semantics: keys in bytewise order, prefixes and
// delimiters, pages. The key set mixes names that sort around "/" ("a-",
// "a.b" and "a0" against the directory "a").
func TestList(t *testing.T) {
	names := []string{"a", "a-", "a.b", "a0", "b", "ab", ".x", "z☺"}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 8 {
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			ctx := context.Background()
			lb, dir := newBucket(t, nil)
			drv, _ := openDriver(dir)
			mem := memblob.OpenBucket(nil)
			defer mem.Close()
			var keys []string
			// stored reports whether key conflicts with the keys so far: a
			// directory cannot be an object too.
			clash := func(key string) bool {
				for _, k := range keys {
					if k == key || strings.HasPrefix(k, key+"/") || strings.HasPrefix(key, k+"/") {
						return true
					}
				}
				return false
			}
			for range 40 {
				parts := make([]string, 1+rng.IntN(3))
				for i := range parts {
					parts[i] = names[rng.IntN(len(names))]
				}
				key := strings.Join(parts, "/")
				if clash(key) {
					continue
				}
				keys = append(keys, key)
				content := []byte(strings.Repeat("x", rng.IntN(5)))
				for _, b := range []*blob.Bucket{lb, mem} {
					if err := b.WriteAll(ctx, key, content, octet); err != nil {
						t.Fatal(err)
					}
				}
			}
			// Noise that a listing must not show: a write in progress, a
			// directory tree without objects.
			w, err := lb.NewWriter(ctx, keys[0], octet)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if err := os.MkdirAll(filepath.Join(dir, "e/f/g"), 0o755); err != nil {
				t.Fatal(err)
			}
			ref := bucketLister{mem}
			prefixes := []string{"", "a", "a/", "a-", "a/a", "b/", "e", "e/", "zz", ".", ".x/"}
			for _, k := range keys[:10] {
				prefixes = append(prefixes, k, k[:len(k)/2])
			}
			for _, prefix := range prefixes {
				for _, delim := range []string{"", "/", "-", "a/"} {
					for _, size := range []int{1, 2, 3, 0} {
						got := listAll(t, drv, prefix, delim, size)
						want := listAll(t, ref, prefix, delim, size)
						if !slices.Equal(got, want) {
							t.Fatalf("prefix %q delimiter %q page size %d:\ngot  %q\nwant %q", prefix, delim, size, got, want)
						}
					}
				}
			}
		})
	}
}

// bucketLister lists through the portable API, page by page.
type bucketLister struct{ b *blob.Bucket }

func (l bucketLister) ListPaged(ctx context.Context, o *driver.ListOptions) (*driver.ListPage, error) {
	token := o.PageToken
	if token == nil {
		token = blob.FirstPageToken
	}
	size := o.PageSize
	if size == 0 {
		size = defaultPageSize
	}
	objs, next, err := l.b.ListPage(ctx, token, size, &blob.ListOptions{Prefix: o.Prefix, Delimiter: o.Delimiter})
	if err != nil {
		return nil, err
	}
	p := &driver.ListPage{NextPageToken: next}
	for _, o := range objs {
		p.Objects = append(p.Objects, &driver.ListObject{Key: o.Key, IsDir: o.IsDir, Size: o.Size})
	}
	return p, nil
}
