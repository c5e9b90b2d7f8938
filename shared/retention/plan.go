package retention

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/barmancloud/barman-cloud/shared/wal"
)

// Catalog is the backup catalog of a server as a deletion run reads it
// once at the start (CloudBackupCatalog.get_backup_list).
type Catalog struct {
	// Backups holds every backup whose backup.info was read, any status.
	// IDs are unique.
	Backups []Backup
	// Unreadable lists the IDs whose backup.info exists but could not be
	// parsed.
	Unreadable []string
}

// Request says what a barman-cloud-backup-delete run deletes: one backup
// (-b) or the obsolete backups of a policy (-r).
type Request struct {
	// Server is SERVER_NAME, for the messages.
	Server string
	// BackupID is the -b argument already resolved to an ID
	// (parse_backup_id). Exactly one of BackupID and Policy is set.
	BackupID string
	Policy   *Policy
	// Now is the time a policy is evaluated at (in time.Local, see
	// Policy.PointOfRecoverability).
	Now time.Time
	// MinRedundancy is -m/--minimum-redundancy.
	MinRedundancy int
	// Resume lists backups of the catalog whose deletion an earlier run
	// began and did not finish (their backup.info is gone; the tool reads
	// them from its deletion marker). They are deleted first, by ascending
	// ID, with this request's WAL rule (-b or -r), and are left out of the
	// retention report and of the -b refusals: to the operator they are
	// already gone. A BackupID among them asks only to finish them.
	Resume []string
	// PrefixDeletes says whether whole WAL hash directories are deleted
	// with one prefix deletion. Barman does this on S3 only: the other
	// providers raise NotImplementedError from get_prefixes and every WAL
	// goes through the per-WAL rule.
	PrefixDeletes bool
}

// Plan is what a deletion run does, the same for a dry run and a real run.
type Plan struct {
	// Report is the retention report of a -r run (nil for -b).
	Report map[string]Status
	// Warnings are logged before anything is deleted.
	Warnings []string
	// Steps are the backups to delete, in order.
	Steps []Step
}

// Step is the deletion of one backup and the WAL clean-up after it, in
// the order _delete_backup runs them:
//
//  1. the backup's archives, listed from storage by the caller
//     (get_backup_files, allow_missing), and its backup.info (Barman
//     deletes the archives first; barman-cloud-backup-delete deletes
//     backup.info first, see its documentation);
//  2. everything under each of WALPrefixes (delete_under_prefix: WALs and
//     any other object; --batch-size is the caller's to honour here too,
//     where Barman sends 1000 keys per request whatever it says);
//  3. WALKeys, sorted, in --batch-size requests.
//
// If step 1 fails the run stops (exit 1) and later steps are not run. A
// failure in 2 or 3 is logged and the run goes on.
type Step struct {
	BackupID    string
	WALPrefixes []string
	WALKeys     []string
	// Warnings are logged when this step's WAL clean-up runs ("Ignoring
	// malformed WAL object prefix: P").
	Warnings []string
	// WALSkipped is non-empty when Barman's rules would clean up WALs here
	// but the plan does not, and says why (see PlanDeletion).
	WALSkipped string
	// Kept lists the WAL keys and prefixes Barman's rules would delete
	// here that the safety rule keeps, with the backup that needs them.
	Kept []KeptWAL
}

// KeptWAL is a key or prefix the safety rule kept.
type KeptWAL struct {
	Key string
	// NeededBy is the ID of a remaining backup that needs the WAL, or
	// "history" for a history file.
	NeededBy string
}

// ErrRequest is a Request with both or neither of BackupID and Policy.
var ErrRequest = errors.New("a deletion needs exactly one of a backup ID and a retention policy")

