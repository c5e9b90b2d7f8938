package pgtar

import (
	"archive/tar"
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzExtract: whatever the stream, Extract changes nothing outside its
// destination, and never panics.
func FuzzExtract(f *testing.F) {
	for _, seed := range [][]tarEntry{
		{dir("./"), reg("./PG_VERSION", "16\n"), dir("base/"), reg("base/1", "x"), hardlink("base/2", "base/1")},
		{reg("../x", "x")},
		{reg("/etc/x", "x")},
		{symlink("l", "../outside"), reg("l/x", "x")},
		{symlink("l", "/"), dir("l/tmp/")},
		{hardlink("h", "../outside/secret")},
		{symlink("l", "../outside/secret"), reg("l", "over")},
		{dir("a/"), symlink("a/b", ".."), reg("a/b/c", "x")},
		{{hdr: tar.Header{Typeflag: tar.TypeFifo, Name: "p"}}},
	} {
		f.Add(tarOf(f, seed...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Sizes come from headers: keep a sparse member from writing
		// gigabytes of zeros.
		tr := tar.NewReader(bytes.NewReader(data))
		for {
			hdr, err := tr.Next()
			if err != nil {
				break
			}
			if hdr.Size > 1<<20 {
				return
			}
		}
		base := t.TempDir()
		buildTree(t, filepath.Join(base, "outside"), []node{{name: "secret", data: "secret"}})
		before := snapshot(t, base, false)
		// The error does not matter here, only what was written.
		_ = Extract(bytes.NewReader(data), filepath.Join(base, "dest"), ExtractOptions{Owners: OwnersIgnore})
		after := snapshot(t, base, false)
		for name := range after {
			if name == "dest" || strings.HasPrefix(name, "dest/") {
				delete(after, name)
			}
		}
		compareTrees(t, after, before)
		_ = Verify(bytes.NewReader(data))
	})
}
