package pgtar

// Compatibility with Python's tarfile, which Barman writes and restores
// with: these tests need python3 (the standard library only) on PATH.

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// python runs a Python 3 script with stdin and returns its standard output.
func python(t *testing.T, stdin []byte, script string, args ...string) []byte {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("these tests need python3 (Debian: python3-minimal): %v", err)
	}
	cmd := exec.Command(py, append([]string{"-c", script}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, stderr.String())
	}
	return out
}

// pyList lists the tar archives named in argv as barman-cloud-restore
// opens them (mode "r|": stream mode), with every header field Barman's
// extraction uses and a digest of each regular file, and checks that only
// zeros follow the end of each archive.
const pyList = `
import hashlib, json, sys, tarfile
parts = []
for path in sys.argv[1:]:
    out = []
    with open(path, "rb") as f, tarfile.open(fileobj=f, mode="r|") as t:
        for m in t:
            d = {"name": m.name, "type": m.type.decode(), "size": m.size,
                 "linkname": m.linkname, "mode": m.mode, "mtime": m.mtime,
                 "uid": m.uid, "gid": m.gid, "uname": m.uname, "gname": m.gname}
            if m.isreg():
                d["sha256"] = hashlib.sha256(t.extractfile(m).read()).hexdigest()
            out.append(d)
        if f.read().strip(b"\0"):
            sys.exit(path + ": data after the end of the archive")
    parts.append(out)
json.dump(parts, sys.stdout)
`

type pyMember struct {
	Name     string  `json:"name"`
	Type     string  `json:"type"`
	Size     int64   `json:"size"`
	Linkname string  `json:"linkname"`
	Mode     int64   `json:"mode"`
	Mtime    float64 `json:"mtime"`
	Uid      int     `json:"uid"`
	Gid      int     `json:"gid"`
	Uname    string  `json:"uname"`
	Gname    string  `json:"gname"`
	SHA256   string  `json:"sha256"`
}

