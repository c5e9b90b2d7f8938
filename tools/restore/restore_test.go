package restore

import (
	"archive/tar"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/barmancloud/barman-cloud/shared/backupinfo"
	"github.com/barmancloud/barman-cloud/shared/catalog"
	"github.com/barmancloud/barman-cloud/shared/catalog/catalogtest"
	"github.com/barmancloud/barman-cloud/shared/cloudcli/clitest"
	"github.com/barmancloud/barman-cloud/shared/compress"
	"github.com/barmancloud/barman-cloud/shared/pylit"
)

const id = "20240501T120000"

// wantPGDATA is pgdataMembers restored, with the pg_wal directory restore
// creates.
var wantPGDATA = map[string]string{
	".":                 "d 0700",
	"PG_VERSION":        "f 0600 15\n",
	"postgresql.conf":   "f 0600 # conf\n",
	"base":              "d 0700",
	"base/1":            "d 0700",
	"base/1/16384":      "f 0600 " + strings.Repeat("page", 5000),
	"base/1/16384_link": "f 0600 " + strings.Repeat("page", 5000),
	"pg_wal":            "d 0700",
	"pg_tblspc":         "d 0700",
	"global":            "d 0700",
	"global/pg_control": "f 0600 control",
	"somelink":          "l PG_VERSION",
	"backup_label":      "f 0644 START WAL LOCATION: 0/2000028\n",
}

func TestCompressions(t *testing.T) {
	for _, alg := range []*compress.Algorithm{nil, compress.Gzip, compress.Bzip2, compress.Snappy} {
		name := catalog.ArchiveExt(alg)
		t.Run(name, func(t *testing.T) {
			s, u := catalogtest.FileStore(t)
			putBackup(t, s, "srv", id, doneInfo("/pg/data", 150004), map[string][]byte{
				"data." + name: tarball(t, alg, pgdataMembers...),
			})
			dest := filepath.Join(t.TempDir(), "restored")
			r := clitest.Run(t, Tool, nil, "-vv", u, "srv", id, dest)
			if r.Code != 0 {
				t.Fatalf("exit %d: %s", r.Code, r.Stderr)
			}
			checkTree(t, dest, wantPGDATA)
			fi, err := os.Stat(filepath.Join(dest, "base/1/16384"))
			if err != nil || !fi.ModTime().Equal(mtime) {
				t.Errorf("base/1/16384: mtime %v, %v; want %v", fi.ModTime(), err, mtime)
			}
			what := "no compression"
			if alg != nil {
				what = "decompressing " + alg.Name
			}
			for _, want := range []string{
				"INFO: Restoring from backup_id: " + id,
				"DEBUG: Extracting srv/base/" + id + "/data." + name + " to " + dest + " (" + what + ")",
				"INFO: Restored backup " + id + " of server srv into " + dest + ": 1 archives",
				"restore_command = 'barman-cloud-wal-restore " + u + " srv %f %p'",
				"create " + dest + "/recovery.signal",
			} {
				if !strings.Contains(r.Stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.Stderr)
				}
			}
		})
	}
}

// checkTree compares the tree at root with want (readTree's format).
func checkTree(t *testing.T, root string, want map[string]string) {
	t.Helper()
	got := readTree(t, root)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %.60q, want %.60q", k, got[k], v)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected %.60q", k, v)
		}
	}
}

