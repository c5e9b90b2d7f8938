package retention

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/barmancloud/barman-cloud/shared/compress"
	"github.com/barmancloud/barman-cloud/shared/wal"
)

// The property tests draw random catalogs and WAL archives, plan a
// deletion, apply it to a model bucket and check what is left.

const (
	propWALs = "pfx/srv/wals"
	// propBase is the first WAL position: log 1, segment 2.
	propBase = 6
)

// seg is the segment name of position p on timeline tli. Logs here hold 4
// segments, not PostgreSQL's 256 (16 MiB segments): the rules only compare
// names, and short logs make ranges cross many hash directories.
func seg(tli, p int) string { return fmt.Sprintf("%08X%08X%08X", tli, p>>2, p&3) }

// span is the positions a timeline has WALs for.
type span struct{ from, to int }

// world is one drawn case.
type world struct {
	backups []Backup
	keys    []string // every object under propWALs
	req     Request
	// unreadable is set when the catalog has an unreadable backup.info.
	unreadable bool
}

// drawKeys adds the objects of WAL name to keys: uncompressed, gzip, or
// both (the duplicate Barman leaves behind).
func drawKeys(t *rapid.T, keys []string, dir, name string) []string {
	if dir != "" {
		dir += "/"
	}
	switch rapid.IntRange(0, 3).Draw(t, "compression") {
	case 0:
		return append(keys, propWALs+"/"+dir+name)
	case 1:
		return append(keys, propWALs+"/"+dir+name, propWALs+"/"+dir+name+".gz")
	}
	return append(keys, propWALs+"/"+dir+name+".gz")
}

// drawWALs draws 1–3 timelines (each branching from the previous one, or
// with consistent set, following it), their WAL archive and a catalog.
func drawWorld(t *rapid.T, consistent bool) world {
	var w world
	nt := rapid.IntRange(1, 3).Draw(t, "timelines")
	spans := []span{{}, {propBase, propBase + rapid.IntRange(0, 24).Draw(t, "end1")}}
	for k := 2; k <= nt; k++ {
		parent := spans[k-1]
		b := rapid.IntRange(parent.from, parent.to).Draw(t, "branch")
		if consistent {
			// A linear history: the parent stops where the child starts.
			b = rapid.IntRange(parent.from+1, parent.to+1).Draw(t, "branch")
			spans[k-1].to = b - 1
		}
		spans = append(spans, span{b, b + rapid.IntRange(0, 24).Draw(t, "end")})
		// The parent's segment at the branch point: the complete one,
		// the .partial the new primary archives, or both.
		name := seg(k-1, b)
		mode := rapid.IntRange(0, 2).Draw(t, "partial")
		if mode > 0 {
			w.keys = drawKeys(t, w.keys, name[:16], name+".partial")
		}
		if mode < 2 && !consistent {
			w.keys = drawKeys(t, w.keys, name[:16], name)
		}
		w.keys = drawKeys(t, w.keys, "", fmt.Sprintf("%08X.history", k))
	}
	for k := 1; k <= nt; k++ {
		for p := spans[k].from; p <= spans[k].to; p++ {
			name := seg(k, p)
			w.keys = drawKeys(t, w.keys, name[:16], name)
		}
	}

	// Backups: IDs in day order. Arbitrary catalogs put their WAL ranges
	// anywhere; consistent ones in ID order.
	n := rapid.IntRange(0, 6).Draw(t, "backups")
	pos := 0
	for i := range n {
		b := Backup{ID: fmt.Sprintf("202401%02dT000000", i+1)}
		b.Status = rapid.SampledFrom([]string{StatusDone, StatusDone, StatusDone, StatusDone, StatusFailed, StatusWaitingForWALs, "STARTED"}).Draw(t, "status")
		tli := rapid.IntRange(1, nt).Draw(t, "tli")
		from, to := spans[tli].from, spans[tli].to
		if consistent {
			// Begin at or after the previous begin, on the timeline that
			// holds that position; end on the same timeline.
			if pos == 0 {
				pos = propBase
			}
			if pos > spans[nt].to {
				break
			}
			pos = rapid.IntRange(pos, spans[nt].to).Draw(t, "begin")
			for tli = nt; spans[tli].from > pos; tli-- {
			}
			from, to = pos, spans[tli].to
		}
		begin := rapid.IntRange(from, to).Draw(t, "begin")
		if consistent {
			begin = from
		}
		end := rapid.IntRange(begin, to).Draw(t, "end")
		if b.Status == StatusFailed && rapid.Bool().Draw(t, "failed early") {
			w.backups = append(w.backups, b) // no timeline, no WALs
			continue
		}
		b.Timeline, b.BeginWAL, b.EndWAL = tli, seg(tli, begin), seg(tli, end)
		if b.Status == StatusDone {
			b.EndTime = time.Date(2024, 1, i+1, 0, 10, 0, 0, time.UTC)
			b.Keep = rapid.SampledFrom([]Keep{NoKeep, NoKeep, NoKeep, KeepFull, KeepStandalone}).Draw(t, "keep")
			if !consistent && rapid.IntRange(0, 19).Draw(t, "unbounded") == 0 {
				b.EndWAL = ""
			}
		}
		w.keys = drawKeys(t, w.keys, b.BeginWAL[:16], b.BeginWAL+".00000028.backup")
		w.backups = append(w.backups, b)
	}

	// Objects that are not WALs, and (arbitrary catalogs only) a history
	// file where Barman would never put one.
	if len(w.keys) > 0 && rapid.Bool().Draw(t, "garbage") {
		k := rapid.SampledFrom(w.keys).Draw(t, "garbage dir")
		w.keys = append(w.keys, k[:strings.LastIndexByte(k, '/')+1]+"garbage.txt")
	}
	if !consistent && rapid.IntRange(0, 9).Draw(t, "stray history") == 0 {
		w.keys = append(w.keys, propWALs+"/"+seg(1, propBase)[:16]+"/00000009.history")
	}

	w.req = Request{
		Server:        "srv",
		Now:           time.Date(2024, 1, 10, 0, 0, 0, 0, time.UTC),
		MinRedundancy: rapid.IntRange(0, 3).Draw(t, "minimum redundancy"),
		PrefixDeletes: rapid.Bool().Draw(t, "prefix deletes"),
	}
	if len(w.backups) > 0 && rapid.Bool().Draw(t, "-b") {
		w.req.BackupID = rapid.SampledFrom(append(ids(w.backups), "20230101T000000")).Draw(t, "backup id")
	} else if rapid.Bool().Draw(t, "redundancy") {
		w.req.Policy = &Policy{Kind: Redundancy, Value: rapid.IntRange(0, 4).Draw(t, "redundancy")}
	} else {
		w.req.Policy = &Policy{Kind: RecoveryWindow, Value: rapid.IntRange(0, 12).Draw(t, "days"), Unit: 'd'}
	}
	w.unreadable = !consistent && rapid.IntRange(0, 9).Draw(t, "unreadable") == 0
	w.keys = slices.Compact(slices.Sorted(slices.Values(w.keys))) // a bucket holds a key once
	return w
}

