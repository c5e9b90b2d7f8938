package localfs

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// Extended attribute names. The character after "barman-cloud" keeps user
// metadata (".") and the object's own attributes (":") apart whatever the
// metadata key is.
const (
	metaXattrPrefix = "user.barman-cloud."
	sysXattrPrefix  = "user.barman-cloud:"
	contentTypeName = "content-type"
)

// metaEscaper writes the bytes an attribute name cannot hold (NUL, which
// ends it) and the escape character itself as %XX.
var (
	metaEscaper   = strings.NewReplacer("%", "%25", "\x00", "%00")
	metaUnescaper = strings.NewReplacer("%25", "%", "%00", "\x00")
)

// attrs are an object's stored attributes.
type attrs struct {
	sys      map[string]string // content-type, cache-control, ...
	metadata map[string]string
}

func (a attrs) contentType() string {
	if ct := a.sys[contentTypeName]; ct != "" {
		return ct
	}
	return defaultContentType
}

// writeAttrs stores the attributes on f, a file being written. It reports
// whether the file system supports them; without support nothing is stored.
func writeAttrs(x xattrOps, f *os.File, a attrs) (bool, error) {
	set := func(name, value string) error {
		if err := x.set(f, name, []byte(value)); err != nil {
			return fmt.Errorf("setting extended attribute %q on %s: %w", name, f.Name(), err)
		}
		return nil
	}
	var err error
	for k, v := range a.sys {
		if err = set(sysXattrPrefix+k, v); err != nil {
			break
		}
	}
	for k, v := range a.metadata {
		if err != nil {
			break
		}
		err = set(metaXattrPrefix+metaEscaper.Replace(k), v)
	}
	if unsupported(err) {
		return false, nil
	}
	return true, err
}

// readAttrs reads the attributes stored on f; none where the file system
// has no extended attributes.
func readAttrs(x xattrOps, f *os.File) (attrs, error) {
	var a attrs
	names, err := x.list(f)
	if unsupported(err) {
		return a, nil
	}
	if err != nil {
		return a, err
	}
	for _, n := range names {
		var (
			into map[string]string
			k    string
		)
		switch {
		case strings.HasPrefix(n, metaXattrPrefix):
			if a.metadata == nil {
				a.metadata = map[string]string{}
			}
			into, k = a.metadata, metaUnescaper.Replace(n[len(metaXattrPrefix):])
		case strings.HasPrefix(n, sysXattrPrefix):
			if a.sys == nil {
				a.sys = map[string]string{}
			}
			into, k = a.sys, n[len(sysXattrPrefix):]
		default:
			continue // another program's attribute
		}
		v, err := x.get(f, n)
		if err != nil {
			return a, fmt.Errorf("%s: %w", n, err)
		}
		into[k] = string(v)
	}
	return a, nil
}

// readContentType reads only the content type, for a reader.
func readContentType(x xattrOps, f *os.File) (string, error) {
	v, err := x.get(f, sysXattrPrefix+contentTypeName)
	switch {
	case err == nil && len(v) > 0:
		return string(v), nil
	case err == nil || unsupported(err) || errors.Is(err, errNoAttr):
		return defaultContentType, nil
	}
	return "", fmt.Errorf("reading the content type of %s: %w", f.Name(), err)
}
