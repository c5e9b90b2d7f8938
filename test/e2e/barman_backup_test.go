//go:build integration

package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/barmancloud/barman-cloud/shared/storage"
	"github.com/barmancloud/barman-cloud/test/harness"
	"github.com/barmancloud/barman-cloud/test/oracle"
	"github.com/barmancloud/barman-cloud/test/pgtest"
	"github.com/barmancloud/barman-cloud/test/targets"
)

// Debian's Barman 3.4.0 client, installed by testenv/install-barman.sh.
const (
	barmanBackup  = "/usr/bin/barman-cloud-backup"
	barmanList    = "/usr/bin/barman-cloud-backup-list"
	barmanShow    = "/usr/bin/barman-cloud-backup-show"
	barmanRestore = "/usr/bin/barman-cloud-restore"
)

// backupVariant is one backup of the scenario: Barman's barman-cloud-backup
// to one provider, with its compression.
type backupVariant struct {
	name string
	tg   oracle.Target
	args []string // barman-cloud-backup's compression option
}

// TestBarmanBackupRestore: Debian's Barman 3.4.0 backs up a PostgreSQL 15
// cluster with a tablespace (plain to MinIO, gzip to Azurite) while it
// archives its WAL with our wal-archive; more is written after the
// backups. Our backup-list and backup-show read Barman's catalog and print
// what Barman's do; our restore restores each backup into a new data
// directory with the tablespace relocated, the same files Barman's restore
// writes; PostgreSQL recovers through our wal-restore to the end of the
// archive, and every table then holds what the primary held.
func TestBarmanBackupRestore(t *testing.T) {
	if !strings.Contains(os.Getenv("PYTHONPATH"), "pyshim") {
		t.Fatalf("PYTHONPATH (%q) lacks install-barman.sh's shim", os.Getenv("PYTHONPATH"))
	}
	s := pgtest.New(t)
	s.AddStorageEnv()
	prefix := harness.UniquePrefix(t)
	variants := []backupVariant{
		{name: "s3-plain", tg: oracle.S3(t)},
		{name: "azure-gzip", tg: oracle.Azure(t), args: []string{"-z"}},
	}

	for _, v := range variants {
		t.Cleanup(func() { deletePrefix(t, v.tg, prefix) })
	}

	primary := s.InitDB("primary", 16)
	set := primary.BaseSettings()
	set["archive_mode"] = "on"
	// Every WAL file to both stores, so that each backup finds its WAL
	// beside it.
	var archive []string
	for _, v := range variants {
		archive = append(archive, fmt.Sprintf("%s %s %s pg %%p", s.Tool("barman-cloud-wal-archive"), strings.Join(v.tg.Args, " "), v.tg.URL(prefix)))
	}
	set["archive_command"] = strings.Join(archive, " && ")
	primary.Configure(set)
	primary.Start()
	primary.CreateTablespace("tbs")
	primary.Psql(`create table t1 (id int primary key, v text);
		insert into t1 select g, md5(g::text) from generate_series(1, 50000) g;
		create table t2 (id int primary key, v text) tablespace tbs;
		insert into t2 select g, repeat(md5(g::text), 20) from generate_series(1, 20000) g;`)

	ids := map[string]string{}
	for i, v := range variants {
		args := append(append(append([]string{}, v.tg.Args...), v.args...), "--immediate-checkpoint", "-h", primary.Dir, "-U", "postgres", v.tg.URL(prefix), "pg")
		r := harness.Run(t, nil, barmanBackup, args...)
		if r.Code != 0 {
			t.Fatalf("%s: Barman's barman-cloud-backup: exit %d\n%s", v.name, r.Code, r.Stderr)
		}
		t.Logf("%s: Barman's backup took %s", v.name, r.Elapsed.Round(time.Millisecond))
		ids[v.name] = backupID(t, v.tg, prefix)
		// Rows written between the backups, in the second one only.
		primary.Psql(fmt.Sprintf("insert into t1 select g, '%s' from generate_series(%d, %d) g", v.name, 100001+i*100, 100100+i*100))
	}
	// After the backups: writes in both tablespaces, then a WAL switch so
	// that all of it is archived.
	primary.Psql(`update t1 set v = 'after' where id % 97 = 0;
		update t2 set v = 'after' where id % 13 = 0;
		create table t3 tablespace tbs as select g as id, g * 2 as v from generate_series(1, 5000) g;`)
	primary.WaitArchived(primary.SwitchWAL())
	want := tableSums(primary, "t1", "t2", "t3")
	primary.Stop(pgtest.Fast)

	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			id := ids[v.name]
			compareCatalog(t, v, prefix, id)
			c := s.Cluster("restored-" + v.name)
			newTbs := filepath.Join(s.Dir, "restored-"+v.name+"-tbs")
			r := harness.Run(t, nil, harness.Tool(t, "barman-cloud-restore"), append(append([]string{"-v"}, v.tg.Args...),
				"--tablespace", "tbs:"+newTbs, v.tg.URL(prefix), "pg", id, c.Data)...)
			if r.Code != 0 {
				t.Fatalf("our restore: exit %d\n%s", r.Code, r.Stderr)
			}
			ourTime := r.Elapsed
			if !strings.Contains(r.Stderr, "restore_command = 'barman-cloud-wal-restore") || !strings.Contains(r.Stderr, "recovery.signal") {
				t.Errorf("our restore does not say what to do next:\n%s", r.Stderr)
			}
			// Barman's restore of the same backup writes the same files.
			theirs := filepath.Join(t.TempDir(), "barman")
			theirsTbs := filepath.Join(t.TempDir(), "barman-tbs")
			r = harness.Run(t, nil, barmanRestore, append(append([]string{}, v.tg.Args...),
				"--tablespace", "tbs:"+theirsTbs, v.tg.URL(prefix), "pg", id, theirs)...)
			if r.Code != 0 {
				t.Fatalf("Barman's restore: exit %d\n%s", r.Code, r.Stderr)
			}
			t.Logf("restore: ours %s, Barman's %s", ourTime.Round(time.Millisecond), r.Elapsed.Round(time.Millisecond))
			compareTrees(t, c.Data, theirs, "pg_tblspc/")
			compareTrees(t, newTbs, theirsTbs, "")
			checkTablespaceLink(t, c.Data, newTbs)

			recoverAndCompare(t, s, c, v.tg, prefix, want, newTbs)
		})
	}
}

