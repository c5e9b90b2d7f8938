package backupdelete

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/barmancloud/barman-cloud/shared/catalog"
	"github.com/barmancloud/barman-cloud/shared/exitcode"
	"github.com/barmancloud/barman-cloud/shared/pylit"
	"github.com/barmancloud/barman-cloud/shared/retention"
	"github.com/barmancloud/barman-cloud/shared/storage"
)

// Request is one run of barman-cloud-backup-delete, its options parsed.
type Request struct {
	// BackupArg is -b as typed (ID, name or shortcut); "" with a Policy.
	BackupArg string
	Policy    *retention.Policy
	// MinRedundancy is -m.
	MinRedundancy int
	DryRun        bool
	// BatchSize is --batch-size, 0 for the provider's most.
	BatchSize int
	// Now is when the policy is evaluated, and object locks.
	Now time.Time
	// CheckLocks is --check-object-lock (S3 only).
	CheckLocks bool
}

// Delete reads the catalog of server in s, plans the deletion with
// retention.PlanDeletion and carries it out, or with DryRun prints it on
// out: the dry run and the real run walk the same plan through the same
// code, one printing what the other deletes. A -b of an ID the catalog
// does not hold is a *retention.NoSuchBackupError, returned after any
// interrupted deletion was finished.
func Delete(ctx context.Context, log zerolog.Logger, out io.Writer, s *storage.Store, server string, req Request) error {
	c := catalog.New(s, server)
	l, err := c.List(ctx)
	if err != nil {
		return err
	}
	for _, u := range l.Unreadable {
		log.Warn().Msgf("Unable to open backup.info file for %s: %v", u.ID, u.Err)
	}
	// Barman checks the catalog before it resolves -b.
	if err := retention.CheckReadable(l.UnreadableIDs()); err != nil {
		return exitcode.Failuref("%v", err)
	}
	keeps, err := c.Keeps(ctx)
	if err != nil {
		return err
	}
	wals, listed, err := c.WALListing(ctx)
	if err != nil {
		return err
	}

	all := &catalog.List{Backups: append(slices.Clone(l.Backups), l.Pending...)}
	sort.Slice(all.Backups, func(i, j int) bool { return all.Backups[i].ID < all.Backups[j].ID })
	rc := retention.Catalog{}
	for _, b := range all.Backups {
		rc.Backups = append(rc.Backups, b.Retention(keeps[b.ID]))
	}
	rreq := retention.Request{
		Server:        server,
		Policy:        req.Policy,
		Now:           req.Now,
		MinRedundancy: req.MinRedundancy,
		PrefixDeletes: s.Loc.Provider == storage.S3,
	}
	for _, p := range l.Pending {
		rreq.Resume = append(rreq.Resume, p.ID)
	}
	if req.Policy == nil {
		// Pending backups are resolved too, so that "-b latest" run
		// again after a failure names the backup it named the first time.
		id, err := all.Resolve(req.BackupArg, server)
		if err != nil {
			return err
		}
		rreq.BackupID = id
		if _, listed := l.ByID(id); !listed && !slices.Contains(rreq.Resume, id) {
			// Barman reads the keep annotation of an ID it was given
			// as it is, listed or not.
			k, err := c.Keep(ctx, id)
			if err != nil {
				return err
			}
			if k != retention.NoKeep {
				return exitcode.Failuref("%v", &retention.KeepError{ID: id, Server: server})
			}
		}
	}
	plan, err := retention.PlanDeletion(rc, wals, rreq)
	var nsb *retention.NoSuchBackupError
	if errors.As(err, &nsb) && len(rreq.Resume) > 0 {
		// Finish the interrupted deletions, then warn.
		rreq.BackupID = rreq.Resume[0]
		plan, err = retention.PlanDeletion(rc, wals, rreq)
		if err == nil {
			err = nsb
		}
	}
	if err != nil && !errors.As(err, &nsb) {
		return exitcode.Failuref("%v", err)
	}
	planErr := err

	for _, id := range slices.Sorted(maps.Keys(plan.Report)) {
		log.Debug().Msgf("Retention status of backup %s: %s", id, plan.Report[id])
	}
	for _, w := range plan.Warnings {
		log.Warn().Msg(w)
	}
	// Refuse what this tool cannot delete before deleting anything.
	for _, st := range plan.Steps {
		b, _ := all.ByID(st.BackupID)
		if len(b.Info.SnapshotsInfo) > 0 {
			return exitcode.Failuref("Backup %s is a snapshot backup: deleting snapshot backups is not supported; nothing was deleted", st.BackupID)
		}
	}
	d := &deleter{ctx: ctx, log: log, out: out, c: c, dryRun: req.DryRun, batch: req.BatchSize, listed: listed, gone: map[string]bool{}}
	if req.CheckLocks {
		d.lockedAt = req.Now
	}
	for _, st := range plan.Steps {
		b, _ := all.ByID(st.BackupID)
		_, pending := slices.BinarySearch(rreq.Resume, st.BackupID)
		if pending {
			log.Info().Msgf("Finishing the interrupted deletion of backup %s", st.BackupID)
		}
		if err := d.step(b, st, pending); err != nil {
			return d.fail(st.BackupID, err)
		}
	}
	return planErr
}

