package retention

import (
	"errors"
	"reflect"
	"slices"
	"testing"
)

func policy(t *testing.T, s string) *Policy {
	t.Helper()
	p, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return &p
}

// stepWant is one expected Step, without the fields the test does not set.
type stepWant struct {
	id       string
	prefixes []string
	keys     []string
	skipped  bool // WALSkipped is set
}

func checkSteps(t *testing.T, name string, got []Step, want []stepWant) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d steps %+v, want %d", name, len(got), got, len(want))
		return
	}
	for i, w := range want {
		g := got[i]
		if g.BackupID != w.id || !slices.Equal(g.WALPrefixes, w.prefixes) || !slices.Equal(g.WALKeys, w.keys) ||
			(g.WALSkipped != "") != w.skipped {
			t.Errorf("%s: step %d\n got %+v\nwant %+v", name, i, g, w)
		}
	}
}

// TestPlanC is every outcome of spec §11.3, on S3 (prefix deletions on)
// unless said otherwise.
func TestPlanC(t *testing.T) {
	walsC := ListWALs(walsC, walKeysC)
	first := stepWant{id: "20240101T000000", keys: []string{w1("01.gz"), w1("02.00000028.backup.gz"), w1("02.gz"), w1("03.gz")}}
	weekly := stepWant{id: "20240122T000000", keys: []string{w1("12.gz"), w1("30.gz")}}
	tests := []struct {
		name     string
		backups  []Backup
		req      Request
		noPrefix bool
		want     []stepWant
	}{
		{name: "-r REDUNDANCY 2", req: Request{Policy: policy(t, "REDUNDANCY 2")}, want: []stepWant{first, weekly}},
		{name: "-r REDUNDANCY 1", req: Request{Policy: policy(t, "REDUNDANCY 1")}, want: []stepWant{first, weekly}},
		{name: "-r RECOVERY WINDOW OF 1 WEEK", req: Request{Policy: policy(t, "RECOVERY WINDOW OF 1 WEEK")}, want: []stepWant{first, weekly}},
		{name: "-r REDUNDANCY 0 adds 0205 without WALs (predecessor 0129 is full)", req: Request{Policy: policy(t, "REDUNDANCY 0")},
			want: []stepWant{first, weekly, {id: "20240205T000000"}}},
		{name: "-r REDUNDANCY 2, Azure/GCS (no prefixes): the same", req: Request{Policy: policy(t, "REDUNDANCY 2")}, noPrefix: true,
			want: []stepWant{first, weekly}},
		{name: "-r REDUNDANCY 3 deletes 0101 only", req: Request{Policy: policy(t, "REDUNDANCY 3")}, want: []stepWant{first}},
		{name: "-b 20240101T000000 -m 4", req: Request{BackupID: "20240101T000000", MinRedundancy: 4}, want: []stepWant{first}},
		{name: "-b weekly: predecessor 0108 standalone, -b skips", req: Request{BackupID: "20240122T000000"},
			want: []stepWant{{id: "20240122T000000"}}},
		{name: "-b last-failed: predecessor standalone", req: Request{BackupID: "20240115T000000"},
			want: []stepWant{{id: "20240115T000000"}}},
		{name: "-b latest: predecessor full", req: Request{BackupID: "20240205T000000"},
			want: []stepWant{{id: "20240205T000000"}}},
		{name: "catalog {0101, 0129 unkept}: -b 0101 deletes a whole prefix",
			backups: subset([]string{"20240101T000000", "20240129T000000"}, map[string]Keep{"20240129T000000": NoKeep}),
			req:     Request{BackupID: "20240101T000000"},
			want:    []stepWant{{id: "20240101T000000", prefixes: []string{"pfx/srv/wals/0000000100000000/"}}}},
		{name: "catalog {0101, 0129 unkept}, Azure/GCS: the same WALs one by one",
			backups: subset([]string{"20240101T000000", "20240129T000000"}, map[string]Keep{"20240129T000000": NoKeep}),
			req:     Request{BackupID: "20240101T000000"}, noPrefix: true,
			want: []stepWant{{id: "20240101T000000", keys: []string{
				w1("01.gz"), w1("02.00000028.backup.gz"), w1("02.gz"), w1("03.gz"),
				w1("10.gz"), w1("11.gz"), w1("12.gz"), w1("30.gz")}}}},
		{name: "catalog {0205}: all ten timeline-1 keys; timeline-2 WAL and history kept",
			backups: subset([]string{"20240205T000000"}, nil),
			req:     Request{BackupID: "20240205T000000"},
			want: []stepWant{{id: "20240205T000000", keys: []string{
				w1("01.gz"), w1("02.00000028.backup.gz"), w1("02.gz"), w1("03.gz"),
				w1("10.gz"), w1("11.gz"), w1("12.gz"), w1("30.gz"),
				"pfx/srv/wals/0000000100000001/000000010000000100000005.gz",
				"pfx/srv/wals/0000000100000001/000000010000000100000006.partial"}}}},
		{name: "catalog {0115}: archives only, WAL clean-up skipped (Barman crashes, exit 4)",
			backups: subset([]string{"20240115T000000"}, nil),
			req:     Request{BackupID: "20240115T000000"},
			want:    []stepWant{{id: "20240115T000000", skipped: true}}},
	}
	for _, tt := range tests {
		backups := tt.backups
		if backups == nil {
			backups = fixtureC()
		}
		tt.req.Server, tt.req.Now, tt.req.PrefixDeletes = "srv", nowC, !tt.noPrefix
		p, err := PlanDeletion(Catalog{Backups: backups}, walsC, tt.req)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		checkSteps(t, tt.name, p.Steps, tt.want)
		for _, s := range p.Steps {
			if len(s.Kept) > 0 {
				t.Errorf("%s: the safety rule kept %v, Barman's rules need no help on C", tt.name, s.Kept)
			}
		}
	}
	if len(walsC.Names) != 12 || len(walsC.Dirs) != 3 {
		t.Errorf("PlanDeletion changed its WAL catalog: %v", walsC)
	}
}

