//go:build integration

package pg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/barmancloud/barman-cloud/shared/wal"
	"github.com/barmancloud/barman-cloud/test/pgtest"
	"github.com/rs/zerolog"
)

const (
	alicePassword = "Sekr3t-pa55word"
	kolkata       = 5*3600 + 30*60 // Asia/Kolkata, the cluster's TimeZone: +05:30, no DST
	kathmandu     = 5*3600 + 45*60 // Asia/Kathmandu: +05:45, no DST
	segSize       = 16 << 20
)

// server is one PostgreSQL 15 cluster for all the tests of this file, with
// roles of each privilege level, a tablespace, an included configuration
// file and WAL archiving into a directory.
type server struct {
	c       *pgtest.Cluster
	tbsDir  string
	archive string
}

func newServer(t *testing.T) *server {
	t.Helper()
	s := pgtest.New(t)
	c := s.InitDB("pg", 16)
	archive := s.Mkdir("archive")
	set := c.BaseSettings()
	set["archive_mode"] = "on"
	set["archive_command"] = "cp %p " + archive + "/%f"
	set["timezone"] = "Asia/Kolkata"
	c.Configure(set)
	c.Start()
	c.SetHBA(
		"local all alice scram-sha-256",
		"local all all trust",
	)
	c.Psql("CREATE ROLE plain LOGIN")
	c.Psql("CREATE ROLE monitor LOGIN IN ROLE pg_monitor")
	c.Psql("CREATE ROLE monitor_noexec LOGIN IN ROLE pg_monitor")
	c.Psql("GRANT EXECUTE ON FUNCTION pg_backup_start(text, boolean), pg_backup_stop(boolean), " +
		"pg_switch_wal(), pg_create_restore_point(text) TO monitor")
	c.Psql("CREATE ROLE alice LOGIN PASSWORD '" + alicePassword + "'")
	// postgresql.auto.conf becomes an included file once it sets something.
	c.Psql("ALTER SYSTEM SET work_mem = '8MB'")
	c.Psql("select pg_reload_conf()")
	tbs := c.CreateTablespace("tbs1")
	return &server{c: c, tbsDir: tbs, archive: archive}
}

