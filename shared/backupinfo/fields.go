package backupinfo

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/barmancloud/barman-cloud/shared/pylit"
)

// field is one Field of BackupInfo: how its text loads into an Info, how
// it dumps (Field.to_str), and what BackupInfo.to_json makes of it.
type field struct {
	name  string
	since string // first Barman release with the field; "" = in 3.4.0
	// hidden: omitted from the file and from JSON when None (_hide_if_null).
	hidden bool
	// load sets the field from its text, which is never "None".
	load func(i *Info, text string, local *time.Location) error
	// setNone sets the field to None.
	setNone func(i *Info)
	// dump returns the text written after "=" ("None" for a value its
	// dumper turns into None) and whether the value itself is None.
	dump func(i *Info) (text string, isNone bool)
	// json returns the value to_json gives the field.
	json func(i *Info) any
}

func (f *field) in(fs FieldSet) bool { return fs == Fields317 || f.since == "" }

// fields lists BackupInfo's fields in the order Barman writes them: sorted
// by name (FieldListFile.save iterates sorted(inspect.getmembers(...))).
var fields = []field{
	labelField("backup_label", func(i *Info) *Null[string] { return &i.BackupLabel }),
	hide(strField("backup_name", func(i *Info) *Null[string] { return &i.BackupName })),
	intField("begin_offset", func(i *Info) *Null[int64] { return &i.BeginOffset }),
	timeField("begin_time", func(i *Info) *Null[time.Time] { return &i.BeginTime }),
	strField("begin_wal", func(i *Info) *Null[string] { return &i.BeginWAL }),
	strField("begin_xlog", func(i *Info) *Null[string] { return &i.BeginXlog }),
	since("3.11.0", childrenField()),
	since("3.11.0", intField("cluster_size", func(i *Info) *Null[int64] { return &i.ClusterSize })),
	strField("compression", func(i *Info) *Null[string] { return &i.Compression }),
	strField("config_file", func(i *Info) *Null[string] { return &i.ConfigFile }),
	dictField("copy_stats", func(i *Info) *pylit.Dict { return &i.CopyStats }),
	since("3.11.0", strField("data_checksums", func(i *Info) *Null[string] { return &i.DataChecksums })),
	intField("deduplicated_size", func(i *Info) *Null[int64] { return &i.DeduplicatedSize }),
	since("3.14.0", strField("encryption", func(i *Info) *Null[string] { return &i.Encryption })),
	intField("end_offset", func(i *Info) *Null[int64] { return &i.EndOffset }),
	timeField("end_time", func(i *Info) *Null[time.Time] { return &i.EndTime }),
	strField("end_wal", func(i *Info) *Null[string] { return &i.EndWAL }),
	strField("end_xlog", func(i *Info) *Null[string] { return &i.EndXlog }),
	strField("error", func(i *Info) *Null[string] { return &i.Error }),
	strField("hba_file", func(i *Info) *Null[string] { return &i.HBAFile }),
	strField("ident_file", func(i *Info) *Null[string] { return &i.IdentFile }),
	includedFilesField(),
	strField("mode", func(i *Info) *Null[string] { return &i.Mode }),
	since("3.11.0", strField("parent_backup_id", func(i *Info) *Null[string] { return &i.ParentBackupID })),
	strField("pgdata", func(i *Info) *Null[string] { return &i.PGData }),
	strField("server_name", func(i *Info) *Null[string] { return &i.ServerName }),
	intField("size", func(i *Info) *Null[int64] { return &i.Size }),
	hide(dictField("snapshots_info", func(i *Info) *pylit.Dict { return &i.SnapshotsInfo })),
	statusField(),
	since("3.11.0", strField("summarize_wal", func(i *Info) *Null[string] { return &i.SummarizeWAL })),
	strField("systemid", func(i *Info) *Null[string] { return &i.SystemID }),
	tablespacesField(),
	intField("timeline", func(i *Info) *Null[int64] { return &i.Timeline }),
	intField("version", func(i *Info) *Null[int64] { return &i.Version }),
	intField("xlog_segment_size", func(i *Info) *Null[int64] { return &i.XlogSegmentSize }),
}

var fieldIndex = func() map[string]*field {
	m := make(map[string]*field, len(fields))
	for i := range fields {
		m[fields[i].name] = &fields[i]
	}
	return m
}()

func hide(f field) field { f.hidden = true; return f }

func since(release string, f field) field { f.since = release; return f }