// TestPlanRefusals is §11.3's refusals, and ours.
func TestPlanRefusals(t *testing.T) {
	walsC := ListWALs(walsC, walKeysC)
	c := Catalog{Backups: fixtureC()}
	tests := []struct {
		name    string
		catalog Catalog
		req     Request
		target  any
		msg     string
	}{
		{"-b of a kept backup", c, Request{BackupID: "20240108T000000"}, new(*KeepError),
			"Skipping delete of backup 20240108T000000 for server srv as it has a current keep request. " +
				"If you really want to delete this backup please remove the keep and try again."},
		{"-b -m 6: Barman's rule (every status counts)", c, Request{BackupID: "20240101T000000", MinRedundancy: 6}, new(*MinimumRedundancyError),
			"Skipping delete of backup 20240101T000000 for server srv due to minimum redundancy requirements (minimum redundancy = 6, current redundancy = 6)"},
		{"-b -m 5: ours, 4 DONE backups would be left (Barman deletes)", c, Request{BackupID: "20240101T000000", MinRedundancy: 5}, new(*MinimumRedundancyError),
			"Skipping delete of backup 20240101T000000 for server srv due to minimum redundancy requirements (minimum redundancy = 5, current redundancy = 5)"},
		{"-b of an absent ID", c, Request{BackupID: "20230101T000000"}, new(*NoSuchBackupError),
			"Backup 20230101T000000 does not exist"},
		{"-b of an absent ID, minimum redundancy first", c, Request{BackupID: "20230101T000000", MinRedundancy: 6}, new(*MinimumRedundancyError),
			"Skipping delete of backup 20230101T000000 for server srv due to minimum redundancy requirements (minimum redundancy = 6, current redundancy = 6)"},
		{"unreadable backup.info, -b", Catalog{Backups: fixtureC(), Unreadable: []string{"20240108T000000"}}, Request{BackupID: "20240101T000000"}, new(*UnreadableError),
			"Cannot read the following backups: ['20240108T000000']\nUnsafe to proceed with deletion due to failure reading backup catalog"},
		{"unreadable backup.info, -r", Catalog{Backups: fixtureC(), Unreadable: []string{"a", "it's"}}, Request{Policy: policy(t, "REDUNDANCY 1")}, new(*UnreadableError),
			"Cannot read the following backups: ['a', \"it's\"]\nUnsafe to proceed with deletion due to failure reading backup catalog"},
		{"neither -b nor -r", c, Request{}, nil, ""},
		{"both -b and -r", c, Request{BackupID: "20240101T000000", Policy: policy(t, "REDUNDANCY 1")}, nil, ""},
	}
	for _, tt := range tests {
		tt.req.Server, tt.req.Now, tt.req.PrefixDeletes = "srv", nowC, true
		p, err := PlanDeletion(tt.catalog, walsC, tt.req)
		if len(p.Steps) != 0 {
			t.Errorf("%s: a refused plan has steps %v", tt.name, p.Steps)
		}
		if tt.target == nil {
			if !errors.Is(err, ErrRequest) {
				t.Errorf("%s: error %v, want ErrRequest", tt.name, err)
			}
			continue
		}
		if !errors.As(err, tt.target) {
			t.Errorf("%s: error %T %v, want %T", tt.name, err, err, tt.target)
			continue
		}
		if err.Error() != tt.msg {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, err, tt.msg)
		}
	}
}

