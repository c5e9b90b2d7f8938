package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/barmancloud/barman-cloud/shared/catalog"
	"github.com/barmancloud/barman-cloud/shared/compress"
	"github.com/barmancloud/barman-cloud/shared/pgtar"
	"github.com/barmancloud/barman-cloud/shared/pylit"
	"github.com/barmancloud/barman-cloud/shared/storage"
)

// maxArchiveSizeCap is the largest --max-archive-size of every provider
// (MAX_ARCHIVE_SIZE of Barman's cloud interfaces): S3 takes objects of up
// to 5 TiB, Azure 4.75 TiB, and Barman keeps well below.
const maxArchiveSizeCap = 1 << 40

// compressionLevel is the level of each compressor. Barman's tarfile
// writes gzip and bzip2 at level 9; any level reads the same.
//
// gzip: 6 (the WAL tools' default), within 0.2% of 9's size on pgbench
// tables at a fraction of its time (pgzip's parallel deflate makes it
// faster still); level 1 would halve the CPU again for archives 8% larger.
//
// bzip2: 3, 300 kB blocks. Its level only sets the block size, and the
// encoder's memory grows with it: about 25 MB more at 9 than at 3, which
// would take barman-cloud-backup past 64 MiB at -J 4, for archives 7%
// smaller on pgbench tables.
func compressionLevel(alg *compress.Algorithm) compress.Level {
	switch alg {
	case compress.Gzip:
		return compress.Num(6)
	case compress.Bzip2:
		return compress.Num(3)
	}
	return compress.Medium
}

// archiver writes the archive families of one backup (Barman's
// CloudUploadController): for each item, "data" or a tablespace OID, a
// pgtar.Writer whose parts are objects BASE/ID/<item>[_NNNN].tar[.ext],
// each sent as the tar writer produces it: compressor, byte count (the
// part's Size, on which the tar writer splits), bandwidth limit, storage
// Writer.
type archiver struct {
	ctx     context.Context
	cat     *catalog.Catalog
	id      string
	alg     *compress.Algorithm // nil: plain tar
	maxSize int64               // --max-archive-size, capped
	write   storage.WriteOptions
	limit   *throttle // nil: no --max-bandwidth
	log     zerolog.Logger
	now     func() time.Time

	items []*item               // in the order they were opened: copy_stats' order
	open  map[*archivePart]bool // parts neither closed nor aborted
}

// item is one archive family.
type item struct {
	name  string
	tw    *pgtar.Writer
	parts []*archivePart
}

// ext is the extension of the archives: "tar", "tar.gz", …
func (a *archiver) ext() string { return catalog.ArchiveExt(a.alg) }

// destName is how Barman's log lines name the first archive of item:
// "data.tar.gz" (_build_dest_name).
func (a *archiver) destName(item string) string { return item + "." + a.ext() }

// family starts the archive family of item.
func (a *archiver) family(name string) *item {
	it := &item{name: name}
	it.tw = &pgtar.Writer{
		MaxSize: a.maxSize,
		Open:    func(n int) (pgtar.Part, error) { return a.openPart(it, n) },
	}
	a.items = append(a.items, it)
	return it
}

// openPart starts part n of it's family: its object's upload.
func (a *archiver) openPart(it *item, n int) (pgtar.Part, error) {
	key := a.cat.ArchiveKey(a.id, it.name, n, a.ext())
	w, err := a.cat.Store.NewWriter(a.ctx, key, a.write)
	if err != nil {
		return nil, err
	}
	p := &archivePart{key: key, w: w, start: a.now(), limit: a.limit, now: a.now}
	p.out = p.count
	if a.alg != nil {
		z, err := a.alg.NewWriter(writerFunc(p.count), compressionLevel(a.alg))
		if err != nil {
			w.Abort(err)
			return nil, err
		}
		p.z, p.out = z, z.Write
	}
	a.open[p] = true
	p.closed = func() { delete(a.open, p) }
	it.parts = append(it.parts, p)
	a.log.Debug().Msgf("Uploading %s", key)
	return p, nil
}

// tablespaceSource is a tablespace to archive: as PostgreSQL reports it,
// and the directory it is read from (its location; in hook mode, its
// directory in Barman's backup).
type tablespaceSource struct {
	pgtar.Tablespace
	name string
	dir  string
}

// dataFiles is CloudBackupUploader._backup_data_files: each tablespace's
// archive family, stored before the next starts (major names its
// PG_<major>_* directory), then PGDATA's, read from pgdataDir with the
// rules of the data directory pgdata, and global/pg_control. The data
// family is left open for what follows.
func (a *archiver) dataFiles(pgdata, pgdataDir string, tablespaces []tablespaceSource, major string) (*item, error) {
	var ts []pgtar.Tablespace
	for _, t := range tablespaces {
		ts = append(ts, t.Tablespace)
		it := a.family(strconv.FormatUint(uint64(t.OID), 10))
		if err := a.addTree(it, t.name, t.dir, pgtar.TablespaceRules(major)); err != nil {
			return nil, err
		}
		if err := it.tw.Close(); err != nil {
			return nil, err
		}
	}
	data := a.family("data")
	if err := a.addTree(data, "pgdata", pgdataDir, pgtar.PGDATARules(pgdata, ts)); err != nil {
		return nil, err
	}
	if err := a.addFile(data, "pg_control", pgdataDir+"/global/pg_control", "global/pg_control"); err != nil {
		return nil, err
	}
	return data, nil
}