// TestPartsAndTablespaces: PGDATA in three parts, a tablespace in two
// parts restored where it was, another relocated by --tablespace through
// a symbolic link (made absolute and resolved), a rule for a tablespace
// the backup does not have, and the pg_tblspc links.
func TestPartsAndTablespaces(t *testing.T) {
	s, u := catalogtest.FileStore(t)
	tmp := t.TempDir()
	orig1 := filepath.Join(tmp, "orig1")
	if err := os.Mkdir(filepath.Join(tmp, "real"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real", filepath.Join(tmp, "link")); err != nil {
		t.Fatal(err)
	}
	info := doneInfo("/pg/data", 150004,
		backupinfo.Tablespace{Name: "tbs1", OID: 16400, Location: orig1},
		backupinfo.Tablespace{Name: "tbs2", OID: 16401, Location: filepath.Join(tmp, "orig2")})
	gz := compress.Gzip
	ts := func(files ...string) []member {
		var m []member
		for _, f := range files {
			m = append(m, member{name: f, body: "content of " + f})
		}
		return m
	}
	putBackup(t, s, "srv", id, info, map[string][]byte{
		"data.tar.gz":       tarball(t, gz, pgdataMembers[:5]...),
		"data_0001.tar.gz":  tarball(t, gz, append(slices.Clone(pgdataMembers[5:11]), member{name: "backup_label", body: "stale"})...),
		"data_0002.tar.gz":  tarball(t, gz, pgdataMembers[11:]...),
		"16400.tar.gz":      tarball(t, gz, append([]member{{name: "PG_15_202209061", typ: tar.TypeDir}}, ts("PG_15_202209061/5")...)...),
		"16400_0001.tar.gz": tarball(t, gz, ts("PG_15_202209061/6")...),
		"16401.tar.gz":      tarball(t, gz, ts("PG_15_202209061/7")...),
		// Not a family of this backup: OID 1640 would not claim it either.
		"1640.tar.gz": []byte("junk"),
	})
	dest := filepath.Join(tmp, "restored")
	r := clitest.Run(t, Tool, nil, "--tablespace", "tbs2:"+filepath.Join(tmp, "link", "new2"), "--tablespace", "nosuch:/x",
		u, "srv", id, dest)
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	if !strings.Contains(r.Stderr, "WARNING: Tablespace relocation rule for 'nosuch' ignored") {
		t.Errorf("no warning for the unknown tablespace:\n%s", r.Stderr)
	}
	new2 := filepath.Join(tmp, "real", "new2")
	want := map[string]string{}
	for k, v := range wantPGDATA {
		want[k] = v
	}
	want["pg_tblspc/16400"] = "l " + orig1
	want["pg_tblspc/16401"] = "l " + new2
	checkTree(t, dest, want)
	checkTree(t, orig1, map[string]string{
		".": "d 0700", "PG_15_202209061": "d 0700",
		"PG_15_202209061/5": "f 0600 content of PG_15_202209061/5",
		"PG_15_202209061/6": "f 0600 content of PG_15_202209061/6",
	})
	checkTree(t, new2, map[string]string{
		".": "d 0700", "PG_15_202209061": "d 0700",
		"PG_15_202209061/7": "f 0600 content of PG_15_202209061/7",
	})
	if _, err := os.Lstat(filepath.Join(tmp, "orig2")); err == nil {
		t.Error("the relocated tablespace's original location was created")
	}
}

// TestErrors: each failure's exit status and one-line message, and what
// it leaves.
func TestErrors(t *testing.T) {
	gz := compress.Gzip
	good := tarball(t, gz, pgdataMembers...)
	corruptCRC := append([]byte(nil), good...)
	corruptCRC[len(corruptCRC)-8] ^= 0xff // the CRC-32 in gzip's trailer
	plain := tarball(t, nil, pgdataMembers...)
	for _, tc := range []struct {
		name     string
		info     func(tmp string) *backupinfo.Info // nil: doneInfo
		archives map[string][]byte                 // nil: a good data.tar.gz
		args     []string                          // before the positionals
		backup   string                            // BACKUP_ID, id when ""
		setup    func(t *testing.T, tmp, dest string)
		code     int
		stderr   string
		check    func(t *testing.T, tmp, dest string)
	}{
		{
			name:  "destination not empty",
			setup: func(t *testing.T, _, dest string) { mkfile(t, filepath.Join(dest, "x")) },
			code:  1, stderr: "ERROR: Destination DEST already exists and it is not empty",
		},
		{
			name: "destination is a file",
			setup: func(t *testing.T, _, dest string) {
				if err := os.WriteFile(dest, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			},
			code: 4, stderr: "ERROR: Destination DEST: ",
		},
		{
			name: "tablespace directory not empty",
			info: func(tmp string) *backupinfo.Info {
				return doneInfo("/pg/data", 150004, backupinfo.Tablespace{Name: "tbs1", OID: 16400, Location: filepath.Join(tmp, "tbs")})
			},
			archives: map[string][]byte{"data.tar.gz": good, "16400.tar.gz": tarball(t, gz)},
			setup:    func(t *testing.T, tmp, _ string) { mkfile(t, filepath.Join(tmp, "tbs", "x")) },
			code:     1, stderr: "ERROR: Destination TMP/tbs already exists and it is not empty",
			check: func(t *testing.T, _, dest string) {
				if _, err := os.Lstat(dest); err == nil {
					t.Error("RECOVERY_DIR was created")
				}
			},
		},
		{
			name:     "member ../x",
			archives: map[string][]byte{"data.tar.gz": tarball(t, gz, member{name: ".", typ: tar.TypeDir}, member{name: "../x", body: "evil"})},
			code:     4, stderr: `ERROR: extracting KEY/data.tar.gz into DEST: tar member "../x": path is absolute or outside the destination`,
			check: func(t *testing.T, tmp, _ string) {
				if _, err := os.Lstat(filepath.Join(tmp, "x")); err == nil {
					t.Error("../x was written")
				}
			},
		},
		{
			name:     "absolute member",
			archives: map[string][]byte{"data.tar": tarball(t, nil, member{name: "/abs", body: "evil"})},
			code:     4, stderr: `ERROR: extracting KEY/data.tar into DEST: tar member "/abs": path is absolute or outside the destination`,
		},
		{
			name:     "symlink target outside, then a member through it",
			archives: map[string][]byte{"data.tar": tarball(t, nil, member{name: "l", typ: tar.TypeSymlink, body: "/etc"}, member{name: "l/passwd", body: "evil"})},
			code:     4, stderr: `tar member "l/passwd": l: path goes through a symbolic link`,
		},
		{
			name:     "truncated gzip",
			archives: map[string][]byte{"data.tar.gz": good[:len(good)/2]},
			code:     4, stderr: "ERROR: extracting KEY/data.tar.gz into DEST: ",
		},
		{
			name:     "not a gzip file",
			archives: map[string][]byte{"data.tar.gz": plain},
			code:     4, stderr: "ERROR: extracting KEY/data.tar.gz into DEST: invalid gzip data",
		},
		{
			name:     "gzip checksum wrong after a complete tar",
			archives: map[string][]byte{"data.tar.gz": corruptCRC},
			code:     4, stderr: "ERROR: extracting KEY/data.tar.gz into DEST: after the end of the tar archive: invalid gzip data",
		},
		{
			name:     "plain tar without its end blocks",
			archives: map[string][]byte{"data.tar": plain[:len(plain)-10240]},
			code:     4, stderr: "ERROR: extracting KEY/data.tar into DEST: tar stream ends before its end-of-archive marker",
		},
		{
			name: "unknown backup", backup: "nosuch",
			code: 4, stderr: "ERROR: Unknown backup 'nosuch' for server 'srv'",
		},
		{
			name: "missing backup", backup: "20230101T000000",
			code: 1, stderr: "ERROR: Backup 20230101T000000 for server srv does not exists",
		},
		{
			name: "missing tablespace archive",
			info: func(tmp string) *backupinfo.Info {
				return doneInfo("/pg/data", 150004, backupinfo.Tablespace{Name: "tbs1", OID: 16400, Location: filepath.Join(tmp, "tbs")})
			},
			code: 1, stderr: "ERROR: Missing file KEY/16400.* for server srv",
			check: func(t *testing.T, _, dest string) {
				if _, err := os.Lstat(dest); err == nil {
					t.Error("RECOVERY_DIR was created")
				}
			},
		},
		{
			name: "failed backup",
			info: func(string) *backupinfo.Info {
				i := doneInfo("/pg/data", 150004)
				i.Status = backupinfo.Some(backupinfo.StatusFailed)
				i.Error = backupinfo.Some("failure uploading data")
				return i
			},
			code: 1, stderr: "ERROR: Backup " + id + " for server srv has status FAILED (failure uploading data): only a DONE backup can be restored",
		},
		{
			name: "snapshot backup",
			info: func(string) *backupinfo.Info {
				i := doneInfo("/pg/data", 150004)
				i.SnapshotsInfo = pylit.Dict{{Key: "provider", Value: "gcp"}}
				return i
			},
			code: 4, stderr: "ERROR: Backup " + id + " is a snapshot backup: snapshot recovery is not supported",
		},
		{
			name: "snapshot recovery option", args: []string{"--snapshot-recovery-instance", "vm1"},
			code: 3, stderr: "barman-cloud-restore: error: argument --snapshot-recovery-instance: snapshot recovery is not supported",
		},
		{
			name: "target-tli zero", args: []string{"--target-tli", "0"},
			code: 3, stderr: "argument --target-tli: '0' is not a valid positive integer",
		},
		{
			name: "target-lsn and target-time", args: []string{"--target-lsn", "0/1", "--target-time", "2024-01-01 00:00:00"},
			code: 3, stderr: "not allowed with argument",
		},
		{
			name: "rule without a location", args: []string{"--tablespace", "tbs1"},
			code: 3, stderr: "ERROR: Invalid tablespace relocation rule 'tbs1'. HINT: The valid syntax for a relocation rule is NAME:LOCATION",
		},
		{
			name: "test", args: []string{"-t"},
			check: func(t *testing.T, _, dest string) {
				if _, err := os.Lstat(dest); err == nil {
					t.Error("RECOVERY_DIR was created by -t")
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, u := catalogtest.FileStore(t)
			tmp := t.TempDir()
			dest := filepath.Join(tmp, "restored")
			info := doneInfo("/pg/data", 150004)
			if tc.info != nil {
				info = tc.info(tmp)
			}
			archives := tc.archives
			if archives == nil {
				archives = map[string][]byte{"data.tar.gz": good}
			}
			putBackup(t, s, "srv", id, info, archives)
			if tc.setup != nil {
				tc.setup(t, tmp, dest)
			}
			backup := tc.backup
			if backup == "" {
				backup = id
			}
			r := clitest.Run(t, Tool, nil, append(tc.args, u, "srv", backup, dest)...)
			key := strings.TrimSuffix(catalog.New(s, "srv").Dir(id), "/")
			want := strings.NewReplacer("DEST", dest, "TMP", tmp, "KEY", key).Replace(tc.stderr)
			if r.Code != tc.code || !strings.Contains(r.Stderr, want) {
				t.Errorf("exit %d, want %d; stderr, want %q:\n%s", r.Code, tc.code, want, r.Stderr)
			}
			if n := strings.Count(r.Stderr, "ERROR"); tc.code != 0 && tc.code != 3 && n != 1 {
				t.Errorf("%d ERROR lines, want 1", n)
			}
			if strings.Contains(r.Stderr, "INFO: Restored") {
				t.Errorf("a failed restore claims success:\n%s", r.Stderr)
			}
			if tc.check != nil {
				tc.check(t, tmp, dest)
			}
		})
	}
}

func mkfile(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestRuleBeforeStorage: an invalid --tablespace rule is refused before
// the storage is asked anything.
func TestRuleBeforeStorage(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.Error(w, "no", http.StatusInternalServerError)
	}))
	defer srv.Close()
	env := map[string]string{"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_REGION": "us-east-1"}
	r := clitest.Run(t, Tool, env, "--endpoint-url", srv.URL, "--tablespace", "ok:/x", "--tablespace", "bad",
		"s3://bucket/pfx", "srv", id, filepath.Join(t.TempDir(), "d"))
	if r.Code != 3 || !strings.Contains(r.Stderr, "ERROR: Invalid tablespace relocation rule 'bad'. HINT: ") {
		t.Errorf("exit %d, stderr:\n%s", r.Code, r.Stderr)
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("%d requests to the storage, want none", n)
	}
}

// TestOldVersionAndExternalConfig: a PostgreSQL 9.6 backup gets pg_xlog,
// and a configuration file that was outside PGDATA is pointed out.
func TestOldVersionAndExternalConfig(t *testing.T) {
	s, u := catalogtest.FileStore(t)
	info := doneInfo("/var/lib/postgresql/9.6/main", 90624)
	info.ConfigFile = backupinfo.Some("/etc/postgresql/9.6/main/postgresql.conf")
	info.IncludedFiles = []string{"/etc/postgresql/9.6/main/extra.conf"}
	putBackup(t, s, "srv", id, info, map[string][]byte{
		"data.tar.bz2": tarball(t, compress.Bzip2, member{name: ".", typ: tar.TypeDir}, member{name: "postgresql.conf", body: "x"}),
	})
	dest := filepath.Join(t.TempDir(), "restored")
	r := clitest.Run(t, Tool, nil, "-v", "--target-time", "2024-05-01 12:00:00", u, "srv", id, dest)
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	checkTree(t, dest, map[string]string{".": "d 0700", "postgresql.conf": "f 0600 x", "pg_xlog": "d 0700"})
	for _, want := range []string{
		"WARNING: postgresql.conf was outside PGDATA when the backup was taken (/etc/postgresql/9.6/main/postgresql.conf): it is restored as " + dest + "/postgresql.conf",
		"WARNING: /etc/postgresql/9.6/main/extra.conf, included by the configuration, was outside PGDATA and is not in the backup",
		"create " + dest + "/recovery.conf with restore_command = 'barman-cloud-wal-restore " + u + " srv %f %p', recovery_target_time = '2024-05-01 12:00:00'",
	} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.Stderr)
		}
	}
}

