package checkwalarchive

import (
	"context"
	"errors"
	"fmt"

	"github.com/rs/zerolog"

	"github.com/barmancloud/barman-cloud/shared/compress"
	"github.com/barmancloud/barman-cloud/shared/exitcode"
	"github.com/barmancloud/barman-cloud/shared/storage"
	"github.com/barmancloud/barman-cloud/shared/wal"
)

// Check runs barman-cloud-check-wal-archive with parsed options on the
// opened store. Unlike the other tools, it contacts the storage even with
// --test, where an unreachable storage is exit status 2 and nothing more
// is checked.
func Check(ctx context.Context, log zerolog.Logger, store *storage.Store, o Options) error {
	// Barman's connectivity test, run whatever the options: an unreachable
	// storage is exit status 2.
	exists, err := store.BucketExists(ctx)
	if err != nil {
		return err
	}
	if o.Test {
		return nil
	}
	if !exists {
		return failed(o.Server, "%v; it is not created: create it (with the settings it is meant to have), then run the check again", store.MissingBucketError())
	}
	dir := wal.WalsDir(store.Loc.Prefix, o.Server)
	found, first, err := scan(ctx, store, dir, o.Timeline)
	if err != nil {
		return fmt.Errorf("listing %s: %w", dir, err)
	}
	switch {
	case found > 0 && o.Timeline == 0:
		return failed(o.Server, "Expected empty archive (found %s)", first)
	case found > 0:
		s := ""
		if found > 1 {
			s = "s"
		}
		return failed(o.Server, "Found %d file%s in WAL archive equal to or newer than timeline %d (the first is %s)", found, s, o.Timeline, first)
	}
	if o.Timeline == 0 {
		log.Info().Msgf("WAL archive check passed for server %s: no WAL file under %s", o.Server, dir)
	} else {
		log.Info().Msgf("WAL archive check passed for server %s: no WAL file of timeline %d or later under %s", o.Server, o.Timeline, dir)
	}
	return nil
}

// failed is a failed check, worded as Barman reports it.
func failed(server, format string, a ...any) error {
	return exitcode.Failuref("WAL archive check failed for server %s: %s", server, fmt.Sprintf(format, a...))
}

// errFound stops the listing of an archive that must be empty at its
// first WAL.
var errFound = errors.New("found a WAL file")

// scan lists dir recursively and counts the distinct WAL names in it (an
// object X and its compressed copy X.gz are one WAL). With minTimeline 0,
// any WAL fails the check, so it stops at the first one; otherwise it
// counts only those of timeline minTimeline or later, all of them (the
// message gives the count). It also returns the first matching key.
func scan(ctx context.Context, store *storage.Store, dir string, minTimeline int64) (int, string, error) {
	names := map[string]bool{}
	first := ""
	err := store.Walk(ctx, dir, "", func(o storage.Object) error {
		n, ok := archivedName(o.Key)
		if !ok || (minTimeline > 0 && int64(n.Timeline) < minTimeline) {
			return nil
		}
		if first == "" {
			first = o.Key
		}
		names[n.Base] = true
		if minTimeline == 0 {
			return errFound
		}
		return nil
	})
	if errors.Is(err, errFound) {
		err = nil
	}
	return len(names), first, err
}

// archivedName is the WAL name an archived object holds, as Barman's
// CloudBackupCatalog.get_wal_paths reads it: the key's basename, either a
// WAL name itself or one with a single compression suffix. Anything else
// is not a WAL.
func archivedName(key string) (wal.Name, bool) {
	base := wal.Basename(key)
	if n, err := wal.Parse(base); err == nil {
		return n, true
	}
	if stripped, alg := compress.SplitExt(base); alg != nil {
		if n, err := wal.Parse(stripped); err == nil {
			return n, true
		}
	}
	return wal.Name{}, false
}
