package pgtar

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Part is one archive part being written: for barman-cloud-backup an object
// upload, usually behind a compressor.
type Part interface {
	io.Writer
	// Size is the number of bytes the part has emitted so far after
	// compression (Barman's CloudTarUploader.size); the Writer starts a new
	// part when it exceeds MaxSize.
	Size() int64
	// Close finishes the part (compressor trailer, upload completion) and
	// returns only when the part is stored, as Barman's CloudTarUploader.close
	// waits for its multipart upload.
	Close() error
}

// recordSize is the tar record Python's tarfile pads an archive to
// (tarfile.RECORDSIZE).
const recordSize = 20 * 512

// copyBufferSize is the one buffer a Writer copies file contents through:
// large enough that reading a 1 GiB relation segment costs few system calls.
const copyBufferSize = 1 << 20

// zeros pads shrunk files and the final tar record; it is never written to.
var zeros = make([]byte, 64<<10)

// Writer writes one archive family (the data directory, or one tablespace)
// as a sequence of tar parts, like Barman's CloudUploadController for one
// name: part 0 is Barman's "NAME.tar", part N is "NAME_%04d.tar".
//
// Before each member it starts a new part if the current part's Size
// exceeds MaxSize (0 or less: never), so parts split only between members
// and a huge member makes a large part. A part is closed with the tar end
// blocks padded to a 10240-byte record.
//
// Members are PAX-format headers (readable by Python's tarfile in stream
// mode) taken from lstat: regular files, directories, symlinks, FIFOs,
// devices, and hard links to a file stored earlier in the same part. File
// contents are exactly the size lstat reported: a file that shrinks while
// read is padded with zeros, one that grows is cut at that size (Barman's
// copyfileobj_pad_truncate); WAL replay from the backup's checkpoint repairs
// such torn files.
//
// Errors that happen before a member's header is written (a file that
// cannot be opened) leave the Writer usable; an error while writing makes
// it fail from then on. After a failure, the current part has not been
// closed: the caller must abort it (its upload must not complete).
type Writer struct {
	// Open returns part number part (0 for the first).
	Open func(part int) (Part, error)
	// MaxSize is Barman's --max-archive-size: the part size, after
	// compression, above which the next member goes to a new part.
	MaxSize int64

	part   Part
	out    countingWriter // the current part, counting uncompressed bytes
	tw     *tar.Writer
	parts  int
	links  map[fileID]string // hard-linked files stored in the current part
	owners owners
	buf    []byte
	hdr    tar.Header
	err    error
	closed bool

	// openFile opens a file to archive; tests replace it to change files
	// while they are read.
	openFile func(path string) (io.ReadCloser, error)
}

// fileID identifies an inode for hard-link detection.
type fileID struct{ dev, ino uint64 }

// Meta is the header of a member made from memory (AddBytes).
type Meta struct {
	Mode         int64 // permission bits (and setuid, setgid, sticky)
	Uid, Gid     int
	Uname, Gname string
	ModTime      time.Time
}

// BackupLabelMeta returns the header of the backup_label member: mode 0600,
// owned like the data directory pgdata, modified at mtime (the time of
// pg_backup_stop).
//
// Deliberate improvement: Barman's add_fileobj writes mode 0644, mtime 0,
// uid 0 and empty owner names (it assigns the uid to gid, then overwrites
// it). PostgreSQL creates backup_label 0600 as the data directory's owner.
func BackupLabelMeta(pgdata string, mtime time.Time) (Meta, error) {
	fi, err := os.Stat(pgdata)
	if err != nil {
		return Meta{}, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return Meta{}, fmt.Errorf("%s: no owner information on this platform", pgdata)
	}
	var o owners
	return Meta{
		Mode:    0o600,
		Uid:     int(st.Uid),
		Gid:     int(st.Gid),
		Uname:   o.user(st.Uid),
		Gname:   o.group(st.Gid),
		ModTime: mtime,
	}, nil
}

