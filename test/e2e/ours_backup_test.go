//go:build integration

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/barmancloud/barman-cloud/test/harness"
	"github.com/barmancloud/barman-cloud/test/oracle"
	"github.com/barmancloud/barman-cloud/test/pgtest"
)

// ourVariant is one backup of TestOurBackupRestore: our barman-cloud-backup
// to one provider with its options; barman says whose barman-cloud-restore
// restores it (Barman 3.4.0's for a backup written with its backup.info
// fields).
type ourVariant struct {
	name   string
	tg     oracle.Target
	args   []string
	split  bool // -S small enough that PGDATA takes several archives
	barman bool
}

// pgbenchTables are compared, with t1, after recovery.
var pgbenchTables = []string{"pgbench_accounts", "pgbench_branches", "pgbench_tellers", "pgbench_history", "t1"}

// TestOurBackupRestore: our barman-cloud-backup backs up a PostgreSQL 15
// cluster with a tablespace while pgbench writes to both tablespaces and
// archive_command is our wal-archive: plain to MinIO, gzip to Azurite,
// split into several archives by a small --max-archive-size to
// fake-gcs-server, and in Barman 3.4's backup.info fields to MinIO. Our
// restore restores the first three into a new data directory and a new
// tablespace location; Debian's Barman 3.4.0 lists, shows and restores the
// fourth. PostgreSQL then recovers each through our wal-restore to the end
// of the archive, and every table holds exactly what the primary held when
// it stopped (an md5 of all its rows).
func TestOurBackupRestore(t *testing.T) {
	s := pgtest.New(t)
	s.AddStorageEnv()
	variants := []ourVariant{
		{name: "s3-plain", tg: oracle.S3(t)},
		{name: "azure-gzip", tg: oracle.Azure(t), args: []string{"-z"}},
		{name: "gcs-split", tg: oracle.GCS(t), args: []string{"-S", "4MB", "-J", "3"}, split: true},
		{name: "s3-barman-3.4", tg: oracle.S3(t), args: []string{"-z", "--backup-info-format", "3.4"}, barman: true},
	}
	prefixes := map[string]string{}
	for _, v := range variants {
		prefixes[v.name] = harness.UniquePrefix(t) + "-" + v.name
		t.Cleanup(func() { deletePrefix(t, v.tg, prefixes[v.name]) })
	}

	primary := s.InitDB("primary", 16)
	set := primary.BaseSettings()
	set["archive_mode"] = "on"
	// Every WAL file to every variant's prefix, so that each backup finds
	// its WAL beside it.
	var archive []string
	for _, v := range variants {
		archive = append(archive, fmt.Sprintf("%s --gzip %s %s pg %%p", s.Tool("barman-cloud-wal-archive"), strings.Join(v.tg.Args, " "), v.tg.URL(prefixes[v.name])))
	}
	set["archive_command"] = strings.Join(archive, " && ")
	primary.Configure(set)
	primary.Start()
	primary.CreateTablespace("tbs")
	s.MustRun(3*time.Minute, pgtest.Bin+"/pgbench", "-i", "-s", "3", "-q", "--tablespace=tbs", "-h", primary.Dir, "-U", "postgres", "postgres")
	primary.Psql(`create table t1 (id int primary key, v text);
		insert into t1 select g, md5(g::text) from generate_series(1, 50000) g;`)

	// pgbench writes, in short runs, until every backup has ended.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var loadErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := s.Run(time.Minute, pgtest.Bin+"/pgbench", "-T", "2", "-c", "2", "-h", primary.Dir, "-U", "postgres", "postgres"); err != nil {
				loadErr = err
				return
			}
		}
	}()
	time.Sleep(2 * time.Second)
	ids := map[string]string{}
	for _, v := range variants {
		args := append(append(append([]string{}, v.tg.Args...), v.args...), "--immediate-checkpoint", "-h", primary.Dir, "-U", "postgres", v.tg.URL(prefixes[v.name]), "pg")
		r := harness.Run(t, nil, harness.Tool(t, "barman-cloud-backup"), args...)
		if r.Code != 0 || r.Stderr != "" {
			close(stop)
			wg.Wait()
			t.Fatalf("%s: our barman-cloud-backup: exit %d\n%s", v.name, r.Code, r.Stderr)
		}
		t.Logf("%s: our backup took %s", v.name, r.Elapsed.Round(time.Millisecond))
		ids[v.name] = backupID(t, v.tg, prefixes[v.name])
	}
	close(stop)
	wg.Wait()
	if loadErr != nil {
		t.Fatalf("pgbench: %v", loadErr)
	}
	if n := primary.Psql("select count(*) from pgbench_history"); n == "0" {
		t.Fatal("pgbench wrote nothing during the backups")
	}
	// After the backups: more writes in both tablespaces, then a WAL switch
	// so that all of it is archived.
	primary.Psql(`update t1 set v = 'after' where id % 97 = 0;
		update pgbench_accounts set abalance = abalance + 1 where aid % 101 = 0;`)
	primary.WaitArchived(primary.SwitchWAL())
	want := tableSums(primary, pgbenchTables...)
	primary.Stop(pgtest.Fast)

	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			prefix, id := prefixes[v.name], ids[v.name]
			if v.split {
				if n := countArchives(t, v.tg, prefix, id, "data"); n < 2 {
					t.Errorf("PGDATA stored in %d archive(s) with -S 4MB, want several", n)
				}
			}
			c := s.Cluster("restored-" + v.name)
			newTbs := filepath.Join(s.Dir, "restored-"+v.name+"-tbs")
			restore := harness.Tool(t, "barman-cloud-restore")
			if v.barman {
				// Barman's list and show print what ours do, and Barman's
				// restore restores it.
				compareCatalog(t, backupVariant{name: v.name, tg: v.tg}, prefix, id)
				restore = barmanRestore
			}
			r := harness.Run(t, nil, restore, append(append([]string{}, v.tg.Args...),
				"--tablespace", "tbs:"+newTbs, v.tg.URL(prefix), "pg", id, c.Data)...)
			if r.Code != 0 {
				t.Fatalf("%s: exit %d\n%s", restore, r.Code, r.Stderr)
			}
			t.Logf("restore took %s", r.Elapsed.Round(time.Millisecond))
			checkTablespaceLink(t, c.Data, newTbs)
			if v.barman {
				// Barman's restore, run as root, leaves backup_label (and
				// the directories it makes) to root.
				chownLike(t, s.Dir, c.Data)
				chownLike(t, s.Dir, newTbs)
			}

			recoverAndCompare(t, s, c, v.tg, prefix, want, newTbs)
		})
	}
}

// countArchives counts the archives of item (data, or a tablespace OID)
// of backup id, as the oracle lists them: ITEM.tar[.ext], ITEM_0001.tar…
func countArchives(t *testing.T, tg oracle.Target, prefix, id, item string) int {
	t.Helper()
	re := regexp.MustCompile(`^` + item + `(_\d{4})?\.tar(\.[a-z0-9]+)?$`)
	n := 0
	for _, k := range tg.Keys(t, prefix+"/pg/base/"+id+"/") {
		if re.MatchString(strings.TrimPrefix(k, prefix+"/pg/base/"+id+"/")) {
			n++
		}
	}
	return n
}

// chownLike gives every entry under dir the owner of ref (the sandbox,
// owned by the PostgreSQL user), for a restore that ran as root.
func chownLike(t *testing.T, ref, dir string) {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(ref, &st); err != nil {
		t.Fatal(err)
	}
	err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(st.Uid), int(st.Gid))
	})
	if err != nil {
		t.Fatal(err)
	}
}