// nullField builds a field held in a Null[T] with a loader, the text it
// dumps to and its JSON value.
func nullField[T any](name string, ptr func(*Info) *Null[T], load func(string, *time.Location) (T, error),
	text func(T) string, json func(T) any) field {
	return field{
		name: name,
		load: func(i *Info, s string, local *time.Location) error {
			v, err := load(s, local)
			if err != nil {
				return err
			}
			*ptr(i) = Some(v)
			return nil
		},
		setNone: func(i *Info) { *ptr(i) = Null[T]{} },
		dump: func(i *Info) (string, bool) {
			n := *ptr(i)
			if !n.Valid {
				return "None", true
			}
			return text(n.V), false
		},
		json: func(i *Info) any {
			if n := *ptr(i); n.Valid {
				return json(n.V)
			}
			return nil
		},
	}
}

// strField is a Field without loader or dumper: the text as it is.
func strField(name string, ptr func(*Info) *Null[string]) field {
	return nullField(name, ptr,
		func(s string, _ *time.Location) (string, error) { return s, nil },
		func(s string) string { return s },
		func(s string) any { return s })
}

func statusField() field {
	return nullField("status", func(i *Info) *Null[Status] { return &i.Status },
		func(s string, _ *time.Location) (Status, error) { return Status(s), nil },
		func(s Status) string { return string(s) },
		func(s Status) any { return string(s) })
}

// intField is a Field with load=int.
func intField(name string, ptr func(*Info) *Null[int64]) field {
	return nullField(name, ptr,
		func(s string, _ *time.Location) (int64, error) { return pyInt(s) },
		func(v int64) string { return strconv.FormatInt(v, 10) },
		func(v int64) any { return v })
}

// timeField is a Field with load=load_datetime_tz, written as
// str(datetime), shown by to_json as ctime().
func timeField(name string, ptr func(*Info) *Null[time.Time]) field {
	return nullField(name, ptr, parseTime, formatStr,
		func(t time.Time) any { return formatCtime(t) })
}

// labelField is backup_label: load=ast.literal_eval, dump=null_repr; to_json
// keeps the dumped repr text.
func labelField(name string, ptr func(*Info) *Null[string]) field {
	f := nullField(name, ptr,
		func(s string, _ *time.Location) (string, error) {
			v, err := pylit.Parse(s)
			if err != nil {
				return "", err
			}
			label, ok := v.(string)
			if !ok {
				return "", fmt.Errorf("a str literal is expected, not %s", pylit.Repr(v))
			}
			return label, nil
		},
		nullRepr[string], nil)
	// to_dict starts from items(), which holds dumped values, and
	// backup_label is not one of the fields it then replaces with the raw
	// value: to_json shows the repr text, or None for an empty label.
	f.json = func(i *Info) any {
		if text, _ := f.dump(i); text != "None" {
			return text
		}
		return nil
	}
	return f
}

// nullRepr is infofile.py null_repr: repr(obj) if obj else None.
func nullRepr[T any](v T) string {
	if !pylit.Truthy(any(v)) {
		return "None"
	}
	return pylit.Repr(any(v))
}

// dictField is copy_stats or snapshots_info: load=ast.literal_eval,
// dump=null_repr; to_json gives the dict itself.
func dictField(name string, ptr func(*Info) *pylit.Dict) field {
	return field{
		name: name,
		load: func(i *Info, s string, _ *time.Location) error {
			v, err := pylit.Parse(s)
			if err != nil {
				return err
			}
			d, ok := v.(pylit.Dict)
			if !ok {
				return fmt.Errorf("a dict literal is expected, not %s", pylit.Repr(v))
			}
			*ptr(i) = d
			return nil
		},
		setNone: func(i *Info) { *ptr(i) = nil },
		dump: func(i *Info) (string, bool) {
			d := *ptr(i)
			return nullRepr(d), d == nil
		},
		json: func(i *Info) any {
			if d := *ptr(i); d != nil {
				return d
			}
			return nil
		},
	}
}

// includedFilesField: load=ast.literal_eval, dump=null_repr, a list of str.
func includedFilesField() field {
	return field{
		name: "included_files",
		load: func(i *Info, s string, _ *time.Location) error {
			elems, err := parseSeq(s)
			if err != nil {
				return err
			}
			files := make([]string, len(elems))
			for n, e := range elems {
				f, ok := e.(string)
				if !ok {
					return fmt.Errorf("a list of str is expected, not %s", s)
				}
				files[n] = f
			}
			i.IncludedFiles = files
			return nil
		},
		setNone: func(i *Info) { i.IncludedFiles = nil },
		dump: func(i *Info) (string, bool) {
			return nullRepr(strList(i.IncludedFiles)), i.IncludedFiles == nil
		},
		json: func(i *Info) any {
			if i.IncludedFiles == nil {
				return nil
			}
			return strList(i.IncludedFiles)
		},
	}
}