// TestAuto: BACKUP_ID auto and the target options on catalog C, whose
// backups here each hold a file naming them.
func TestAuto(t *testing.T) {
	s, u := catalogtest.FileStore(t)
	catalogtest.FixtureC(t, s, "srv")
	c := catalog.New(s, "srv")
	l, err := c.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range l.Backups {
		catalogtest.Put(t, s, c.Dir(b.ID)+"data.tar.gz", string(tarball(t, compress.Gzip, member{name: ".", typ: tar.TypeDir}, member{name: "id", body: b.ID})))
	}
	for _, tc := range []struct {
		args []string // before BACKUP_ID
		want string   // the backup restored
		code int
		msg  string
	}{
		{want: "20240205T000000"},
		{args: []string{"--target-tli", "1"}, want: "20240129T000000"},
		{args: []string{"--target-tli", "2"}, want: "20240205T000000"},
		{args: []string{"--target-tli", "3"}, code: 1, msg: "ERROR: Cannot find any candidate backup for recovery."},
		{args: []string{"--target-tli", "current"}, code: 4, msg: "ERROR: 'current' is not a valid timeline keyword when recovering without a backup_id"},
		{args: []string{"--target-time", "2024-01-25 00:00:00+00:00"}, want: "20240122T000000"},
		{args: []string{"--target-time", "2024-01-22T00:10:00Z"}, want: "20240122T000000"},
		// The FAILED backup of 01-15 is no candidate.
		{args: []string{"--target-time", "2024-01-15 12:00:00+00"}, want: "20240108T000000"},
		{args: []string{"--target-time", "2024-01-01 00:05:00+00"}, code: 1, msg: "Cannot find any candidate backup"},
		{args: []string{"--target-time", "2024-02-06 00:00:00+00", "--target-tli", "1"}, want: "20240129T000000"},
		{args: []string{"--target-time", "next tuesday"}, code: 4, msg: "ERROR: Unable to parse the target time parameter 'next tuesday': "},
		{args: []string{"--target-lsn", "1/6000100"}, want: "20240129T000000"},
		{args: []string{"--target-lsn", "1/60000FF"}, want: "20240122T000000"},
		{args: []string{"--target-lsn", "1/6000100", "--target-tli", "2"}, code: 1, msg: "Cannot find any candidate backup"},
		{args: []string{"--target-lsn", "zz"}, code: 4, msg: `ERROR: invalid LSN "zz"`},
	} {
		dest := filepath.Join(t.TempDir(), "d")
		r := clitest.Run(t, Tool, nil, append(append([]string{"-v"}, tc.args...), u, "srv", "auto", dest)...)
		if r.Code != tc.code || !strings.Contains(r.Stderr, tc.msg) {
			t.Errorf("%q: exit %d, want %d and %q:\n%s", tc.args, r.Code, tc.code, tc.msg, r.Stderr)
			continue
		}
		if tc.want == "" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dest, "id"))
		if err != nil || string(b) != tc.want || !strings.Contains(r.Stderr, "INFO: Restoring from backup_id: "+tc.want) {
			t.Errorf("%q: restored %q (%v), want %s:\n%s", tc.args, b, err, tc.want, r.Stderr)
		}
	}
	// --target-tli latest: the timeline of the newest WAL archived.
	for _, tc := range []struct {
		wals []string
		want string
		code int
	}{
		{wals: []string{"0000000100000000/000000010000000000000031.gz", "00000001.history"}, want: "20240129T000000"},
		{wals: []string{"0000000200000001/000000020000000100000010.gz"}, want: "20240205T000000"},
		{code: 4},
	} {
		s, u := catalogtest.FileStore(t)
		catalogtest.FixtureC(t, s, "srv")
		for _, b := range l.Backups {
			catalogtest.Put(t, s, c.Dir(b.ID)+"data.tar.gz", string(tarball(t, compress.Gzip, member{name: "id", body: b.ID})))
		}
		for _, w := range tc.wals {
			catalogtest.Put(t, s, "srv/wals/"+w, "wal")
		}
		dest := filepath.Join(t.TempDir(), "d")
		r := clitest.Run(t, Tool, nil, "--target-tli", "latest", u, "srv", "auto", dest)
		if r.Code != tc.code {
			t.Errorf("latest with %v: exit %d:\n%s", tc.wals, r.Code, r.Stderr)
			continue
		}
		if b, _ := os.ReadFile(filepath.Join(dest, "id")); string(b) != tc.want {
			t.Errorf("latest with %v: restored %q, want %q", tc.wals, b, tc.want)
		}
	}
	// A name and a shortcut go through the catalog, any status: a FAILED
	// backup is then refused.
	for arg, want := range map[string]string{"weekly": "20240122T000000", "oldest": "20240101T000000"} {
		dest := filepath.Join(t.TempDir(), "d")
		if r := clitest.Run(t, Tool, nil, u, "srv", arg, dest); r.Code != 0 {
			t.Errorf("%s: exit %d: %s", arg, r.Code, r.Stderr)
		} else if b, _ := os.ReadFile(filepath.Join(dest, "id")); string(b) != want {
			t.Errorf("%s: restored %q, want %s", arg, b, want)
		}
	}
	r := clitest.Run(t, Tool, nil, u, "srv", "last-failed", filepath.Join(t.TempDir(), "d"))
	if r.Code != 1 || !strings.Contains(r.Stderr, "Backup 20240115T000000 for server srv has status FAILED") {
		t.Errorf("last-failed: exit %d: %s", r.Code, r.Stderr)
	}
}