func TestCheckMinimumRedundancy(t *testing.T) {
	done := func(id string) Backup { return Backup{ID: id, Status: StatusDone} }
	failed := func(id string) Backup { return Backup{ID: id, Status: StatusFailed} }
	tests := []struct {
		name    string
		backups []Backup
		id      string
		min     int
		current int // 0 = no refusal
	}{
		{"-m 0 never refuses", []Backup{done("a")}, "a", 0, 0},
		{"the last backup with -m 1", []Backup{done("a")}, "a", 1, 1},
		{"two DONE, -m 1", []Backup{done("a"), done("b")}, "a", 1, 0},
		{"padded with FAILED backups (Barman deletes the last DONE)", []Backup{done("a"), failed("f1"), failed("f2")}, "a", 2, 1},
		{"a FAILED backup leaves the DONE count alone", []Backup{done("a"), done("b"), failed("f1")}, "f1", 2, 0},
		{"Barman's count: -m equal to the catalog size", []Backup{done("a"), done("b"), failed("f1")}, "f1", 3, 3},
	}
	for _, tt := range tests {
		err := CheckMinimumRedundancy(tt.backups, tt.id, tt.min, "srv")
		var me *MinimumRedundancyError
		switch {
		case tt.current == 0 && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.current != 0 && (!errors.As(err, &me) || me.Current != tt.current || me.Minimum != tt.min):
			t.Errorf("%s: %v, want current redundancy %d", tt.name, err, tt.current)
		}
	}
}

func TestListWALs(t *testing.T) {
	w := ListWALs("pfx/srv/wals", []string{
		"pfx/srv/wals/0000000100000000/000000010000000000000001",
		"pfx/srv/wals/0000000100000000/000000010000000000000001.gz",
		"pfx/srv/wals/0000000100000000/000000010000000000000002.zst",
		"pfx/srv/wals/0000000100000000/000000010000000000000003.gz.gz", // two suffixes
		"pfx/srv/wals/0000000100000000/000000010000000000000004.zip",   // unknown suffix
		"pfx/srv/wals/0000000100000000/000000010000000000000005.partial.lz4",
		"pfx/srv/wals/00000002.history",
		"pfx/srv/wals/deep/er/000000010000000000000006",
		"pfx/srv/wals/0000000100000000/",
		"pfx/srv/wals/notes.txt",
	})
	wantNames := map[string][]string{
		"000000010000000000000001":         {"pfx/srv/wals/0000000100000000/000000010000000000000001", "pfx/srv/wals/0000000100000000/000000010000000000000001.gz"},
		"000000010000000000000002":         {"pfx/srv/wals/0000000100000000/000000010000000000000002.zst"},
		"000000010000000000000005.partial": {"pfx/srv/wals/0000000100000000/000000010000000000000005.partial.lz4"},
		"00000002.history":                 {"pfx/srv/wals/00000002.history"},
		"000000010000000000000006":         {"pfx/srv/wals/deep/er/000000010000000000000006"},
	}
	if !reflect.DeepEqual(w.Names, wantNames) {
		t.Errorf("Names = %v\nwant %v", w.Names, wantNames)
	}
	if want := map[string]int{"pfx/srv/wals/0000000100000000/": 7, "pfx/srv/wals/deep/": 1}; !reflect.DeepEqual(w.Dirs, want) {
		t.Errorf("Dirs = %v, want %v", w.Dirs, want)
	}
}

