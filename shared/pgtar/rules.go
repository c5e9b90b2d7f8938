package pgtar

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// pgdataExcludes is Barman's PGDATA_EXCLUDE_LIST (barman/postgres_plumbing.py):
// rules only the data directory gets.
var pgdataExcludes = []string{
	// Log files (pg_log was renamed to log in PostgreSQL 10).
	"/pg_log/*",
	"/log/*",
	// WAL files (pg_xlog was renamed to pg_wal in PostgreSQL 10).
	"/pg_xlog/*",
	"/pg_wal/*",
	// Added separately after the walk, so that it is the newest copy.
	"/global/pg_control",
}

// commonExcludes is Barman's EXCLUDE_LIST (barman/postgres_plumbing.py):
// rules for the data directory and every tablespace, after PostgreSQL's
// excludeFiles and excludeDirContents (src/backend/backup/basebackup.c).
var commonExcludes = []string{
	"pgsql_tmp*",
	"postgresql.auto.conf.tmp",
	"current_logfiles.tmp",
	"pg_internal.init",
	"postmaster.pid",
	"postmaster.opts",
	"recovery.conf",
	"standby.signal",
	// Meant for temporary relation files, but "[" is a literal character
	// in Barman's glob, so this never matches; Rules.SkipTempRelations does
	// what it meant.
	"**/[0-9]*/t[0-9]*_[0-9]*",
	"pg_dynshmem/*",
	"pg_notify/*",
	"pg_replslot/*",
	"pg_serial/*",
	"pg_stat_tmp/*",
	"pg_snapshots/*",
	"pg_subtrans/*",
}

// Tablespace is what the PGDATA rules need to know of a tablespace.
type Tablespace struct {
	OID      uint32
	Location string // as PostgreSQL reports it (pg_tablespace_location)
}

// Rules decides which entries of a walked tree are archived: Barman's
// include and exclude rules (barman/fs.py path_allowed), plus the
// temporary-relation test Barman means but does not do.
//
// Paths are matched as Barman names them: "." for the root, "./NAME" for a
// file in the root, "dir/sub" and "dir/sub/file" deeper down.
type Rules struct {
	include, exclude []rule

	// SkipTempRelations also rejects files named like temporary relations
	// (t<N>_<N>, optionally _fsm/_vm/_init and .<segment>) inside a
	// directory whose name is all digits (a database directory).
	// Deliberate improvement: Barman's rule "**/[0-9]*/t[0-9]*_[0-9]*"
	// intends this (like pg_basebackup's looks_like_temp_rel_name) but never
	// matches; these files are useless after a restore, since PostgreSQL
	// removes them at start-up.
	SkipTempRelations bool
}

// rule is one compiled glob: Barman's _match_path tries the pattern on the
// whole path and, unless anchored with a leading "/", as "**/" + pattern.
type rule struct {
	dirOnly bool // a rule ending in "/" applies to directories only
	whole   *regexp.Regexp
	suffix  *regexp.Regexp // nil for an anchored rule
}

// NewRules compiles include and exclude rules with Barman's semantics
// (barman/fs.py _match_path and _translate_to_regexp): "**" matches any
// characters, "*" any characters but "/", "?" any one character, everything
// else (including "[") itself; the match is on the whole path; a rule with a
// leading "/" is anchored at the root, any other also matches a suffix of the
// path that starts after a "/"; a trailing "/" restricts a rule to
// directories. An empty rule (on which Barman would fail) matches nothing.
func NewRules(include, exclude []string) *Rules {
	return &Rules{include: compileRules(include), exclude: compileRules(exclude)}
}

// PGDATARules returns the rules Barman's CloudBackupUploader._backup_data_files
// applies to the data directory: PGDATA_EXCLUDE_LIST + EXCLUDE_LIST, and per
// tablespace "/pg_tblspc/<oid>" and, for a location inside pgdata (a plain
// prefix test on pgdata + "/", as Barman does), its path relative to pgdata.
// SkipTempRelations is set.
func PGDATARules(pgdata string, tablespaces []Tablespace) *Rules {
	exclude := append(append([]string{}, pgdataExcludes...), commonExcludes...)
	for _, ts := range tablespaces {
		if strings.HasPrefix(ts.Location, pgdata+"/") {
			exclude = append(exclude, ts.Location[len(pgdata):])
		}
		exclude = append(exclude, "/pg_tblspc/"+strconv.FormatUint(uint64(ts.OID), 10))
	}
	r := NewRules(nil, exclude)
	r.SkipTempRelations = true
	return r
}