// addTree adds the tree at src to it's family (upload_directory).
func (a *archiver) addTree(it *item, label, src string, rules *pgtar.Rules) error {
	a.log.Info().Msgf("Uploading '%s' directory '%s' as '%s'", label, src, a.destName(it.name))
	return it.tw.AddTree(src, rules)
}

// addFile adds the file at src as member path (add_file).
func (a *archiver) addFile(it *item, label, src, path string) error {
	a.log.Info().Msgf("Uploading '%s' file from '%s' to '%s' with path '%s'", label, src, a.destName(it.name), path)
	return it.tw.AddFile(path, src)
}

// abort ends every upload still in progress without storing it: nothing
// appears under their keys, and no S3 multipart upload stays open.
func (a *archiver) abort(cause error) {
	for p := range a.open {
		if err := p.abort(cause); err != nil {
			a.log.Warn().Msgf("could not abort the upload of %s: %v", p.key, err)
		}
	}
}

// archivePart is one archive object being written: a pgtar.Part.
type archivePart struct {
	key   string
	w     *storage.Writer
	z     io.WriteCloser            // the compressor, nil for a plain tar
	out   func([]byte) (int, error) // where the tar goes: z, or count
	n     int64                     // bytes handed to the storage
	limit *throttle
	now   func() time.Time

	start, end time.Time
	closed     func() // tells the archiver the part is done
}

// count hands compressed bytes to the storage, through the bandwidth
// limit, counting them: the part's Size is what Barman's CloudTarUploader
// counts, the bytes after compression.
func (p *archivePart) count(b []byte) (int, error) {
	var n int
	var err error
	if p.limit != nil {
		n, err = p.limit.write(p.w, b)
	} else {
		n, err = p.w.Write(b)
	}
	p.n += int64(n)
	return n, err
}

func (p *archivePart) Write(b []byte) (int, error) { return p.out(b) }

// Size is the bytes stored or being stored so far, after compression. A
// compressor holds its current block before any of it counts (pgzip up to
// four blocks of 256 KiB, bzip2 300 kB, snappy 64 KiB), where Python's
// zlib lags by less: an archive may pass -S by that much more than
// Barman's, never by more than a megabyte.
func (p *archivePart) Size() int64 { return p.n }

// Close ends the compressed stream and stores the object whole, returning
// once it is stored. On failure the upload is aborted.
func (p *archivePart) Close() error {
	var err error
	if p.z != nil {
		err = p.z.Close()
	}
	if err != nil {
		p.w.Abort(err)
	} else {
		err = p.w.Close()
	}
	p.end = p.now()
	p.closed()
	if err != nil {
		return fmt.Errorf("storing %s: %w", p.key, err)
	}
	return nil
}

// abort discards the part: its upload is aborted, its compressor released.
func (p *archivePart) abort(cause error) error {
	err := p.w.Abort(cause)
	if p.z != nil {
		// Its goroutines (pgzip's) end with it; what it still writes is
		// refused by the aborted Writer.
		p.z.Close() //nolint:errcheck // the part is being discarded
	}
	p.closed()
	return err
}

// writerFunc is a function as an io.Writer.
type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// seconds is Python's timedelta.total_seconds() of d: microseconds.
func seconds(d time.Duration) float64 { return float64(d.Microseconds()) / 1e6 }

// copyStats is CloudUploadController.statistics: total_time from the
// archiver's creation to the close of its last archive, and per item the
// span from its first archive's start to its last one's end
// (copy_time_per_item) and the sum of the parts' upload times
// (serialized_copy_time_per_item), tablespaces first, then data; the
// spans and sums over all items; analysis times 0. workers is
// number_of_workers, Barman's upload processes.
//
// An archive starts when its upload is opened, where Barman's statistics
// start with its first part queued; part times are storage.Writer's
// SendTime, retries included.
func (a *archiver) copyStats(created, closed time.Time, workers int) (pylit.Dict, error) {
	var first, last time.Time
	var serialized time.Duration
	analysis := pylit.Dict{}
	perItem := pylit.Dict{}
	serialPerItem := pylit.Dict{}
	for _, it := range a.items {
		if len(it.parts) == 0 {
			continue
		}
		var start, end time.Time
		var sum time.Duration
		for _, p := range it.parts {
			if p.end.IsZero() {
				return nil, errors.New("copy statistics of an archive that was not stored")
			}
			if start.IsZero() || p.start.Before(start) {
				start = p.start
			}
			if p.end.After(end) {
				end = p.end
			}
			sum += p.w.SendTime()
		}
		if first.IsZero() || start.Before(first) {
			first = start
		}
		if end.After(last) {
			last = end
		}
		serialized += sum
		analysis = append(analysis, pylit.Item{Key: it.name, Value: int64(0)})
		perItem = append(perItem, pylit.Item{Key: it.name, Value: seconds(end.Sub(start))})
		serialPerItem = append(serialPerItem, pylit.Item{Key: it.name, Value: seconds(sum)})
	}
	return pylit.Dict{
		{Key: "total_time", Value: seconds(closed.Sub(created))},
		{Key: "number_of_workers", Value: int64(workers)},
		{Key: "analysis_time", Value: int64(0)},
		{Key: "analysis_time_per_item", Value: analysis},
		{Key: "copy_time_per_item", Value: perItem},
		{Key: "serialized_copy_time_per_item", Value: serialPerItem},
		{Key: "copy_time", Value: seconds(last.Sub(first))},
		{Key: "serialized_copy_time", Value: seconds(serialized)},
	}, nil
}