func ids(backups []Backup) []string {
	var out []string
	for _, b := range backups {
		out = append(out, b.ID)
	}
	return out
}

// apply deletes a step's WAL objects from the model bucket.
func apply(bucket map[string]bool, s Step) {
	for k := range bucket {
		if slices.ContainsFunc(s.WALPrefixes, func(p string) bool { return strings.HasPrefix(k, p) }) {
			delete(bucket, k)
		}
	}
	for _, k := range s.WALKeys {
		delete(bucket, k)
	}
}

// leftError reports an object that a remaining DONE-like backup needs (a
// segment from begin_wal to end_wal, its .partial or .backup; every WAL
// when a range end is missing) or a history file that is no longer in the
// bucket. It reads names with its own rules, not the package's.
func leftError(keys []string, bucket map[string]bool, left []Backup) error {
	for _, k := range keys {
		if bucket[k] {
			continue
		}
		name := k[strings.LastIndexByte(k, '/')+1:]
		if base, alg := compress.SplitExt(name); alg != nil {
			name = base
		}
		if strings.HasSuffix(name, ".history") {
			return fmt.Errorf("history file %s deleted", k)
		}
		if !wal.IsValid(name) {
			continue
		}
		for _, b := range left {
			if b.Status != StatusDone && b.Status != StatusWaitingForWALs {
				continue
			}
			if b.BeginWAL == "" || b.EndWAL == "" || b.BeginWAL <= name[:24] && name[:24] <= b.EndWAL {
				return fmt.Errorf("%s deleted, backup %s (%s..%s) needs it", k, b.ID, b.BeginWAL, b.EndWAL)
			}
		}
	}
	return nil
}

// run applies plan to a bucket holding keys and returns the bucket and the
// backups left.
func run(keys []string, backups []Backup, plan Plan) (map[string]bool, []Backup) {
	bucket := map[string]bool{}
	for _, k := range keys {
		bucket[k] = true
	}
	deleted := map[string]bool{}
	for _, s := range plan.Steps {
		apply(bucket, s)
		deleted[s.BackupID] = true
	}
	var left []Backup
	for _, b := range backups {
		if !deleted[b.ID] {
			left = append(left, b)
		}
	}
	return bucket, left
}

// applyAndCheck runs plan on a bucket holding keys and checks what is left.
func applyAndCheck(keys []string, backups []Backup, plan Plan) error {
	bucket, left := run(keys, backups, plan)
	return leftError(keys, bucket, left)
}

// stepsEqual compares two steps field by field.
func stepsEqual(a, b Step) bool {
	return a.BackupID == b.BackupID && slices.Equal(a.WALPrefixes, b.WALPrefixes) && slices.Equal(a.WALKeys, b.WALKeys) &&
		slices.Equal(a.Warnings, b.Warnings) && a.WALSkipped == b.WALSkipped && slices.Equal(a.Kept, b.Kept)
}

// worlds draws arbitrary (consistent = false) or consistent catalogs.
func worlds(consistent bool) *rapid.Generator[world] {
	return rapid.Custom(func(t *rapid.T) world { return drawWorld(t, consistent) })
}

