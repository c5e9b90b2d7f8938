package pgtar

import (
	"strings"
	"testing"
)

// TestMatch checks the glob semantics of barman/fs.py _match_path and
// _translate_to_regexp one rule at a time.
func TestMatch(t *testing.T) {
	tests := []struct {
		rule  string
		path  string
		isDir bool
		want  bool
	}{
		// "*" stops at "/", "**" does not, "?" is one character.
		{"/pg_wal/*", "pg_wal/x", false, true},
		{"/pg_wal/*", "pg_wal/archive_status/x", false, false},
		{"/pg_wal/**", "pg_wal/archive_status/x", false, true},
		{"/pg_wa?/x", "pg_wal/x", false, true},
		{"/pg_wa?/x", "pg_wa/x", false, false},
		{"/pg_wa?/x", "pg_wa//x", false, true}, // "?" matches "/" too
		{"/a?", "aé", false, true},             // one character, not one byte
		// A leading "/" anchors at the root; other rules also match a suffix
		// that starts after a "/", but not in the middle of a name.
		{"/pg_wal/*", "sub/pg_wal/x", false, false},
		{"pg_notify/*", "pg_notify/0000", false, true},
		{"pg_notify/*", "a/b/pg_notify/0000", false, true},
		{"pg_notify/*", "xpg_notify/0000", false, false},
		{"postmaster.pid", "./postmaster.pid", false, true},
		{"postmaster.pid", "postmaster.pidx", false, false},
		{"postmaster.pid", "postmaster_pid", false, false}, // "." is literal
		// Whole-path match: a rule does not match a prefix.
		{"pgsql_tmp*", "base/pgsql_tmp", true, true},
		{"pgsql_tmp*", "base/pgsql_tmp/pgsql_tmp1.0", false, true},
		{"pgsql_tmp*", "base/pgsql_tmp/other", false, false},
		// "[" is literal: no character classes.
		{"**/[0-9]*/t[0-9]*_[0-9]*", "base/1/t3_16386", false, false},
		{"**/[0-9]*/t[0-9]*_[0-9]*", "x/[0-9]a/t[0-9]b_[0-9]c", false, true},
		// A trailing "/" restricts a rule to directories.
		{"sub/", "sub", true, true},
		{"sub/", "sub", false, false},
		// "/*" matches "." (the root) but not "./file".
		{"/*", ".", true, true},
		{"/*", "./file", false, false},
		// Regular-expression characters are literal.
		{"/a+b(c)", "a+b(c)", false, true},
		{"/a+b(c)", "aab(c)", false, false},
		{"/a.b", "axb", false, false},
		// Newlines are ordinary characters (re.S).
		{"/a*b", "a\nb", false, true},
		{"/a?b", "a\nb", false, true},
		// An empty rule matches nothing (Barman would fail on it).
		{"", "x", false, false},
		{"/", "x", true, false},
	}
	for _, tt := range tests {
		r := NewRules(nil, []string{tt.rule})
		if got := !r.Allowed(tt.path, tt.isDir); got != tt.want {
			t.Errorf("rule %q on %q (dir %v): match = %v, want %v", tt.rule, tt.path, tt.isDir, got, tt.want)
		}
	}
}

// TestIncludeBeforeExclude checks path_allowed's order: an include match
// accepts even what an exclude rule matches.
func TestIncludeBeforeExclude(t *testing.T) {
	r := NewRules([]string{"/keep*"}, []string{"/*"})
	for path, want := range map[string]bool{"keep1": true, "other": false, "a/b": true} {
		if got := r.Allowed(path, true); got != want {
			t.Errorf("Allowed(%q) = %v, want %v", path, got, want)
		}
	}
	var none *Rules
	if !none.Allowed("anything", false) {
		t.Error("nil Rules must allow everything")
	}
}

// pathDecision is one row of spec §11.6: what Barman decides for a path and
// what this package decides.
type pathDecision struct {
	path          string // a trailing "/" marks a directory
	barman, pgtar bool   // archived?
}

func checkDecisions(t *testing.T, r *Rules, rows []pathDecision) {
	t.Helper()
	for _, row := range rows {
		path, isDir := strings.CutSuffix(row.path, "/")
		if path == "" { // "./" is the root
			path = "."
		}
		if got := r.Allowed(path, isDir); got != row.pgtar {
			t.Errorf("%s: archived = %v, want %v", row.path, got, row.pgtar)
		}
		barman := *r
		barman.SkipTempRelations = false
		if got := barman.Allowed(path, isDir); got != row.barman {
			t.Errorf("%s with Barman's rules only: archived = %v, want %v", row.path, got, row.barman)
		}
	}
}

