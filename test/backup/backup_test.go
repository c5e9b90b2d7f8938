//go:build integration

// Package backup proves barman-cloud-backup against a real PostgreSQL 15
// server (test/pgtest) archiving through our barman-cloud-wal-archive, and
// the real MinIO, Azurite and fake-gcs-server: what it stores is read back
// by tools that share no code with it (boto3, azure-storage-blob, curl,
// Python's tarfile in stream mode, Debian's Barman 3.4).
package backup

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/barmancloud/barman-cloud/test/harness"
	"github.com/barmancloud/barman-cloud/test/oracle"
	"github.com/barmancloud/barman-cloud/test/pgtest"
)

func TestMain(m *testing.M) { harness.Main(m) }

// cluster is a running PostgreSQL 15 server with a tablespace holding
// pgbench's tables, archiving its WAL to MinIO with our wal-archive.
type cluster struct {
	t   *testing.T
	s   *pgtest.Sandbox
	c   *pgtest.Cluster
	tbs string // the tablespace's directory
	oid string // and its OID
}

func newCluster(t *testing.T) *cluster {
	s := pgtest.New(t)
	s.AddStorageEnv()
	c := s.InitDB("pg", 16)
	set := c.BaseSettings()
	set["archive_mode"] = "on"
	walURL := oracle.S3(t).URL(harness.UniquePrefix(t) + "-wal")
	set["archive_command"] = fmt.Sprintf("%s --gzip --endpoint-url %s %s pg %%p", s.Tool("barman-cloud-wal-archive"), harness.Env(t, "S3_ENDPOINT_URL"), walURL)
	c.Configure(set)
	c.Start()
	cl := &cluster{t: t, s: s, c: c}
	cl.tbs = c.CreateTablespace("tbs1")
	cl.oid = c.Psql("select oid from pg_tablespace where spcname = 'tbs1'")
	s.MustRun(3*time.Minute, pgtest.Bin+"/pgbench", "-i", "-s", "1", "-q", "--tablespace=tbs1", "-h", c.Dir, "-U", "postgres", "postgres")
	c.Psql("create table t (id int, v text); insert into t select g, md5(g::text) from generate_series(1, 20000) g")
	return cl
}

// backup runs our barman-cloud-backup against the cluster.
func (cl *cluster) backup(env []string, args ...string) harness.Result {
	cl.t.Helper()
	args = append([]string{"--immediate-checkpoint", "-h", cl.c.Dir, "-U", "postgres"}, args...)
	return harness.Run(cl.t, env, harness.Tool(cl.t, "barman-cloud-backup"), args...)
}

// stored is one backup as the oracle sees it.
type stored struct {
	id      string
	objects map[string]oracle.Object // by name under BASE/ID/
}

// storedBackups reads the backups under prefix/pg/base/.
func storedBackups(t *testing.T, tg oracle.Target, prefix string) []stored {
	t.Helper()
	base := prefix + "/pg/base/"
	var out []stored
	for _, o := range tg.Objects(t, base, true) {
		id, name, _ := strings.Cut(strings.TrimPrefix(o.Key, base), "/")
		if len(out) == 0 || out[len(out)-1].id != id {
			out = append(out, stored{id: id, objects: map[string]oracle.Object{}})
		}
		out[len(out)-1].objects[name] = o
	}
	return out
}

// tarMember is a member as Python's tarfile reads it.
type tarMember struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Size int64  `json:"size"`
	Mode int64  `json:"mode"`
}

// pyTar lists a tar stream with Python's tarfile in stream mode, as
// Barman's restore reads it: "r|gz" stops at the end of the first gzip
// member, "r|bz2" at the end of the first bzip2 stream.
const pyTar = `import sys, tarfile, json
t = tarfile.open(fileobj=sys.stdin.buffer, mode=sys.argv[1])
json.dump([{"name": m.name, "type": m.type.decode(), "size": m.size, "mode": m.mode} for m in t], sys.stdout)
`

