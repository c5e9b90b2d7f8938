// Package catalog reads and writes a server's base backups in a bucket the
// way Barman's CloudBackupCatalog does (barman/cloud.py): the backups
// listed under SERVER/base/, their backup.info, the archives of each, the
// keep annotations (barman/annotations.py AnnotationManagerCloud), the WAL
// catalog, and how a backup identifier on the command line names one.
//
// It knows the keys and the rules; it does not decide anything (that is
// shared/retention's) and does not print anything: warnings are returned
// for the tools to log.
//
// This package is part of the barman-cloud command and has no compatibility
// promise as a library.
package catalog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/barmancloud/barman-cloud/shared/backupinfo"
	"github.com/barmancloud/barman-cloud/shared/retention"
	"github.com/barmancloud/barman-cloud/shared/storage"
	"github.com/barmancloud/barman-cloud/shared/wal"
)

// Catalog is the backups of one server in one store.
type Catalog struct {
	Store  *storage.Store
	Server string
	// Base is BASE = join(PREFIX, SERVER, "base"), without a trailing "/".
	Base string

	list *List // read once per run, as Barman caches get_backup_list
}

// New returns the catalog of server in s.
func New(s *storage.Store, server string) *Catalog {
	return &Catalog{Store: s, Server: server, Base: strings.TrimSuffix(wal.PyJoin(s.Loc.Prefix, server, "base"), "/")}
}

// Backup is one backup whose backup.info could be read.
type Backup struct {
	ID   string
	Info *backupinfo.Info
}

// Unreadable is a backup whose backup.info exists but could not be read.
type Unreadable struct {
	ID  string
	Err error
}

// List is what get_backup_list finds: the readable backups by ID, any
// status, and the unreadable ones.
type List struct {
	Backups    []Backup // sorted by ID
	Unreadable []Unreadable
	// Pending are the backups whose deletion barman-cloud-backup-delete
	// began and did not finish: backup.info is gone, the deletion marker
	// (MarkerKey) holds a copy of it. Barman does not see them (a
	// directory without backup.info is skipped); only the delete tool uses
	// them, to finish the job. Sorted by ID.
	Pending []Backup
}

// ByID returns the backup with id, if it was read.
func (l *List) ByID(id string) (Backup, bool) {
	i := sort.Search(len(l.Backups), func(i int) bool { return l.Backups[i].ID >= id })
	if i < len(l.Backups) && l.Backups[i].ID == id {
		return l.Backups[i], true
	}
	return Backup{}, false
}

// UnreadableIDs are the IDs of the unreadable backups.
func (l *List) UnreadableIDs() []string {
	ids := make([]string, len(l.Unreadable))
	for i, u := range l.Unreadable {
		ids[i] = u.ID
	}
	return ids
}

// InfoKey is the key of backup id's backup.info.
func (c *Catalog) InfoKey(id string) string { return wal.PyJoin(c.Base, id, "backup.info") }

// Dir is the "directory" of backup id's objects, with a trailing "/".
func (c *Catalog) Dir(id string) string { return wal.PyJoin(c.Base, id) + "/" }

// MarkerKey is the key of backup id's deletion marker: a copy of its
// backup.info that barman-cloud-backup-delete writes before it deletes
// backup.info, and deletes once the archives and the WALs it clears are
// gone. Its name claims no archive family (get_backup_files) and Barman's
// catalog ignores it.
func (c *Catalog) MarkerKey(id string) string { return wal.PyJoin(c.Base, id, "backup.info.deleting") }

// WriteMarker copies backup id's backup.info, byte for byte, to its
// deletion marker; it returns ErrNoBackup when backup.info is gone.
func (c *Catalog) WriteMarker(ctx context.Context, id string) error {
	data, err := c.get(ctx, c.InfoKey(id))
	if errors.Is(err, storage.ErrNotFound) {
		return ErrNoBackup
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", c.InfoKey(id), err)
	}
	key := c.MarkerKey(id)
	return c.Store.Retry(ctx, "uploading "+key, func(ctx context.Context) error {
		return c.Store.Upload(ctx, key, strings.NewReader(string(data)), int64(len(data)), storage.UploadOptions{})
	})
}

// readMarker reads backup id's deletion marker: ErrNoBackup when there is
// none, a *ParseError when it cannot be parsed.
func (c *Catalog) readMarker(ctx context.Context, id string) (*backupinfo.Info, error) {
	data, err := c.get(ctx, c.MarkerKey(id))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrNoBackup
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", c.MarkerKey(id), err)
	}
	info, err := backupinfo.Parse(data)
	if err != nil {
		return nil, &ParseError{ID: id, Err: err}
	}
	return info, nil
}

