package walobject

import (
	"strings"

	"github.com/barmancloud/barman-cloud/shared/compress"
	"github.com/barmancloud/barman-cloud/shared/storage"
	"github.com/barmancloud/barman-cloud/shared/wal"
)

// SkipReason says why Select passed over a listed object.
type SkipReason int

const (
	// SkipUnknown: the key is not a WAL name, with or without one
	// compression suffix (Barman warns "Unknown WAL file").
	SkipUnknown SkipReason = iota + 1
	// SkipBackup: a backup label standing in for another WAL.
	SkipBackup
	// SkipPartial: a .partial standing in for a segment, with --no-partial.
	SkipPartial
)

// Skipped is a listed object Select did not choose, and why.
type Skipped struct {
	Key    string
	Reason SkipReason
}

// Selection is the object restore downloads for a requested WAL.
type Selection struct {
	Found bool
	// Candidate is the chosen object and the compression of that object,
	// decided from its own name.
	Candidate Candidate
	// Name is the WAL name the chosen object holds: the requested one, or
	// a .partial standing in for the requested segment.
	Name wal.Name
	// Skipped lists, in listing order, the objects passed over before the
	// choice was made, for the log.
	Skipped []Skipped
}

// Select chooses, among objs (the listing of the keys starting with
// exact = dir + the requested WAL name, in the provider's order), the
// object barman-cloud-wal-restore downloads, with the rules of Barman 3.17
// (cloud_walrestore.py CloudWalDownloader.download_wal):
//
//   - objects are walked in listing order, and the first acceptable one
//     other than exact itself is chosen; exact is only a fallback, so a
//     compressed copy, and even a .partial of the requested segment, win
//     over an uncompressed exact object;
//   - an object is acceptable when its name, stripped of one compression
//     suffix, is a valid WAL name that is not a backup label, and not a
//     .partial when noPartial is set.
//
// It differs from Barman in two ways. The compression is that of the
// chosen object: Barman keeps the suffix of the last object it looked at,
// so that X chosen after skipping X.00000028.backup.gz was "decompressed"
// with gzip and the restore failed. And a compressed copy of the requested
// name itself (X.00000028.backup.gz when X.00000028.backup is requested,
// X.partial.gz for X.partial with noPartial) is that file, never a
// stand-in, so it is acceptable whatever its kind, as the exact object is;
// Barman skips it and reports the file as missing.
func Select(objs []storage.Object, exact string, noPartial bool) Selection {
	var (
		sel      Selection
		fallback *storage.Object
	)
	for i := range objs {
		o := &objs[i]
		if !strings.HasPrefix(o.Key, exact) {
			// Not part of this WAL's listing: a provider returned more
			// than asked for. Never a candidate.
			continue
		}
		if o.Key == exact {
			fallback = o
			continue
		}
		base, alg := compress.SplitExt(o.Key)
		n, err := wal.Parse(base)
		switch {
		case err != nil:
			sel.Skipped = append(sel.Skipped, Skipped{Key: o.Key, Reason: SkipUnknown})
			continue
		case base == exact:
			// A compressed copy of the requested file.
		case n.Kind == wal.Backup:
			sel.Skipped = append(sel.Skipped, Skipped{Key: o.Key, Reason: SkipBackup})
			continue
		case n.Kind == wal.Partial && noPartial:
			sel.Skipped = append(sel.Skipped, Skipped{Key: o.Key, Reason: SkipPartial})
			continue
		}
		sel.Found = true
		sel.Candidate = candidate(*o, alg)
		sel.Name = n
		return sel
	}
	if fallback != nil {
		n, err := wal.Parse(exact)
		sel.Found = err == nil
		sel.Candidate = candidate(*fallback, nil)
		sel.Name = n
	}
	return sel
}
