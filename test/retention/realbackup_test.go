//go:build integration

package retention

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/barmancloud/barman-cloud/test/harness"
	"github.com/barmancloud/barman-cloud/test/oracle"
	"github.com/barmancloud/barman-cloud/test/pgtest"
	"github.com/barmancloud/barman-cloud/test/targets"
)

// TestRealBackups: a real PostgreSQL 15 archives its WAL with our
// wal-archive while our barman-cloud-backup takes three backups (in
// Barman 3.4's backup.info format) into MinIO. Our --dry-run of
// "REDUNDANCY 2" deletes what Barman 3.4's does; the real run deletes the
// first backup and exactly the WALs before the second one's begin_wal
// (checked by the oracle); the oldest remaining backup is then restored
// and PostgreSQL recovers through our wal-restore to the last row
// written: nothing it needs is gone.
func TestRealBackups(t *testing.T) {
	tg := oracle.S3(t)
	prefix := harness.UniquePrefix(t)
	url := tg.URL(prefix)
	s := pgtest.New(t)
	s.AddEnv(
		"AWS_ACCESS_KEY_ID="+harness.Env(t, "AWS_ACCESS_KEY_ID"),
		"AWS_SECRET_ACCESS_KEY="+harness.Env(t, "AWS_SECRET_ACCESS_KEY"),
		"AWS_REGION="+harness.Env(t, "AWS_REGION"),
		"AWS_EC2_METADATA_DISABLED=true",
	)
	c := s.InitDB("pg", 16)
	set := c.BaseSettings()
	set["archive_mode"] = "on"
	set["archive_command"] = fmt.Sprintf("%s --gzip %s %s pg %%p", s.Tool("barman-cloud-wal-archive"), strings.Join(tg.Args, " "), url)
	c.Configure(set)
	c.Start()
	c.Psql("create table t (id int, v text)")
	var ids []string
	for i := range 3 {
		c.Psql(fmt.Sprintf("insert into t select g, md5(g::text) from generate_series(%d, %d) g", i*1000+1, i*1000+1000))
		c.WaitArchived(c.SwitchWAL())
		r := harness.Run(t, nil, harness.Tool(t, "barman-cloud-backup"), append(append([]string{"--immediate-checkpoint", "-h", c.Dir, "-U", "postgres",
			"--backup-info-format", "3.4"}, tg.Args...), url, "pg")...)
		if r.Code != 0 {
			t.Fatalf("backup %d: exit %d\n%s", i, r.Code, r.Stderr)
		}
		time.Sleep(1100 * time.Millisecond) // IDs are seconds
	}
	c.Psql("insert into t select g, 'after' from generate_series(3001, 3500) g")
	c.WaitArchived(c.SwitchWAL())
	c.Stop(pgtest.Fast)

	// The backups and their begin_wal, as the oracle reads them.
	begin := map[string]string{}
	for _, o := range tg.Objects(t, prefix+"/pg/base/", true) {
		id, ok := strings.CutSuffix(strings.TrimPrefix(o.Key, prefix+"/pg/base/"), "/backup.info")
		if !ok {
			continue
		}
		ids = append(ids, id)
		for _, l := range strings.Split(string(o.Data(t)), "\n") {
			if v, ok := strings.CutPrefix(l, "begin_wal="); ok {
				begin[id] = v
			}
		}
	}
	sort.Strings(ids)
	if len(ids) != 3 || len(begin) != 3 {
		t.Fatalf("backups %v, begin_wal %v", ids, begin)
	}

	// Dry runs: ours and Barman 3.4's delete the same objects.
	args := []string{"--dry-run", "-r", "REDUNDANCY 2", url, "pg"}
	theirs := harness.Run(t, nil, barmanDelete, append(slices.Clone(tg.Args), args...)...)
	ours := targets.Run(t, tg, "barman-cloud-backup-delete", args...)
	if theirs.Code != 0 || ours.Code != 0 {
		t.Fatalf("Barman exit %d (%s), ours %d (%s)", theirs.Code, theirs.Stderr, ours.Code, ours.Stderr)
	}
	tk, tp := dryRunSet(t, prefix, strings.ReplaceAll(theirs.Stdout, "/pg/", "/srv/"))
	ok, op := dryRunSet(t, prefix, strings.ReplaceAll(ours.Stdout, "/pg/", "/srv/"))
	if len(tp)+len(op) > 0 || !slices.Equal(tk, ok) || len(ok) == 0 {
		t.Errorf("Barman 3.4 would delete %v %v, we would delete %v %v", tk, tp, ok, op)
	}

	// The real run: the first backup goes, with the WALs before the
	// second one's begin_wal, and nothing else.
	before := tg.Keys(t, prefix)
	if r := targets.Run(t, tg, "barman-cloud-backup-delete", "-r", "REDUNDANCY 2", url, "pg"); r.Code != 0 {
		t.Fatalf("delete: exit %d\n%s", r.Code, r.Stderr)
	}
	after := tg.Keys(t, prefix)
	var gone []string
	for _, k := range before {
		if !slices.Contains(after, k) {
			gone = append(gone, k)
		}
	}
	var want []string
	for _, k := range before {
		rest := strings.TrimPrefix(k, prefix+"/pg/")
		switch {
		case strings.HasPrefix(rest, "base/"+ids[0]+"/"):
			want = append(want, k)
		case strings.HasPrefix(rest, "wals/"):
			name := rest[strings.LastIndexByte(rest, '/')+1:]
			if !strings.Contains(name, ".history") && name < begin[ids[1]] {
				want = append(want, k)
			}
		}
	}
	if !slices.Equal(gone, want) || len(gone) < 3 {
		t.Errorf("deleted\n%v\nwant\n%v", gone, want)
	}

	// The oldest remaining backup still recovers to the last row.
	rc := s.Cluster("restored")
	if r := harness.Run(t, nil, harness.Tool(t, "barman-cloud-restore"), append(slices.Clone(tg.Args), url, "pg", "oldest", rc.Data)...); r.Code != 0 {
		t.Fatalf("restore: exit %d\n%s", r.Code, r.Stderr)
	}
	set = rc.BaseSettings()
	set["archive_mode"] = "off"
	set["restore_command"] = fmt.Sprintf("%s %s %s pg %%f %%p", s.Tool("barman-cloud-wal-restore"), strings.Join(tg.Args, " "), url)
	rc.Configure(set)
	rc.Touch("recovery.signal")
	rc.Start()
	rc.WaitPromoted()
	if n := rc.Psql("select count(*) from t"); n != "3500" {
		t.Errorf("%s rows after recovery from %s, want 3500", n, ids[1])
	}
}