// Parts returns the number of parts opened so far.
func (w *Writer) Parts() int { return w.parts }

// AddTree adds the directory tree at root, walking it like Barman's
// CloudUploadController.upload_directory (os.walk, top-down, no symlink
// following) with rules deciding what is archived; a nil rules archives
// everything. Member names are relative to root: "." for root itself,
// "./NAME" for its files, "dir/…" for everything deeper; directory names
// end in "/" in their headers ("./", "base/"), as tarfile writes them.
//
// A directory that rules reject is archived neither itself nor its files;
// unlike Barman its subdirectories are not visited either (see walk). A
// symbolic link to a directory is neither stored nor followed; one to
// anything else, or dangling, is stored as a symlink. Sockets are skipped.
// An entry that disappears during the walk is skipped. Any other error
// fails, including a missing root or an unreadable directory, which
// os.walk would silently leave out of Barman's archive.
func (w *Writer) AddTree(root string, rules *Rules) error {
	if err := w.usable(); err != nil {
		return err
	}
	return w.walk(root, ".", rules, true)
}

// walk archives directory dir, named name in the archive, and what is below.
func (w *Writer) walk(dir, name string, rules *Rules, isRoot bool) error {
	allowed := rules.Allowed(name, true)
	// Deliberate improvement: prune a rejected directory. Barman skips only
	// its entry and its files and still visits its subdirectories (so it
	// uploads pg_replslot/<slot>/<subdir>, an old PG_15_* tree of a
	// tablespace after pg_upgrade, pgsql_tmp/<set>, and the subtree of a
	// tablespace located inside PGDATA a second time). The root is always
	// visited: the tablespace rules reject "." but archive below it.
	if !allowed && !isRoot {
		return nil
	}
	// os.ReadDir sorts by name. Deliberate improvement: Barman archives in
	// file-system order; sorted members make archives reproducible.
	entries, err := os.ReadDir(dir)
	if err != nil {
		if !isRoot && errors.Is(err, fs.ErrNotExist) {
			return nil // removed during the backup: WAL replay recreates it
		}
		return fmt.Errorf("reading directory %s: %w", dir, err)
	}
	if allowed {
		// A symlinked root is followed, as Barman follows a symlinked
		// PGDATA (realpath) and os.walk a symlinked tablespace location.
		if err := w.addPath(name, dir, isRoot); err != nil {
			return err
		}
	}
	subdirs := entries[:0]
	for _, e := range entries {
		full := dir + "/" + e.Name()
		t := e.Type()
		if t.IsDir() {
			subdirs = append(subdirs, e)
			continue
		}
		if t&fs.ModeSymlink != 0 {
			// os.walk lists a symlink to a directory among the directories
			// and, without followlinks, never enters it.
			if fi, err := os.Stat(full); err == nil && fi.IsDir() {
				continue
			}
		}
		if !allowed {
			continue
		}
		child := fileName(name, e.Name())
		if !rules.Allowed(child, false) {
			continue
		}
		if err := w.addPath(child, full, false); err != nil {
			return err
		}
	}
	for _, e := range subdirs {
		if err := w.walk(dir+"/"+e.Name(), dirName(name, e.Name()), rules, false); err != nil {
			return err
		}
	}
	return nil
}

// fileName and dirName name entries as Barman does: files are
// os.path.join(tar_root, item), so "./NAME" in the root; directories are
// os.path.relpath(root, src), so "NAME" in the root.
func fileName(parent, base string) string {
	return parent + "/" + base
}

func dirName(parent, base string) string {
	if parent == "." {
		return base
	}
	return parent + "/" + base
}

