// Package pg is everything barman-cloud-backup asks PostgreSQL: the
// connection string it builds from its options, the one session it holds
// for a whole backup, and the queries of Barman's PostgreSQLConnection
// (barman/postgres.py) and ConcurrentBackupStrategy
// (barman/backup_executor.py) in their order, through
// github.com/jackc/pgx/v5.
//
// This package is part of the barman-cloud command and has no compatibility
// promise as a library.
//
// # Connection strings
//
// BuildConninfo builds the string exactly as Barman does. Barman then
// splits it on white space into key=value tokens (PostgreSQL.parse_dsn),
// so a quoted value with a blank in it, which BuildConninfo itself
// produces for -h 'my host', is refused ("… is not a valid connection
// string"). This package parses it with libpq's real rules instead (pgx's
// ParseConfig): quoted values with blanks and backslash escapes work, and
// so does a postgres:// URI given with -d (when it contains "=", as with
// any query parameter; without one BuildConninfo makes it dbname=URI,
// which libpq's PQconnectdb, like pgx, takes as a database name, not as a
// URI to expand). What still fails to parse is a *ConninfoError.
//
// What the string leaves unset comes, as with libpq, from the environment
// (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGPASSFILE, PGSERVICE,
// PGSERVICEFILE, PGSSLMODE, PGSSLCERT, PGSSLKEY, PGSSLCERTMODE,
// PGSSLROOTCERT, PGSSLPASSWORD, PGSSLSNI, PGSSLNEGOTIATION, PGAPPNAME,
// PGOPTIONS, PGTZ, PGCONNECT_TIMEOUT, PGTARGETSESSIONATTRS,
// PGCHANNELBINDING, PGREQUIREAUTH, PGMINPROTOCOLVERSION,
// PGMAXPROTOCOLVERSION), ~/.pg_service.conf and ~/.pgpass. PGDATABASE is
// read too, but BuildConninfo always writes a dbname (postgres by
// default) unless -d is empty or a whole connection string, as in Barman.
// Where pgx differs from libpq:
//
//   - libpq variables pgx does not read: PGHOSTADDR, PGREQUIRESSL,
//     PGSSLCOMPRESSION, PGSSLCRL, PGSSLCRLDIR, PGSSLMINPROTOCOLVERSION,
//     PGSSLMAXPROTOCOLVERSION, PGREQUIREPEER, PGGSSENCMODE, PGKRBSRVNAME,
//     PGGSSLIB, PGGSSDELEGATION, PGLOADBALANCEHOSTS, PGCLIENTENCODING (the
//     session is always UTF8), PGDATESTYLE, PGGEQO, and PGSYSCONFDIR (no
//     system-wide pg_service.conf).
//   - A keyword pgx does not know (hostaddr, keepalives, gssencmode,
//     sslcrl, requirepeer, load_balance_hosts …) is not refused as libpq
//     refuses unknown ones: it is sent to the server as a setting, which
//     refuses it unless it is one ("unrecognized configuration parameter").
//   - Without a host, pgx tries the socket directories /var/run/postgresql,
//     /private/tmp and /tmp in turn, where libpq has one built in (Debian's
//     is /var/run/postgresql).
//   - pgx also takes servicefile, statement_cache_capacity,
//     description_cache_capacity and default_query_exec_mode keywords.
//
// Connect names the session with SET application_name (barman-cloud-backup
// passes barman_cloud_backup) unless the connection string itself sets
// application_name; PGAPPNAME or a service file does not count, as in
// Barman. An application_name query parameter of a URI counts here, where
// Barman's parse_dsn, which sees a URI as one odd key, overrides it. The session runs in autocommit mode and is never re-established.
// Barman refuses to reconnect between the start and the stop of a backup
// (the backup belongs to the session) but silently reconnects before and
// after; here a lost session fails the next query with ErrConnectionLost,
// except SwitchWAL, which after the stop has nothing left to do without
// one.
//
// # Errors
//
// Messages are one line and never hold a password (MaskConninfo; pgx's
// connection errors name the user and database only, and the password is
// masked should one quote it). The kinds, and the exit status
// barman-cloud-backup gives each (§4.2):
//
//   - *ConninfoError: the connection string does not parse; Error() is
//     Barman's ConninfoException text plus the reason, exit 4.
//   - *ConnectError: no session (refused, unknown host, authentication
//     failed, database missing, SET application_name failed); logged as
//     "Cannot connect to postgres: <Error()>", exit 1.
//   - *UnsupportedVersionError: a server older than 9.6 (CheckVersion),
//     exit 4, nothing uploaded.
//   - *QueryError: a failed statement; Error() is Barman's wording of the
//     step ("pg_backup_start command: …", "Error issuing pg_backup_stop
//     command: …") and the server's message. A query on a session that has
//     ended fails with ErrConnectionLost.
//   - *PrivilegesError: SwitchWAL found the user without backup
//     privileges (BackupFunctionsAccessRequired), which fails the backup.
//     It names the user the session authenticated as, where Barman names
//     the user= of the connection string, or None.
//
// Barman swallows the errors of most metadata queries (the field becomes
// None), of the WAL switch and of the restore point; so does this package,
// logging them at DEBUG through Options.Log as Barman does.
//
// # Versions and timestamps
//
// ServerVersion is libpq's number (150004); MajorVersion the "15" or "9.6"
// of SELECT version(). Function names follow
// postgres_plumbing.function_name_map: pg_start_backup/pg_stop_backup(FALSE)
// below 15, pg_switch_xlog and its xlog kin below 10.
//
// begin_time and end_time are now() of the start and stop queries, which
// psycopg2 returns in the session's TimeZone and backup.info stores as
// str(datetime) with that offset. pgx's binary timestamps carry no offset,
// so both queries also select extract(timezone FROM now()), and Start.Time
// and Stop.Time carry it as a fixed zone: the one column this package adds
// to Barman's SQL.
package pg
