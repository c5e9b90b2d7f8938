//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/barmancloud/barman-cloud/shared/pgtar"
	"github.com/barmancloud/barman-cloud/test/oracle"
)

// barmanDataFiles runs Barman's own CloudBackupUploader._backup_data_files
// and CloudUploadController (Debian's barman 3.4.0) on a data directory,
// with a fake cloud that appends each uploaded chunk to out/<key base
// name>: the archives barman-cloud-backup would upload, minus the label.
const barmanDataFiles = `
import json, os, sys, types
from barman.cloud import CloudBackupUploader, CloudUploadController

out, pgdata, max_size, tablespaces = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])

class Cloud:
    MAX_CHUNKS_PER_FILE = 10000
    MIN_CHUNK_SIZE = 5 << 20
    MAX_ARCHIVE_SIZE = 1 << 40
    worker_processes_count = 1
    def create_multipart_upload(self, key):
        open(os.path.join(out, os.path.basename(key)), "wb").close()
        return {"key": key}  # CloudTarUploader tests it for truth
    def async_upload_part(self, upload_metadata, key, body, part_number):
        with open(os.path.join(out, os.path.basename(key)), "ab") as f:
            f.write(body.read())
        os.unlink(body.name)
    def async_complete_multipart_upload(self, upload_metadata, key, parts_count):
        pass
    def wait_for_multipart_upload(self, key):
        return {}

class Uploader:
    def _get_tablespace_location(self, tablespace):
        return tablespace.location

info = types.SimpleNamespace(pgdata=pgdata, tablespaces=[types.SimpleNamespace(**t) for t in tablespaces])
controller = CloudUploadController(Cloud(), "base/ID", max_size, None)
CloudBackupUploader._backup_data_files(Uploader(), controller, info, pgdata, "16")
controller.close()
`

// tarList lists, with Python's tarfile in stream mode, the members of the
// archives named in argv: {archive: [member…]}.
const tarList = `
import hashlib, json, sys, tarfile
out = {}
for path in sys.argv[1:]:
    with open(path, "rb") as f, tarfile.open(fileobj=f, mode="r|") as t:
        ms = []
        for m in t:
            d = {"name": m.name, "type": m.type.decode(), "size": m.size, "linkname": m.linkname,
                 "mode": m.mode, "mtime": round(m.mtime * 1e6), "uid": m.uid, "gid": m.gid,
                 "uname": m.uname, "gname": m.gname}
            if m.isreg():
                d["sha256"] = hashlib.sha256(t.extractfile(m).read()).hexdigest()
            ms.append(d)
        out[path] = ms
json.dump(out, sys.stdout)
`

// treeList describes the tree at argv[1] ({path: entry}, symlinks without
// mode and mtime); with argv[2] = "extract", it first extracts the
// archives named in argv[3:] into it with Python's extractall, as
// barman-cloud-restore does.
const treeList = `
import hashlib, json, os, stat, sys, tarfile
root = sys.argv[1]
if len(sys.argv) > 2 and sys.argv[2] == "extract":
    for path in sys.argv[3:]:
        with open(path, "rb") as f, tarfile.open(fileobj=f, mode="r|") as t:
            t.extractall(root)
out = {}
for d, dirs, files in os.walk(root):
    for p in [d] + [os.path.join(d, n) for n in dirs + files]:
        st = os.lstat(p)
        e = {"kind": stat.filemode(st.st_mode)[0]}
        if stat.S_ISLNK(st.st_mode):
            e["content"] = os.readlink(p)
        else:
            e["mode"], e["mtime"] = stat.S_IMODE(st.st_mode), st.st_mtime_ns // 1000
        if stat.S_ISREG(st.st_mode):
            with open(p, "rb") as f:
                e["content"] = hashlib.sha256(f.read()).hexdigest()
        out[os.path.relpath(p, root)] = e
json.dump(out, sys.stdout)
`

// treeEntry is an entry of treeList.
type treeEntry struct {
	Kind    string `json:"kind"`
	Mode    int    `json:"mode"`
	Mtime   int64  `json:"mtime"` // microseconds
	Content string `json:"content"`
}

type pyTarMember struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Size     int64  `json:"size"`
	Linkname string `json:"linkname"`
	Mode     int64  `json:"mode"`
	Mtime    int64  `json:"mtime"` // microseconds
	Uid      int    `json:"uid"`
	Gid      int    `json:"gid"`
	Uname    string `json:"uname"`
	Gname    string `json:"gname"`
	SHA256   string `json:"sha256"`
}