// addPath adds the entry at full as member name, from its lstat (its stat
// with follow).
func (w *Writer) addPath(name, full string, follow bool) error {
	stat := os.Lstat
	if follow {
		stat = os.Stat
	}
	fi, err := stat(full)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed during the backup: WAL replay recreates it
		}
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%s: no file status on this platform", full)
	}
	mode := fi.Mode()
	switch {
	case mode.IsRegular():
		return w.addRegular(name, full, fi, st, true)
	case mode.IsDir():
		if err := w.beginMember(); err != nil {
			return err
		}
		w.header(name+"/", tar.TypeDir, fi, st)
		return w.writeHeader()
	case mode&fs.ModeSymlink != 0:
		target, err := os.Readlink(full)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := w.beginMember(); err != nil {
			return err
		}
		w.header(name, tar.TypeSymlink, fi, st)
		w.hdr.Linkname = target
		return w.writeHeader()
	case mode&fs.ModeNamedPipe != 0:
		if err := w.beginMember(); err != nil {
			return err
		}
		w.header(name, tar.TypeFifo, fi, st)
		return w.writeHeader()
	case mode&fs.ModeDevice != 0:
		if err := w.beginMember(); err != nil {
			return err
		}
		typ := byte(tar.TypeBlock)
		if mode&fs.ModeCharDevice != 0 {
			typ = tar.TypeChar
		}
		w.header(name, typ, fi, st)
		w.hdr.Devmajor, w.hdr.Devminor = devNumbers(uint64(st.Rdev))
		return w.writeHeader()
	default:
		// Sockets: Python's tarfile skips them ("Unsupported type").
		return nil
	}
}

// addRegular adds a regular file. In a tree walk, a file that disappeared is
// skipped, and a file whose inode is already in the current part becomes a
// hard link to it, as Python's tarfile.gettarinfo does. Its inode table is
// per archive, so the next occurrence in a later part is stored as a
// regular file again: each part restores on its own.
func (w *Writer) addRegular(name, full string, fi fs.FileInfo, st *syscall.Stat_t, inTree bool) error {
	if err := w.beginMember(); err != nil {
		return err
	}
	id := fileID{dev: uint64(st.Dev), ino: st.Ino}
	if inTree && st.Nlink > 1 {
		if first, ok := w.links[id]; ok && first != name {
			w.header(name, tar.TypeLink, fi, st)
			w.hdr.Linkname = first
			return w.writeHeader()
		}
	}
	open := w.openFile
	if open == nil {
		open = openNoFollow
		if !inTree {
			open = openFollow
		}
	}
	f, err := open(full)
	if err != nil {
		if inTree && errors.Is(err, fs.ErrNotExist) {
			return nil // removed during the backup: WAL replay recreates it
		}
		return err
	}
	defer f.Close()
	w.header(name, tar.TypeReg, fi, st)
	w.hdr.Size = fi.Size()
	if err := w.writeHeader(); err != nil {
		return err
	}
	if err := w.copyContent(f, fi.Size()); err != nil {
		return w.fail(fmt.Errorf("archiving %s: %w", full, err))
	}
	if inTree && st.Nlink > 1 {
		if w.links == nil {
			w.links = make(map[fileID]string)
		}
		w.links[id] = name
	}
	return nil
}

func openFollow(path string) (io.ReadCloser, error) { return os.Open(path) }

// openNoFollow opens a file to archive. O_NOFOLLOW: lstat saw a regular
// file; if a symlink took its place, fail rather than archive whatever it
// points to. A bare descriptor rather than an *os.File: os.Open also
// tries to register a file with the poller and switch it to non-blocking
// mode, three more system calls per file, a third of the cost of archiving
// a small one.
func openNoFollow(path string) (io.ReadCloser, error) {
	for {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: path, Err: err}
		}
		return &fdReader{fd: fd, path: path}, nil
	}
}

// fdReader reads a file descriptor; see openNoFollow.
type fdReader struct {
	fd   int
	path string
}