// List reads the catalog (get_backup_list): every "directory" under
// BASE/ is a backup ID whose backup.info is read; one that is missing is
// skipped silently (a backup still running, or an orphan), one that cannot
// be parsed is Unreadable. The result is read once and kept for the run.
func (c *Catalog) List(ctx context.Context) (*List, error) {
	if c.list != nil {
		return c.list, nil
	}
	dirs, err := c.Store.ListDirs(ctx, c.Base+"/")
	if err != nil {
		return nil, fmt.Errorf("listing the backups under %s/: %w", c.Base, err)
	}
	l := &List{}
	for _, d := range dirs {
		id := wal.Basename(strings.TrimSuffix(d, "/"))
		info, err := c.Read(ctx, id)
		if errors.Is(err, ErrNoBackup) {
			// A backup still running, an orphan, or one whose deletion
			// was interrupted: only the last has a marker.
			info, err = c.readMarker(ctx, id)
			if err == nil {
				l.Pending = append(l.Pending, Backup{ID: id, Info: info})
				continue
			}
		}
		switch {
		case errors.Is(err, ErrNoBackup):
			continue
		case errors.As(err, new(*ParseError)):
			l.Unreadable = append(l.Unreadable, Unreadable{ID: id, Err: err})
			continue
		case err != nil:
			return nil, err
		}
		l.Backups = append(l.Backups, Backup{ID: id, Info: info})
	}
	sort.Slice(l.Backups, func(i, j int) bool { return l.Backups[i].ID < l.Backups[j].ID })
	sort.Slice(l.Unreadable, func(i, j int) bool { return l.Unreadable[i].ID < l.Unreadable[j].ID })
	sort.Slice(l.Pending, func(i, j int) bool { return l.Pending[i].ID < l.Pending[j].ID })
	c.list = l
	return l, nil
}

// ErrNoBackup is Read's error for a backup without backup.info.
var ErrNoBackup = errors.New("no backup.info")

// ParseError is a backup.info that exists but cannot be read; Barman calls
// its backup unreadable.
type ParseError struct {
	ID  string
	Err error
}

func (e *ParseError) Error() string { return e.Err.Error() }
func (e *ParseError) Unwrap() error { return e.Err }

// maxInfoSize bounds what is read of a backup.info or an annotation: a few
// KiB in practice; an object far larger is not one.
const maxInfoSize = 16 << 20

// Read reads backup id's backup.info: ErrNoBackup when it does not exist,
// a *ParseError when it cannot be parsed.
func (c *Catalog) Read(ctx context.Context, id string) (*backupinfo.Info, error) {
	data, err := c.get(ctx, c.InfoKey(id))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrNoBackup
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", c.InfoKey(id), err)
	}
	info, err := backupinfo.Parse(data)
	if err != nil {
		return nil, &ParseError{ID: id, Err: err}
	}
	return info, nil
}

// get reads a small object whole, retried as one operation.
func (c *Catalog) get(ctx context.Context, key string) ([]byte, error) {
	var data []byte
	err := c.Store.Retry(ctx, "reading "+key, func(ctx context.Context) error {
		r, err := c.Store.NewReader(ctx, key)
		if err != nil {
			return err
		}
		defer r.Close()
		data, err = io.ReadAll(io.LimitReader(r, maxInfoSize+1))
		if err != nil {
			return storage.ReadError(err)
		}
		if len(data) > maxInfoSize {
			return fmt.Errorf("%s is larger than %d bytes", key, maxInfoSize)
		}
		return nil
	})
	return data, err
}

// WriteInfo uploads backup id's backup.info in Barman's field set fs,
// replacing any (Barman writes it with overwrite; a backup's is written
// once, last). up carries the tags and encryption every object of the
// backup gets.
func (c *Catalog) WriteInfo(ctx context.Context, id string, info *backupinfo.Info, fs backupinfo.FieldSet, up storage.UploadOptions) error {
	data, err := info.Marshal(fs)
	if err != nil {
		return err
	}
	key := c.InfoKey(id)
	return c.Store.Retry(ctx, "uploading "+key, func(ctx context.Context) error {
		return c.Store.Upload(ctx, key, strings.NewReader(string(data)), int64(len(data)), up)
	})
}

// WALs reads the WAL catalog (get_wal_paths) from one recursive listing of
// WALS/.
func (c *Catalog) WALs(ctx context.Context) (retention.WALs, error) {
	w, _, err := c.WALListing(ctx)
	return w, err
}

// WALListing is WALs, with every key of the listing, WAL or not, sorted.
func (c *Catalog) WALListing(ctx context.Context) (retention.WALs, []string, error) {
	prefix := strings.TrimSuffix(wal.WalsDir(c.Store.Loc.Prefix, c.Server), "/")
	var keys []string
	err := c.Store.Walk(ctx, prefix+"/", "", func(o storage.Object) error {
		keys = append(keys, o.Key)
		return nil
	})
	if err != nil {
		return retention.WALs{}, nil, fmt.Errorf("listing the WALs under %s/: %w", prefix, err)
	}
	sort.Strings(keys)
	return retention.ListWALs(prefix, keys), keys, nil
}

// Retention is what the retention rules need of backup b, with its keep
// annotation.
func (b Backup) Retention(keep retention.Keep) retention.Backup {
	rb := retention.Backup{ID: b.ID, Keep: keep}
	if s, ok := b.Info.Status.Get(); ok {
		rb.Status = string(s)
	}
	if t, ok := b.Info.Timeline.Get(); ok && t > 0 && t <= 1<<31 {
		rb.Timeline = int(t)
	}
	rb.BeginWAL, _ = b.Info.BeginWAL.Get()
	rb.EndWAL, _ = b.Info.EndWAL.Get()
	rb.EndTime, _ = b.Info.EndTime.Get()
	return rb
}
