package pgtar

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"testing"
)

// benchTree is a data directory of mib MiB in files of fileKiB KiB, spread
// over 20 database directories.
func benchTree(b *testing.B, mib, fileKiB int) (root string, size int64) {
	b.Helper()
	var nodes []node
	for i := 0; size < int64(mib)<<20; i++ {
		nodes = append(nodes, node{name: fmt.Sprintf("base/%d/%d", 16384+i%20, 20000+i), size: fileKiB << 10})
		size += int64(fileKiB) << 10
	}
	root = filepath.Join(b.TempDir(), "data")
	buildTree(b, root, nodes)
	return root, size
}

// BenchmarkWriteTree archives a 64 MiB tree (from the page cache) to
// io.Discard: the Writer's own cost, without compression or upload, for
// large relation files and for small ones (the per-member cost).
func BenchmarkWriteTree(b *testing.B) {
	for _, kib := range []int{16 << 10, 8} {
		b.Run(fmt.Sprintf("%dKiB-files", kib), func(b *testing.B) {
			root, size := benchTree(b, 64, kib)
			rules := PGDATARules(root, nil)
			b.SetBytes(size)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				w := &Writer{MaxSize: 1 << 40, Open: func(int) (Part, error) { return &CountingPart{W: io.Discard}, nil }}
				if err := w.AddTree(root, rules); err != nil {
					b.Fatal(err)
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkExtract extracts a 16 MiB archive into a new directory.
func BenchmarkExtract(b *testing.B) {
	root, size := benchTree(b, 16, 64)
	var buf bytes.Buffer
	w := &Writer{Open: func(int) (Part, error) { return &CountingPart{W: &buf}, nil }}
	if err := w.AddTree(root, nil); err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := Extract(bytes.NewReader(buf.Bytes()), filepath.Join(dir, fmt.Sprint(i)), ExtractOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAllowed measures one rule decision of the PGDATA rules.
func BenchmarkAllowed(b *testing.B) {
	r := PGDATARules("/pg/data", []Tablespace{{OID: 16400, Location: "/pg/ts"}})
	paths := []string{"base/16384/20001", "base/16384", "./PG_VERSION", "pg_wal/000000010000000000000001", "global/1260"}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r.Allowed(paths[i%len(paths)], i%2 == 0)
	}
}