// TestPGDATARules checks every PGDATA path decision of spec §11.6, plus the
// tablespace located inside PGDATA.
func TestPGDATARules(t *testing.T) {
	r := PGDATARules("/pg/data", []Tablespace{
		{OID: 16400, Location: "/pg/ts"},
		{OID: 16402, Location: "/pg/data/sub/ts"},
		{OID: 16403, Location: "/pg/database"}, // starts with "/pg/data", is not inside it
	})
	checkDecisions(t, r, []pathDecision{
		// keep
		{"./", true, true},
		{"pg_wal/", true, true},
		{"sub/pg_wal/x", true, true},
		{"base/log/x", true, true},
		{"pg_stat/x", true, true},
		{"pg_replslot/s1/deep/", true, true}, // by the rules; the walk prunes pg_replslot/s1
		{"pg_tblspc/16401", true, true},
		{"./recovery.signal", true, true},
		{"./backup_label", true, true},
		{"./tablespace_map", true, true},
		{"./backup_label.old", true, true},
		{"./current_logfiles", true, true},
		{"base/pgsql_tmp/other", true, true}, // by the rules; its directory is excluded
		{"base/1/sub/t3_16387", true, true},  // not in a database directory
		{"log/", true, true},
		{"pg_replslot/", true, true},
		{"pg_stat_tmp/", true, true},
		{"pg_tblspc/", true, true},
		{"sub/", true, true},
		{"sub/ts/PG_16_1/", true, true}, // by the rules; the walk prunes sub/ts
		{"base/", true, true},           // not "/pg/database" minus "/pg/data"
		// temporary relations: Barman keeps them, pgtar does not
		{"base/1/t3_16386", true, false},
		{"base/16384/t12_345_fsm", true, false},
		{"base/16384/t12_345.1", true, false},
		// exclude
		{"./postmaster.pid", false, false},
		{"./postmaster.opts", false, false},
		{"./standby.signal", false, false},
		{"./recovery.conf", false, false},
		{"./postgresql.auto.conf.tmp", false, false},
		{"./current_logfiles.tmp", false, false},
		{"base/1/pg_internal.init", false, false},
		{"pg_wal/archive_status/", false, false},
		{"pg_wal/x", false, false},
		{"pg_xlog/x", false, false},
		{"log/x", false, false},
		{"pg_log/x", false, false},
		{"pg_stat_tmp/x", false, false},
		{"base/pgsql_tmp/", false, false},
		{"base/pgsql_tmp/pgsql_tmp1.0", false, false},
		{"pg_replslot/s1/", false, false},
		{"pg_dynshmem/x", false, false},
		{"pg_notify/x", false, false},
		{"pg_serial/x", false, false},
		{"pg_snapshots/x", false, false},
		{"pg_subtrans/x", false, false},
		{"pg_tblspc/16400", false, false},
		{"pg_tblspc/16402", false, false},
		{"pg_tblspc/16403", false, false},
		{"sub/ts/", false, false},
		{"global/pg_control", false, false},
	})
}

// TestTablespaceRules checks the tablespace path decisions of spec §11.6.
func TestTablespaceRules(t *testing.T) {
	checkDecisions(t, TablespaceRules("16"), []pathDecision{
		{"./", false, false},
		{"PG_15_1/", false, false},
		{"PG_16_202307071/", true, true},
		{"PG_16_202307071/5/", true, true},
		{"PG_16_202307071/5/16500", true, true},
		{"PG_15_1/5/", true, true}, // by the rules; the walk prunes PG_15_1
		{"PG_15_1/5/x", true, true},
		{"PG_16_202307071/5/t3_16500", true, false},
		{"PG_16_202307071/5/pgsql_tmp/", false, false},
		{"PG_16_202307071/pgsql_tmp/pgsql_tmp9.1", false, false},
	})
	checkDecisions(t, TablespaceRules("9.6"), []pathDecision{
		{"PG_9.6_201608131/", true, true},
		{"PG_9.5_201510051/", false, false},
		{"PG_916_1/", false, false}, // "." is literal
	})
}

func TestIsTempRelation(t *testing.T) {
	tests := map[string]bool{
		"base/1/t3_16386":          true,
		"base/16384/t3_16386_fsm":  true,
		"base/16384/t3_16386_vm":   true,
		"base/16384/t3_16386_init": true,
		"base/16384/t3_16386.12":   true,
		"base/1/t3_16386_fsm.2":    true,
		"PG_16_1/5/t10_20":         true,
		"base/1/t3_16386_main":     false, // the main fork has no suffix
		"base/1/t3_16386.":         false,
		"base/1/t3_":               false,
		"base/1/t_1":               false,
		"base/1/x3_1":              false,
		"base/1/16384":             false,
		"base/1a/t3_1":             false,
		"base/sub/t3_1":            false,
		"t3_1":                     false,
		"/t3_1":                    false,
		"./t3_1":                   false,
	}
	for path, want := range tests {
		if got := isTempRelation(path); got != want {
			t.Errorf("isTempRelation(%q) = %v, want %v", path, got, want)
		}
	}
}
