package retention

import (
	"bytes"
	"strings"

	"github.com/barmancloud/barman-cloud/shared/wal"
)

// The keep targets barman-cloud-backup-keep --target writes: the whole
// annotation object is the word, UTF-8, no newline.
const (
	TargetFull       = "full"
	TargetStandalone = "standalone"
)

// AnnotationKey is the key of backup id's keep annotation
// (AnnotationManagerCloud._get_annotation_path):
//
//	"%s%s/base/%s/annotations/%s" % (PREFIX + "/" if PREFIX else "", SERVER, ID, "keep")
//
// prefix is the URL's path as given (CloudInterface.path), not cleaned:
// the string is concatenated, not joined, so a URL ending in "/"
// (s3://bucket/pfx/) gives "pfx//SERVER/base/ID/annotations/keep" while
// the backup's archives are under "pfx/SERVER/base/ID/". Barman reads and
// writes that key, so a keep set through one spelling of the URL is
// invisible through the other; we reproduce it so both tools agree.
func AnnotationKey(prefix, server, id string) string {
	base := ""
	if prefix != "" {
		base = prefix + "/"
	}
	return base + server + "/base/" + id + "/annotations/keep"
}

// AnnotationsDir is the directory whose recursive listing finds every
// annotation of the server (_populate_annotation_cache):
// join(PREFIX + "/" if PREFIX else "", SERVER, "base") + "/".
func AnnotationsDir(prefix, server string) string {
	base := ""
	if prefix != "" {
		base = prefix + "/"
	}
	return wal.PyJoin(base, server, "base") + "/"
}

// ParseAnnotationKey reads a key of that listing the way
// _populate_annotation_cache does: more than three "/"-separated parts,
// the second-to-last "annotations"; the backup ID is the third-to-last
// part and name the last ("keep").
func ParseAnnotationKey(key string) (id, name string, ok bool) {
	parts := strings.Split(key, "/")
	if len(parts) <= 3 || parts[len(parts)-2] != "annotations" {
		return "", "", false
	}
	return parts[len(parts)-3], parts[len(parts)-1], true
}

// ParseKeep reads an existing keep annotation object the way the
// retention rules use it (AnnotationManagerCloud.get_annotation reads the
// first line with readline(), newline included): exactly "standalone" is
// KeepStandalone, anything else KeepFull ("Any other recovery target is
// treated as KEEP_FULL for safety"). So "standalone\n", written by hand,
// is full, as in Barman. A missing object is NoKeep, for the caller to
// decide.
//
// Deliberate difference: an empty object is KeepFull. Barman is of two
// minds about it: -b refuses to delete the backup (the annotation exists)
// but the retention report and the WAL rules read "" as no keep, so -r
// deletes it, and keep -s prints "nokeep". Here it is a keep everywhere,
// and keep -s prints "Keep: full". Content that is not UTF-8, on which
// Barman's decode crashes every tool that reads it (exit 4), is KeepFull
// too.
func ParseKeep(content []byte) Keep {
	line := content
	if i := bytes.IndexByte(content, '\n'); i >= 0 {
		line = content[:i+1]
	}
	if string(line) == TargetStandalone {
		return KeepStandalone
	}
	return KeepFull
}