// TestPlanFixes covers the deliberate differences of the WAL clean-up.
func TestPlanFixes(t *testing.T) {
	bk := func(id, begin, end string) Backup {
		return Backup{ID: id, Status: StatusDone, Timeline: 1, BeginWAL: begin, EndWAL: end}
	}
	seg := func(s string) string { return "000000010000000" + s }
	key := func(dir, name string) string { return "w/" + dir + "/" + name }
	t.Run("X and X.gz are both deleted", func(t *testing.T) {
		w := ListWALs("w", []string{key("0000000100000000", seg("000000001")), key("0000000100000000", seg("000000001")+".gz")})
		p, err := PlanDeletion(Catalog{Backups: []Backup{bk("a", seg("000000005"), seg("000000005")), bk("b", seg("000000009"), seg("000000009"))}},
			w, Request{BackupID: "a"})
		if err != nil {
			t.Fatal(err)
		}
		checkSteps(t, t.Name(), p.Steps, []stepWant{{id: "a", keys: []string{key("0000000100000000", seg("000000001")), key("0000000100000000", seg("000000001")+".gz")}}})
	})
	t.Run("a deleted or emptied prefix leaves the catalog", func(t *testing.T) {
		keys := []string{
			key("0000000100000000", seg("000000001")), key("0000000100000001", seg("100000001")),
			key("0000000100000002", seg("200000001")), key("0000000100000003", seg("300000005")),
		}
		backups := []Backup{bk("a", seg("000000005"), seg("000000005")), bk("b", seg("100000005"), seg("100000005")), bk("c", seg("300000005"), seg("300000005"))}
		p, err := PlanDeletion(Catalog{Backups: backups}, ListWALs("w", keys), Request{Policy: &Policy{Kind: Redundancy, Value: 1}, PrefixDeletes: true})
		if err != nil {
			t.Fatal(err)
		}
		// Step b in Barman: a dry run prints prefixes 0/ (deleted in step a),
		// 1/ (emptied in step a) and 2/; a real run deletes prefix 2/ and
		// key 0/…01 again (still in its cache).
		checkSteps(t, t.Name(), p.Steps, []stepWant{
			{id: "a", prefixes: []string{"w/0000000100000000/"}, keys: []string{key("0000000100000001", seg("100000001"))}},
			{id: "b", prefixes: []string{"w/0000000100000002/"}},
		})
	})
	t.Run("a standalone range without end_wal skips the clean-up", func(t *testing.T) {
		s := bk("a", seg("000000002"), "")
		s.Keep = KeepStandalone
		w := ListWALs("w", []string{key("0000000100000000", seg("000000001"))})
		p, err := PlanDeletion(Catalog{Backups: []Backup{s, bk("b", seg("000000005"), seg("000000005")), bk("c", seg("000000009"), seg("000000009"))}},
			w, Request{Policy: &Policy{Kind: Redundancy, Value: 1}})
		if err != nil {
			t.Fatal(err)
		}
		checkSteps(t, t.Name(), p.Steps, []stepWant{{id: "b", skipped: true}})
	})
	t.Run("malformed prefixes are warned about at each step that lists them", func(t *testing.T) {
		w := ListWALs("w", []string{"w/junk/x", key("0000000100000000", seg("000000001"))})
		p, err := PlanDeletion(Catalog{Backups: []Backup{bk("a", seg("000000005"), seg("000000005"))}}, w,
			Request{BackupID: "a", PrefixDeletes: true})
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"Ignoring malformed WAL object prefix: w/junk/"}; len(p.Steps) != 1 || !slices.Equal(p.Steps[0].Warnings, want) {
			t.Errorf("steps %+v, want warnings %q", p.Steps, want)
		}
	})
}

// TestPlanResume: a backup whose deletion was interrupted is deleted first
// with the request's WAL rule, is not in the report, and the request's
// own steps are those an uninterrupted run would have had.
func TestPlanResume(t *testing.T) {
	wals := ListWALs(walsC, walKeysC)
	first := stepWant{id: "20240101T000000", keys: []string{w1("01.gz"), w1("02.00000028.backup.gz"), w1("02.gz"), w1("03.gz")}}
	weekly := stepWant{id: "20240122T000000", keys: []string{w1("12.gz"), w1("30.gz")}}
	p, err := PlanDeletion(Catalog{Backups: fixtureC()}, wals, Request{Server: "srv", Policy: policy(t, "REDUNDANCY 2"), Now: nowC, PrefixDeletes: true,
		Resume: []string{"20240101T000000", "20230101T000000"}})
	if err != nil {
		t.Fatal(err)
	}
	checkSteps(t, "-r with 0101 resumed", p.Steps, []stepWant{first, weekly})
	if _, ok := p.Report["20240101T000000"]; ok {
		t.Errorf("resumed backup in the report: %v", p.Report)
	}
	// -b naming the resumed backup: only its deletion, no -b refusal
	// (the minimum redundancy does not count it).
	p, err = PlanDeletion(Catalog{Backups: fixtureC()}, wals, Request{Server: "srv", BackupID: "20240101T000000", MinRedundancy: 5, PrefixDeletes: true,
		Resume: []string{"20240101T000000"}})
	if err != nil {
		t.Fatal(err)
	}
	checkSteps(t, "-b of the resumed backup", p.Steps, []stepWant{first})
	// -b of another backup: the resumed one first, then -b's.
	p, err = PlanDeletion(Catalog{Backups: fixtureC()}, wals, Request{Server: "srv", BackupID: "20240205T000000", PrefixDeletes: true,
		Resume: []string{"20240101T000000"}})
	if err != nil {
		t.Fatal(err)
	}
	checkSteps(t, "-b after a resumed backup", p.Steps, []stepWant{first, {id: "20240205T000000"}})
}