func runPython(t *testing.T, out any, script string, args ...string) {
	t.Helper()
	cmd := exec.Command(oracle.Python, append([]string{"-c", script}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, stderr.String())
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPgtarMatchesBarman archives one data directory and two tablespaces
// (one inside PGDATA) with Barman's code and with pgtar, split at 4 MiB,
// and checks that the member sets differ exactly by pgtar's deliberate
// improvements, that common members have the same headers and contents,
// and that pgtar.Extract restores Barman's archives as Python's extractall
// does.
func TestPgtarMatchesBarman(t *testing.T) {
	start := time.Now().UnixMicro()
	dir := t.TempDir()
	pgdata := filepath.Join(dir, "data")
	ts := filepath.Join(dir, "ts")
	files := map[string]int{ // name → size (pseudo-random content)
		"data/PG_VERSION": 3, "data/café": 10, "data/postmaster.pid": 5, "data/backup_label.old": 50,
		"data/base/1/16384": 3 << 20, "data/base/1/16385": 3 << 20, "data/base/1/t3_16386": 100,
		"data/base/1/pg_internal.init": 10, "data/base/pgsql_tmp/pgsql_tmp1.0": 10,
		"data/global/1260": 8192, "data/global/pg_control": 8192,
		"data/pg_wal/000000010000000000000001": 1000, "data/pg_wal/archive_status/000000010000000000000001.done": 0,
		"data/pg_replslot/s1/state": 10, "data/pg_replslot/s1/deep/x": 10,
		"data/pg_stat_tmp/sub/deep/z": 10, "data/log/x.log": 10, "data/sub/pg_wal/x": 10,
		"data/sub/ts/PG_16_1/16384/x": 10, "data/sub/ts/stray": 1,
		"ts/stray": 1, "ts/PG_15_1/5/x": 10, "ts/PG_16_202307071/5/16500": 20000, "ts/PG_16_202307071/5/t3_16501": 10,
	}
	for name, size := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(i*7 + len(name))
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range [][2]string{
		{"data/somelink", "PG_VERSION"}, {"data/linkdir", "base"},
		{"data/pg_tblspc/16400", "../../ts"}, {"data/pg_tblspc/16402", "../sub/ts"},
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, l[0])), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(l[1], filepath.Join(dir, l[0])); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Link(filepath.Join(ts, "PG_16_202307071/5/16500"), filepath.Join(ts, "PG_16_202307071/5/16500_link")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(pgdata, "fifo"), 0o640); err != nil {
		t.Fatal(err)
	}
	// Past, distinct times with fractions, so that restored times show.
	i := 0
	if err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink != 0 {
			return err
		}
		i++
		mt := time.Unix(1700000000+int64(i)*100, int64(i)*12345679)
		return os.Chtimes(p, mt, mt)
	}); err != nil {
		t.Fatal(err)
	}
	const maxSize = 4 << 20
	tablespaces := []pgtar.Tablespace{{OID: 16400, Location: ts}, {OID: 16402, Location: pgdata + "/sub/ts"}}

	// Barman's archives.
	barmanDir := filepath.Join(dir, "barman")
	if err := os.Mkdir(barmanDir, 0o700); err != nil {
		t.Fatal(err)
	}
	tsJSON, _ := json.Marshal([]map[string]any{
		{"name": "ts", "oid": 16400, "location": ts}, {"name": "inside", "oid": 16402, "location": pgdata + "/sub/ts"},
	})
	runPython(t, nil, barmanDataFiles, barmanDir, pgdata, fmt.Sprint(maxSize), string(tsJSON))

	// pgtar's, in Barman's order: tablespaces, the data directory, pg_control.
	pgtarDir := filepath.Join(dir, "pgtar")
	if err := os.Mkdir(pgtarDir, 0o700); err != nil {
		t.Fatal(err)
	}
	writer := func(family string) *pgtar.Writer {
		return &pgtar.Writer{MaxSize: maxSize, Open: func(n int) (pgtar.Part, error) {
			name := family + ".tar"
			if n > 0 {
				name = fmt.Sprintf("%s_%04d.tar", family, n)
			}
			f, err := os.Create(filepath.Join(pgtarDir, name))
			if err != nil {
				return nil, err
			}
			return &pgtar.CountingPart{W: f, OnClose: f.Close}, nil
		}}
	}
	for _, tsp := range tablespaces {
		w := writer(fmt.Sprint(tsp.OID))
		if err := w.AddTree(tsp.Location, pgtar.TablespaceRules("16")); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	w := writer("data")
	if err := w.AddTree(pgdata, pgtar.PGDATARules(pgdata, tablespaces)); err != nil {
		t.Fatal(err)
	}
	if err := w.AddFile("global/pg_control", filepath.Join(pgdata, "global/pg_control")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	families := func(d string) map[string][]string {
		names, err := filepath.Glob(filepath.Join(d, "*.tar"))
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(names)
		out := map[string][]string{}
		for _, n := range names {
			fam, _, _ := strings.Cut(strings.TrimSuffix(filepath.Base(n), ".tar"), "_")
			out[fam] = append(out[fam], n)
		}
		return out
	}
	barmanFam, pgtarFam := families(barmanDir), families(pgtarDir)
	for fam, want := range map[string]int{"data": 2, "16400": 1, "16402": 1} {
		if len(barmanFam[fam]) != want || len(pgtarFam[fam]) != want {
			t.Fatalf("family %s: Barman %d parts, pgtar %d; want %d", fam, len(barmanFam[fam]), len(pgtarFam[fam]), want)
		}
	}
	var all []string
	for _, fams := range []map[string][]string{barmanFam, pgtarFam} {
		for _, parts := range fams {
			all = append(all, parts...)
		}
	}
	var listed map[string][]pyTarMember
	runPython(t, &listed, tarList, all...)

	// What Barman archives and pgtar does not: temporary relations, and the
	// subdirectories of excluded directories (pruned).
	barmanOnly := map[string][]string{
		"data": {"base/1/t3_16386", "pg_replslot/s1/deep", "pg_replslot/s1/deep/x",
			"pg_stat_tmp/sub/deep", "pg_stat_tmp/sub/deep/z",
			"sub/ts/PG_16_1", "sub/ts/PG_16_1/16384", "sub/ts/PG_16_1/16384/x"},
		"16400": {"PG_15_1/5", "PG_15_1/5/x", "PG_16_202307071/5/t3_16501"},
	}
	for fam := range barmanFam {
		b, p := map[string]pyTarMember{}, map[string]pyTarMember{}
		for _, part := range barmanFam[fam] {
			for _, m := range listed[part] {
				b[m.Name] = m
			}
		}
		for _, part := range pgtarFam[fam] {
			for _, m := range listed[part] {
				p[m.Name] = m
			}
		}
		for _, name := range barmanOnly[fam] {
			if _, ok := b[name]; !ok {
				t.Errorf("%s: Barman does not archive %s", fam, name)
			}
			delete(b, name)
		}
		// A hard link is a link member after its first occurrence, and
		// Barman's order is the file system's.
		for _, ms := range []map[string]pyTarMember{b, p} {
			for name, m := range ms {
				if m.Type == "1" {
					other := ms[m.Linkname]
					m.Type, m.Size, m.SHA256, m.Linkname = other.Type, other.Size, other.SHA256, ""
					ms[name] = m
				}
			}
		}
		for name, bm := range b {
			pm, ok := p[name]
			if !ok {
				t.Errorf("%s: %s archived by Barman only", fam, name)
				continue
			}
			if bm != pm {
				t.Errorf("%s: %s differs:\nBarman %+v\n pgtar %+v", fam, name, bm, pm)
			}
		}
		for name := range p {
			if _, ok := b[name]; !ok {
				t.Errorf("%s: %s archived by pgtar only", fam, name)
			}
		}
	}

	// pgtar.Extract restores Barman's archives as Python's extractall.
	for fam, parts := range barmanFam {
		pyDest, goDest := filepath.Join(dir, "py", fam), filepath.Join(dir, "go", fam)
		var pyTree, goTree map[string]treeEntry
		runPython(t, &pyTree, treeList, append([]string{pyDest, "extract"}, parts...)...)
		for _, part := range parts {
			f, err := os.Open(part)
			if err != nil {
				t.Fatal(err)
			}
			err = pgtar.Extract(f, goDest, pgtar.ExtractOptions{})
			f.Close()
			if err != nil {
				t.Fatalf("extracting %s: %v", part, err)
			}
		}
		runPython(t, &goTree, treeList, goDest)
		// Directories in no member (the tablespaces' roots, directories
		// whose own directory was excluded) are created as needed: 0700 by
		// pgtar, 0777 less the umask by Python.
		implicit := map[string]bool{".": fam != "data", "pg_replslot/s1": true, "pg_stat_tmp/sub": true, "sub/ts": true, "PG_15_1": true}
		for name, want := range pyTree {
			got, ok := goTree[name]
			if !ok {
				t.Errorf("%s: %s missing after pgtar.Extract", fam, name)
				continue
			}
			if implicit[name] {
				want.Mode = 0o700
			}
			// Python's times are floats; a directory filled by a later
			// part, or created as needed, has the time of extraction.
			if d := got.Mtime - want.Mtime; (d >= -2 && d <= 2) || (got.Kind == "d" && got.Mtime >= start && want.Mtime >= start) {
				got.Mtime = want.Mtime
			}
			if got != want {
				t.Errorf("%s: %s is %+v after pgtar.Extract, %+v after Python's extractall", fam, name, got, want)
			}
		}
		if len(goTree) != len(pyTree) {
			t.Errorf("%s: pgtar.Extract made %d entries, Python %d", fam, len(goTree), len(pyTree))
		}
	}
}
