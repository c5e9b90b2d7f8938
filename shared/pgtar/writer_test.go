package pgtar

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pgdataTree is a data directory with everything the PGDATA rules and the
// walk decide on.
var pgdataTree = []node{
	{name: "PG_VERSION", data: "16\n"},
	{name: "backup_label.old", data: "old label"},
	{name: "café", data: "non-ASCII name"},
	{name: "current_logfiles", data: "stderr log/x.log\n"},
	{name: "postmaster.pid", data: "1234"},
	{name: "postmaster.opts", data: "postgres"},
	{name: "recovery.signal"},
	{name: "standby.signal"},
	{name: "tablespace_map", data: "16400 /pg/ts\n"},
	{name: "somelink", target: "PG_VERSION"},
	{name: "dangling", target: "nowhere"},
	{name: "linkdir", target: "base"}, // a symlink to a directory
	{name: "fifo", fifo: true},
	{name: "sock", socket: true},
	{name: "base/1/16384", data: "relation 16384"},
	{name: "base/1/16385", data: "relation 16385", mode: 0o640},
	{name: "base/1/hardlink", link: "base/1/16384"},
	{name: "base/1/t3_16386", data: "temporary"},
	{name: "base/1/t3_16386_fsm", data: "temporary fsm"},
	{name: "base/1/pg_internal.init", data: "cache"},
	{name: "base/1/sub/t3_16387", data: "not in a database directory"},
	{name: "base/pgsql_tmp/pgsql_tmp1.0", data: "sort"},
	{name: "base/pgsql_tmp/other", data: "other"},
	{name: "global/1260", data: "pg_authid"},
	{name: "global/pg_control", data: "control"},
	{name: "log/x.log", data: "log"},
	{name: "log/sub/y.log", data: "log"},
	{name: "pg_dynshmem/"},
	{name: "pg_notify/0000", data: "notify"},
	{name: "pg_replslot/s1/state", data: "slot"},
	{name: "pg_replslot/s1/deep/x", data: "deep"},
	{name: "pg_stat/pgstat.stat", data: "stats"},
	{name: "pg_stat_tmp/x", data: "tmp stats"},
	{name: "pg_tblspc/16400", target: "../../ts"},
	{name: "pg_tblspc/16401", target: "../../ts2"},
	{name: "pg_wal/000000010000000000000001", data: "wal"},
	{name: "pg_wal/archive_status/000000010000000000000001.done"},
	{name: "sub/pg_wal/x", data: "not the WAL directory"},
	{name: "sub/ts/PG_16_1/x", data: "tablespace inside PGDATA"},
}

