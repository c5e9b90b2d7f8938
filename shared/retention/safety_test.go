package retention

import (
	"slices"
	"testing"
)

// TestSafetyRule shows each case where Barman's rules alone delete a WAL
// that a remaining backup needs (the list in PlanDeletion's doc), what
// Barman's rules plan, and what the safety rule makes of it. The first and
// third cases were checked by running Barman's own _remove_wals_for_backup
// (3.17 and Debian's 3.4.0) on the same catalogs with a stub catalog
// object: the same keys and prefix.
func TestSafetyRule(t *testing.T) {
	// wk is the key Barman gives a WAL name: w/<hash dir>/<name>.
	wk := func(name string) string { return "w/" + name[:16] + "/" + name }
	bk := func(id string, tli int, begin, end string, keep Keep) Backup {
		return Backup{ID: id, Status: StatusDone, Timeline: tli, BeginWAL: begin, EndWAL: end, Keep: keep}
	}
	type outcome struct {
		prefixes, keys, kept []string
	}
	tests := []struct {
		name    string
		backups []Backup
		wals    []string // WAL names (keys by wk) or whole keys (containing "/")
		req     Request
		barman  outcome // Barman's rules alone, the one step
		ours    outcome
	}{
		{
			// Q was taken an hour after P, but after the DST fall-back its
			// local-time ID sorts first: until = Q, and everything below
			// Q's begin_wal goes, P's WALs included.
			name: "IDs out of WAL order (DST fall-back)",
			backups: []Backup{
				bk("20241027T010000", 1, "000000010000000000000010", "000000010000000000000011", NoKeep),
				bk("20241027T024500", 1, "000000010000000000000020", "000000010000000000000021", NoKeep), // P
				bk("20241027T023000", 1, "000000010000000100000030", "000000010000000100000031", NoKeep), // Q
			},
			wals: []string{"000000010000000000000010", "000000010000000000000011", "000000010000000000000012",
				"000000010000000000000020", "000000010000000000000021", "000000010000000100000030", "000000010000000100000031"},
			req:    Request{BackupID: "20241027T010000", PrefixDeletes: true},
			barman: outcome{prefixes: []string{"w/0000000100000000/"}},
			ours: outcome{
				keys: []string{wk("000000010000000000000010"), wk("000000010000000000000011"), wk("000000010000000000000012")},
				kept: []string{"w/0000000100000000/", wk("000000010000000000000020"), wk("000000010000000000000021")},
			},
		},
		{
			name: "IDs out of WAL order, one WAL at a time (Azure, GCS)",
			backups: []Backup{
				bk("20241027T010000", 1, "000000010000000000000010", "000000010000000000000011", NoKeep),
				bk("20241027T024500", 1, "000000010000000000000020", "000000010000000000000021", NoKeep),
				bk("20241027T023000", 1, "000000010000000000000030", "000000010000000000000031", NoKeep),
			},
			wals: []string{"000000010000000000000010", "000000010000000000000020", "000000010000000000000021", "000000010000000000000030"},
			req:  Request{Policy: &Policy{Kind: Redundancy, Value: 2}},
			barman: outcome{keys: []string{wk("000000010000000000000010"), wk("000000010000000000000020"),
				wk("000000010000000000000021")}},
			ours: outcome{keys: []string{wk("000000010000000000000010")},
				kept: []string{wk("000000010000000000000020"), wk("000000010000000000000021")}},
		},
		{
			// "X.partial" sorts after end_wal "X": outside the protected range.
			name: "partial of a standalone backup's last segment",
			backups: []Backup{
				bk("a", 1, "000000010000000000000010", "000000010000000000000011", KeepStandalone),
				bk("b", 1, "000000010000000000000015", "000000010000000000000015", NoKeep),
				bk("c", 1, "000000010000000000000020", "000000010000000000000020", NoKeep),
			},
			wals: []string{"000000010000000000000010", "000000010000000000000011", "000000010000000000000011.partial",
				"000000010000000000000012", "000000010000000000000015", "000000010000000000000020"},
			req:    Request{Policy: &Policy{Kind: Redundancy, Value: 1}},
			barman: outcome{keys: []string{wk("000000010000000000000011.partial"), wk("000000010000000000000012"), wk("000000010000000000000015")}},
			ours: outcome{keys: []string{wk("000000010000000000000012"), wk("000000010000000000000015")},
				kept: []string{wk("000000010000000000000011.partial")}},
		},
		{
			// The prefix check compares timeline and log one by one: the
			// range (1/1/10 .. 2/0/11) does not cover directory 2/0.
			name: "standalone range over two timelines",
			backups: []Backup{
				bk("a", 1, "000000010000000100000010", "000000020000000000000011", KeepStandalone),
				bk("b", 2, "000000020000000000000015", "000000020000000000000015", NoKeep),
				bk("c", 2, "000000020000000100000020", "000000020000000100000020", NoKeep),
			},
			wals:   []string{"000000020000000000000011", "000000020000000000000015", "000000020000000100000020"},
			req:    Request{Policy: &Policy{Kind: Redundancy, Value: 1}, PrefixDeletes: true},
			barman: outcome{prefixes: []string{"w/0000000200000000/"}},
			ours:   outcome{keys: []string{wk("000000020000000000000015")}, kept: []string{"w/0000000200000000/"}},
		},
		{
			// get_timelines_to_protect trusts backup.info's timeline.
			name: "timeline field that disagrees with the WAL names",
			backups: []Backup{
				bk("a", 1, "000000010000000000000005", "000000010000000000000005", NoKeep),
				bk("b", 2, "000000020000000000000030", "000000020000000000000030", NoKeep),
				bk("c", 2, "000000010000000000000040", "000000010000000000000040", NoKeep),
			},
			wals:   []string{"000000010000000000000005", "000000010000000000000040", "000000020000000000000030"},
			req:    Request{BackupID: "a"},
			barman: outcome{keys: []string{wk("000000010000000000000005"), wk("000000010000000000000040")}},
			ours:   outcome{keys: []string{wk("000000010000000000000005")}, kept: []string{wk("000000010000000000000040")}},
		},
		{
			name: "history file under a hash directory",
			backups: []Backup{
				bk("a", 1, "000000010000000000000005", "000000010000000000000005", NoKeep),
				bk("b", 1, "000000010000000100000005", "000000010000000100000005", NoKeep),
			},
			wals:   []string{"000000010000000000000001", "w/0000000100000000/00000002.history"},
			req:    Request{BackupID: "a", PrefixDeletes: true},
			barman: outcome{prefixes: []string{"w/0000000100000000/"}},
			ours:   outcome{keys: []string{wk("000000010000000000000001")}, kept: []string{"w/0000000100000000/"}},
		},
		{
			name: "remaining backup without end_wal keeps everything",
			backups: []Backup{
				bk("a", 1, "000000010000000000000005", "000000010000000000000005", NoKeep),
				bk("b", 1, "000000010000000000000009", "000000010000000000000009", NoKeep),
				bk("c", 1, "000000010000000000000012", "", NoKeep),
			},
			wals:   []string{"000000010000000000000001", "000000010000000000000009"},
			req:    Request{BackupID: "a"},
			barman: outcome{keys: []string{wk("000000010000000000000001")}},
			ours:   outcome{kept: []string{wk("000000010000000000000001")}},
		},
		{
			// Nothing to fix: FAILED backups need no WALs, DONE ones keep
			// their timeline protected.
			name: "FAILED backups in the way",
			backups: []Backup{
				bk("a", 1, "000000010000000000000005", "000000010000000000000005", NoKeep),
				{ID: "b", Status: StatusFailed, Timeline: 1, BeginWAL: "000000010000000000000007"},
				bk("c", 2, "000000020000000000000009", "000000020000000000000009", NoKeep),
				bk("d", 1, "00000001000000000000000A", "00000001000000000000000A", NoKeep),
			},
			wals:   []string{"000000010000000000000001", "000000010000000000000007", "00000001000000000000000A", "000000020000000000000009"},
			req:    Request{BackupID: "a"},
			barman: outcome{},
			ours:   outcome{},
		},
	}
	for _, tt := range tests {
		var keys []string
		for _, n := range tt.wals {
			if slices.Contains([]byte(n), '/') {
				keys = append(keys, n)
			} else {
				keys = append(keys, wk(n))
			}
		}
		w := ListWALs("w", keys)
		c := Catalog{Backups: tt.backups}
		for _, run := range []struct {
			who  string
			safe bool
			want outcome
		}{{"Barman", false, tt.barman}, {"ours", true, tt.ours}} {
			p, err := planDeletion(c, w, tt.req, run.safe)
			if err != nil {
				t.Fatalf("%s, %s: %v", tt.name, run.who, err)
			}
			if len(p.Steps) != 1 {
				t.Fatalf("%s, %s: steps %+v, want one", tt.name, run.who, p.Steps)
			}
			s := p.Steps[0]
			var kept []string
			for _, k := range s.Kept {
				kept = append(kept, k.Key)
			}
			if !slices.Equal(s.WALPrefixes, run.want.prefixes) || !slices.Equal(s.WALKeys, run.want.keys) || !slices.Equal(kept, run.want.kept) {
				t.Errorf("%s, %s:\n got prefixes %q keys %q kept %q\nwant prefixes %q keys %q kept %q", tt.name, run.who,
					s.WALPrefixes, s.WALKeys, kept, run.want.prefixes, run.want.keys, run.want.kept)
			}
		}
	}
}