// TestPropertyPlanIsSafe: whatever the catalog, applying the plan leaves
// every WAL a remaining backup needs and every history file, never fewer
// DONE backups than the minimum redundancy when it deletes one, and
// nothing at all when a backup.info is unreadable. A real run, which
// finds the bucket as the previous steps left it, plans each step as the
// dry run did.
func TestPropertyPlanIsSafe(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := worlds(false).Draw(t, "world")
		c := Catalog{Backups: w.backups}
		if w.unreadable {
			c.Unreadable = []string{"20231231T000000"}
		}
		plan, err := PlanDeletion(c, ListWALs(propWALs, w.keys), w.req)
		if err != nil {
			if len(plan.Steps) != 0 {
				t.Fatalf("refused (%v) with steps %v", err, plan.Steps)
			}
			return
		}
		if w.unreadable {
			t.Fatal("planned a deletion with an unreadable backup.info")
		}

		// The real run, step by step: the catalog and the WAL archive as
		// the previous steps left them.
		for i, s := range plan.Steps {
			var rest []string
			for _, r := range plan.Steps[i:] {
				rest = append(rest, r.BackupID)
			}
			bucket, now := run(w.keys, w.backups, Plan{Steps: plan.Steps[:i]})
			real := planSteps(now, ListWALs(propWALs, slices.Collect(maps.Keys(bucket))), rest, w.req.BackupID != "", w.req.PrefixDeletes, true)[0]
			if !stepsEqual(real, s) {
				t.Fatalf("step %d: dry run\n%+v\nreal run\n%+v", i, s, real)
			}
		}

		bucket, left := run(w.keys, w.backups, plan)
		if err := leftError(w.keys, bucket, left); err != nil {
			t.Fatal(err)
		}
		if doneBefore, doneLeft := countDone(w.backups), countDone(left); doneLeft < doneBefore && doneLeft < w.req.MinRedundancy {
			t.Fatalf("%d DONE backups left, minimum redundancy %d", doneLeft, w.req.MinRedundancy)
		}
	})
}

func countDone(backups []Backup) int {
	n := 0
	for _, b := range backups {
		if b.Status == StatusDone {
			n++
		}
	}
	return n
}

// TestPropertyBarmanAloneIsSafeOnConsistentCatalogs backs the claim of
// PlanDeletion's doc: when backup IDs follow the WAL stream and timelines
// follow one another, Barman's rules never delete a WAL a remaining backup
// needs, and the safety rule changes nothing.
func TestPropertyBarmanAloneIsSafeOnConsistentCatalogs(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := worlds(true).Draw(t, "world")
		wals := ListWALs(propWALs, w.keys)
		barman, err := planDeletion(Catalog{Backups: w.backups}, wals, w.req, false)
		if err != nil {
			return
		}
		ours, err := PlanDeletion(Catalog{Backups: w.backups}, wals, w.req)
		if err != nil {
			t.Fatalf("only the safe plan was refused: %v", err)
		}
		for i, s := range barman.Steps {
			if !stepsEqual(s, ours.Steps[i]) {
				t.Fatalf("step %d: Barman's rules\n%+v\nwith the safety rule\n%+v", i, s, ours.Steps[i])
			}
		}
		if err := applyAndCheck(w.keys, w.backups, barman); err != nil {
			t.Fatal(err)
		}
	})
}

// TestPropertyCoverage makes sure the drawn cases exercise what the
// properties are about: deletions of WAL keys and of prefixes, the safety
// rule at work, and Barman's rules alone failing on arbitrary catalogs
// (so the first property would catch a plan without the safety rule).
func TestPropertyCoverage(t *testing.T) {
	var keys, prefixes, kept, barmanUnsafe, consistentDeletes int
	for i := range 1000 {
		w := worlds(false).Example(i)
		c := Catalog{Backups: w.backups}
		wals := ListWALs(propWALs, w.keys)
		if p, err := PlanDeletion(c, wals, w.req); err == nil {
			for _, s := range p.Steps {
				keys += min(len(s.WALKeys), 1)
				prefixes += min(len(s.WALPrefixes), 1)
				kept += min(len(s.Kept), 1)
			}
		}
		if p, err := planDeletion(c, wals, w.req, false); err == nil && applyAndCheck(w.keys, w.backups, p) != nil {
			barmanUnsafe++
		}
		w = worlds(true).Example(i)
		if p, err := PlanDeletion(Catalog{Backups: w.backups}, ListWALs(propWALs, w.keys), w.req); err == nil {
			for _, s := range p.Steps {
				consistentDeletes += min(len(s.WALKeys)+len(s.WALPrefixes), 1)
			}
		}
	}
	t.Logf("steps deleting keys %d, prefixes %d, with kept WALs %d; unsafe Barman plans %d; consistent steps deleting WALs %d",
		keys, prefixes, kept, barmanUnsafe, consistentDeletes)
	if keys < 50 || prefixes < 10 || kept < 50 || barmanUnsafe < 20 || consistentDeletes < 50 {
		t.Error("the generator no longer reaches the cases the properties are about")
	}
}