// TestPythonReadsOurArchives: every part is read by Python's tarfile in
// stream mode with the same members, headers and contents Go reads.
func TestPythonReadsOurArchives(t *testing.T) {
	dir := t.TempDir()
	pgdata := filepath.Join(dir, "data")
	buildTree(t, pgdata, append(append([]node{}, roundTripTree...),
		node{name: "base/1/big", size: 200000},
		node{name: "pg_wal/000000010000000000000001", data: "wal"},
		node{name: "postmaster.pid", data: "1"}))
	var parts memParts
	w := &Writer{Open: parts.open, MaxSize: 100000}
	if err := w.AddTree(pgdata, PGDATARules(pgdata, nil)); err != nil {
		t.Fatal(err)
	}
	meta, err := BackupLabelMeta(pgdata, time.Unix(1700000000, 250000000))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.AddBytes("backup_label", []byte("label"), meta); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if len(parts.parts) < 2 {
		t.Fatalf("%d parts, want several", len(parts.parts))
	}
	var files []string
	for i, p := range parts.parts {
		files = append(files, filepath.Join(dir, fmt.Sprintf("data_%04d.tar", i)))
		if err := os.WriteFile(files[i], p.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var listed [][]pyMember
	if err := json.Unmarshal(python(t, nil, pyList, files...), &listed); err != nil {
		t.Fatal(err)
	}
	for i, p := range parts.parts {
		got := listed[i]
		want := readMembers(t, p.Bytes())
		if len(got) != len(want) {
			t.Fatalf("part %d: Python reads %d members, Go %d", i, len(got), len(want))
		}
		for j, g := range got {
			m := want[j]
			sum := ""
			if m.Type == tar.TypeReg {
				s := sha256.Sum256(m.Data)
				sum = hex.EncodeToString(s[:])
			}
			mtime := time.Unix(0, int64(g.Mtime*1e9))
			// Python drops the "/" that ends directory names.
			if g.Name != strings.TrimSuffix(m.Name, "/") && !(m.Name == "./" && g.Name == ".") ||
				g.Type != string(m.Type) || g.Size != m.Size || g.Linkname != m.Linkname ||
				g.Mode != m.Mode || mtime.Sub(m.ModTime).Abs() > time.Microsecond ||
				g.Uid != m.Uid || g.Gid != m.Gid || g.Uname != m.Uname || g.Gname != m.Gname || g.SHA256 != sum {
				t.Errorf("part %d member %d:\nPython %+v\n    Go %+v (%s)", i, j, g, m, sum)
			}
		}
	}
}

// TestPythonExtractsOurArchives: Python's extractall (what Barman's
// restore does) rebuilds the tree from our parts.
func TestPythonExtractsOurArchives(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	buildTree(t, src, roundTripTree)
	want := snapshot(t, src, false)
	dest := filepath.Join(dir, "dest")
	for _, p := range writeArchive(t, src, 0) {
		python(t, p, `
import sys, tarfile
with tarfile.open(fileobj=sys.stdin.buffer, mode="r|") as t:
    t.extractall(sys.argv[1])
`, dest)
	}
	compareTreesWithin(t, snapshot(t, dest, false), want, time.Microsecond)
}

// pyWrite archives the directory argv[1] to stdout as Barman's
// upload_directory does (os.walk, "." for the root, "./NAME" for its
// files, relative paths below), with tarfile's format argv[2].
const pyWrite = `
import os, sys, tarfile
src, fmt = sys.argv[1], getattr(tarfile, sys.argv[2])
with tarfile.open(fileobj=sys.stdout.buffer, mode="w|", format=fmt) as t:
    for root, dirs, files in os.walk(src):
        dirs.sort()
        tar_root = os.path.relpath(root, src)
        t.add(root, arcname=tar_root, recursive=False)
        for item in sorted(files):
            t.add(os.path.join(root, item), arcname=os.path.join(tar_root, item))
`

// TestExtractPythonArchives extracts what Python's tarfile writes: PAX
// (Barman's format: fractional mtimes, long and non-ASCII names as PAX
// records), GNU (long names as ././@LongLink members) and ustar (long
// names split into prefix and name), with hard links and symlinks.
func TestExtractPythonArchives(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	tree := []node{
		{name: "PG_VERSION", data: "16\n"},
		{name: "café", data: "non-ASCII"},
		{name: "base/1/16384", size: 70000, mode: 0o640},
		{name: "base/1/link", link: "base/1/16384"},
		{name: "rel", target: "PG_VERSION"},
		{name: "fifo", fifo: true},
		{name: strings.Repeat("d", 90) + "/" + strings.Repeat("f", 90), data: "long for ustar"},
	}
	buildTree(t, src, tree)
	if err := os.Chmod(src, 0o700); err != nil {
		t.Fatal(err)
	}
	treeGNU := append(tree[:len(tree):len(tree)], node{name: "base/" + strings.Repeat("x", 150), data: "long for ustar"})
	for _, format := range []string{"PAX_FORMAT", "GNU_FORMAT", "USTAR_FORMAT"} {
		t.Run(format, func(t *testing.T) {
			src := src
			if format != "USTAR_FORMAT" { // ustar cannot hold a 150-byte file name
				src = filepath.Join(t.TempDir(), "src")
				buildTree(t, src, treeGNU)
			}
			archive := python(t, nil, pyWrite, src, format)
			dest := filepath.Join(t.TempDir(), "dest")
			if err := Extract(bytes.NewReader(archive), dest, ExtractOptions{}); err != nil {
				t.Fatal(err)
			}
			// ustar and GNU headers hold whole seconds only.
			tol := time.Microsecond
			if format != "PAX_FORMAT" {
				tol = time.Second
			}
			compareTreesWithin(t, snapshot(t, dest, true), snapshot(t, src, true), tol)
			if err := Verify(bytes.NewReader(archive)); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}
