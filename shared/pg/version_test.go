package pg

import (
	"strings"
	"testing"
)

func TestLibpqVersion(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int
	}{
		{"15.4 (Debian 15.4-1.pgdg120+1)", 150004},
		{"15.4", 150004},
		{"16.0", 160000},
		{"10.23", 100023},
		{"9.6.24", 90624},
		{"9.5.25", 90525},
		{"9.6", 90600},
		{"16beta1", 160000},
		{"17devel", 170000},
		{"9.6rc1", 90600},
		{" 14.2", 140002},
		{"garbage", 0},
		{"", 0},
	} {
		if got := libpqVersion(tt.in); got != tt.want {
			t.Errorf("libpqVersion(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestVersionText(t *testing.T) {
	for _, tt := range []struct {
		in   int
		want string
	}{
		{90600, "9.6.0"}, {90624, "9.6.24"}, {150004, "15.4"}, {100000, "10.0"}, {170002, "17.2"},
	} {
		if got := versionText(tt.in); got != tt.want {
			t.Errorf("versionText(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMajorVersion(t *testing.T) {
	for _, tt := range []struct {
		in, want string
	}{
		{"PostgreSQL 15.4 (Debian 15.4-1.pgdg120+1) on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14) 12.2.0, 64-bit", "15"},
		{"PostgreSQL 9.6.24 on x86_64-pc-linux-gnu", "9.6"},
		{"PostgreSQL 9.5.25 on x86_64-pc-linux-gnu", "9.5"},
		{"PostgreSQL 16beta1 on x86_64-pc-linux-gnu", "16"},
		{"PostgreSQL 9.6rc1 on x86_64-pc-linux-gnu", "9.6"},
		{"PostgreSQL 17devel on aarch64", "17"},
		{"EnterpriseDB 10.5.12 on x86_64-pc-linux-gnu", "10"},
		{"EnterpriseDB 9.6.2.7 on x86_64-pc-linux-gnu", "9.6"},
		{"PostgreSQL 15", ""}, // simplify_version drops the only component
	} {
		got, err := majorVersion(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("majorVersion(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if got, err := majorVersion("PostgreSQL"); err == nil {
		t.Errorf("majorVersion(\"PostgreSQL\") = %q, want an error", got)
	}
}

func TestUnsupportedVersionError(t *testing.T) {
	err := &UnsupportedVersionError{Version: 90525, Major: "9.5"}
	if want := "unsupported PostgresSQL version 9.5. Expecting 9.6.0 or above."; err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
}

func TestFunctionNames(t *testing.T) {
	for _, tt := range []struct {
		version int
		want    names
	}{
		{170000, names{"pg_backup_start", "pg_backup_stop", "pg_switch_wal", "pg_walfile_name", "pg_walfile_name_offset", "pg_current_wal_insert_lsn"}},
		{150000, names{"pg_backup_start", "pg_backup_stop", "pg_switch_wal", "pg_walfile_name", "pg_walfile_name_offset", "pg_current_wal_insert_lsn"}},
		{140011, names{"pg_start_backup", "pg_stop_backup", "pg_switch_wal", "pg_walfile_name", "pg_walfile_name_offset", "pg_current_wal_insert_lsn"}},
		{100000, names{"pg_start_backup", "pg_stop_backup", "pg_switch_wal", "pg_walfile_name", "pg_walfile_name_offset", "pg_current_wal_insert_lsn"}},
		{90624, names{"pg_start_backup", "pg_stop_backup", "pg_switch_xlog", "pg_xlogfile_name", "pg_xlogfile_name_offset", "pg_current_xlog_insert_location"}},
	} {
		if got := functionNames(tt.version); got != tt.want {
			t.Errorf("functionNames(%d) = %+v, want %+v", tt.version, got, tt.want)
		}
	}
}

// TestSQL: the statements of §4.4 by server version, compared with the
// text Barman's code produces, blanks collapsed.
func TestSQL(t *testing.T) {
	const offset = ", extract(timezone FROM now())::integer AS utc_offset"
	for _, tt := range []struct {
		name, got, want string
	}{
		{"start 15", startSQL(150000), "SELECT location, (SELECT timeline_id FROM pg_control_checkpoint()) AS timeline, now() AS timestamp" + offset + " FROM pg_backup_start($1, $2) AS location"},
		{"start 14", startSQL(140000), "SELECT location, (SELECT timeline_id FROM pg_control_checkpoint()) AS timeline, now() AS timestamp" + offset + " FROM pg_start_backup($1, $2, FALSE) AS location"},
		{"start 9.6", startSQL(90600), "SELECT location, (SELECT timeline_id FROM pg_control_checkpoint()) AS timeline, now() AS timestamp" + offset + " FROM pg_start_backup($1, $2, FALSE) AS location"},
		{"stop 17", stopSQL(170000), "SELECT end_row.lsn AS location, (SELECT CASE WHEN pg_is_in_recovery() THEN min_recovery_end_timeline ELSE timeline_id END FROM pg_control_checkpoint(), pg_control_recovery()) AS timeline, end_row.labelfile AS backup_label, now() AS timestamp" + offset + " FROM pg_backup_stop() AS end_row"},
		{"stop 14", stopSQL(140000), "SELECT end_row.lsn AS location, (SELECT CASE WHEN pg_is_in_recovery() THEN min_recovery_end_timeline ELSE timeline_id END FROM pg_control_checkpoint(), pg_control_recovery()) AS timeline, end_row.labelfile AS backup_label, now() AS timestamp" + offset + " FROM pg_stop_backup(FALSE) AS end_row"},
		{"privileges 9.6", privilegesSQL(90624), "SELECT usesuper FROM pg_user WHERE usename = CURRENT_USER"},
		{"privileges 15", privilegesSQL(150004), privilegesTemplate(
			"has_function_privilege(CURRENT_USER, 'pg_backup_start(text,bool)', 'EXECUTE')",
			"has_function_privilege(CURRENT_USER, 'pg_backup_stop(bool)', 'EXECUTE')")},
		{"privileges 14", privilegesSQL(140000), privilegesTemplate(
			"has_function_privilege(CURRENT_USER, 'pg_start_backup(text,bool,bool)', 'EXECUTE')",
			"has_function_privilege(CURRENT_USER, 'pg_stop_backup()', 'EXECUTE') OR has_function_privilege(CURRENT_USER, 'pg_stop_backup(bool,bool)', 'EXECUTE')")},
		{"privileges 10", privilegesSQL(100000), privilegesTemplate(
			"has_function_privilege(CURRENT_USER, 'pg_start_backup(text,bool,bool)', 'EXECUTE')",
			"has_function_privilege(CURRENT_USER, 'pg_stop_backup()', 'EXECUTE') OR has_function_privilege(CURRENT_USER, 'pg_stop_backup(bool,bool)', 'EXECUTE')")},
	} {
		if got := strings.Join(strings.Fields(tt.got), " "); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

// privilegesTemplate is has_backup_privileges' query from 10 on, blanks
// collapsed, with its start and stop function checks.
func privilegesTemplate(start, stop string) string {
	return "SELECT usesuper OR ( ( pg_has_role(CURRENT_USER, 'pg_monitor', 'USAGE') OR ( pg_has_role(CURRENT_USER, 'pg_read_all_settings', 'USAGE') AND pg_has_role(CURRENT_USER, 'pg_read_all_stats', 'USAGE') ) ) AND ( " +
		start + " ) AND ( " + stop + " ) AND has_function_privilege( CURRENT_USER, 'pg_switch_wal()', 'EXECUTE') AND has_function_privilege( CURRENT_USER, 'pg_create_restore_point(text)', 'EXECUTE') ) FROM pg_user WHERE usename = CURRENT_USER"
}