func TestNeededBy(t *testing.T) {
	n := needsOf([]Backup{
		{ID: "a", Status: StatusDone, BeginWAL: "000000010000000000000010", EndWAL: "000000010000000000000012"},
		{ID: "b", Status: StatusWaitingForWALs, BeginWAL: "00000002000000000000001F", EndWAL: "000000020000000000000020"},
		{ID: "f", Status: StatusFailed, BeginWAL: "000000010000000000000030", EndWAL: "000000010000000000000031"},
		{ID: "x", Status: StatusDone, BeginWAL: "000000010000000000000040", EndWAL: "000000010000000000000041"},
	}, "x")
	for name, want := range map[string]string{
		"00000001000000000000000F":                 "",
		"000000010000000000000010":                 "a",
		"000000010000000000000011.partial":         "a",
		"000000010000000000000012.00000028.backup": "a",
		"000000010000000000000013":                 "",
		"00000002000000000000001f":                 "b", // lower case: the same segment
		"000000020000000000000020":                 "b",
		"000000010000000000000020":                 "",
		"000000010000000000000030":                 "", // FAILED needs nothing
		"000000010000000000000040":                 "", // the backup being deleted
		"00000005.history":                         "history",
	} {
		by, ok := n.neededBy(name)
		if by != want || ok != (want != "") {
			t.Errorf("neededBy(%s) = %q, %v; want %q", name, by, ok, want)
		}
	}
}