// tarMembers decodes an archive object of the given compression with
// independent tools and lists its members.
func tarMembers(t *testing.T, o oracle.Object, comp string) []tarMember {
	t.Helper()
	data := o.Data(t)
	mode := "r|"
	switch comp {
	case "gzip":
		mode = "r|gz"
	case "bzip2":
		mode = "r|bz2"
	case "snappy":
		data = oracle.CompressionNamed("snappy").Decode(t, data)
	}
	if c := oracle.CompressionNamed(comp); c.Name != "" && !bytes.HasPrefix(o.Data(t), c.Magic) {
		t.Fatalf("%s does not start with %s's magic", o.Key, comp)
	}
	return py[[]tarMember](t, data, "-c", pyTar, mode)
}

// py runs Debian's Python with stdin and decodes its JSON output.
func py[T any](t *testing.T, stdin []byte, args ...string) T {
	t.Helper()
	cmd := exec.Command(oracle.Python, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python %v: %v\n%s", args[len(args)-1], err, stderr.String())
	}
	var v T
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("python output %q: %v", out, err)
	}
	return v
}

// pyInfo parses backup.info by hand in Python, as infofile.py reads it:
// name=value lines, ast.literal_eval for the literal fields.
const pyInfo = `import sys, ast, json
out = {}
for line in sys.stdin.read().splitlines():
    k, v = line.split("=", 1)
    if v != "None" and k in ("tablespaces", "included_files", "backup_label", "copy_stats"):
        v = ast.literal_eval(v)
    out[k] = v
json.dump(out, sys.stdout)
`

// pyInfo34 reads backup.info with Debian's Barman 3.4 and prints its
// to_json, which fails on a field 3.4 does not know.
const pyInfo34 = `import sys, json
from barman.infofile import BackupInfo
b = BackupInfo(backup_id=sys.argv[1])
b.load(file_object=sys.stdin.buffer)
json.dump(b.to_json(), sys.stdout)
`

func names(ms []tarMember) []string {
	var n []string
	for _, m := range ms {
		n = append(n, m.Name)
	}
	return n
}

// variant is one backup to take and check.
type variant struct {
	name  string
	comp  string // "" none, gzip, bzip2, snappy
	args  []string
	split bool // -S small: data has continuations
	tags  [][2]string
	sse   string
	fmt34 bool // --backup-info-format 3.4
	load  bool // pgbench writes during the backup
}

var walName = regexp.MustCompile(`^[0-9A-F]{24}$`)

// TestBackup: backups of a live cluster with a tablespace on every
// provider, in every compression, split by a small -S, with tags and
// encryption, while pgbench writes, in Barman 3.4's backup.info fields:
// each read back by the oracle.
func TestBackup(t *testing.T) {
	cl := newCluster(t)
	variants := map[string][]variant{
		"s3": {
			{name: "plain-tags-sse", args: []string{"-e", "AES256", "--tag", "env,test", "--tag", "team,db"}, tags: [][2]string{{"env", "test"}, {"team", "db"}}, sse: "AES256"},
			{name: "gzip", comp: "gzip", args: []string{"-z", "-n", "nightly"}},
			{name: "bzip2", comp: "bzip2", args: []string{"-j"}},
			{name: "snappy", comp: "snappy", args: []string{"--snappy"}},
			{name: "split-under-load", args: []string{"-S", "2MB", "-J", "3"}, split: true, load: true},
			{name: "gzip-3.4", comp: "gzip", args: []string{"-z", "--backup-info-format", "3.4"}, fmt34: true},
		},
		"azure": {
			{name: "gzip-tags", comp: "gzip", args: []string{"-z", "--tag", "env,test"}, tags: [][2]string{{"env", "test"}}},
			{name: "split", args: []string{"-S", "2MB"}, split: true},
		},
		"gcs": {
			{name: "plain-tags", args: []string{"--tag", "env,test"}, tags: [][2]string{{"env", "test"}}},
			{name: "gzip-split", comp: "gzip", args: []string{"-z", "-S", "1MB"}, split: true},
		},
	}
	for _, tg := range oracle.Targets(t) {
		for _, v := range variants[tg.Name] {
			t.Run(tg.Name+"/"+v.name, func(t *testing.T) {
				prefix := harness.UniquePrefix(t)
				var load chan error
				if v.load {
					load = make(chan error, 1)
					go func() {
						_, err := cl.s.Run(time.Minute, pgtest.Bin+"/pgbench", "-T", "8", "-c", "2", "-h", cl.c.Dir, "-U", "postgres", "postgres")
						load <- err
					}()
					time.Sleep(time.Second) // pgbench is writing
				}
				r := cl.backup(nil, append(append(append([]string{}, tg.Args...), v.args...), tg.URL(prefix), "pg")...)
				if load != nil {
					if err := <-load; err != nil {
						t.Errorf("pgbench: %v", err)
					}
				}
				if r.Code != 0 || r.Stdout != "" || r.Stderr != "" {
					t.Fatalf("exit %d, stdout %q, stderr:\n%s", r.Code, r.Stdout, r.Stderr)
				}
				checkBackup(t, cl, tg, prefix, v)
			})
		}
	}
}

