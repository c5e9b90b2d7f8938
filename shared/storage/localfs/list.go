package localfs

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"slices"
	"strings"
	"syscall"

	"gocloud.dev/blob/driver"
)

const defaultPageSize = 1000

// ListPaged lists the objects under opts.Prefix in key order, as a bucket
// does: with a delimiter, keys sharing the part up to the delimiter after
// the prefix are one "directory" item. The page token is the last item
// returned; the next page starts after it.
//
// Directories are read in an order that yields keys sorted bytewise (a
// directory "d" sorts as "d/"), so a page needs no more than the walk up to
// its last item. With the "/" delimiter the walk stays in the prefix's
// directory: each subdirectory holding an object is one item.
func (b *bucket) ListPaged(ctx context.Context, opts *driver.ListOptions) (*driver.ListPage, error) {
	r, err := b.root()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if opts.BeforeList != nil {
		if err := opts.BeforeList(asNothing); err != nil {
			return nil, err
		}
	}
	l := &lister{
		ctx:      ctx,
		root:     r,
		prefix:   opts.Prefix,
		delim:    opts.Delimiter,
		token:    string(opts.PageToken),
		pageSize: opts.PageSize,
	}
	if l.pageSize <= 0 {
		l.pageSize = defaultPageSize
	}
	page := &driver.ListPage{}
	// The directory part of the prefix (up to its last "/") must be a
	// directory; the rest is the start of names in it.
	start := l.prefix[:strings.LastIndexByte(l.prefix, '/')+1]
	if start != "" {
		if p, _ := checkKey(strings.TrimSuffix(start, "/")); p != keyOK {
			return page, nil // no object can have this prefix
		}
	}
	err = l.walk(start)
	if err != nil && !errors.Is(err, errPageFull) {
		return nil, err
	}
	page.Objects = l.out
	if errors.Is(err, errPageFull) {
		page.NextPageToken = []byte(l.out[len(l.out)-1].Key)
	}
	return page, nil
}

// errPageFull stops the walk when an item beyond the page was found.
var errPageFull = errors.New("page full")

type lister struct {
	ctx      context.Context
	root     *os.Root
	prefix   string
	delim    string
	token    string
	pageSize int
	out      []*driver.ListObject
}

// entry is a directory entry that may hold keys.
type entry struct {
	name string
	dir  bool
	info fs.FileInfo // for files
}

// sortKey orders entries as their keys sort: every key under directory
// "d" starts with "d/".
func (e entry) sortKey() string {
	if e.dir {
		return e.name + "/"
	}
	return e.name
}

// readDir returns the directory's objects and subdirectories in key order,
// without temporary files, symbolic links to directories (which could form
// loops) and other kinds of files. A directory that vanished is empty.
func (l *lister) readDir(dirKey string) ([]entry, error) {
	name := strings.TrimSuffix(dirKey, "/")
	if name == "" {
		name = "."
	}
	f, err := l.root.OpenFile(name, os.O_RDONLY|syscall.O_DIRECTORY, 0)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	des, err := f.ReadDir(-1)
	f.Close()
	if err != nil {
		return nil, err
	}
	out := make([]entry, 0, len(des))
	for _, de := range des {
		if strings.HasPrefix(de.Name(), tmpPrefix) {
			continue
		}
		e := entry{name: de.Name()}
		switch t := de.Type(); {
		case t.IsDir():
			e.dir = true
		case t.IsRegular():
			info, err := de.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue // deleted meanwhile
			}
			if err != nil {
				return nil, err
			}
			e.info = info
		case t&fs.ModeSymlink != 0:
			info, err := l.root.Stat(dirKey + e.name)
			if err != nil || !info.Mode().IsRegular() {
				continue // dangling, a directory, or outside the root
			}
			e.info = info
		default:
			continue
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b entry) int { return strings.Compare(a.sortKey(), b.sortKey()) })
	return out, nil
}

// walk lists dirKey ("" for the root, else ending in "/") in key order.
func (l *lister) walk(dirKey string) error {
	if err := l.ctx.Err(); err != nil {
		return err
	}
	entries, err := l.readDir(dirKey)
	if err != nil {
		return err
	}
	for _, e := range entries {
		key := dirKey + e.name
		if !e.dir {
			if strings.HasPrefix(key, l.prefix) {
				if err := l.emit(key, e.info); err != nil {
					return err
				}
			}
			continue
		}
		dk := key + "/"
		if !strings.HasPrefix(dk, l.prefix) && !strings.HasPrefix(l.prefix, dk) {
			continue // no key under dk has the prefix
		}
		if l.token > dk && !strings.HasPrefix(l.token, dk) {
			continue // every key under dk sorts before the token
		}
		if l.delim == "/" && strings.HasPrefix(dk, l.prefix) {
			// The first "/" after the prefix ends dk: the whole directory
			// is the item dk, if it holds an object.
			if dk <= l.token {
				continue
			}
			ok, err := l.holdsObject(dk)
			if err != nil {
				return err
			}
			if ok {
				if err := l.add(&driver.ListObject{Key: dk, IsDir: true, AsFunc: asNothing}); err != nil {
					return err
				}
			}
			continue
		}
		if err := l.walk(dk); err != nil {
			return err
		}
	}
	return nil
}

// emit adds the object key, or the delimited item it falls under.
func (l *lister) emit(key string, fi fs.FileInfo) error {
	if l.delim != "" {
		rest := key[len(l.prefix):]
		if i := strings.Index(rest, l.delim); i >= 0 {
			item := l.prefix + rest[:i+len(l.delim)]
			if item <= l.token || (len(l.out) > 0 && l.out[len(l.out)-1].Key == item) {
				return nil // keys of one item are consecutive
			}
			return l.add(&driver.ListObject{Key: item, IsDir: true, AsFunc: asNothing})
		}
	}
	if key <= l.token {
		return nil
	}
	return l.add(&driver.ListObject{Key: key, ModTime: fi.ModTime(), Size: fi.Size(), AsFunc: fileInfoAs(fi)})
}

func (l *lister) add(o *driver.ListObject) error {
	if len(l.out) == l.pageSize {
		return errPageFull
	}
	l.out = append(l.out, o)
	return nil
}

// holdsObject reports whether the directory dirKey holds an object,
// at any depth: a directory emptied by Delete is no item.
func (l *lister) holdsObject(dirKey string) (bool, error) {
	entries, err := l.readDir(dirKey)
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		if !e.dir {
			return true, nil
		}
	}
	for _, e := range entries {
		if ok, err := l.holdsObject(dirKey + e.name + "/"); ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}