// PlanDeletion decides what barman-cloud-backup-delete deletes, with
// Barman's rules (cloud_backup_delete.main, _delete_backup and
// _remove_wals_for_backup), then a safety rule of ours.
//
// Refusals come first, as errors whose messages are Barman's: an
// unreadable backup.info (*UnreadableError) for both modes; for -b a keep
// annotation (*KeepError), the minimum redundancy (*MinimumRedundancyError,
// see CheckMinimumRedundancy), then an ID not in the catalog
// (*NoSuchBackupError, a warning for the tool).
//
// Which backups: -b deletes BackupID, with skip_wal_cleanup_if_standalone;
// -r deletes the backups Report calls OBSOLETE, by ascending ID, without
// it. Report never leaves fewer DONE backups than MinRedundancy.
//
// The WAL clean-up after each backup B (_remove_wals_for_backup), with
// "DONE-like" = DONE or WAITING_FOR_WALS and the catalog as it is at that
// point (earlier steps' backups gone, B still in):
//
//  1. should_remove_wals: walk back over B's DONE-like predecessors; none
//     left → clean up; a keep:standalone one → with -b no clean-up, with
//     -r protect its begin_wal..end_wal and walk on; any other → no
//     clean-up.
//  2. until = the next DONE-like backup after B, or B itself.
//  3. protected timelines = the timelines of every other backup (FAILED
//     ones add None) minus until's.
//  4. With PrefixDeletes, a directory WALS/TTTTTTTTLLLLLLLL/ goes whole
//     when its timeline is not protected, no protected range covers it
//     (timeline and log compared one by one, as Barman does), its
//     timeline is until's and its log is below until's begin_wal's.
//  5. Every other WAL goes when it is not a history file, not on a
//     protected timeline, not in a protected range (a .backup file by its
//     first 24 characters) and its name sorts before until's begin_wal
//     (whole names compared as strings).
//
// The catalog is then updated as Barman's cache is: the deleted WAL names
// leave the WAL map (in a dry run too) and B leaves the backup list.
// Unlike Barman, deleted prefixes and the WALs under them leave the
// catalog too, and so does a directory emptied by deleting its WALs one by
// one (see below).
//
// The safety rule, applied after Barman's rules: no WAL key and no prefix
// holding a WAL is deleted when a DONE-like backup still in the catalog
// (other than B) needs it to reach consistency — a segment from its
// begin_wal to its end_wal, or the .partial or .backup file of such a
// segment — nor when it is a history file (Barman never deletes one by
// name, but a prefix deletion would). A remaining DONE-like backup whose
// begin_wal or end_wal is not a segment name keeps every WAL. What the rule
// keeps is listed in Step.Kept; a kept prefix is not deleted whole, and
// its WALs go through rule 5 one by one instead. Backups deleted later in
// the same run still count as remaining: if the run stops before their
// turn, their WALs are intact.
//
// Where Barman's rules alone delete a WAL a remaining backup needs:
//
//   - Backup IDs out of WAL order on one timeline. IDs are the client's
//     local time, so a DST fall-back, a clock stepped back, or backups
//     taken from hosts in different time zones or with skewed clocks give
//     a newer backup a smaller ID. Then "until" (the next backup by ID)
//     can begin after a remaining backup with a later ID, and rule 5
//     deletes that backup's WALs. This happens with real deployments.
//   - A .partial of a standalone backup's last segment: "X.partial" sorts
//     after end_wal "X", so rule 5 does not protect it, and
//     barman-cloud-wal-restore would serve it when X is missing. (It needs
//     until on the same timeline past a timeline switch at X, which
//     PostgreSQL does not produce.)
//   - Metadata that contradicts itself: a backup whose begin_wal and
//     end_wal are on two timelines (the prefix check compares timeline and
//     log one by one and misses the directories in between; the per-WAL
//     check only protects its backup.info timeline), or whose timeline
//     field differs from its WAL names' timeline.
//   - Objects Barman does not put there: a history file, or a WAL of
//     another timeline, under a hash directory that rule 4 deletes whole.
//
// Barman's rules need no help with FAILED backups (they need no WALs and
// every DONE backup's timeline stays protected) nor with standalone ranges
// within one timeline. Neither Barman nor this plan can see a backup still
// running (its backup.info is written last): a backup that began before
// until's begin_wal and ends after this run loses its first WALs.
//
// Deliberate differences from Barman, besides the safety rule:
//   - No WAL clean-up (Step.WALSkipped) when until's begin_wal is missing,
//     where Barman crashes after deleting the archives (a lone FAILED
//     backup, spec §11.3: exit 4), or is not a segment name, or when a
//     protected standalone range lacks a begin_wal or an end_wal (a
//     TypeError in Barman).
//   - X and X.gz are both deleted: WALs.Names holds every key of a name,
//     where Barman's map keeps one and never deletes the other.
//   - After a prefix deletion, the prefix and the WALs under it leave the
//     catalog too, and so does a directory whose objects were all deleted
//     one by one. Barman lists prefixes again at every step but never
//     drops a prefix's WALs from its cache: in a real run a later step
//     deletes those keys again one by one, while a dry run prints the
//     prefix again, and also prints emptied directories a real run no
//     longer finds. Here a dry run and a real run plan the same, which is
//     what the real run does minus the repeated deletions.
//   - -b also refuses to leave fewer than -m DONE backups
//     (CheckMinimumRedundancy).
func PlanDeletion(c Catalog, w WALs, r Request) (Plan, error) {
	return planDeletion(c, w, r, true)
}