// TablespaceRules returns the rules Barman applies to a tablespace
// directory: include "/PG_<major>_*", exclude "/*" and EXCLUDE_LIST. major is
// the server's major version as Barman writes it in the directory name:
// "16" from version 10 on, "9.6" before. SkipTempRelations is set.
//
// With Barman's walk, "/*" skips the root and its files, and every other
// top-level directory at its own level only; AddTree prunes excluded
// directories, so only the PG_<major>_* subtree is archived.
func TablespaceRules(major string) *Rules {
	exclude := append([]string{"/*"}, commonExcludes...)
	r := NewRules([]string{"/PG_" + major + "_*"}, exclude)
	r.SkipTempRelations = true
	return r
}

// Allowed reports whether the entry named path is archived; isDir tells a
// directory. It mirrors barman/fs.py path_allowed (an include match accepts,
// then an exclude match rejects, else accept), then applies
// SkipTempRelations. A nil *Rules allows everything.
func (r *Rules) Allowed(path string, isDir bool) bool {
	if r == nil {
		return true
	}
	if matchAny(r.include, path, isDir) {
		return true
	}
	if matchAny(r.exclude, path, isDir) {
		return false
	}
	return !(r.SkipTempRelations && !isDir && isTempRelation(path))
}

func matchAny(rules []rule, path string, isDir bool) bool {
	for _, r := range rules {
		if r.dirOnly && !isDir {
			continue
		}
		if r.whole.MatchString(path) || (r.suffix != nil && r.suffix.MatchString(path)) {
			return true
		}
	}
	return false
}

func compileRules(patterns []string) []rule {
	rules := make([]rule, 0, len(patterns))
	for _, p := range patterns {
		var r rule
		if strings.HasSuffix(p, "/") {
			r.dirOnly = true
			p = p[:len(p)-1]
		}
		anchored := strings.HasPrefix(p, "/")
		if anchored {
			p = p[1:]
		}
		if p == "" {
			continue // matches no path: paths are never empty
		}
		r.whole = regexp.MustCompile(globToRegexp(p))
		if !anchored {
			r.suffix = regexp.MustCompile(globToRegexp("**/" + p))
		}
		rules = append(rules, r)
	}
	return rules
}

// globToRegexp mirrors barman/fs.py _translate_to_regexp, anchored at both
// ends because Barman uses re.match with "\Z". Every other character is
// quoted, so the result always compiles.
func globToRegexp(pattern string) string {
	var b strings.Builder
	b.WriteString(`^(?s:`)
	for i := 0; i < len(pattern); i++ {
		switch {
		case strings.HasPrefix(pattern[i:], "**"):
			b.WriteString(`.*`)
			i++
		case pattern[i] == '*':
			b.WriteString(`[^/]*`)
		case pattern[i] == '?':
			b.WriteString(`.`)
		default:
			// One character: Python's pattern is a str of characters. A byte
			// that is not UTF-8 becomes U+FFFD, which is how Go's regexp
			// reads such a byte in the path, so the pattern still compiles.
			r, size := utf8.DecodeRuneInString(pattern[i:])
			b.WriteString(regexp.QuoteMeta(string(r)))
			i += size - 1
		}
	}
	b.WriteString(`)\z`)
	return b.String()
}

// tempRelation matches the file names of PostgreSQL's
// looks_like_temp_rel_name (src/backend/storage/file/fd.c): "t", digits,
// "_", digits, an optional fork suffix and an optional segment number.
var tempRelation = regexp.MustCompile(`^t[0-9]+_[0-9]+(_(fsm|vm|init))?(\.[0-9]+)?$`)

// isTempRelation reports whether path names a temporary relation file: a
// name like t3_16386 in a directory whose name is all digits, as
// pg_basebackup tests in database directories.
func isTempRelation(path string) bool {
	slash := strings.LastIndexByte(path, '/')
	if slash < 0 || !tempRelation.MatchString(path[slash+1:]) {
		return false
	}
	dir := path[:slash]
	dir = dir[strings.LastIndexByte(dir, '/')+1:]
	if dir == "" {
		return false
	}
	for i := 0; i < len(dir); i++ {
		if dir[i] < '0' || dir[i] > '9' {
			return false
		}
	}
	return true
}
