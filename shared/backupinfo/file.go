package backupinfo

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/barmancloud/barman-cloud/shared/pylit"
)

// LineError is a line that is neither blank, a comment nor "name=value".
type LineError struct {
	Number int    // 1-based
	Line   string // stripped, as Barman's message shows it
}

func (e *LineError) Error() string {
	return fmt.Sprintf("invalid line %s", e.Line) // FieldListFile.load's wording, without the file
}

// FieldError is a value its field's loader refuses.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return fmt.Sprintf("field %s: %v", e.Field, e.Err) }
func (e *FieldError) Unwrap() error { return e.Err }

// Parse reads a backup.info as FieldListFile.load does: lines split at
// "\n", blank lines and lines starting with "#" skipped, "name=value" split
// at the first "=" and both sides stripped, "None" for null, else the
// field's loader. A naive timestamp is in the local zone (time.Local).
//
// Unlike Barman, which exits (3.17) or fails (3.4) on a field it does not
// know, Parse ignores it and lists its name in Info.Unknown. Any other
// problem (a line without "=", a value the field cannot hold, text that is
// not UTF-8) is an error: Barman calls such a backup unreadable.
func Parse(data []byte) (*Info, error) {
	return parse(data, time.Local)
}

func parse(data []byte, local *time.Location) (*Info, error) {
	info := New()
	for n, raw := range bytes.SplitAfter(data, []byte("\n")) {
		if len(raw) == 0 {
			continue // after the final newline
		}
		if !utf8.Valid(raw) {
			return nil, fmt.Errorf("line %d is not valid UTF-8", n+1)
		}
		line := string(raw)
		if strings.TrimFunc(line, isPySpace) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, &LineError{n + 1, strings.TrimFunc(line, isPySpace)}
		}
		name, value = strings.TrimFunc(name, isPySpace), strings.TrimFunc(value, isPySpace)
		f := fieldIndex[name]
		switch {
		case f == nil:
			info.Unknown = append(info.Unknown, name)
		case value == "None":
			f.setNone(info)
		default:
			if err := f.load(info, value, local); err != nil {
				return nil, &FieldError{name, err}
			}
		}
	}
	return info, nil
}

// isPySpace is Python's str.isspace for one code point, which is what
// str.strip removes: Go's unicode.IsSpace plus the separators U+001C–U+001F.
func isPySpace(r rune) bool {
	return unicode.IsSpace(r) || 0x1c <= r && r <= 0x1f
}

// ErrNewline is returned by Marshal for a value with a line break, which
// Barman would write as it is, making the file unreadable.
var ErrNewline = errors.New("a backup.info value cannot contain a newline")

// Marshal writes the backup.info of fs as FieldListFile.save does: every
// field of the set sorted by name, "None" for null, backup_name and
// snapshots_info left out when null. Unknown fields are never written.
func (i *Info) Marshal(fs FieldSet) ([]byte, error) {
	var b bytes.Buffer
	for _, f := range fields {
		if !f.in(fs) {
			continue
		}
		text, isNone := f.dump(i)
		if isNone && f.hidden {
			continue
		}
		if strings.Contains(text, "\n") {
			return nil, fmt.Errorf("field %s: %w", f.name, ErrNewline)
		}
		fmt.Fprintf(&b, "%s=%s\n", f.name, text)
	}
	return b.Bytes(), nil
}

// ToJSON returns BackupInfo.to_json() of the backup backupID as an ordered
// dict: the fields of fs in file order (backup_name and snapshots_info only
// when set), their values decoded except backup_label (the repr text) and
// children_backup_ids (the comma-separated text), tablespaces as
// [[name, oid, location]], begin_time and end_time as ctime(); then
// backup_id, then for Fields317 begin_time_iso and end_time_iso
// (isoformat()) when set.
func (i *Info) ToJSON(backupID string, fs FieldSet) pylit.Dict {
	d := pylit.Dict{}
	for _, f := range fields {
		if !f.in(fs) {
			continue
		}
		if _, isNone := f.dump(i); isNone && f.hidden {
			continue
		}
		d = append(d, pylit.Item{Key: f.name, Value: f.json(i)})
	}
	d = append(d, pylit.Item{Key: "backup_id", Value: backupID})
	if fs == Fields317 {
		if t, ok := i.BeginTime.Get(); ok {
			d = append(d, pylit.Item{Key: "begin_time_iso", Value: isoformat(t, 'T')})
		}
		if t, ok := i.EndTime.Get(); ok {
			d = append(d, pylit.Item{Key: "end_time_iso", Value: isoformat(t, 'T')})
		}
	}
	return d
}

// JSON is json.dumps(ToJSON(backupID, fs)): one line, no newline. It fails
// only for a CopyStats or SnapshotsInfo holding what JSON cannot show (a
// set, bytes), as json.dumps would.
func (i *Info) JSON(backupID string, fs FieldSet) ([]byte, error) {
	return pylit.JSON(i.ToJSON(backupID, fs))
}

// StrTime is Python's str(datetime) of a backup.info timestamp,
// "2024-05-01 12:00:00.123456+00:00": how backup.info stores it and how
// barman-cloud-backup-show prints it.
func StrTime(t time.Time) string { return formatStr(t) }