func (f *fdReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, err := unix.Read(f.fd, p)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return 0, &fs.PathError{Op: "read", Path: f.path, Err: err}
		case n == 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

func (f *fdReader) Close() error {
	return unix.Close(f.fd)
}

// copyContent copies exactly size bytes of f into the current member,
// mirroring Barman's copyfileobj_pad_truncate: zeros stand in for what a
// shrunk file no longer has, and what a grown file has beyond size is left.
func (w *Writer) copyContent(f io.Reader, size int64) error {
	if w.buf == nil {
		w.buf = make([]byte, copyBufferSize)
	}
	for size > 0 {
		n := len(w.buf)
		if int64(n) > size {
			n = int(size)
		}
		k, err := io.ReadFull(f, w.buf[:n])
		if k > 0 {
			if _, werr := w.tw.Write(w.buf[:k]); werr != nil {
				return werr
			}
			size -= int64(k)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return w.writeZeros(w.tw, size)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (w *Writer) writeZeros(dst io.Writer, n int64) error {
	for n > 0 {
		k := int64(len(zeros))
		if k > n {
			k = n
		}
		if _, err := dst.Write(zeros[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// AddFile adds the file at path (following symlinks) as member name,
// always as a regular file. Barman adds global/pg_control this way after
// the walk, and configuration files kept outside PGDATA at the archive root
// under their base names. A missing file is an error that wraps
// fs.ErrNotExist (the ident file is optional: the caller may skip it).
//
// Barman's tarfile.add would store a symlinked configuration file as a
// symlink; its content is what a restore needs.
func (w *Writer) AddFile(name, path string) error {
	if err := w.usable(); err != nil {
		return err
	}
	if err := checkName(name); err != nil {
		return err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", path)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%s: no file status on this platform", path)
	}
	return w.addRegular(name, path, fi, st, false)
}

// AddBytes adds data as the regular file member name with header meta:
// the backup_label after pg_backup_stop (see BackupLabelMeta). A zero
// ModTime is written as the Unix epoch, Barman's mtime 0.
func (w *Writer) AddBytes(name string, data []byte, meta Meta) error {
	if err := w.usable(); err != nil {
		return err
	}
	if err := checkName(name); err != nil {
		return err
	}
	if meta.ModTime.IsZero() {
		meta.ModTime = time.Unix(0, 0)
	}
	if err := w.beginMember(); err != nil {
		return err
	}
	w.hdr = tar.Header{
		Typeflag: tar.TypeReg,
		Name:     name,
		Size:     int64(len(data)),
		Mode:     meta.Mode & 0o7777,
		Uid:      meta.Uid,
		Gid:      meta.Gid,
		Uname:    meta.Uname,
		Gname:    meta.Gname,
		ModTime:  meta.ModTime,
		Format:   tar.FormatPAX,
	}
	if err := w.writeHeader(); err != nil {
		return err
	}
	if _, err := w.tw.Write(data); err != nil {
		return w.fail(err)
	}
	return nil
}

// Close finishes the last part and waits for it to be stored. A family
// with no member at all still gets an empty part 0.
//
// Deliberate improvement: Barman creates no archive for a tablespace that
// has nothing to archive, and its restore then fails on the missing file.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	if err := w.usable(); err != nil {
		return err
	}
	w.closed = true
	if w.part == nil {
		if err := w.openPart(); err != nil {
			return err
		}
	}
	return w.closePart()
}

// usable returns the error that broke the Writer, if any.
func (w *Writer) usable() error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errors.New("pgtar: Writer used after Close")
	}
	return nil
}

// fail records err as the Writer's failure and returns it.
func (w *Writer) fail(err error) error {
	if w.err == nil {
		w.err = err
	}
	return err
}

// beginMember makes sure a part is open for the next member, starting a new
// one if the current part is over MaxSize, as Barman's
// CloudUploadController._get_tar does before each member.
func (w *Writer) beginMember() error {
	if w.part != nil {
		if w.MaxSize <= 0 || w.part.Size() <= w.MaxSize {
			return nil
		}
		if err := w.closePart(); err != nil {
			return err
		}
	}
	return w.openPart()
}

func (w *Writer) openPart() error {
	if w.Open == nil {
		return w.fail(errors.New("pgtar: Writer has no Open function"))
	}
	p, err := w.Open(w.parts)
	if err != nil {
		return w.fail(fmt.Errorf("opening archive part %d: %w", w.parts, err))
	}
	w.parts++
	w.part = p
	w.out = countingWriter{w: p}
	w.tw = tar.NewWriter(&w.out)
	clear(w.links)
	return nil
}

// closePart ends the current part as Python's tarfile.close does: two zero
// blocks, then zeros up to a full 10240-byte record.
func (w *Writer) closePart() error {
	n := w.parts - 1
	if err := w.tw.Close(); err != nil {
		return w.fail(fmt.Errorf("finishing archive part %d: %w", n, err))
	}
	if pad := (recordSize - w.out.n%recordSize) % recordSize; pad > 0 {
		if err := w.writeZeros(&w.out, pad); err != nil {
			return w.fail(fmt.Errorf("finishing archive part %d: %w", n, err))
		}
	}
	p := w.part
	w.part, w.tw = nil, nil
	if err := p.Close(); err != nil {
		return w.fail(fmt.Errorf("closing archive part %d: %w", n, err))
	}
	return nil
}

// header fills w.hdr for an entry from its lstat, as Python's
// tarfile.gettarinfo does: permission bits, numeric owners and their names,
// the modification time with its fraction (a PAX record).
func (w *Writer) header(name string, typ byte, fi fs.FileInfo, st *syscall.Stat_t) {
	w.hdr = tar.Header{
		Typeflag: typ,
		Name:     name,
		Mode:     int64(st.Mode) & 0o7777,
		Uid:      int(st.Uid),
		Gid:      int(st.Gid),
		Uname:    w.owners.user(st.Uid),
		Gname:    w.owners.group(st.Gid),
		ModTime:  fi.ModTime(),
		Format:   tar.FormatPAX,
	}
}

func (w *Writer) writeHeader() error {
	if err := w.tw.WriteHeader(&w.hdr); err != nil {
		return w.fail(fmt.Errorf("writing tar header of %s: %w", w.hdr.Name, err))
	}
	return nil
}

// countingWriter counts the uncompressed bytes of a part, for the padding
// of its last record.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// owners caches user and group names by id, as tarfile looks them up with
// pwd.getpwuid and grp.getgrgid (an unknown id has an empty name).
type owners struct {
	users, groups map[uint32]string
}

func (o *owners) user(uid uint32) string {
	if name, ok := o.users[uid]; ok {
		return name
	}
	name := ""
	if u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10)); err == nil {
		name = u.Username
	}
	if o.users == nil {
		o.users = make(map[uint32]string)
	}
	o.users[uid] = name
	return name
}

func (o *owners) group(gid uint32) string {
	if name, ok := o.groups[gid]; ok {
		return name
	}
	name := ""
	if g, err := user.LookupGroupId(strconv.FormatUint(uint64(gid), 10)); err == nil {
		name = g.Name
	}
	if o.groups == nil {
		o.groups = make(map[uint32]string)
	}
	o.groups[gid] = name
	return name
}

// CountingPart is a Part that writes to W without compressing, so its Size
// is the bytes written: for plain .tar archives, and for tests.
type CountingPart struct {
	W io.Writer
	N int64
	// OnClose, if set, is what Close does (complete the upload).
	OnClose func() error
}

func (c *CountingPart) Write(p []byte) (int, error) {
	n, err := c.W.Write(p)
	c.N += int64(n)
	return n, err
}

// Size returns the bytes written so far.
func (c *CountingPart) Size() int64 { return c.N }

// Close calls OnClose.
func (c *CountingPart) Close() error {
	if c.OnClose == nil {
		return nil
	}
	return c.OnClose()
}

// devNumbers splits a device number into the major and minor numbers a tar
// header holds.
func devNumbers(rdev uint64) (major, minor int64) {
	return int64(unix.Major(rdev)), int64(unix.Minor(rdev))
}
