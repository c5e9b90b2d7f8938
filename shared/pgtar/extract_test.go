package pgtar

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// roundTripTree has every member type Extract restores and the attributes
// it must keep.
var roundTripTree = []node{
	{name: "PG_VERSION", data: "16\n", mode: 0o600},
	{name: "exec", data: "#!/bin/sh\n", mode: 0o755},
	{name: "setuid", data: "s", mode: fs.ModeSetuid | 0o750},
	{name: "empty"},
	{name: "café", data: "non-ASCII"},
	{name: strings.Repeat("long-name-", 12) + "/" + strings.Repeat("x", 120), data: "long names"},
	{name: "base/1/16384", size: 300000, mode: 0o640},
	{name: "base/1/16384.1", size: 5000},
	{name: "base/1/hardlink", link: "base/1/16384"},
	{name: "base/other/hardlink2", link: "base/1/16384"},
	{name: "readonly/f", data: "in a read-only directory"},
	{name: "readonly/", mode: 0o500}, // chmod after its content exists
	{name: "shared/", mode: fs.ModeSetgid | fs.ModeSticky | 0o770},
	{name: "rel", target: "PG_VERSION"},
	{name: "abs", target: "/var/lib/postgresql/16/main/pg_wal"},
	{name: "dangling", target: "../nowhere"},
	{name: "fifo", fifo: true, mode: 0o640},
}

