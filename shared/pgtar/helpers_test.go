package pgtar

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// node is one entry of a test tree: a regular file (data or size bytes), a
// directory (name ending in "/"), a symlink (target), a hard link to
// another node (link), a FIFO or a socket.
type node struct {
	name   string
	data   string
	size   int // a regular file of size pseudo-random bytes
	target string
	link   string
	fifo   bool
	socket bool
	mode   fs.FileMode // 0: 0600 for files, 0700 for directories
}

// buildTree creates nodes under root in order, and gives every entry a
// distinct modification time with a fraction of a second.
func buildTree(t testing.TB, root string, nodes []node) {
	t.Helper()
	if err := os.MkdirAll(root, 0o700); err != nil {
		t.Fatal(err)
	}
	for i, n := range nodes {
		p := filepath.Join(root, n.name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case strings.HasSuffix(n.name, "/"):
			err = os.MkdirAll(p, 0o700)
		case n.target != "":
			err = os.Symlink(n.target, p)
		case n.link != "":
			err = os.Link(filepath.Join(root, n.link), p)
		case n.fifo:
			err = syscall.Mkfifo(p, 0o600)
		case n.socket:
			var l net.Listener
			l, err = net.Listen("unix", p)
			if err == nil {
				t.Cleanup(func() { l.Close() })
			}
		default:
			data := []byte(n.data)
			if n.size > 0 {
				data = pseudoRandom(n.size, int64(i))
			}
			err = os.WriteFile(p, data, 0o600)
		}
		if err != nil {
			t.Fatal(err)
		}
		if n.mode != 0 {
			if err := os.Chmod(p, n.mode); err != nil {
				t.Fatal(err)
			}
		}
		if n.target == "" && n.link == "" && !n.socket {
			mt := time.Unix(1700000000+int64(i)*1000, int64(i+1)*123456789%1e9)
			if err := os.Chtimes(p, mt, mt); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// pseudoRandom returns n bytes that do not compress, from seed.
func pseudoRandom(n int, seed int64) []byte {
	b := make([]byte, n)
	x := uint64(seed)*0x9E3779B97F4A7C15 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x)
	}
	return b
}

// memParts collects the parts a Writer writes, uncompressed.
type memParts struct {
	parts  []*bytes.Buffer
	closed []bool
	// openErr and closeErr, if set, are what opening and closing return.
	openErr, closeErr error
}

func (m *memParts) open(part int) (Part, error) {
	if m.openErr != nil {
		return nil, m.openErr
	}
	if part != len(m.parts) {
		return nil, fmt.Errorf("part %d opened after %d parts", part, len(m.parts))
	}
	buf := new(bytes.Buffer)
	m.parts = append(m.parts, buf)
	m.closed = append(m.closed, false)
	return &CountingPart{W: buf, OnClose: func() error {
		if m.closeErr != nil {
			return m.closeErr
		}
		m.closed[part] = true
		return nil
	}}, nil
}

// member is what a test checks of a tar member.
type member struct {
	Name     string
	Type     byte
	Size     int64
	Linkname string
	Mode     int64
	ModTime  time.Time
	Uid, Gid int
	Uname    string
	Gname    string
	Data     []byte
}

// readMembers decodes a whole tar archive, failing the test on any error.
func readMembers(t testing.TB, data []byte) []member {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(data))
	var ms []member
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return ms
		}
		if err != nil {
			t.Fatalf("reading archive: %v", err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("reading %s: %v", hdr.Name, err)
		}
		ms = append(ms, member{
			Name: hdr.Name, Type: hdr.Typeflag, Size: hdr.Size, Linkname: hdr.Linkname,
			Mode: hdr.Mode, ModTime: hdr.ModTime, Uid: hdr.Uid, Gid: hdr.Gid,
			Uname: hdr.Uname, Gname: hdr.Gname, Data: body,
		})
	}
}