// TestBoundedMemory: what a restore allocates does not grow with the
// backup: a 48 MiB file in a plain and a gzip archive costs the
// pipeline's buffers and little more.
func TestBoundedMemory(t *testing.T) {
	const size = 48 << 20
	for _, alg := range []*compress.Algorithm{nil, compress.Gzip} {
		s, u := catalogtest.FileStore(t)
		putBackup(t, s, "srv", id, doneInfo("/pg/data", 150004), map[string][]byte{
			"data." + catalog.ArchiveExt(alg): tarball(t, alg, member{name: ".", typ: tar.TypeDir}, member{name: "big", body: strings.Repeat("x", size)}),
		})
		dest := filepath.Join(t.TempDir(), "d")
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		r := clitest.Run(t, Tool, nil, u, "srv", id, dest)
		runtime.ReadMemStats(&after)
		if r.Code != 0 {
			t.Fatalf("exit %d: %s", r.Code, r.Stderr)
		}
		if fi, err := os.Stat(filepath.Join(dest, "big")); err != nil || fi.Size() != size {
			t.Fatalf("big: %v, %v", fi, err)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 24<<20 {
			t.Errorf("%s: %d MiB allocated to restore a %d MiB file", catalog.ArchiveExt(alg), alloc>>20, size>>20)
		} else {
			t.Logf("%s: %.1f MiB allocated", catalog.ArchiveExt(alg), float64(alloc)/(1<<20))
		}
	}
}