// writeArchive writes root (all of it) and returns the parts.
func writeArchive(t testing.TB, root string, maxSize int64) [][]byte {
	t.Helper()
	var parts memParts
	w := &Writer{Open: parts.open, MaxSize: maxSize}
	if err := w.AddTree(root, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, p := range parts.parts {
		out = append(out, p.Bytes())
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	buildTree(t, src, roundTripTree)
	if err := os.Chmod(src, 0o750); err != nil {
		t.Fatal(err)
	}
	// Directory mtimes last: buildTree's later entries changed them.
	for _, d := range []string{"readonly", "shared", "base/1", "base", "."} {
		mt := time.Unix(1600000000, 987654321)
		if err := os.Chtimes(filepath.Join(src, d), mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	want := snapshot(t, src, true)
	parts := writeArchive(t, src, 0)
	if len(parts) != 1 {
		t.Fatalf("%d parts, want 1", len(parts))
	}
	dest := filepath.Join(dir, "dest", "recovery") // created, parents too
	if err := Extract(bytes.NewReader(parts[0]), dest, ExtractOptions{}); err != nil {
		t.Fatal(err)
	}
	compareTrees(t, snapshot(t, dest, true), want)
	if err := Verify(bytes.NewReader(parts[0])); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

// TestRoundTripSplit extracts the parts of one family in turn into one
// directory, as barman-cloud-restore does.
func TestRoundTripSplit(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	var tree []node
	for _, n := range roundTripTree {
		if n.link == "" { // a hard link into an earlier part is a copy
			tree = append(tree, n)
		}
	}
	buildTree(t, src, tree)
	want := snapshot(t, src, false)
	parts := writeArchive(t, src, 20000)
	if len(parts) < 3 {
		t.Fatalf("%d parts, want several", len(parts))
	}
	dest := filepath.Join(dir, "dest")
	for i, p := range parts {
		if err := Extract(bytes.NewReader(p), dest, ExtractOptions{}); err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
	}
	compareTrees(t, snapshot(t, dest, false), want)
}

// TestExtractHostile: members that would write outside the destination, or
// through a symlink, are refused, and nothing appears outside.
func TestExtractHostile(t *testing.T) {
	tests := []struct {
		name    string
		archive []tarEntry
		member  string // the member named in the error
		want    error  // nil: any error
	}{
		{"parent", []tarEntry{reg("../x", "x")}, "../x", ErrUnsafePath},
		{"absolute", []tarEntry{reg("/etc/x", "x")}, "/etc/x", ErrUnsafePath},
		{"parent after cleaning", []tarEntry{reg("a/../../x", "x")}, "a/../../x", ErrUnsafePath},
		{"parent directory", []tarEntry{dir("../d/")}, "../d/", ErrUnsafePath},
		{"only dot-dot", []tarEntry{dir("..")}, "..", ErrUnsafePath},
		{"through a symlink out", []tarEntry{symlink("l", "../outside"), reg("l/x", "x")}, "l/x", ErrSymlinkInPath},
		{"through an absolute symlink", []tarEntry{symlink("l", "/"), reg("l/tmp/x", "x")}, "l/tmp/x", ErrSymlinkInPath},
		{"through a symlink in", []tarEntry{dir("sub/"), symlink("l", "sub"), reg("l/x", "x")}, "l/x", ErrSymlinkInPath},
		{"directory through a symlink", []tarEntry{symlink("l", "../outside"), dir("l/d/")}, "l/d/", ErrSymlinkInPath},
		{"symlink through a symlink", []tarEntry{symlink("l", "../outside"), symlink("l/s", "/etc")}, "l/s", ErrSymlinkInPath},
		{"hard link out", []tarEntry{hardlink("h", "../../x")}, "h", ErrUnsafePath},
		{"hard link absolute", []tarEntry{hardlink("h", "/etc/passwd")}, "h", ErrUnsafePath},
		{"hard link through a symlink", []tarEntry{symlink("l", "../outside"), hardlink("h", "l/secret")}, "h", ErrSymlinkInPath},
		{"hard link to a missing file", []tarEntry{hardlink("h", "missing")}, "h", fs.ErrNotExist},
		{"hard link to a directory", []tarEntry{dir("d/"), hardlink("h", "d")}, "h", ErrDirectoryInPlace},
		{"hard link to itself", []tarEntry{reg("f", "f"), hardlink("f", "f")}, "f", nil},
		{"file through a file", []tarEntry{reg("f", "f"), reg("f/x", "x")}, "f/x", syscall.ENOTDIR},
		{"file over a directory", []tarEntry{dir("d/"), reg("d", "x")}, "d", ErrDirectoryInPlace},
		{"file as the root", []tarEntry{reg(".", "x")}, ".", ErrDirectoryInPlace},
		{"device", []tarEntry{{hdr: tar.Header{Typeflag: tar.TypeChar, Name: "null", Devmajor: 1, Devminor: 3}}}, "null", ErrDevice},
		{"unknown type", []tarEntry{{hdr: tar.Header{Typeflag: 'Z', Name: "z"}}}, "z", ErrUnsupportedType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			outside := filepath.Join(base, "outside")
			buildTree(t, outside, []node{{name: "secret", data: "secret"}})
			before := snapshot(t, base, false)
			dest := filepath.Join(base, "dest")
			err := Extract(bytes.NewReader(tarOf(t, tt.archive...)), dest, ExtractOptions{Owners: OwnersIgnore})
			var me *MemberError
			if !errors.As(err, &me) || me.Name != tt.member {
				t.Fatalf("Extract: %v; want an error of member %q", err, tt.member)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Extract: %v; want %v", err, tt.want)
			}
			// Nothing outside dest changed; dest holds only what came
			// before the refused member.
			after := snapshot(t, base, false)
			for name := range after {
				if name != "dest" && !strings.HasPrefix(name, "dest/") {
					continue
				}
				delete(after, name)
			}
			compareTrees(t, after, before)
		})
	}
}

// TestExtractReplaces: an existing file, symlink or FIFO in a member's
// place (an earlier part's, or a stale backup_label) is replaced, never
// written through; a hard link may point into an earlier part.
func TestExtractReplaces(t *testing.T) {
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	buildTree(t, outside, []node{{name: "secret", data: "secret"}})
	dest := filepath.Join(base, "dest")
	part0 := tarOf(t,
		dir("./"),
		reg("./backup_label", "stale"),
		symlink("conf", filepath.Join(outside, "secret")),
		tarEntry{hdr: tar.Header{Typeflag: tar.TypeFifo, Name: "fifo"}},
		reg("base/1/16384", "relation"),
		symlink("dirlink", outside),
	)
	part1 := tarOf(t,
		reg("backup_label", "new label"),
		reg("conf", "regular now"),
		reg("fifo", "regular too"),
		hardlink("base/1/link", "base/1/16384"),
		dir("dirlink/"),
	)
	for i, p := range [][]byte{part0, part1} {
		if err := Extract(bytes.NewReader(p), dest, ExtractOptions{}); err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
	}
	got := snapshot(t, base, false)
	for name, want := range map[string]string{
		"dest/backup_label": "new label",
		"dest/conf":         "regular now",
		"dest/fifo":         "regular too",
		"dest/base/1/link":  "relation",
		"outside/secret":    "secret",
	} {
		if e := got[name]; e.kind != "file" || e.data != want {
			t.Errorf("%s: %s %q, want file %q", name, e.kind, e.data, want)
		}
	}
	if got["dest/base/1/link"].links != "dest/base/1/16384,dest/base/1/link" {
		t.Errorf("dest/base/1/link: not a hard link of base/1/16384 (%q)", got["dest/base/1/link"].links)
	}
	if got["dest/dirlink"].kind != "dir" || len(got) != 12 {
		t.Errorf("dest/dirlink is a %s; entries %d", got["dest/dirlink"].kind, len(got))
	}
}

// TestExtractOwners: owners are restored when privileged (names first, as
// tarfile does, then numeric ids), and never otherwise.
func TestExtractOwners(t *testing.T) {
	archive := tarOf(t,
		tarEntry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: "numeric", Uid: 4321, Gid: 8765, Uname: "no-such-user-pgtar", Gname: "no-such-group-pgtar"}},
		tarEntry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: "named", Uid: 4321, Gid: 8765, Uname: "root", Gname: "root"}},
		tarEntry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: "d/", Uid: 4321, Gid: 8765, Mode: 0o700}},
		tarEntry{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: "l", Linkname: "numeric", Uid: 4321, Gid: 8765}},
	)
	owner := func(t *testing.T, p string) [2]int {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		return [2]int{int(st.Uid), int(st.Gid)}
	}
	self := [2]int{os.Geteuid(), os.Getegid()}

	t.Run("ignore", func(t *testing.T) {
		dest := t.TempDir()
		if err := Extract(bytes.NewReader(archive), dest, ExtractOptions{Owners: OwnersIgnore}); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"numeric", "named", "d", "l"} {
			if got := owner(t, filepath.Join(dest, name)); got != self {
				t.Errorf("%s: owner %v, want the process's %v", name, got, self)
			}
		}
	})
	t.Run("restore", func(t *testing.T) {
		dest := t.TempDir()
		err := Extract(bytes.NewReader(archive), dest, ExtractOptions{Owners: OwnersRestore})
		if os.Geteuid() != 0 {
			// Only root may give files away.
			if !errors.Is(err, syscall.EPERM) {
				t.Fatalf("Extract as a user: %v, want EPERM", err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		for name, want := range map[string][2]int{"numeric": {4321, 8765}, "named": {0, 0}, "d": {4321, 8765}, "l": {4321, 8765}} {
			if got := owner(t, filepath.Join(dest, name)); got != want {
				t.Errorf("%s: owner %v, want %v", name, got, want)
			}
		}
	})
}

// TestExtractEnd: a stream must reach the end-of-archive blocks; what
// follows them does not matter.
func TestExtractEnd(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range []tarEntry{dir("./"), reg("./a", strings.Repeat("a", 700)), reg("b", "")} {
		h := e.hdr
		h.Size = int64(len(e.data))
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Flush(); err != nil {
		t.Fatal(err)
	}
	boundary := buf.Len() // after the last member, before the end blocks
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	full := buf.Bytes()
	tests := []struct {
		name string
		data []byte
		want error // nil: success; io.ErrUnexpectedEOF: any error
	}{
		{"complete", full, nil},
		{"padded like Python", append(append([]byte{}, full...), make([]byte, recordSize-len(full)%recordSize)...), nil},
		{"trailing garbage", append(append([]byte{}, full...), "garbage after the end"...), nil},
		{"cut at a member boundary", full[:boundary], ErrTruncated},
		{"cut after one end block", full[:boundary+512], ErrTruncated},
		{"cut in a header", full[:boundary-100], io.ErrUnexpectedEOF},
		{"cut in padding", full[:boundary-512-100], ErrTruncated},
		{"cut in content", full[:1024+300], io.ErrUnexpectedEOF},
		{"empty", nil, ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Readers that return io.EOF with the last data and after it.
			for fn, err := range map[string]error{
				"Extract":          Extract(unevenReader(tt.data), t.TempDir(), ExtractOptions{}),
				"Verify":           Verify(unevenReader(tt.data)),
				"Extract (buffer)": Extract(bytes.NewReader(tt.data), t.TempDir(), ExtractOptions{}),
				"Verify (buffer)":  Verify(bytes.NewReader(tt.data)),
			} {
				switch {
				case tt.want == nil && err != nil:
					t.Errorf("%s: %v", fn, err)
				case tt.want == ErrTruncated && !errors.Is(err, ErrTruncated):
					t.Errorf("%s: %v, want ErrTruncated", fn, err)
				case tt.want == io.ErrUnexpectedEOF && (err == nil || errors.Is(err, ErrTruncated)):
					t.Errorf("%s: %v, want a decoding error", fn, err)
				}
			}
		})
	}
}

// unevenReader reads data in small, uneven pieces, returning io.EOF with
// the last one, as decompressors do.
func unevenReader(data []byte) io.Reader {
	return &uneven{data: data}
}

type uneven struct {
	data []byte
	n    int
}

func (u *uneven) Read(p []byte) (int, error) {
	u.n++
	k := min(len(p), 1+u.n*37%700, len(u.data))
	copy(p, u.data[:k])
	u.data = u.data[k:]
	if len(u.data) == 0 {
		return k, io.EOF
	}
	return k, nil
}