// names lists member names with a type mark for the non-regular ones:
// "name -> target" for symlinks, "name => target" for hard links, "name|"
// for FIFOs (directories end in "/" already).
func names(ms []member) []string {
	var out []string
	for _, m := range ms {
		switch m.Type {
		case tar.TypeSymlink:
			out = append(out, m.Name+" -> "+m.Linkname)
		case tar.TypeLink:
			out = append(out, m.Name+" => "+m.Linkname)
		case tar.TypeFifo:
			out = append(out, m.Name+"|")
		default:
			out = append(out, m.Name)
		}
	}
	return out
}

func equalLists(t testing.TB, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got: %q\nwant: %q", what, got, want)
	}
}

// entryInfo is what a round trip must preserve of a file-system entry.
type entryInfo struct {
	kind   string // "dir", "file", "symlink", "fifo"
	mode   fs.FileMode
	mtime  time.Time
	data   string
	target string
	links  string // the other names of the same inode, for hard links
}

// snapshot describes the tree at root, names relative to it. Directory
// mtimes are left out when withDirTimes is false.
func snapshot(t testing.TB, root string, withDirTimes bool) map[string]entryInfo {
	t.Helper()
	out := map[string]entryInfo{}
	inodes := map[uint64][]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		e := entryInfo{mode: fi.Mode().Perm() | fi.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky), mtime: fi.ModTime()}
		switch {
		case fi.IsDir():
			e.kind = "dir"
			if !withDirTimes {
				e.mtime = time.Time{}
			}
		case fi.Mode()&fs.ModeSymlink != 0:
			e.kind = "symlink"
			e.mode, e.mtime = 0, time.Time{}
			e.target, err = os.Readlink(p)
		case fi.Mode()&fs.ModeNamedPipe != 0:
			e.kind = "fifo"
		case fi.Mode().IsRegular():
			e.kind = "file"
			var b []byte
			b, err = os.ReadFile(p)
			e.data = string(b)
			if st := fi.Sys().(*syscall.Stat_t); st.Nlink > 1 {
				inodes[st.Ino] = append(inodes[st.Ino], rel)
			}
		default:
			e.kind = fi.Mode().Type().String()
		}
		out[rel] = e
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, group := range inodes {
		sort.Strings(group)
		for _, name := range group {
			e := out[name]
			e.links = strings.Join(group, ",")
			out[name] = e
		}
	}
	return out
}

func compareTrees(t testing.TB, got, want map[string]entryInfo) {
	t.Helper()
	compareTreesWithin(t, got, want, 0)
}

// compareTreesWithin compares trees allowing mtimes to differ by less than
// tol: Python's tarfile keeps times as float seconds.
func compareTreesWithin(t testing.TB, got, want map[string]entryInfo, tol time.Duration) {
	t.Helper()
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("%s: missing", name)
			continue
		}
		if g.kind != w.kind || g.mode != w.mode || g.mtime.Sub(w.mtime).Abs() > tol || g.data != w.data || g.target != w.target || g.links != w.links {
			t.Errorf("%s:\n got %s %v %v target %q links %q (%d bytes)\nwant %s %v %v target %q links %q (%d bytes)",
				name, g.kind, g.mode, g.mtime, g.target, g.links, len(g.data), w.kind, w.mode, w.mtime, w.target, w.links, len(w.data))
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: unexpected", name)
		}
	}
}

// tarOf builds an archive from headers (and contents for regular files),
// for extraction tests.
func tarOf(t testing.TB, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.hdr
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type tarEntry struct {
	hdr  tar.Header
	data string
}

func reg(name, data string) tarEntry {
	return tarEntry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name}, data: data}
}

func dir(name string) tarEntry {
	return tarEntry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o700}}
}

func symlink(name, target string) tarEntry {
	return tarEntry{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777}}
}

func hardlink(name, target string) tarEntry {
	return tarEntry{hdr: tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: target}}
}

// isMemberError reports whether err is a *MemberError for name wrapping
// want.
func isMemberError(err error, name string, want error) bool {
	var me *MemberError
	return errors.As(err, &me) && me.Name == name && errors.Is(err, want)
}