func connect(t *testing.T, conninfo string, log zerolog.Logger) *Conn {
	t.Helper()
	conn, err := Connect(context.Background(), conninfo, Options{ApplicationName: "barman_cloud_backup", Log: log})
	if err != nil {
		t.Fatalf("Connect(%q): %v", conninfo, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func show(t *testing.T, c *Conn, name string) string {
	t.Helper()
	var v string
	if err := c.conn.QueryRow(context.Background(), "SHOW "+name).Scan(&v); err != nil {
		t.Fatalf("SHOW %s: %v", name, err)
	}
	return v
}

// TestPostgres runs every check against one cluster, in sequence: the
// cluster takes seconds to start on a shared machine.
func TestPostgres(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	c := s.c
	super := c.Conninfo("postgres")

	t.Run("versions", func(t *testing.T) {
		conn := connect(t, super, zerolog.Nop())
		want, _ := strconv.Atoi(c.Psql("show server_version_num"))
		if got := conn.ServerVersion(); got != want || got < 150000 || got >= 160000 {
			t.Errorf("ServerVersion = %d, want %d (15)", got, want)
		}
		if got, err := conn.MajorVersion(ctx); err != nil || got != "15" {
			t.Errorf("MajorVersion = %q, %v; want 15", got, err)
		}
		if err := conn.CheckVersion(ctx); err != nil {
			t.Errorf("CheckVersion: %v", err)
		}
		if got, err := conn.SystemID(ctx); err != nil || got != c.Psql("select system_identifier from pg_control_system()") {
			t.Errorf("SystemID = %q, %v", got, err)
		}
		if r, err := conn.IsInRecovery(ctx); err != nil || r {
			t.Errorf("IsInRecovery = %v, %v; want false", r, err)
		}
		// The gates are the version number: a server taken for 9.5 is
		// refused, naming its real major version, and one taken for 14
		// gets pg_start_backup, which 15 no longer has.
		conn.version = 90500
		var uv *UnsupportedVersionError
		if err := conn.CheckVersion(ctx); !errors.As(err, &uv) || err.Error() != "unsupported PostgresSQL version 15. Expecting 9.6.0 or above." {
			t.Errorf("CheckVersion as 9.5 = %v", err)
		}
		conn.version = 140000
		_, err := conn.StartBackup(ctx, "gated", false)
		if err == nil || !strings.HasPrefix(err.Error(), "pg_start_backup command: function pg_start_backup(") {
			t.Errorf("StartBackup as 14 = %v, want pg_start_backup not found", err)
		}
	})

	t.Run("metadata", func(t *testing.T) {
		oid, _ := strconv.ParseUint(c.Psql("select oid from pg_tablespace where spcname = 'tbs1'"), 10, 32)
		size, _ := strconv.ParseInt(c.Psql("select sum(pg_tablespace_size(oid)) from pg_tablespace"), 10, 64)
		str := func(s string) *string { return &s }
		full := Metadata{
			DataDirectory: str(c.Data),
			SegmentSize:   segSize,
			ConfigFile:    str(filepath.Join(c.Data, "postgresql.conf")),
			HBAFile:       str(filepath.Join(c.Data, "pg_hba.conf")),
			IdentFile:     str(filepath.Join(c.Data, "pg_ident.conf")),
			IncludedFiles: []string{filepath.Join(c.Data, "postgresql.auto.conf")},
			Tablespaces:   []Tablespace{{Name: "tbs1", OID: uint32(oid), Location: s.tbsDir}},
			DataChecksums: str("off"),
		}
		for _, tt := range []struct {
			user       string
			want       Metadata
			privileged bool
		}{
			{user: "postgres", want: full, privileged: true},
			// pg_monitor reads all settings (pg_read_all_settings).
			{user: "monitor", want: Metadata{
				DataDirectory: full.DataDirectory, SegmentSize: segSize,
				ConfigFile: full.ConfigFile, HBAFile: full.HBAFile, IdentFile: full.IdentFile,
				IncludedFiles: full.IncludedFiles, Tablespaces: full.Tablespaces, DataChecksums: str("off"),
			}, privileged: true},
			{user: "monitor_noexec", want: Metadata{
				DataDirectory: full.DataDirectory, SegmentSize: segSize,
				ConfigFile: full.ConfigFile, HBAFile: full.HBAFile, IdentFile: full.IdentFile,
				IncludedFiles: full.IncludedFiles, Tablespaces: full.Tablespaces, DataChecksums: str("off"),
			}},
			// A plain user sees neither the data directory nor the
			// configuration files: Barman's None.
			{user: "plain", want: Metadata{SegmentSize: segSize, Tablespaces: full.Tablespaces, DataChecksums: str("off")}},
		} {
			t.Run(tt.user, func(t *testing.T) {
				var log bytes.Buffer
				conn := connect(t, c.Conninfo(tt.user), zerolog.New(&log).Level(zerolog.DebugLevel))
				m, err := conn.Metadata(ctx)
				if err != nil {
					t.Fatal(err)
				}
				want := tt.want
				want.BackupPrivileges = &tt.privileged
				if tt.privileged {
					want.ClusterSize = &size
				}
				if got, w := describe(m), describe(&want); got != w {
					t.Errorf("Metadata as %s:\n got %s\nwant %s\nlog:\n%s", tt.user, got, w, log.String())
				}
			})
		}
	})

	t.Run("backup", func(t *testing.T) {
		conn := connect(t, super, zerolog.Nop())
		before := time.Now()
		start, err := conn.StartBackup(ctx, "Barman backup cloud 20240501T120000", true)
		if err != nil {
			t.Fatal(err)
		}
		if got := show(t, conn, "idle_session_timeout"); got != "0" {
			t.Errorf("idle_session_timeout during the backup = %q, want 0", got)
		}
		if got := c.Psql(fmt.Sprintf("select application_name from pg_stat_activity where pid = %d", conn.conn.PgConn().PID())); got != "barman_cloud_backup" {
			t.Errorf("application_name = %q, want barman_cloud_backup", got)
		}
		c.Psql("create table filler as select generate_series(1, 10000) i")
		stop, err := conn.StopBackup(ctx)
		if err != nil {
			t.Fatal(err)
		}
		after := time.Now()
		if got := show(t, conn, "idle_session_timeout"); got != "0" {
			// RESET gives back the cluster's default.
			t.Errorf("idle_session_timeout after the backup = %q, want the default 0", got)
		}
		for _, tm := range []time.Time{start.Time, stop.Time} {
			if _, off := tm.Zone(); off != kolkata {
				t.Errorf("timestamp %v has offset %d, want the session TimeZone's %d", tm, off, kolkata)
			}
			if tm.Before(before.Add(-time.Second)) || tm.After(after.Add(time.Second)) {
				t.Errorf("timestamp %v outside [%v, %v]", tm, before, after)
			}
		}
		startLSN, err := wal.ParseLSN(start.LSN)
		if err != nil {
			t.Fatal(err)
		}
		stopLSN, err := wal.ParseLSN(stop.LSN)
		if err != nil {
			t.Fatal(err)
		}
		if start.Timeline != 1 || stop.Timeline != 1 || stopLSN <= startLSN {
			t.Errorf("start %+v, stop at %s on timeline %d", start, stop.LSN, stop.Timeline)
		}
		beginWAL, _, err := startLSN.FileNameOffset(uint32(start.Timeline), segSize)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{
			fmt.Sprintf("START WAL LOCATION: %s (file %s)\n", start.LSN, beginWAL),
			"LABEL: Barman backup cloud 20240501T120000\n",
			"START TIMELINE: 1\n",
			"BACKUP METHOD: streamed\n",
		} {
			if !strings.Contains(stop.Label, want) {
				t.Errorf("backup label lacks %q:\n%s", want, stop.Label)
			}
		}
		// The client-side names agree with the server's away from
		// segment boundaries.
		for _, lsn := range []wal.LSN{startLSN, stopLSN} {
			name, offset, err := lsn.FileNameOffset(1, segSize)
			if err != nil {
				t.Fatal(err)
			}
			if offset == 0 {
				continue
			}
			if got, want := name+"|"+strconv.FormatInt(offset, 10), c.Psql(fmt.Sprintf("select file_name || '|' || file_offset from pg_walfile_name_offset('%s')", lsn)); got != want {
				t.Errorf("FileNameOffset(%s) = %s, PostgreSQL says %s", lsn, got, want)
			}
		}
	})

	t.Run("time zone of the session", func(t *testing.T) {
		conn := connect(t, super+" options='-c TimeZone=Asia/Kathmandu'", zerolog.Nop())
		start, err := conn.StartBackup(ctx, "tz", false)
		if err != nil {
			t.Fatal(err)
		}
		stop, err := conn.StopBackup(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, tm := range []time.Time{start.Time, stop.Time} {
			if _, off := tm.Zone(); off != kathmandu {
				t.Errorf("timestamp %v has offset %d, want %d", tm, off, kathmandu)
			}
		}
	})

	// A session that sits idle longer than idle_session_timeout is ended;
	// a backup's must not be while the files are copied.
	t.Run("idle_session_timeout", func(t *testing.T) {
		idle := super + " options='-c idle_session_timeout=1s'"
		control := connect(t, idle, zerolog.Nop())
		conn := connect(t, idle, zerolog.Nop())
		if _, err := conn.StartBackup(ctx, "idle", false); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2500 * time.Millisecond)
		if _, err := control.SystemID(ctx); err == nil {
			t.Fatal("the control session survived idle_session_timeout: the test proves nothing")
		}
		if _, err := conn.StopBackup(ctx); err != nil {
			t.Fatalf("StopBackup after an idle copy: %v", err)
		}
		if got := show(t, conn, "idle_session_timeout"); got != "1s" {
			t.Errorf("idle_session_timeout after the backup = %q, want the session's 1s back", got)
		}
	})

	// pg_backup_stop waits until the WAL the backup needs is archived.
	t.Run("stop waits for the archive", func(t *testing.T) {
		conn := connect(t, super, zerolog.Nop())
		c.Psql("ALTER SYSTEM SET archive_command = 'false'")
		c.Psql("select pg_reload_conf()")
		if _, err := conn.StartBackup(ctx, "wait", true); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { _, err := conn.StopBackup(ctx); done <- err }()
		select {
		case err := <-done:
			t.Fatalf("StopBackup returned (%v) while archiving fails", err)
		case <-time.After(4 * time.Second):
		}
		c.Psql("ALTER SYSTEM RESET archive_command")
		c.Psql("select pg_reload_conf()")
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(2 * time.Minute):
			t.Fatal("StopBackup still waiting 2 minutes after archiving was repaired")
		}
	})

	t.Run("switch WAL", func(t *testing.T) {
		for _, user := range []string{"postgres", "monitor"} {
			conn := connect(t, c.Conninfo(user), zerolog.Nop())
			c.Psql("insert into filler select generate_series(1, 1000)")
			before := c.Psql("select pg_walfile_name(pg_current_wal_insert_lsn())")
			name, err := conn.SwitchWAL(ctx)
			if err != nil {
				t.Fatalf("SwitchWAL as %s: %v", user, err)
			}
			after := c.Psql("select pg_walfile_name(pg_current_wal_insert_lsn())")
			if name != before || after <= before {
				t.Errorf("SwitchWAL as %s closed %q; current segment %s before, %s after", user, name, before, after)
			}
		}
		for _, user := range []string{"plain", "monitor_noexec"} {
			conn := connect(t, c.Conninfo(user), zerolog.Nop())
			c.Psql("insert into filler select generate_series(1, 1000)")
			before := c.Psql("select pg_walfile_name(pg_current_wal_insert_lsn())")
			_, err := conn.SwitchWAL(ctx)
			var pe *PrivilegesError
			want := fmt.Sprintf(`Postgres user '%s' is missing required privileges (see "Preliminary steps" in the Barman manual)`, user)
			if !errors.As(err, &pe) || err.Error() != want {
				t.Errorf("SwitchWAL as %s = %v, want %q", user, err, want)
			}
			if after := c.Psql("select pg_walfile_name(pg_current_wal_insert_lsn())"); after != before {
				t.Errorf("SwitchWAL as %s switched from %s to %s", user, before, after)
			}
		}
	})

	t.Run("restore point", func(t *testing.T) {
		var log bytes.Buffer
		conn := connect(t, super, zerolog.New(&log).Level(zerolog.DebugLevel))
		lsn := conn.CreateRestorePoint(ctx, "barman_20240501T120000")
		if _, err := wal.ParseLSN(lsn); err != nil {
			t.Errorf("CreateRestorePoint = %q: %v", lsn, err)
		}
		if !strings.Contains(log.String(), `"level":"info","message":"Restore point 'barman_20240501T120000' successfully created"`) {
			t.Errorf("no INFO line for the restore point:\n%s", log.String())
		}
		// Without the privilege the error is logged at DEBUG only.
		log.Reset()
		plain := connect(t, c.Conninfo("plain"), zerolog.New(&log).Level(zerolog.DebugLevel))
		if lsn := plain.CreateRestorePoint(ctx, "nope"); lsn != "" {
			t.Errorf("CreateRestorePoint as plain = %q", lsn)
		}
		if !regexp.MustCompile(`"level":"debug","message":"Error issuing pg_create_restore_point\(\) command: permission denied`).MatchString(log.String()) {
			t.Errorf("log:\n%s", log.String())
		}
	})

	t.Run("application_name", func(t *testing.T) {
		for _, tt := range []struct {
			conninfo, env, want string
		}{
			{conninfo: super, want: "barman_cloud_backup"},
			{conninfo: super, env: "from-env", want: "barman_cloud_backup"},
			{conninfo: super + " application_name='my app'", env: "from-env", want: "my app"},
			{conninfo: fmt.Sprintf("postgresql:///postgres?host=%s&user=postgres&application_name=uri", c.Dir), want: "uri"},
		} {
			t.Setenv("PGAPPNAME", tt.env)
			conn := connect(t, tt.conninfo, zerolog.Nop())
			if got := show(t, conn, "application_name"); got != tt.want {
				t.Errorf("%q with PGAPPNAME=%q: application_name %q, want %q", tt.conninfo, tt.env, got, tt.want)
			}
		}
	})

	t.Run("password", func(t *testing.T) {
		conn := connect(t, fmt.Sprintf("host=%s user=alice dbname=postgres password='%s'", c.Dir, alicePassword), zerolog.Nop())
		if conn.User() != "alice" {
			t.Errorf("User = %q", conn.User())
		}
		t.Setenv("PGPASSWORD", alicePassword)
		connect(t, c.Conninfo("alice"), zerolog.Nop())
	})

	t.Run("cannot connect", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		const wrong = "Wr0ng-pa55word"
		for _, tt := range []struct {
			name, conninfo, env, want string
		}{
			{"refused", fmt.Sprintf("host=127.0.0.1 port=%d user=alice password=%s dbname=postgres", port, wrong), "", "connection refused"},
			{"no server on the socket", fmt.Sprintf("host=%s user=alice dbname=postgres", s.archive), "", "no such file or directory"},
			{"unknown host", "host=no-such-host.invalid user=alice dbname=postgres", "", "no-such-host.invalid"},
			{"bad password", fmt.Sprintf("host=%s user=alice password='%s' dbname=postgres", c.Dir, wrong), "", `password authentication failed for user "alice"`},
			{"bad PGPASSWORD", c.Conninfo("alice"), wrong, `password authentication failed for user "alice"`},
			{"no such database", fmt.Sprintf("host=%s user=postgres dbname=nosuchdb", c.Dir), "", `database "nosuchdb" does not exist`},
		} {
			t.Run(tt.name, func(t *testing.T) {
				t.Setenv("PGPASSWORD", tt.env)
				_, err := Connect(ctx, tt.conninfo, Options{ApplicationName: "barman_cloud_backup"})
				var ce *ConnectError
				if !errors.As(err, &ce) {
					t.Fatalf("Connect = %v, want a *ConnectError", err)
				}
				msg := err.Error()
				t.Log(msg)
				if !strings.Contains(msg, tt.want) || strings.Contains(msg, "\n") || strings.Contains(msg, wrong) {
					t.Errorf("Connect error %q: want one line with %q and without the password", msg, tt.want)
				}
			})
		}
	})

	t.Run("connection lost", func(t *testing.T) {
		var log bytes.Buffer
		conn := connect(t, super, zerolog.New(&log).Level(zerolog.DebugLevel))
		if _, err := conn.StartBackup(ctx, "lost", false); err != nil {
			t.Fatal(err)
		}
		c.Psql(fmt.Sprintf("select pg_terminate_backend(%d)", conn.conn.PgConn().PID()))
		_, err := conn.StopBackup(ctx)
		var qe *QueryError
		if !errors.As(err, &qe) || !strings.HasPrefix(err.Error(), "Error issuing pg_backup_stop command: ") {
			t.Errorf("StopBackup on a terminated session = %v", err)
		}
		_, err = conn.StopBackup(ctx)
		if !errors.Is(err, ErrConnectionLost) || err.Error() != "Error issuing pg_backup_stop command: Connection lost, reconnection not allowed" {
			t.Errorf("StopBackup on a lost session = %v", err)
		}
		if name, err := conn.SwitchWAL(ctx); name != "" || err != nil {
			t.Errorf("SwitchWAL on a lost session = %q, %v; want nothing done", name, err)
		}
	})
}

// describe is m on one line, pointers followed.
func describe(m *Metadata) string {
	p := func(s *string) string {
		if s == nil {
			return "None"
		}
		return strconv.Quote(*s)
	}
	b := "None"
	if m.BackupPrivileges != nil {
		b = strconv.FormatBool(*m.BackupPrivileges)
	}
	size := "None"
	if m.ClusterSize != nil {
		size = strconv.FormatInt(*m.ClusterSize, 10)
	}
	return fmt.Sprintf("pgdata=%s seg=%d config=%s hba=%s ident=%s included=%q tablespaces=%+v checksums=%s summarize=%s privileged=%s size=%s",
		p(m.DataDirectory), m.SegmentSize, p(m.ConfigFile), p(m.HBAFile), p(m.IdentFile), m.IncludedFiles, m.Tablespaces,
		p(m.DataChecksums), p(m.SummarizeWAL), b, size)
}