// deleter carries out the steps of a plan, or prints them.
type deleter struct {
	ctx    context.Context
	log    zerolog.Logger
	out    io.Writer
	c      *catalog.Catalog
	dryRun bool
	batch  int
	// done are the keys deleted so far (in order, but for the WAL
	// batches sent together); marker is set while a deletion marker is
	// in place.
	done   []string
	marker string
	// listed is every key of the run's listing of WALS/, sorted; gone
	// the keys deleted so far.
	listed []string
	gone   map[string]bool
	// lockedAt is the time object locks are checked at (--check-object-lock),
	// zero when they are not.
	lockedAt time.Time
}

// step deletes one backup: backup.info (after its marker is written), its
// archives, the WALs of the plan, then the marker.
func (d *deleter) step(b catalog.Backup, st retention.Step, pending bool) error {
	archives, err := d.archives(b)
	if err != nil {
		return err
	}
	if !d.lockedAt.IsZero() {
		// Before anything of the backup goes, in a dry run too: a locked
		// archive would stop the real run there.
		if err := d.c.Store.CheckObjectLocks(d.ctx, archives, d.lockedAt); err != nil {
			return err
		}
	}
	info, marker := d.c.InfoKey(b.ID), d.c.MarkerKey(b.ID)
	if pending {
		d.marker = marker
		if err := d.objects(archives, nil); err != nil {
			return err
		}
	} else {
		err := d.objects(append(archives, info), func() error {
			// backup.info first, marker before it: from here until the
			// marker goes, the backup is listed by no tool and a re-run
			// finishes its deletion.
			if err := d.c.WriteMarker(d.ctx, b.ID); err != nil {
				if errors.Is(err, catalog.ErrNoBackup) {
					return fmt.Errorf("%s disappeared while deleting (another deletion running?)", info)
				}
				return err
			}
			d.marker = marker
			if err := d.delete([]string{info}); err != nil {
				return err
			}
			return d.delete(archives)
		})
		if err != nil {
			return err
		}
	}
	for _, w := range st.Warnings {
		d.log.Warn().Msg(w)
	}
	if st.WALSkipped != "" {
		d.log.Warn().Msgf("Skipping the WAL clean-up after backup %s: %s", b.ID, st.WALSkipped)
	}
	for _, k := range st.Kept {
		d.log.Warn().Msgf("Keeping %s, which Barman's rules would delete: %s needs it", k.Key, neededBy(k.NeededBy))
	}
	// The WALs: whole directories, then WALs one by one, all in batches
	// sent together (see parallel). A directory's objects are those of
	// the run's one listing of WALS/: Barman lists each directory again
	// before deleting it, which would also delete objects stored there
	// since; this deletes nothing the plan did not see.
	var under []string
	for _, p := range st.WALPrefixes {
		if d.dryRun {
			fmt.Fprintf(d.out, "Skipping deletion of all objects under prefix %s due to --dry-run option\n", p)
			continue
		}
		d.log.Info().Msgf("Deleting all objects under prefix %s", p)
		i, _ := slices.BinarySearch(d.listed, p)
		for ; i < len(d.listed) && strings.HasPrefix(d.listed[i], p); i++ {
			if !d.gone[d.listed[i]] {
				under = append(under, d.listed[i])
			}
		}
	}
	if len(st.WALKeys) > 0 {
		err = d.objects(st.WALKeys, func() error { return d.deleteAll(append(under, st.WALKeys...)) })
	} else if !d.dryRun {
		err = d.deleteAll(under)
	}
	if err != nil {
		return err
	}
	if pending {
		if err := d.objects([]string{marker}, nil); err != nil {
			return err
		}
	} else if !d.dryRun {
		if err := d.delete([]string{marker}); err != nil {
			return err
		}
	}
	d.marker = ""
	return nil
}

func neededBy(id string) string {
	if id == "history" {
		return "recovery (a history file)"
	}
	return "backup " + id
}