// backupID is the ID of the one backup under prefix in tg, read from the
// keys the oracle lists (not with the code under test).
func backupID(t *testing.T, tg oracle.Target, prefix string) string {
	t.Helper()
	var ids []string
	for _, k := range tg.Keys(t, prefix+"/pg/base/") {
		if id, ok := strings.CutSuffix(strings.TrimPrefix(k, prefix+"/pg/base/"), "/backup.info"); ok {
			ids = append(ids, id)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("backups under %s/pg/base/ in %s: %v, want one", prefix, tg.Name, ids)
	}
	return ids[0]
}

// deletePrefix removes what the test stored under prefix (Azurite keeps
// it in memory).
func deletePrefix(t *testing.T, tg oracle.Target, prefix string) {
	s := targets.Store(t, tg, prefix, "", storage.Options{})
	if _, err := s.DeletePrefix(context.Background(), prefix+"/", 1000); err != nil {
		t.Logf("cleaning up %s in %s: %v", prefix, tg.Name, err)
	}
}

// tableSums returns each table's row count and the md5 of its rows in
// their text order (pgbench_history has no key to order by).
func tableSums(c *pgtest.Cluster, tables ...string) map[string]string {
	sums := map[string]string{}
	for _, tb := range tables {
		sums[tb] = c.Psql(fmt.Sprintf("select count(*) || ' ' || md5(string_agg(t::text, ',' order by t::text)) from %s t", tb))
	}
	return sums
}

// recoverAndCompare starts c, restored from a backup under prefix in tg
// with its tablespace tbs moved to tbsDir, with recovery.signal and our
// wal-restore as restore_command; once recovery has reached the end of
// the archive, every table of want must hold what want says (the
// primary's tableSums) and tbs must be at tbsDir.
func recoverAndCompare(t *testing.T, s *pgtest.Sandbox, c *pgtest.Cluster, tg oracle.Target, prefix string, want map[string]string, tbsDir string) {
	t.Helper()
	set := c.BaseSettings()
	set["archive_mode"] = "off"
	set["restore_command"] = fmt.Sprintf("%s %s %s pg %%f %%p", s.Tool("barman-cloud-wal-restore"), strings.Join(tg.Args, " "), tg.URL(prefix))
	c.Configure(set)
	c.Touch("recovery.signal")
	c.Start()
	c.WaitPromoted()
	got := tableSums(c, slices.Sorted(maps.Keys(want))...)
	for tb, sum := range want {
		if got[tb] != sum {
			t.Errorf("table %s after recovery: %s, want %s (the primary's)", tb, got[tb], sum)
		}
	}
	if loc := c.Psql("select pg_tablespace_location(oid) from pg_tablespace where spcname = 'tbs'"); loc != tbsDir {
		t.Errorf("tablespace tbs is at %q, want %q", loc, tbsDir)
	}
	c.Stop(pgtest.Fast)
}

// compareCatalog runs our backup-list and backup-show and Barman's on the
// variant's catalog: the same console output.
func compareCatalog(t *testing.T, v backupVariant, prefix, id string) {
	t.Helper()
	for _, tc := range []struct {
		ours, theirs string
		args         []string
	}{
		{"barman-cloud-backup-list", barmanList, []string{v.tg.URL(prefix), "pg"}},
		{"barman-cloud-backup-show", barmanShow, []string{v.tg.URL(prefix), "pg", id}},
	} {
		args := append(append([]string{}, v.tg.Args...), tc.args...)
		ours := harness.Run(t, nil, harness.Tool(t, tc.ours), args...)
		theirs := harness.Run(t, nil, tc.theirs, args...)
		if ours.Code != 0 || theirs.Code != 0 || ours.Stdout != theirs.Stdout {
			t.Errorf("%s: ours (exit %d):\n%s\nBarman's (exit %d):\n%s%s", tc.ours, ours.Code, ours.Stdout+ours.Stderr, theirs.Code, theirs.Stdout, theirs.Stderr)
		}
	}
}

// entry is what compareTrees compares of a file, directory or link.
type entry struct {
	kind     string // "d", "f", "l"
	mode     fs.FileMode
	uid, gid uint32
	content  string // a file's sha256, a link's target
	mtime    time.Time
}

// tree reads the entries under root, but for root itself, whose owner and
// mode the archive does not always say (a tablespace's).
func tree(t *testing.T, root string) map[string]entry {
	t.Helper()
	out := map[string]entry{}
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		st := fi.Sys().(*syscall.Stat_t)
		e := entry{mode: fi.Mode().Perm(), uid: st.Uid, gid: st.Gid}
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			e.kind = "l"
			e.content, err = os.Readlink(p)
		case fi.IsDir():
			// Directories' times change as they are filled: not compared.
			e.kind = "d"
		default:
			e.kind, e.mtime = "f", fi.ModTime().Truncate(time.Millisecond)
			e.content, err = fileSHA256(p)
		}
		out[rel] = e
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// compareTrees checks that ours and Barman's restores wrote the same
// entries, with the same content, modes, owners and file times; entries
// under skip (the tablespace links, which point at different places) are
// only checked to exist in both. Run as root, our restore gives
// backup_label, which Barman's archive gives to root, to the data
// directory's owner.
func compareTrees(t *testing.T, ours, theirs, skip string) {
	t.Helper()
	a, b := tree(t, ours), tree(t, theirs)
	if len(a) == 0 {
		t.Errorf("%s: nothing restored", ours)
	}
	var root syscall.Stat_t
	if err := syscall.Stat(ours, &root); err != nil {
		t.Fatal(err)
	}
	for p, ea := range a {
		eb, ok := b[p]
		if p == "backup_label" && os.Geteuid() == 0 && eb.uid == 0 && ea.uid == root.Uid {
			ea.uid = eb.uid
		}
		switch {
		case !ok:
			t.Errorf("%s: restored by us, not by Barman", p)
		case skip != "" && strings.HasPrefix(p, skip):
		case ea != eb:
			t.Errorf("%s: ours %+v, Barman's %+v", p, ea, eb)
		}
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			t.Errorf("%s: restored by Barman, not by us", p)
		}
	}
}

// checkTablespaceLink checks that pg_tblspc holds one link, to dir.
func checkTablespaceLink(t *testing.T, data, dir string) {
	t.Helper()
	links, err := filepath.Glob(filepath.Join(data, "pg_tblspc", "*"))
	if err != nil || len(links) != 1 {
		t.Fatalf("pg_tblspc: %v, %v; want one link", links, err)
	}
	if !regexp.MustCompile(`^[0-9]+$`).MatchString(filepath.Base(links[0])) {
		t.Errorf("pg_tblspc/%s is not an OID", filepath.Base(links[0]))
	}
	if target, err := os.Readlink(links[0]); err != nil || target != dir {
		t.Errorf("%s -> %q (%v), want %s", links[0], target, err, dir)
	}
}
