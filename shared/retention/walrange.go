package retention

import (
	"maps"
	"slices"
	"strings"

	"github.com/barmancloud/barman-cloud/shared/compress"
	"github.com/barmancloud/barman-cloud/shared/wal"
)

// WALs is the WAL catalog of a server, as the deletion reads it once at
// the start of a run.
type WALs struct {
	// Prefix is WALS = join(PREFIX, SERVER, "wals"), without a trailing "/".
	Prefix string
	// Names maps a WAL name to every key that holds it: Barman's
	// get_wal_paths keeps one key per name (the later listed of X and
	// X.gz); here both are kept so that both are deleted. Each list is
	// sorted, as ListWALs leaves it.
	Names map[string][]string
	// Dirs are the "directories" right below Prefix+"/", each ending in
	// "/", as S3 lists them as common prefixes (get_wal_prefixes), with
	// the number of objects under each (WAL or not). Only used when whole
	// prefixes are deleted. The count tells the plan when deleting WALs one
	// by one has emptied a directory, which a later listing would no
	// longer return.
	Dirs map[string]int
}

// ListWALs builds the WAL catalog from a recursive listing of WALS+"/"
// (keys in any order), with the rules of CloudBackupCatalog.get_wal_paths:
// a key whose basename is a WAL name, or a WAL name plus one compression
// suffix (.gz .bz2 .xz .snappy .zst .lz4), is that WAL; other keys are
// ignored. Dirs are derived from the same listing, as an S3 listing with
// delimiter "/" would return them, so one listing serves both.
func ListWALs(prefix string, keys []string) WALs {
	w := WALs{Prefix: prefix, Names: map[string][]string{}, Dirs: map[string]int{}}
	keys = slices.Compact(slices.Sorted(slices.Values(keys))) // a key listed twice is one object
	for _, k := range keys {
		if d := w.dirOf(k); d != "" {
			w.Dirs[d]++
		}
		name := wal.Basename(k)
		if !wal.IsValid(name) {
			stripped, alg := compress.SplitExt(name)
			if alg == nil || !wal.IsValid(stripped) {
				continue
			}
			name = stripped
		}
		w.Names[name] = append(w.Names[name], k)
	}
	return w
}

// dirOf is the directory of Dirs that key k lies under, or "".
func (w WALs) dirOf(k string) string {
	rest, ok := strings.CutPrefix(k, w.Prefix+"/")
	if !ok {
		return ""
	}
	i := strings.IndexByte(rest, '/')
	if i < 0 {
		return ""
	}
	return w.Prefix + "/" + rest[:i+1]
}

// clone returns a copy that the plan can update without touching w.
func (w WALs) clone() WALs {
	c := WALs{Prefix: w.Prefix, Names: make(map[string][]string, len(w.Names)), Dirs: maps.Clone(w.Dirs)}
	for n, ks := range w.Names {
		c.Names[n] = slices.Clone(ks)
	}
	return c
}

// pos is a segment's place in the WAL stream: timeline, log, segment.
// Comparing pos values is comparing the 24-character upper-case names as
// strings, which is how Barman compares them; comparing the numbers also
// orders a lower-case name correctly.
type pos struct{ tli, log, seg uint32 }

func (a pos) less(b pos) bool {
	if a.tli != b.tli {
		return a.tli < b.tli
	}
	if a.log != b.log {
		return a.log < b.log
	}
	return a.seg < b.seg
}

// segmentPos is the position of the segment a name belongs to (a partial
// or a backup label belongs to its first 24 characters).
func segmentPos(n wal.Name) pos { return pos{n.Timeline, n.Log, n.Seg} }

// segmentName parses s as a plain 24-character segment name.
func segmentName(s string) (pos, bool) {
	n, err := wal.Parse(s)
	if err != nil || n.Kind != wal.Segment || s != n.Base {
		return pos{}, false
	}
	return segmentPos(n), true
}

// needs is the hard safety rule applied after Barman's: the WALs that the
// backups remaining in the catalog need to reach consistency.
type needs struct {
	ranges []neededRange
	// unbounded is the ID of a remaining DONE-like backup whose begin_wal
	// or end_wal is missing or not a segment name: nothing is known about
	// what it needs, so every WAL is kept.
	unbounded string
}

type neededRange struct {
	id       string
	from, to pos
}

// needsOf collects, for every DONE or WAITING_FOR_WALS backup of backups
// except the one with ID except, the segments from its begin_wal to its
// end_wal. A backup needs those and nothing else to be restored to
// consistency; history files are needed by every recovery that crosses a
// timeline switch and are never deleted. The range is taken in name order
// (timeline first), so a range whose ends lie on two timelines covers both.
func needsOf(backups []Backup, except string) needs {
	var n needs
	for _, b := range backups {
		if b.ID == except || !doneLike(b) {
			continue
		}
		from, ok1 := segmentName(b.BeginWAL)
		to, ok2 := segmentName(b.EndWAL)
		if !ok1 || !ok2 {
			if n.unbounded == "" {
				n.unbounded = b.ID
			}
			continue
		}
		if to.less(from) {
			from, to = to, from
		}
		n.ranges = append(n.ranges, neededRange{b.ID, from, to})
	}
	return n
}

// neededBy says why the WAL named name must stay: the ID of a backup that
// needs it, or "history" for a history file. A .partial or .backup file
// counts as its segment: barman-cloud-wal-restore serves X.partial when
// X is missing, so the partial of a needed segment may be the only copy.
func (n needs) neededBy(name string) (string, bool) {
	w, err := wal.Parse(name)
	if err != nil {
		return "", false // not a WAL: the catalog never holds such names
	}
	if w.Kind == wal.History {
		return "history", true
	}
	if n.unbounded != "" {
		return n.unbounded, true
	}
	p := segmentPos(w)
	for _, r := range n.ranges {
		if !p.less(r.from) && !r.to.less(p) {
			return r.id, true
		}
	}
	return "", false
}
