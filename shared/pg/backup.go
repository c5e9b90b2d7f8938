package pg

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/barmancloud/barman-cloud/shared/wal"
	"github.com/jackc/pgx/v5"
)

// SystemID is the server's system identifier
// (PostgreSQLConnection.get_systemid), which Barman stores as None when the
// query fails.
func (c *Conn) SystemID(ctx context.Context) (string, error) {
	var id string
	if err := c.queryRow(ctx, "SELECT system_identifier::text FROM pg_control_system()").Scan(&id); err != nil {
		return "", &QueryError{Op: "Error retrieving PostgreSQL system Id", Err: err}
	}
	return id, nil
}

// IsInRecovery reports whether the server is a standby
// (PostgreSQLConnection.is_in_recovery).
func (c *Conn) IsInRecovery(ctx context.Context) (bool, error) {
	var r bool
	if err := c.queryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&r); err != nil {
		return false, &QueryError{Op: "Error calling pg_is_in_recovery() function", Err: err}
	}
	return r, nil
}

// Tablespace is a tablespace outside the data directory, an item of
// backup.info's tablespaces.
type Tablespace struct {
	Name     string
	OID      uint32
	Location string
}

// Metadata is what BackupStrategy._pg_get_metadata reads before the backup
// starts. A nil field is one Barman stores as None: its query failed (the
// error is logged at DEBUG, as Barman does), or it does not apply.
type Metadata struct {
	DataDirectory *string // SHOW data_directory
	// SegmentSize is wal_segment_size in bytes (× wal_block_size below
	// 11). Unlike the other fields, its failure fails Metadata, as it
	// fails Barman.
	SegmentSize int64
	// ConfigFile, HBAFile and IdentFile come from pg_settings, which shows
	// them only to privileged users; all three are nil when a query of
	// get_configuration_files fails.
	ConfigFile, HBAFile, IdentFile *string
	// IncludedFiles are the other configuration files PostgreSQL read
	// (postgresql.auto.conf, include directives), sorted; nil when none.
	IncludedFiles []string
	// Tablespaces are those with a location; nil when none.
	Tablespaces   []Tablespace
	DataChecksums *string // SHOW data_checksums: "on" or "off"
	SummarizeWAL  *string // SHOW summarize_wal, from PostgreSQL 17 on
	// BackupPrivileges is the privilege check of §4.4
	// (has_backup_privileges).
	BackupPrivileges *bool
	// ClusterSize is the size of all tablespaces in bytes, only read with
	// backup privileges (current_size).
	ClusterSize *int64
}

// Metadata runs the queries of BackupStrategy._pg_get_metadata, in its
// order.
func (c *Conn) Metadata(ctx context.Context) (*Metadata, error) {
	m := &Metadata{}
	m.DataDirectory = c.setting(ctx, "data_directory")
	size, err := c.segmentSize(ctx)
	if err != nil {
		return nil, err
	}
	m.SegmentSize = size
	c.configurationFiles(ctx, m)
	m.Tablespaces = c.tablespaces(ctx)
	m.DataChecksums = c.setting(ctx, "data_checksums")
	if c.version >= 170000 {
		m.SummarizeWAL = c.setting(ctx, "summarize_wal")
	}
	m.BackupPrivileges = c.backupPrivileges(ctx)
	if m.BackupPrivileges != nil && *m.BackupPrivileges {
		var n int64
		if err := c.queryRow(ctx, "SELECT sum(pg_tablespace_size(oid)) FROM pg_tablespace").Scan(&n); err != nil {
			c.debug("Error retrieving PostgreSQL total size: %s", err)
		} else {
			m.ClusterSize = &n
		}
	}
	return m, nil
}

// setting is PostgreSQLConnection.get_setting: SHOW of a setting, nil on
// error.
func (c *Conn) setting(ctx context.Context, name string) *string {
	var v string
	if err := c.queryRow(ctx, `SHOW "`+strings.ReplaceAll(name, `"`, `""`)+`"`).Scan(&v); err != nil {
		c.log.Debug().Msgf("Error retrieving PostgreSQL setting '%s': %s", name, errorText(err))
		return nil
	}
	return &v
}

