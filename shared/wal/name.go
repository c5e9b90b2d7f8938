// Package wal knows PostgreSQL WAL file names and where Barman stores them:
// the name grammar (barman/xlog.py), the hash directory and the object key
// layout (barman/clients/cloud_walarchive.py upload_wal).
//
// This package is part of the barman-cloud command and has no compatibility
// promise as a library.
package wal

import (
	"fmt"

	"strconv"
	"strings"
)

// Kind is the kind of file a valid WAL name denotes.
type Kind int

const (
	Segment Kind = iota + 1 // TTTTTTTTLLLLLLLLSSSSSSSS
	Partial                 // segment + ".partial"
	Backup                  // segment + ".XXXXXXXX.backup"
	History                 // TTTTTTTT.history
)

func (k Kind) String() string {
	switch k {
	case Segment:
		return "segment"
	case Partial:
		return "partial"
	case Backup:
		return "backup label"
	case History:
		return "history"
	}
	return "invalid"
}

// Name is a parsed WAL file name.
type Name struct {
	Base     string // the basename as given (original spelling kept)
	Kind     Kind
	Timeline uint32
	Log      uint32 // segments, partials and backup labels only
	Seg      uint32 // segments, partials and backup labels only
}

// Parse validates the basename of p with Barman's WAL-name grammar
//
//	^([0-9A-Fa-f]{8})(?:([0-9A-Fa-f]{8})([0-9A-Fa-f]{8})(?:\.[0-9A-Fa-f]{8}\.backup|\.partial)?|\.history)$
//
// anchored at the real end of the string and ASCII-only (Barman's Python
// regex also accepts Unicode digits and a trailing newline, both accidents).
// Like Barman it takes the basename, so a trailing "/" makes a name invalid.
func Parse(p string) (Name, error) {
	base := p
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		base = p[i+1:]
	}
	n := Name{Base: base}
	bad := fmt.Errorf("%s is an invalid name for a WAL file", p)
	if len(base) < 8 || !isHex(base[:8]) {
		return n, bad
	}
	n.Timeline = hex32(base[:8])
	rest := base[8:]
	if rest == ".history" {
		n.Kind = History
		return n, nil
	}
	if len(rest) < 16 || !isHex(rest[:16]) {
		return n, bad
	}
	n.Log, n.Seg = hex32(rest[:8]), hex32(rest[8:16])
	switch suffix := rest[16:]; {
	case suffix == "":
		n.Kind = Segment
	case suffix == ".partial":
		n.Kind = Partial
	case len(suffix) == 16 && suffix[0] == '.' && isHex(suffix[1:9]) && suffix[9:] == ".backup":
		n.Kind = Backup
	default:
		return n, bad
	}
	return n, nil
}

// IsValid reports whether the basename of p is a valid WAL file name.
func IsValid(p string) bool {
	_, err := Parse(p)
	return err == nil
}

// SegmentName is the 24-character segment name: for a partial or a backup
// label the segment it belongs to; "" for a history file.
func (n Name) SegmentName() string {
	if n.Kind == History {
		return ""
	}
	return n.Base[:24]
}

// HashDir is Barman's hash_dir: "%08X%08X" of timeline and log, always upper
// case, for segments, partials and backup labels; "" for history files.
func (n Name) HashDir() string {
	if n.Kind == History {
		return ""
	}
	return fmt.Sprintf("%08X%08X", n.Timeline, n.Log)
}

// Dir is the "directory" under which Barman stores the file, ending in "/":
// join(prefix, server, "wals", hash_dir) + "/".
func Dir(prefix, server string, n Name) string {
	d := PyJoin(prefix, server, "wals", n.HashDir())
	if !strings.HasSuffix(d, "/") {
		d += "/"
	}
	return d
}

// Key is the object key Barman gives the file name under prefix and server,
// with ext (a compression suffix such as ".gz", or "") appended.
func Key(prefix, server string, n Name, ext string) string {
	return PyJoin(prefix, server, "wals", n.HashDir(), n.Base+ext)
}

// WalsDir is join(prefix, server, "wals") + "/", the root of a server's WAL
// archive (what barman-cloud-check-wal-archive lists).
func WalsDir(prefix, server string) string {
	d := PyJoin(prefix, server, "wals")
	if !strings.HasSuffix(d, "/") {
		d += "/"
	}
	return d
}

// PyJoin joins components exactly as Python's os.path.join (posixpath)
// does, which is what Barman uses to build keys: a component starting with
// "/" discards everything before it, "/" is added only when the left part
// does not already end with one, and empty components add nothing but may
// leave a trailing "/". Inner "//" are kept: keys are not cleaned, or they
// would differ from Barman's.
func PyJoin(first string, rest ...string) string {
	out := first
	for _, c := range rest {
		switch {
		case strings.HasPrefix(c, "/"):
			out = c
		case out == "" || strings.HasSuffix(out, "/"):
			out += c
		default:
			out += "/" + c
		}
	}
	return out
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func hex32(s string) uint32 {
	v, _ := strconv.ParseUint(s, 16, 32)
	return uint32(v)
}

// Basename is path.Base without its special cases for "" and trailing
// slashes: the text after the last "/".
func Basename(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}
