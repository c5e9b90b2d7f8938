package catalog

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/barmancloud/barman-cloud/shared/backupinfo"
	"github.com/barmancloud/barman-cloud/shared/compress"
	"github.com/barmancloud/barman-cloud/shared/storage"
)

// ArchiveExts maps the extension of a backup archive to its compression
// (nil: none): Barman's backups are tar files, gzip, bzip2 or snappy
// compressed.
var ArchiveExts = map[string]*compress.Algorithm{
	"tar": nil, "tar.gz": compress.Gzip, "tar.bz2": compress.Bzip2, "tar.snappy": compress.Snappy,
}

// ArchiveExt is the extension of an archive compressed with alg (nil:
// none), without the dot: "tar.gz".
func ArchiveExt(alg *compress.Algorithm) string {
	for ext, a := range ArchiveExts {
		if a == alg {
			return ext
		}
	}
	panic("no backup archive extension for " + alg.Name)
}

// ArchiveKey is the key of part n (0 the first) of an archive family of
// backup id: BASE/ID/data.tar.gz, BASE/ID/data_0001.tar.gz, …; item is
// "data" or a tablespace's OID.
func (c *Catalog) ArchiveKey(id, item string, n int, ext string) string {
	name := item
	if n > 0 {
		name += fmt.Sprintf("_%04d", n)
	}
	return c.Dir(id) + name + "." + ext
}

// Archive is one stored archive of a backup.
type Archive struct {
	Key         string
	Compression *compress.Algorithm // nil: a plain tar
}

// Family is the archives of one item of a backup, PGDATA or a tablespace,
// in the order they are extracted.
type Family struct {
	// Item is "data" or the tablespace's OID in decimal.
	Item string
	// Tablespace is the tablespace the family holds, nil for PGDATA.
	Tablespace *backupinfo.Tablespace
	// Main is the first archive; Parts the continuations, in listing
	// (name) order.
	Main  *Archive
	Parts []Archive
}

// Archives returns the archive families of backup id: PGDATA first, then
// each tablespace in backup.info's order (get_backup_files). Every object
// of BASE/ID/ whose name is a family's name followed by "." (the first
// archive) or "_" (a continuation) and a known extension belongs to it;
// other extensions are skipped with the warning Barman gives. A family
// without its first archive is a *MissingArchiveError, unless allowMissing
// (delete removes what there is).
func (c *Catalog) Archives(ctx context.Context, id string, info *backupinfo.Info, allowMissing bool) ([]Family, []string, error) {
	fams := []Family{{Item: "data"}}
	for i := range info.Tablespaces {
		ts := info.Tablespaces[i]
		fams = append(fams, Family{Item: strconv.FormatInt(ts.OID, 10), Tablespace: &ts})
	}
	dir := c.Dir(id)
	var warnings []string
	err := c.Store.Walk(ctx, dir, "/", func(o storage.Object) error {
		for i := range fams {
			base := dir + fams[i].Item
			if !strings.HasPrefix(o.Key, base) {
				continue
			}
			suffix := o.Key[len(base):]
			var ext string
			switch {
			case strings.HasPrefix(suffix, "."):
				ext = suffix[1:]
			case strings.HasPrefix(suffix, "_"):
				ext = suffix
				if _, after, ok := strings.Cut(suffix, "."); ok {
					ext = after
				}
			default:
				// "1640" is not the family of "16400.tar".
				continue
			}
			alg, ok := ArchiveExts[ext]
			if !ok {
				warnings = append(warnings, "Skipping unknown extension: "+ext)
				continue
			}
			a := Archive{Key: o.Key, Compression: alg}
			if suffix[0] == '.' {
				fams[i].Main = &a
			} else {
				fams[i].Parts = append(fams[i].Parts, a)
			}
			break
		}
		return nil
	})
	if err != nil {
		return nil, warnings, fmt.Errorf("listing the archives of backup %s: %w", id, err)
	}
	if !allowMissing {
		for _, f := range fams {
			if f.Main == nil {
				return nil, warnings, &MissingArchiveError{Key: dir + f.Item, Server: c.Server}
			}
		}
	}
	return fams, warnings, nil
}

// MissingArchiveError is a backup whose first archive of a family is
// missing.
type MissingArchiveError struct{ Key, Server string }

func (e *MissingArchiveError) Error() string {
	return fmt.Sprintf("Missing file %s.* for server %s", e.Key, e.Server)
}