// segmentSize is PostgreSQLConnection.xlog_segment_size. pg_settings, not
// SHOW, which would say "16MB".
func (c *Conn) segmentSize(ctx context.Context) (int64, error) {
	size, err := c.intSetting(ctx, "SELECT setting FROM pg_settings WHERE name='wal_segment_size'")
	if err == nil && c.version < 110000 {
		// Below 11 the setting counts WAL blocks.
		var block int64
		block, err = c.intSetting(ctx, "SELECT setting FROM pg_settings WHERE name='wal_block_size'")
		size *= block
	}
	if err != nil {
		return 0, &QueryError{Op: "Error retrieving current xlog segment size", Err: err}
	}
	return size, nil
}

func (c *Conn) intSetting(ctx context.Context, sql string) (int64, error) {
	var s string
	if err := c.queryRow(ctx, sql).Scan(&s); err != nil {
		return 0, err
	}
	return strconv.ParseInt(s, 10, 64)
}

// configurationFiles is PostgreSQLConnection.get_configuration_files.
func (c *Conn) configurationFiles(ctx context.Context, m *Metadata) {
	files := map[string]*string{}
	var included []string
	err := func() error {
		rows, err := c.query(ctx, "SELECT name, setting FROM pg_settings WHERE name IN ('config_file', 'hba_file', 'ident_file')")
		if err != nil {
			return err
		}
		var name, setting string
		if _, err := pgx.ForEachRow(rows, []any{&name, &setting}, func() error {
			v := setting
			files[name] = &v
			return nil
		}); err != nil {
			return err
		}
		rows, err = c.query(ctx, "SELECT DISTINCT sourcefile AS included_file "+
			"FROM pg_settings "+
			"WHERE sourcefile IS NOT NULL "+
			"AND sourcefile NOT IN "+
			"(SELECT setting FROM pg_settings "+
			"WHERE name = 'config_file') "+
			"ORDER BY 1")
		if err != nil {
			return err
		}
		included, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	}()
	if err != nil {
		c.debug("Error retrieving PostgreSQL configuration files location: %s", err)
		return
	}
	m.ConfigFile, m.HBAFile, m.IdentFile = files["config_file"], files["hba_file"], files["ident_file"]
	if len(included) > 0 {
		m.IncludedFiles = included
	}
}

// tablespaces is PostgreSQLConnection.get_tablespaces.
func (c *Conn) tablespaces(ctx context.Context) []Tablespace {
	rows, err := c.query(ctx, "SELECT spcname, oid, "+
		"pg_tablespace_location(oid) AS spclocation "+
		"FROM pg_tablespace "+
		"WHERE pg_tablespace_location(oid) != ''")
	var ts []Tablespace
	if err == nil {
		var t Tablespace
		_, err = pgx.ForEachRow(rows, []any{&t.Name, &t.OID, &t.Location}, func() error {
			ts = append(ts, t)
			return nil
		})
	}
	if err != nil {
		c.debug("Error retrieving PostgreSQL tablespaces: %s", err)
		return nil
	}
	return ts
}

// backupPrivileges is PostgreSQLConnection.has_backup_privileges: nil
// when the query fails (or finds no row).
func (c *Conn) backupPrivileges(ctx context.Context) *bool {
	var ok *bool
	err := c.queryRow(ctx, privilegesSQL(c.version)).Scan(&ok)
	if errors.Is(err, pgx.ErrNoRows) {
		err = nil
	}
	if err != nil {
		c.debug("Error checking privileges for functions needed for backups: %s", err)
		return nil
	}
	return ok
}

// privilegesSQL is the query of has_backup_privileges: below 10 whether
// the user is a superuser; from 10 on also whether it may read the
// settings and statistics and run the backup and WAL functions.
func privilegesSQL(version int) string {
	if version < 100000 {
		return "SELECT usesuper FROM pg_user WHERE usename = CURRENT_USER"
	}
	n := functionNames(version)
	startArgs, stopArgs, stopCheck := "text,bool", "bool", ""
	if version < 150000 {
		startArgs, stopArgs = "text,bool,bool", "bool,bool"
		stopCheck = "has_function_privilege(CURRENT_USER, '" + n.backupStop + "()', 'EXECUTE') OR "
	}
	startCheck := "has_function_privilege(CURRENT_USER, '" + n.backupStart + "(" + startArgs + ")', 'EXECUTE')"
	stopCheck += "has_function_privilege(CURRENT_USER, '" + n.backupStop + "(" + stopArgs + ")', 'EXECUTE')"
	return `
        SELECT
          usesuper
          OR
          (
            (
              pg_has_role(CURRENT_USER, 'pg_monitor', 'USAGE')
              OR
              (
                pg_has_role(CURRENT_USER, 'pg_read_all_settings', 'USAGE')
                AND pg_has_role(CURRENT_USER, 'pg_read_all_stats', 'USAGE')
              )
            )
            AND
            (
                ` + startCheck + `
            )
            AND
            (
                ` + stopCheck + `
            )
            AND has_function_privilege(
              CURRENT_USER, 'pg_switch_wal()', 'EXECUTE')
            AND has_function_privilege(
              CURRENT_USER, 'pg_create_restore_point(text)', 'EXECUTE')
          )
        FROM
          pg_user
        WHERE
          usename = CURRENT_USER
        `
}