// checkBackup checks the one backup under prefix.
func checkBackup(t *testing.T, cl *cluster, tg oracle.Target, prefix string, v variant) {
	backups := storedBackups(t, tg, prefix)
	if len(backups) != 1 {
		t.Fatalf("%d backups stored, want 1", len(backups))
	}
	b := backups[0]
	ext := ".tar" + oracle.CompressionNamed(v.comp).Suffix
	// The parts of a family: NAME.ext, then NAME_0001.ext, … in order.
	family := func(item string) []string {
		var parts []string
		cont := regexp.MustCompile(`^` + item + `_\d{4}` + regexp.QuoteMeta(ext) + `$`)
		for name := range b.objects {
			if name == item+ext || cont.MatchString(name) {
				parts = append(parts, name)
			}
		}
		slices.Sort(parts) // NAME.tar sorts before NAME_0001.tar
		if len(parts) == 0 || parts[0] != item+ext {
			t.Fatalf("archives of %s: %q", item, parts)
		}
		for i, p := range parts[1:] {
			if want := fmt.Sprintf("%s_%04d%s", item, i+1, ext); p != want {
				t.Errorf("continuation %d is %s, want %s", i+1, p, want)
			}
		}
		return parts
	}
	dataParts, tsParts := family("data"), family(cl.oid)
	if (len(dataParts) > 1) != v.split {
		t.Errorf("data archives %q (split: %v)", dataParts, v.split)
	}
	for name, o := range b.objects {
		if name != "backup.info" && !slices.Contains(dataParts, name) && !slices.Contains(tsParts, name) {
			t.Errorf("unexpected object %s", o.Key)
		}
		for _, tag := range v.tags {
			if tg.Name == "gcs" {
				if o.Metadata[tag[0]] != tag[1] {
					t.Errorf("%s: metadata %v, want tag %s", name, o.Metadata, tag)
				}
			} else if !slices.Contains(o.Tags, tag) {
				t.Errorf("%s: tags %v, want %s", name, o.Tags, tag)
			}
		}
		if v.sse != "" && o.SSE != v.sse {
			t.Errorf("%s: encryption %q, want %q", name, o.SSE, v.sse)
		}
	}
	if tg.Name == "s3" {
		if open := tg.OpenUploads(t, prefix); len(open) > 0 {
			t.Errorf("multipart uploads left open: %q", open)
		}
	}

	// The archives, as Python's tarfile streams them.
	var data []tarMember
	for i, p := range dataParts {
		ms := tarMembers(t, b.objects[p], v.comp)
		if len(ms) == 0 {
			t.Errorf("%s is empty", p)
		}
		if i < len(dataParts)-1 && slices.Contains(names(ms), "backup_label") {
			t.Errorf("backup_label in %s, not the last data archive", p)
		}
		data = append(data, ms...)
	}
	n := names(data)
	for _, want := range []string{".", "./PG_VERSION", "global/pg_control", "base", "pg_wal", "pg_tblspc"} {
		if !slices.Contains(n, want) {
			t.Errorf("the data archives lack %s", want)
		}
	}
	for _, name := range n {
		if strings.HasPrefix(name, "pg_wal/") || name == "./postmaster.pid" || strings.HasPrefix(name, "pg_tblspc/") {
			t.Errorf("the data archives hold %s", name)
		}
	}
	if last := data[len(data)-1]; last.Name != "backup_label" || last.Type != "0" || last.Size == 0 {
		t.Errorf("last data member %+v, want backup_label", last)
	}
	var ts []string
	for _, p := range tsParts {
		ts = append(ts, names(tarMembers(t, b.objects[p], v.comp))...)
	}
	if len(ts) < 3 || !strings.HasPrefix(ts[0], "PG_15_") || !slices.ContainsFunc(ts, func(s string) bool { return strings.Count(s, "/") == 2 }) {
		t.Errorf("tablespace archive holds %q, want the PG_15_* tree", ts)
	}

	// backup.info, as Barman reads it.
	raw := b.objects["backup.info"].Data(t)
	info := py[map[string]any](t, raw, "-c", pyInfo)
	for k, want := range map[string]string{"status": "DONE", "server_name": "cloud", "compression": "None", "xlog_segment_size": "16777216", "timeline": "1", "error": "None", "mode": "None"} {
		if info[k] != want {
			t.Errorf("backup.info %s = %v, want %s", k, info[k], want)
		}
	}
	if name := backupName(v.args); name != "" && info["backup_name"] != name {
		t.Errorf("backup_name = %v, want %s", info["backup_name"], name)
	}
	for _, k := range []string{"begin_wal", "end_wal"} {
		if s, _ := info[k].(string); !walName.MatchString(s) {
			t.Errorf("%s = %v", k, info[k])
		}
	}
	if v, _ := strconv.Atoi(fmt.Sprint(info["version"])); v/10000 != 15 {
		t.Errorf("version = %v", info["version"])
	}
	if label, _ := info["backup_label"].(string); !strings.Contains(label, "LABEL: Barman backup cloud "+b.id) {
		t.Errorf("backup_label = %q", info["backup_label"])
	}
	if tss, _ := info["tablespaces"].([]any); len(tss) != 1 || fmt.Sprint(tss[0]) != fmt.Sprintf("[tbs1 %s %s]", cl.oid, cl.tbs) {
		t.Errorf("tablespaces = %v", info["tablespaces"])
	}
	if cs, _ := info["copy_stats"].(map[string]any); cs["number_of_workers"] == nil || cs["copy_time_per_item"] == nil {
		t.Errorf("copy_stats = %v", info["copy_stats"])
	}
	_, hasCluster := info["cluster_size"]
	if hasCluster == v.fmt34 {
		t.Errorf("cluster_size present: %v, with the 3.4 field set: %v", hasCluster, v.fmt34)
	}
	if v.fmt34 {
		j := py[map[string]any](t, raw, "-c", pyInfo34, b.id)
		if j["status"] != "DONE" || j["begin_wal"] != info["begin_wal"] {
			t.Errorf("Barman 3.4 reads status %v, begin_wal %v", j["status"], j["begin_wal"])
		}
		// Debian's barman-cloud-backup-list and -show (3.4.0) see it.
		args := append(append([]string{}, tg.Args...), tg.URL(prefix), "pg")
		r := harness.Run(t, nil, "/usr/bin/barman-cloud-backup-list", args...)
		if r.Code != 0 || !strings.Contains(r.Stdout, b.id) || strings.Contains(r.Stderr, "Unable to open") {
			t.Errorf("Barman 3.4's backup-list: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
		}
		r = harness.Run(t, nil, "/usr/bin/barman-cloud-backup-show", append(args, b.id)...)
		if r.Code != 0 || !strings.Contains(r.Stdout, "DONE") || !strings.Contains(r.Stdout, "tbs1") {
			t.Errorf("Barman 3.4's backup-show: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
		}
	}
	if path.Base(b.objects["backup.info"].Key) != "backup.info" {
		t.Errorf("backup.info key %s", b.objects["backup.info"].Key)
	}
}

// backupName is the value of -n in args.
func backupName(args []string) string {
	for i, a := range args {
		if a == "-n" && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}