// planDeletion is PlanDeletion; safe switches the safety rule (off only in
// tests that measure Barman's rules alone).
func planDeletion(c Catalog, w WALs, r Request, safe bool) (Plan, error) {
	if (r.BackupID == "") == (r.Policy == nil) {
		return Plan{}, ErrRequest
	}
	if err := CheckReadable(c.Unreadable); err != nil {
		return Plan{}, err
	}
	var (
		p              Plan
		ids            []string
		skipStandalone bool
	)
	resume := slices.Sorted(slices.Values(r.Resume))
	resume = slices.DeleteFunc(slices.Compact(resume), func(id string) bool { _, ok := find(c.Backups, id); return !ok })
	// listed is the catalog as the operator sees it: without the backups
	// whose deletion is under way.
	listed := slices.DeleteFunc(slices.Clone(c.Backups), func(b Backup) bool { return slices.Contains(resume, b.ID) })
	switch {
	case r.Policy != nil:
		p.Report, p.Warnings = Report(*r.Policy, listed, r.Now, r.MinRedundancy, r.Server)
		ids = ObsoleteIDs(p.Report)
	case slices.Contains(resume, r.BackupID):
		skipStandalone = true
	default:
		target, ok := find(listed, r.BackupID)
		if err := CheckKeep(r.BackupID, target.Keep, r.Server); err != nil {
			return Plan{}, err
		}
		if err := CheckMinimumRedundancy(listed, r.BackupID, r.MinRedundancy, r.Server); err != nil {
			return Plan{}, err
		}
		if !ok {
			return Plan{}, &NoSuchBackupError{ID: r.BackupID}
		}
		ids, skipStandalone = []string{r.BackupID}, true
	}
	p.Steps = planSteps(c.Backups, w, append(resume, ids...), skipStandalone, r.PrefixDeletes, safe)
	return p, nil
}

// planSteps deletes ids in order from a copy of backups, updating a copy
// of wals as it goes.
func planSteps(backups []Backup, wals WALs, ids []string, skipStandalone, prefixDeletes, safe bool) []Step {
	wals = wals.clone()
	state := append([]Backup(nil), backups...)
	sort.SliceStable(state, func(i, j int) bool { return state[i].ID < state[j].ID })
	steps := make([]Step, 0, len(ids))
	for _, id := range ids {
		i := slices.IndexFunc(state, func(b Backup) bool { return b.ID == id })
		if i < 0 {
			continue
		}
		c := cleanup{state: state, b: state[i], wals: &wals, prefixDeletes: prefixDeletes, safe: safe}
		if safe {
			c.needs = needsOf(state, id)
		}
		step := c.run(skipStandalone)
		step.BackupID = id
		steps = append(steps, step)
		state = slices.Delete(state, i, i+1)
	}
	return steps
}