// Start is where a backup starts (backup.info begin_xlog, timeline,
// begin_time).
type Start struct {
	LSN      string // as the server gives it, e.g. "0/2000028"
	Timeline int
	// Time is now() in the session's TimeZone (psycopg2 returns it that
	// way, and backup.info stores str(datetime) with that offset).
	Time time.Time
}

// StartBackup starts a non-exclusive backup labelled label, with an
// immediate checkpoint when fast (start_concurrent_backup). From 14 on the
// session first gets idle_session_timeout 0, so that a copy longer than
// the server's idle_session_timeout does not end the session, and with it
// the backup. Failures read "pg_backup_start command: <error>".
func (c *Conn) StartBackup(ctx context.Context, label string, fast bool) (Start, error) {
	op := functionNames(c.version).backupStart + " command"
	if c.version >= 140000 {
		if err := c.exec(ctx, "SET idle_session_timeout TO 0"); err != nil {
			return Start{}, &QueryError{Op: op, Err: err}
		}
	}
	var s Start
	var t time.Time
	var offset int
	if err := c.queryRow(ctx, startSQL(c.version), label, fast).Scan(&s.LSN, &s.Timeline, &t, &offset); err != nil {
		return Start{}, &QueryError{Op: op, Err: err}
	}
	s.Time = t.In(time.FixedZone("", offset))
	return s, nil
}

// startSQL is start_concurrent_backup's query, with one more column: the
// UTC offset of the session TimeZone at now(), which psycopg2 gets from
// the text form of now() and pgx's binary timestamps lack.
func startSQL(version int) string {
	args := "$1, $2"
	if version < 150000 {
		// The third argument, exclusive, exists below 15 only.
		args += ", FALSE"
	}
	return "SELECT location, " +
		"(SELECT timeline_id " +
		"FROM pg_control_checkpoint()) AS timeline, " +
		"now() AS timestamp, " + utcOffsetColumn + " " +
		"FROM " + functionNames(version).backupStart + "(" + args + ") AS location"
}

const utcOffsetColumn = "extract(timezone FROM now())::integer AS utc_offset"

// Stop is where a backup ends (backup.info end_xlog, backup_label,
// end_time; the timeline names end_wal).
type Stop struct {
	LSN      string
	Timeline int
	Label    string // the backup_label file's content
	Time     time.Time
}

// StopBackup stops the session's backup (stop_concurrent_backup), first
// giving idle_session_timeout back its configured value from 14 on. It
// keeps pg_backup_stop's wait_for_archive default: it returns only once
// the WAL the backup needs is archived, however long that takes. The
// tablespace map it also returns is not used. Failures read "Error issuing
// pg_backup_stop command: <error>".
func (c *Conn) StopBackup(ctx context.Context) (Stop, error) {
	op := "Error issuing " + functionNames(c.version).backupStop + " command"
	if c.version >= 140000 {
		if err := c.exec(ctx, "RESET idle_session_timeout"); err != nil {
			return Stop{}, &QueryError{Op: op, Err: err}
		}
	}
	var s Stop
	var t time.Time
	var offset int
	if err := c.queryRow(ctx, stopSQL(c.version)).Scan(&s.LSN, &s.Timeline, &s.Label, &t, &offset); err != nil {
		return Stop{}, &QueryError{Op: op, Err: err}
	}
	s.Time = t.In(time.FixedZone("", offset))
	return s, nil
}