// TestWritePGDATA walks a data directory with the PGDATA rules and checks
// the exact member list: Barman's names and decisions, sorted, pruned.
func TestWritePGDATA(t *testing.T) {
	dir := t.TempDir()
	pgdata := filepath.Join(dir, "data")
	buildTree(t, pgdata, pgdataTree)
	for _, d := range []string{"ts", "ts2"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	var parts memParts
	w := &Writer{Open: parts.open}
	rules := PGDATARules(pgdata, []Tablespace{{OID: 16400, Location: filepath.Join(dir, "ts")}, {OID: 16402, Location: pgdata + "/sub/ts"}})
	if err := w.AddTree(pgdata, rules); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if len(parts.parts) != 1 || !parts.closed[0] || w.Parts() != 1 {
		t.Fatalf("%d parts (closed %v), Parts() = %d; want one closed part", len(parts.parts), parts.closed, w.Parts())
	}
	ms := readMembers(t, parts.parts[0].Bytes())
	equalLists(t, "members", names(ms), []string{
		"./",
		"./PG_VERSION",
		"./backup_label.old",
		"./café",
		"./current_logfiles",
		"./dangling -> nowhere",
		"./fifo|",
		"./recovery.signal",
		"./somelink -> PG_VERSION",
		"./tablespace_map",
		"base/",
		"base/1/",
		"base/1/16384",
		"base/1/16385",
		"base/1/hardlink => base/1/16384",
		"base/1/sub/",
		"base/1/sub/t3_16387",
		"global/",
		"global/1260",
		"log/",
		"pg_dynshmem/",
		"pg_notify/",
		"pg_replslot/",
		"pg_stat/",
		"pg_stat/pgstat.stat",
		"pg_stat_tmp/",
		"pg_tblspc/",
		"pg_wal/",
		"sub/",
		"sub/pg_wal/",
		"sub/pg_wal/x",
	})
	// Contents and headers come from the files.
	for _, m := range ms {
		switch m.Name {
		case "base/1/16385":
			if string(m.Data) != "relation 16385" || m.Mode != 0o640 || m.Size != 14 {
				t.Errorf("%s: %q mode %o size %d", m.Name, m.Data, m.Mode, m.Size)
			}
		case "./":
			if m.Type != tar.TypeDir || m.Mode != 0o700 {
				t.Errorf("root: type %c mode %o", m.Type, m.Mode)
			}
		}
	}
}

// TestWriteTablespace walks a tablespace directory: only the PG_<major>_*
// subtree, names relative to the tablespace root.
func TestWriteTablespace(t *testing.T) {
	ts := t.TempDir()
	buildTree(t, ts, []node{
		{name: "stray", data: "a file at the root"},
		{name: "PG_15_1/5/x", data: "before pg_upgrade"},
		{name: "PG_16_202307071/5/16500", data: "relation"},
		{name: "PG_16_202307071/5/t2_16501", data: "temporary"},
		{name: "PG_16_202307071/pgsql_tmp/pgsql_tmp7.0", data: "sort"},
		{name: "PG_16_202307071/6/"},
	})
	var parts memParts
	w := &Writer{Open: parts.open}
	if err := w.AddTree(ts, TablespaceRules("16")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	equalLists(t, "members", names(readMembers(t, parts.parts[0].Bytes())), []string{
		"PG_16_202307071/",
		"PG_16_202307071/5/",
		"PG_16_202307071/5/16500",
		"PG_16_202307071/6/",
	})
}

// TestWriteSplit is spec §11.6's "-S 4MB" example: two 3 MiB files, a new
// part before the first member after the part grew past 4 MiB, then
// pg_control, an external configuration file and the backup label, last.
func TestWriteSplit(t *testing.T) {
	dir := t.TempDir()
	pgdata := filepath.Join(dir, "data")
	buildTree(t, pgdata, []node{
		{name: "PG_VERSION", data: "16\n"},
		{name: "somelink", target: "PG_VERSION"},
		{name: "café", data: "x"},
		{name: "pg_stat/pgstat.stat", data: "stats"},
		{name: "pg_notify/"},
		{name: "log/"},
		{name: "global/1260", data: "pg_authid"},
		{name: "global/pg_control", data: "control file"},
		{name: "pg_wal/"},
		{name: "pg_replslot/"},
		{name: "base/1/16384", size: 3 << 20},
		{name: "base/1/16385", size: 3 << 20},
		{name: "base/1/t3_16386", data: "temporary"},
		{name: "base/1/sub/t3_16387", data: "kept"},
		{name: "pg_dynshmem/"},
		{name: "pg_stat_tmp/"},
		{name: "pg_tblspc/"},
		{name: "pg_commit_ts/"},
		{name: "pg_subtrans/"},
	})
	hba := filepath.Join(dir, "pg_hba.conf")
	if err := os.WriteFile(hba, []byte("local all all trust\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	var parts memParts
	var sizesAtClose []int64
	w := &Writer{MaxSize: 4 << 20, Open: func(n int) (Part, error) {
		p, err := parts.open(n)
		if err != nil {
			return nil, err
		}
		cp := p.(*CountingPart)
		close := cp.OnClose
		cp.OnClose = func() error { sizesAtClose = append(sizesAtClose, cp.Size()); return close() }
		return cp, nil
	}}
	if err := w.AddTree(pgdata, PGDATARules(pgdata, nil)); err != nil {
		t.Fatal(err)
	}
	if err := w.AddFile("global/pg_control", filepath.Join(pgdata, "global/pg_control")); err != nil {
		t.Fatal(err)
	}
	if err := w.AddFile("pg_hba.conf", hba); err != nil {
		t.Fatal(err)
	}
	meta, err := BackupLabelMeta(pgdata, time.Unix(1700000000, 500000000))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.AddBytes("backup_label", []byte("START WAL LOCATION: 0/2000028\n"), meta); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if len(parts.parts) != 2 || w.Parts() != 2 || !parts.closed[0] || !parts.closed[1] {
		t.Fatalf("%d parts, closed %v; want 2 closed parts", len(parts.parts), parts.closed)
	}
	for i, p := range parts.parts {
		if p.Len()%recordSize != 0 || sizesAtClose[i] != int64(p.Len()) {
			t.Errorf("part %d: %d bytes, Size %d at Close: want a multiple of %d, all counted", i, p.Len(), sizesAtClose[i], recordSize)
		}
	}
	if n := int64(parts.parts[0].Len()); n <= 4<<20 || n > 6<<20+64<<10 {
		t.Errorf("part 0 is %d bytes: want both 3 MiB files and nothing more", n)
	}
	equalLists(t, "part 0", names(readMembers(t, parts.parts[0].Bytes())), []string{
		"./", "./PG_VERSION", "./café", "./somelink -> PG_VERSION",
		"base/", "base/1/", "base/1/16384", "base/1/16385",
	})
	last := readMembers(t, parts.parts[1].Bytes())
	equalLists(t, "part 1", names(last), []string{
		"base/1/sub/", "base/1/sub/t3_16387",
		"global/", "global/1260", "log/", "pg_commit_ts/", "pg_dynshmem/", "pg_notify/",
		"pg_replslot/", "pg_stat/", "pg_stat/pgstat.stat", "pg_stat_tmp/", "pg_subtrans/",
		"pg_tblspc/", "pg_wal/",
		"global/pg_control", "pg_hba.conf", "backup_label",
	})
	// The 3 MiB contents are intact, the label's header is the sane one.
	first := readMembers(t, parts.parts[0].Bytes())
	if !bytes.Equal(first[7].Data, pseudoRandom(3<<20, 11)) {
		t.Error("base/1/16385: content differs")
	}
	label := last[len(last)-1]
	fi, err := os.Stat(pgdata)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if label.Mode != 0o600 || label.Uid != int(st.Uid) || label.Gid != int(st.Gid) ||
		!label.ModTime.Equal(time.Unix(1700000000, 500000000)) || string(label.Data) != "START WAL LOCATION: 0/2000028\n" {
		t.Errorf("backup_label: mode %o uid %d gid %d mtime %v data %q", label.Mode, label.Uid, label.Gid, label.ModTime, label.Data)
	}
	if u, err := user.LookupId(strconv.Itoa(int(st.Uid))); err == nil && label.Uname != u.Username {
		t.Errorf("backup_label: uname %q, want %q", label.Uname, u.Username)
	}
	if hbaMember := last[len(last)-2]; hbaMember.Mode != 0o640 || string(hbaMember.Data) != "local all all trust\n" {
		t.Errorf("pg_hba.conf: mode %o data %q", hbaMember.Mode, hbaMember.Data)
	}
}

// TestWriteHardLinkAcrossParts: a hard link is a link member within one
// part; in a later part the file is stored again.
func TestWriteHardLinkAcrossParts(t *testing.T) {
	root := t.TempDir()
	buildTree(t, root, []node{
		{name: "a", size: 100},
		{name: "ab", link: "a"},
		{name: "b", size: 20000},
		{name: "c", link: "a"},
		{name: "d", link: "a"},
	})
	var parts memParts
	// Part 0 is over MaxSize after "b" only.
	w := &Writer{Open: parts.open, MaxSize: 20000}
	if err := w.AddTree(root, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if len(parts.parts) != 2 {
		t.Fatalf("%d parts, want 2", len(parts.parts))
	}
	equalLists(t, "part 0", names(readMembers(t, parts.parts[0].Bytes())), []string{"./", "./a", "./ab => ./a", "./b"})
	p1 := readMembers(t, parts.parts[1].Bytes())
	equalLists(t, "part 1", names(p1), []string{"./c", "./d => ./c"})
	if !bytes.Equal(p1[0].Data, pseudoRandom(100, 0)) {
		t.Error("./c: content differs from ./a")
	}
}

// TestWriteSymlinkedRoot: a symlinked data directory is archived as the
// directory it points to, "./" a directory member.
func TestWriteSymlinkedRoot(t *testing.T) {
	dir := t.TempDir()
	buildTree(t, filepath.Join(dir, "real"), []node{{name: "PG_VERSION", data: "16\n"}})
	link := filepath.Join(dir, "link")
	if err := os.Symlink("real", link); err != nil {
		t.Fatal(err)
	}
	var parts memParts
	w := &Writer{Open: parts.open}
	if err := w.AddTree(link, PGDATARules(link, nil)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ms := readMembers(t, parts.parts[0].Bytes())
	equalLists(t, "members", names(ms), []string{"./", "./PG_VERSION"})
	if ms[0].Type != tar.TypeDir {
		t.Errorf("./ has type %c, want a directory", ms[0].Type)
	}
}

// TestWriteChangingFiles: contents are exactly the lstat size whatever
// happens to the file while it is read, and entries that disappear during
// the walk are skipped.
func TestWriteChangingFiles(t *testing.T) {
	root := t.TempDir()
	buildTree(t, root, []node{
		{name: "a_shrinks", size: 3000},
		{name: "b_grows", size: 1000},
		{name: "c_vanishes_before_open", data: "x"},
		{name: "d_trigger", data: "removes e and f/"},
		{name: "e_vanishes_before_lstat", data: "y"},
		{name: "f/x", data: "z"},
		{name: "g_empties", size: 700000},
	})
	var parts memParts
	w := &Writer{Open: parts.open}
	w.openFile = func(path string) (io.ReadCloser, error) {
		f, err := openNoFollow(path)
		if err != nil {
			return nil, err
		}
		var change error
		switch filepath.Base(path) {
		case "a_shrinks":
			change = os.Truncate(path, 100)
		case "b_grows":
			change = appendTo(path, bytes.Repeat([]byte("+"), 5000))
		case "c_vanishes_before_open":
			f.Close()
			os.Remove(path)
			return openNoFollow(path)
		case "d_trigger":
			change = errors.Join(os.Remove(filepath.Join(root, "e_vanishes_before_lstat")), os.RemoveAll(filepath.Join(root, "f")))
		case "g_empties":
			change = os.Truncate(path, 0)
		}
		if change != nil {
			t.Fatal(change)
		}
		return f, nil
	}
	if err := w.AddTree(root, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ms := readMembers(t, parts.parts[0].Bytes())
	equalLists(t, "members", names(ms), []string{"./", "./a_shrinks", "./b_grows", "./d_trigger", "./g_empties"})
	want := map[string][]byte{
		"./a_shrinks": append(pseudoRandom(3000, 0)[:100:100], make([]byte, 2900)...),
		"./b_grows":   pseudoRandom(1000, 1),
		"./g_empties": make([]byte, 700000),
	}
	for _, m := range ms {
		if w, ok := want[m.Name]; ok && (!bytes.Equal(m.Data, w) || m.Size != int64(len(w))) {
			t.Errorf("%s: %d bytes (size %d), want %d bytes", m.Name, len(m.Data), m.Size, len(w))
		}
	}
}

func appendTo(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	return errors.Join(err, f.Close())
}

// TestWriteErrors: errors other than a vanished file fail, with the part
// left open; errors before a header leave the Writer usable.
func TestWriteErrors(t *testing.T) {
	root := t.TempDir()
	buildTree(t, root, []node{{name: "a", data: "a"}, {name: "b", data: "b"}})

	t.Run("unreadable file", func(t *testing.T) {
		var parts memParts
		w := &Writer{Open: parts.open}
		w.openFile = func(string) (io.ReadCloser, error) {
			return nil, &fs.PathError{Op: "open", Path: "a", Err: syscall.EACCES}
		}
		if err := w.AddTree(root, nil); !errors.Is(err, syscall.EACCES) {
			t.Fatalf("AddTree: %v, want EACCES", err)
		}
		// Nothing was written for the file: the Writer still works.
		if err := w.AddBytes("x", []byte("x"), Meta{Mode: 0o600}); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		ms := readMembers(t, parts.parts[0].Bytes())
		equalLists(t, "members", names(ms), []string{"./", "x"})
		if !ms[1].ModTime.Equal(time.Unix(0, 0)) {
			t.Errorf("x: mtime %v, want the epoch for a zero ModTime", ms[1].ModTime)
		}
	})
	t.Run("read error", func(t *testing.T) {
		var parts memParts
		w := &Writer{Open: parts.open}
		w.openFile = func(string) (io.ReadCloser, error) {
			return io.NopCloser(&failingReader{}), nil
		}
		if err := w.AddTree(root, nil); !errors.Is(err, syscall.EIO) {
			t.Fatalf("AddTree: %v, want EIO", err)
		}
		if err := w.Close(); !errors.Is(err, syscall.EIO) {
			t.Fatalf("Close after a failure: %v, want the failure", err)
		}
		if parts.closed[0] {
			t.Error("a broken part was closed (completed)")
		}
	})
	t.Run("missing root", func(t *testing.T) {
		var parts memParts
		w := &Writer{Open: parts.open}
		if err := w.AddTree(filepath.Join(root, "nope"), nil); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("AddTree: %v, want ErrNotExist", err)
		}
	})
	t.Run("open part", func(t *testing.T) {
		parts := memParts{openErr: errors.New("bucket gone")}
		w := &Writer{Open: parts.open}
		if err := w.AddTree(root, nil); err == nil || !errors.Is(err, parts.openErr) {
			t.Fatalf("AddTree: %v, want the Open error", err)
		}
		if err := w.AddFile("b", filepath.Join(root, "b")); !errors.Is(err, parts.openErr) {
			t.Fatalf("AddFile after a failure: %v", err)
		}
	})
	t.Run("close part", func(t *testing.T) {
		parts := memParts{closeErr: errors.New("upload failed")}
		w := &Writer{Open: parts.open}
		if err := w.AddFile("a", filepath.Join(root, "a")); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); !errors.Is(err, parts.closeErr) {
			t.Fatalf("Close: %v, want the part's Close error", err)
		}
	})
	t.Run("AddFile", func(t *testing.T) {
		var parts memParts
		w := &Writer{Open: parts.open}
		if err := w.AddFile("pg_ident.conf", filepath.Join(root, "missing")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("AddFile of a missing file: %v, want ErrNotExist", err)
		}
		if err := w.AddFile("dir", root); err == nil {
			t.Fatal("AddFile of a directory succeeded")
		}
		for _, name := range []string{"", "/etc/x", "../x", "a/../../x"} {
			if err := w.AddFile(name, filepath.Join(root, "a")); !errors.Is(err, ErrUnsafePath) {
				t.Errorf("AddFile(%q): %v, want ErrUnsafePath", name, err)
			}
		}
		if err := w.AddBytes("../label", nil, Meta{}); !errors.Is(err, ErrUnsafePath) {
			t.Errorf("AddBytes: %v, want ErrUnsafePath", err)
		}
		// A symlinked file is archived as the file it points to.
		link := filepath.Join(t.TempDir(), "link.conf")
		if err := os.Symlink(filepath.Join(root, "a"), link); err != nil {
			t.Fatal(err)
		}
		if err := w.AddFile("link.conf", link); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		ms := readMembers(t, parts.parts[0].Bytes())
		if len(ms) != 1 || ms[0].Type != tar.TypeReg || string(ms[0].Data) != "a" {
			t.Errorf("members %q, want link.conf as a regular file", names(ms))
		}
		if err := w.AddFile("a", filepath.Join(root, "a")); err == nil {
			t.Error("AddFile after Close succeeded")
		}
	})
}

type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: "a", Err: syscall.EIO}
}

// TestWriteEmpty: a family with no member is still one empty archive.
func TestWriteEmpty(t *testing.T) {
	var parts memParts
	w := &Writer{Open: parts.open}
	if err := w.AddTree(t.TempDir(), TablespaceRules("16")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if len(parts.parts) != 1 || parts.parts[0].Len() != recordSize || !parts.closed[0] {
		t.Fatalf("parts %d, want one closed part of %d zero bytes", len(parts.parts), recordSize)
	}
	if !bytes.Equal(parts.parts[0].Bytes(), make([]byte, recordSize)) {
		t.Error("empty archive is not all zeros")
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestWriteHeaders: headers carry mode bits, numeric owners and names, and
// the fraction of the modification time (a PAX record).
func TestWriteHeaders(t *testing.T) {
	root := t.TempDir()
	buildTree(t, root, []node{{name: "d/", mode: fs.ModeSetgid | 0o750}, {name: "d/f", data: "x", mode: fs.ModeSetuid | 0o755}})
	long := strings.Repeat("long-directory-name/", 8) + "file"
	buildTree(t, root, []node{{name: long, data: "long"}})
	var parts memParts
	w := &Writer{Open: parts.open}
	if err := w.AddTree(root, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ms := readMembers(t, parts.parts[0].Bytes())
	byName := map[string]member{}
	for _, m := range ms {
		byName[m.Name] = m
	}
	for name, mode := range map[string]int64{"d/": 0o2750, "d/f": 0o4755} {
		m := byName[name]
		fi, err := os.Lstat(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if m.Mode != mode || m.Uid != int(st.Uid) || m.Gid != int(st.Gid) || !m.ModTime.Equal(fi.ModTime()) || m.ModTime.Nanosecond() == 0 {
			t.Errorf("%s: mode %o uid %d gid %d mtime %v; want %o %d %d %v", name, m.Mode, m.Uid, m.Gid, m.ModTime, mode, st.Uid, st.Gid, fi.ModTime())
		}
		if u, err := user.LookupId(strconv.Itoa(int(st.Uid))); err == nil && m.Uname != u.Username {
			t.Errorf("%s: uname %q, want %q", name, m.Uname, u.Username)
		}
		if g, err := user.LookupGroupId(strconv.Itoa(int(st.Gid))); err == nil && m.Gname != g.Name {
			t.Errorf("%s: gname %q, want %q", name, m.Gname, g.Name)
		}
	}
	if m, ok := byName[long]; !ok || string(m.Data) != "long" {
		t.Errorf("long name missing: %q", names(ms))
	}
}