func find(backups []Backup, id string) (Backup, bool) {
	for _, b := range backups {
		if b.ID == id {
			return b, true
		}
	}
	return Backup{}, false
}

// cleanup is one run of _remove_wals_for_backup.
type cleanup struct {
	state         []Backup // sorted by ID, b included
	b             Backup
	wals          *WALs
	prefixDeletes bool
	safe          bool // apply the safety rule with needs
	needs         needs
}

// walRange is a protected range of should_remove_wals, by name.
type walRange struct{ begin, end string }

// shouldRemoveWALs is BackupManager.should_remove_wals with
// find_previous_backup_in.
func (c *cleanup) shouldRemoveWALs(skipStandalone bool) (bool, []walRange) {
	var ranges []walRange
	i := slices.IndexFunc(c.state, func(b Backup) bool { return b.ID == c.b.ID })
	for {
		i = c.previous(i)
		switch {
		case i < 0:
			return true, ranges
		case c.state[i].Keep != KeepStandalone:
			return false, nil
		case skipStandalone:
			return false, nil
		}
		ranges = append(ranges, walRange{c.state[i].BeginWAL, c.state[i].EndWAL})
	}
}

// previous is find_previous_backup_in: the index of the DONE-like backup
// before index i, or -1.
func (c *cleanup) previous(i int) int {
	for i--; i >= 0; i-- {
		if doneLike(c.state[i]) {
			return i
		}
	}
	return -1
}

// next is find_next_backup_in for b.
func (c *cleanup) next() (Backup, bool) {
	i := slices.IndexFunc(c.state, func(b Backup) bool { return b.ID == c.b.ID })
	for i++; i < len(c.state); i++ {
		if doneLike(c.state[i]) {
			return c.state[i], true
		}
	}
	return Backup{}, false
}

func (c *cleanup) run(skipStandalone bool) Step {
	var step Step
	remove, ranges := c.shouldRemoveWALs(skipStandalone)
	if !remove {
		return step
	}
	until, ok := c.next()
	if !ok {
		until = c.b
	}
	untilPos, ok := segmentName(until.BeginWAL)
	if !ok {
		step.WALSkipped = fmt.Sprintf("backup %s has no valid begin_wal (%q)", until.ID, until.BeginWAL)
		return step
	}
	rangePos := make([][2]pos, len(ranges))
	for i, r := range ranges {
		b, ok1 := segmentName(r.begin)
		e, ok2 := segmentName(r.end)
		if !ok1 || !ok2 {
			step.WALSkipped = fmt.Sprintf("a standalone backup has no valid WAL range (%q, %q)", r.begin, r.end)
			return step
		}
		rangePos[i] = [2]pos{b, e}
	}
	// get_timelines_to_protect. Timeline 0 (None) can match only a
	// timeline-0 WAL name, which PostgreSQL never writes; it then protects
	// more, never less.
	protected := map[int64]bool{}
	for _, o := range c.state {
		if o.ID != c.b.ID {
			protected[int64(o.Timeline)] = true
		}
	}
	delete(protected, int64(until.Timeline))

	var deletedDirs []string
	if c.prefixDeletes {
		deletedDirs = c.prefixes(&step, protected, rangePos, untilPos)
	}
	underDeleted := func(k string) bool {
		return slices.ContainsFunc(deletedDirs, func(d string) bool { return strings.HasPrefix(k, d) })
	}

	deleted := map[string][]string{}
	for name, keys := range c.wals.Names {
		keys = slices.DeleteFunc(slices.Clone(keys), underDeleted)
		if len(keys) == 0 {
			continue
		}
		n, err := wal.Parse(name)
		if err != nil || n.Kind == wal.History {
			continue
		}
		if protected[int64(n.Timeline)] {
			continue
		}
		rangeName := name
		if n.Kind == wal.Backup {
			rangeName = name[:24]
		}
		if slices.ContainsFunc(ranges, func(r walRange) bool { return rangeName >= r.begin && rangeName <= r.end }) {
			continue
		}
		if name >= until.BeginWAL {
			continue
		}
		if by, needed := c.neededBy(name); needed {
			for _, k := range keys {
				step.Kept = append(step.Kept, KeptWAL{Key: k, NeededBy: by})
			}
			continue
		}
		deleted[name] = keys
		step.WALKeys = append(step.WALKeys, keys...)
	}
	slices.Sort(step.WALKeys)
	sort.Slice(step.Kept, func(i, j int) bool { return step.Kept[i].Key < step.Kept[j].Key })

	// Update the catalog: the names deleted one by one (remove_wal_from_cache)
	// and, unlike Barman, what went with a prefix.
	for name, keys := range c.wals.Names {
		left := slices.DeleteFunc(keys, func(k string) bool { return underDeleted(k) || slices.Contains(deleted[name], k) })
		if len(left) == 0 {
			delete(c.wals.Names, name)
		} else {
			c.wals.Names[name] = left
		}
	}
	for _, d := range deletedDirs {
		delete(c.wals.Dirs, d)
	}
	for _, k := range step.WALKeys {
		if d := c.wals.dirOf(k); d != "" {
			if c.wals.Dirs[d]--; c.wals.Dirs[d] <= 0 {
				delete(c.wals.Dirs, d)
			}
		}
	}
	return step
}