// archives lists the archives of b in Barman's order of deletion: PGDATA's
// first archive, its continuations, then each tablespace's by ascending
// OID. Missing ones are no error (allow_missing).
func (d *deleter) archives(b catalog.Backup) ([]string, error) {
	fams, warnings, err := d.c.Archives(d.ctx, b.ID, b.Info, true)
	for _, w := range warnings {
		d.log.Warn().Msg(w)
	}
	if err != nil {
		return nil, err
	}
	sort.SliceStable(fams, func(i, j int) bool {
		if fams[i].Tablespace == nil || fams[j].Tablespace == nil {
			return fams[i].Tablespace == nil && fams[j].Tablespace != nil
		}
		a, _ := strconv.ParseInt(fams[i].Item, 10, 64)
		c, _ := strconv.ParseInt(fams[j].Item, 10, 64)
		return a < c
	})
	var keys []string
	for _, f := range fams {
		if f.Main != nil {
			keys = append(keys, f.Main.Key)
		}
		var parts []string
		for _, p := range f.Parts {
			parts = append(parts, p.Key)
		}
		slices.Sort(parts)
		keys = append(keys, parts...)
	}
	return keys, nil
}

// objects is one line of the plan: a dry run prints keys as Barman does;
// a real run logs the same list and deletes it, in order, or runs do,
// which deletes them its own way (the backup's own objects: backup.info
// first; WALs: batches in parallel).
func (d *deleter) objects(keys []string, do func() error) error {
	if len(keys) == 0 {
		return nil
	}
	list := pyList(keys)
	if d.dryRun {
		fmt.Fprintf(d.out, "Skipping deletion of objects %s due to --dry-run option\n", list)
		return nil
	}
	d.log.Info().Msgf("Deleting objects %s", list)
	if do != nil {
		return do()
	}
	return d.delete(keys)
}

// deleteAll deletes keys in --batch-size requests sent together.
func (d *deleter) deleteAll(keys []string) error {
	var jobs []job
	for chunk := range slices.Chunk(keys, d.c.Store.DeleteBatchSize(d.batch)) {
		jobs = append(jobs, func(ctx context.Context) ([]string, error) { return d.c.Store.Delete(ctx, chunk, d.batch) })
	}
	return d.parallel(jobs)
}

// job is one deletion of a step that does not depend on the others: it
// returns the keys it deleted.
type job func(context.Context) ([]string, error)

// parallelism is how many WAL deletions run at once. The WAL deletions
// of a step (whole directories, batches of keys) are independent: every
// one of them is to go, and after a failure a re-run plans again from
// what is left, so they need not wait for each other. Barman sends them
// one after another; a storage deletes a batch of keys one key at a time
// (MinIO: about 0.5 ms each), so several requests in flight are several
// times faster.
const parallelism = 8

// parallel runs jobs, parallelism at a time; the first error cancels the
// rest and is returned once they have stopped, with every key deleted
// recorded.
func (d *deleter) parallel(jobs []job) error {
	g, ctx := errgroup.WithContext(d.ctx)
	g.SetLimit(parallelism)
	var mu sync.Mutex
	for _, j := range jobs {
		g.Go(func() error {
			if ctx.Err() != nil {
				return nil // an earlier job failed: start no more
			}
			deleted, err := j(ctx)
			mu.Lock()
			d.record(deleted)
			mu.Unlock()
			return err
		})
	}
	return g.Wait()
}

// delete deletes keys in --batch-size requests.
func (d *deleter) delete(keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	deleted, err := d.c.Store.Delete(d.ctx, keys, d.batch)
	d.record(deleted)
	return err
}

// record notes keys as deleted.
func (d *deleter) record(keys []string) {
	d.done = append(d.done, keys...)
	for _, k := range keys {
		d.gone[k] = true
	}
}

// fail reports a deletion that stopped in the middle: what went, and how
// to finish.
func (d *deleter) fail(id string, err error) error {
	d.log.Error().Msgf("Could not delete backup %s: %v", id, err)
	if len(d.done) == 0 {
		d.log.Warn().Msg("Nothing was deleted by this run")
	} else {
		d.log.Warn().Msgf("Deleted by this run before the failure (%d objects): %s", len(d.done), pyList(d.done))
	}
	if d.marker != "" {
		d.log.Warn().Msgf("Backup %s is half deleted: run the same command again to finish (its deletion marker %s remains)", id, d.marker)
	}
	return &exitcode.Error{Code: exitcode.Failure, Err: err, Logged: true}
}

// pyList is Python's repr of a list of strings, as Barman's log lines
// print the keys.
func pyList(keys []string) string {
	l := make(pylit.List, len(keys))
	for i, k := range keys {
		l[i] = k
	}
	return pylit.Repr(l)
}