func strList(s []string) pylit.List {
	l := make(pylit.List, len(s))
	for n, e := range s {
		l[n] = e
	}
	return l
}

// parseSeq reads a list or tuple literal.
func parseSeq(s string) ([]any, error) {
	v, err := pylit.Parse(s)
	if err != nil {
		return nil, err
	}
	switch v := v.(type) {
	case pylit.List:
		return v, nil
	case pylit.Tuple:
		return v, nil
	}
	return nil, fmt.Errorf("a list literal is expected, not %s", pylit.Repr(v))
}

// tablespacesField: load_tablespace_list / output_tablespace_list; to_json
// gives [[name, oid, location], ...].
func tablespacesField() field {
	return field{
		name: "tablespaces",
		load: func(i *Info, s string, _ *time.Location) error {
			elems, err := parseSeq(s)
			if err != nil {
				return err
			}
			if len(elems) == 0 {
				i.Tablespaces = nil // "if obj: ... else: return None"
				return nil
			}
			tbs := make([]Tablespace, len(elems))
			for n, e := range elems {
				if tbs[n], err = tablespace(e); err != nil {
					return err
				}
			}
			i.Tablespaces = tbs
			return nil
		},
		setNone: func(i *Info) { i.Tablespaces = nil },
		dump: func(i *Info) (string, bool) {
			l := make(pylit.List, len(i.Tablespaces))
			for n, t := range i.Tablespaces {
				l[n] = pylit.Tuple{t.Name, t.OID, t.Location}
			}
			return nullRepr(l), i.Tablespaces == nil
		},
		json: func(i *Info) any {
			if i.Tablespaces == nil {
				return nil
			}
			l := make(pylit.List, len(i.Tablespaces))
			for n, t := range i.Tablespaces {
				l[n] = pylit.List{t.Name, t.OID, t.Location}
			}
			return l
		},
	}
}

// tablespace reads one (name, oid, location) item. Barman's
// Tablespace._make accepts any three values; a Go Tablespace needs these
// types, which is what Barman always writes.
func tablespace(v any) (Tablespace, error) {
	var item []any
	switch v := v.(type) {
	case pylit.Tuple:
		item = v
	case pylit.List:
		item = v
	}
	if len(item) == 3 {
		name, ok1 := item[0].(string)
		oid, ok2 := item[1].(int64)
		loc, ok3 := item[2].(string)
		if ok1 && ok2 && ok3 {
			return Tablespace{name, oid, loc}, nil
		}
	}
	return Tablespace{}, fmt.Errorf("a tablespace (name, oid, location) is expected, not %s", pylit.Repr(v))
}

// childrenField is children_backup_ids: load_backup_ids / dump_backup_ids,
// a comma-separated list; to_json keeps the dumped text.
func childrenField() field {
	return field{
		name: "children_backup_ids",
		load: func(i *Info, s string, _ *time.Location) error {
			i.ChildrenBackupIDs = nil
			if s != "" {
				i.ChildrenBackupIDs = strings.Split(s, ",")
			}
			return nil
		},
		setNone: func(i *Info) { i.ChildrenBackupIDs = nil },
		dump: func(i *Info) (string, bool) {
			if len(i.ChildrenBackupIDs) == 0 {
				return "None", i.ChildrenBackupIDs == nil
			}
			return strings.Join(i.ChildrenBackupIDs, ","), false
		},
		json: func(i *Info) any {
			if len(i.ChildrenBackupIDs) == 0 {
				return nil
			}
			return strings.Join(i.ChildrenBackupIDs, ",")
		},
	}
}

var errInt = errors.New("invalid literal for int() with base 10")

// pyInt is Python's int(s) for an already stripped s: an optional sign,
// then decimal digits with single underscores between them (leading zeros
// allowed). Unlike Python it reads ASCII digits only and stops at int64.
func pyInt(s string) (int64, error) {
	digits := strings.TrimLeft(s, "+-")
	if len(s)-len(digits) > 1 || digits == "" || digits[0] == '_' || digits[len(digits)-1] == '_' ||
		strings.Contains(digits, "__") {
		return 0, fmt.Errorf("%w: %q", errInt, s)
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 10, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			return 0, fmt.Errorf("integer %s out of range", s)
		}
		return 0, fmt.Errorf("%w: %q", errInt, s)
	}
	return n, nil
}