// hashDirRE is xlog._xlog_prefix_re (ASCII hex only, and no trailing
// newline: neither comes from a listing Barman wrote).
var hashDirRE = regexp.MustCompile(`^[0-9A-Fa-f]{8}[0-9A-Fa-f]{8}$`)

// prefixes is the prefix loop of _remove_wals_for_backup, then the safety
// rule; it returns the directories to delete whole, in listing order.
func (c *cleanup) prefixes(step *Step, protected map[int64]bool, ranges [][2]pos, until pos) []string {
	var dirs []string
	for _, d := range slices.Sorted(maps.Keys(c.wals.Dirs)) {
		parts := strings.Split(d, "/")
		hash := parts[len(parts)-2] // d ends with "/"
		if !hashDirRE.MatchString(hash) {
			step.Warnings = append(step.Warnings, "Ignoring malformed WAL object prefix: "+d)
			continue
		}
		tli64, _ := strconv.ParseUint(hash[:8], 16, 32)
		log64, _ := strconv.ParseUint(hash[8:], 16, 32)
		tli, log := uint32(tli64), uint32(log64)
		if protected[int64(tli)] {
			continue
		}
		if slices.ContainsFunc(ranges, func(r [2]pos) bool {
			return tli >= r[0].tli && log >= r[0].log && tli <= r[1].tli && log <= r[1].log
		}) {
			continue
		}
		if tli != until.tli || log >= until.log {
			continue
		}
		if by, needed := c.neededUnder(d); needed {
			step.Kept = append(step.Kept, KeptWAL{Key: d, NeededBy: by})
			continue
		}
		dirs = append(dirs, d)
	}
	step.WALPrefixes = dirs
	return dirs
}

// neededBy applies the safety rule to the WAL named name.
func (c *cleanup) neededBy(name string) (string, bool) {
	if !c.safe {
		return "", false
	}
	return c.needs.neededBy(name)
}

// neededUnder reports whether a WAL the safety rule keeps lies under
// directory d.
func (c *cleanup) neededUnder(d string) (string, bool) {
	for _, name := range slices.Sorted(maps.Keys(c.wals.Names)) { // sorted: the same answer every time
		keys := c.wals.Names[name]
		if !slices.ContainsFunc(keys, func(k string) bool { return strings.HasPrefix(k, d) }) {
			continue
		}
		if by, needed := c.neededBy(name); needed {
			return by, true
		}
	}
	return "", false
}