func stopSQL(version int) string {
	args := ""
	if version < 150000 {
		args = "FALSE" // not exclusive
	}
	return "SELECT end_row.lsn AS location, " +
		"(SELECT CASE WHEN pg_is_in_recovery() " +
		"THEN min_recovery_end_timeline ELSE timeline_id END " +
		"FROM pg_control_checkpoint(), pg_control_recovery()" +
		") AS timeline, " +
		"end_row.labelfile AS backup_label, " +
		"now() AS timestamp, " + utcOffsetColumn + " " +
		"FROM " + functionNames(version).backupStop + "(" + args + ") AS end_row"
}

// PrivilegesError is Barman's BackupFunctionsAccessRequired: the user
// lacks what the backup needs, found when switching WAL after the backup
// stopped, which fails the backup.
type PrivilegesError struct{ User string }

func (e *PrivilegesError) Error() string {
	return fmt.Sprintf(`Postgres user '%s' is missing required privileges (see "Preliminary steps" in the Barman manual)`, e.User)
}

// SwitchWAL closes the current WAL segment so that the one holding the
// backup's end is archived (PostgreSQLConnection.switch_wal, as the
// backup's stop calls it). It first checks the privileges: without them
// it fails with a *PrivilegesError. On a standby it does nothing. Its SQL
// errors are logged at DEBUG and otherwise ignored, as Barman does. It
// returns the name of the segment it closed, "" when there was nothing to
// close or it did not switch.
func (c *Conn) SwitchWAL(ctx context.Context) (string, error) {
	if c.conn.IsClosed() {
		// Barman would reconnect (it allows that once the backup has
		// stopped) and most likely switch; without a session there is
		// nothing to switch, and the backup is complete.
		c.log.Debug().Msgf("Error issuing %s() command: %s", functionNames(c.version).switchWAL, ErrConnectionLost)
		return "", nil
	}
	if p := c.backupPrivileges(ctx); p == nil || !*p {
		return "", &PrivilegesError{User: c.user}
	}
	if r, err := c.IsInRecovery(ctx); err != nil {
		// Barman's is_in_recovery is None then, which does not skip.
		c.log.Debug().Msg(err.Error())
	} else if r {
		return "", nil
	}
	name, err := c.switchWAL(ctx)
	if err != nil {
		c.debug("Error issuing "+functionNames(c.version).switchWAL+"() command: %s", err)
		return "", nil
	}
	return name, nil
}

func (c *Conn) switchWAL(ctx context.Context) (string, error) {
	n := functionNames(c.version)
	current := "SELECT " + n.walfileName + "(" + n.currentWALInsert + "())"
	var pre string
	var offset int64
	if c.version >= 170000 {
		sql := "SELECT (" + n.walfileNameOffset + "(location)).* FROM " + n.currentWALInsert + "() AS location"
		if err := c.queryRow(ctx, sql).Scan(&pre, &offset); err != nil {
			return "", err
		}
	} else if err := c.queryRow(ctx, current).Scan(&pre); err != nil {
		return "", err
	}
	if err := c.exec(ctx, "SELECT "+n.walfileName+"("+n.switchWAL+"())"); err != nil {
		return "", err
	}
	var post string
	if err := c.queryRow(ctx, current).Scan(&post); err != nil {
		return "", err
	}
	if pre >= post {
		return "", nil
	}
	if c.version >= 170000 && offset == 0 {
		// From 17 on pg_walfile_name_offset names the segment starting at
		// a boundary, where older servers named the one ending there.
		size, err := c.segmentSize(ctx)
		if err != nil {
			return "", err
		}
		return wal.PreviousSegmentName(pre, size)
	}
	return pre, nil
}

// CreateRestorePoint creates the restore point name unless the server is
// a standby (PostgreSQLConnection.create_restore_point) and returns its
// LSN; "" when skipped or failed (failures are logged at DEBUG only).
func (c *Conn) CreateRestorePoint(ctx context.Context, name string) string {
	if r, err := c.IsInRecovery(ctx); err != nil {
		c.log.Debug().Msg(err.Error())
	} else if r {
		return ""
	}
	var lsn string
	if err := c.queryRow(ctx, "SELECT pg_create_restore_point($1)", name).Scan(&lsn); err != nil {
		c.debug("Error issuing pg_create_restore_point() command: %s", err)
		return ""
	}
	c.log.Info().Msgf("Restore point '%s' successfully created", name)
	return lsn
}

// query runs a query that returns rows, as queryRow.
func (c *Conn) query(ctx context.Context, sql string) (pgx.Rows, error) {
	if c.conn.IsClosed() {
		return nil, ErrConnectionLost
	}
	return c.conn.Query(ctx, sql)
}
