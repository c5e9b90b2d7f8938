package pg

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/rs/zerolog"
)

// Options are the settings of a session other than the connection string.
type Options struct {
	// ApplicationName is set with SET application_name unless the
	// connection string sets one (barman_cloud_backup for the backup).
	ApplicationName string
	// Log receives what Barman logs from barman/postgres.py: errors it
	// swallows at DEBUG, the restore point at INFO.
	Log zerolog.Logger
}

// Conn is the one session barman-cloud-backup holds with PostgreSQL for a
// whole backup (Barman's PostgreSQLConnection in autocommit mode). It never
// reconnects: the non-exclusive backup belongs to the session, and
// PostgreSQL aborts it if the session ends. A Conn is not safe for
// concurrent use.
type Conn struct {
	conn    *pgx.Conn
	log     zerolog.Logger
	user    string // the user the session authenticated as
	version int
	major   string // SELECT version(), simplified; "" until asked
}

// ConnectError means no session could be established: the server is not
// reachable, refused the connection or the authentication, or the session
// could not be set up. Reason is one line, without the password, for
// "Cannot connect to postgres: <Reason>".
type ConnectError struct {
	Reason string
	Err    error // pgx's error: *pgconn.ConnectError, *pgconn.PgError …
}

func (e *ConnectError) Error() string { return e.Reason }
func (e *ConnectError) Unwrap() error { return e.Err }

// ErrConnectionLost is the error of a query on a session that has ended;
// Barman's "Connection lost, reconnection not allowed".
var ErrConnectionLost = errors.New("Connection lost, reconnection not allowed")

// QueryError is a failed SQL statement. Error() is "<Op>: <message>" with
// the server's primary message (psycopg2's str(error), which drops the
// severity) on one line, as Barman words the errors it raises.
type QueryError struct {
	Op  string
	Err error
}

func (e *QueryError) Error() string { return e.Op + ": " + errorText(e.Err) }
func (e *QueryError) Unwrap() error { return e.Err }

// errorText is the message of a query error as psycopg2 renders it: the
// server's message, or the client-side error, on one line.
func errorText(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return oneLine(pe.Message)
	}
	return oneLine(err.Error())
}

// Connect parses conninfo (with libpq's rules, see the package
// documentation), connects, and names the session opt.ApplicationName
// unless conninfo names it (PostgreSQLConnection.connect). An unparsable
// conninfo is a *ConninfoError; any other failure a *ConnectError.
func Connect(ctx context.Context, conninfo string, opt Options) (*Conn, error) {
	cfg, hasAppName, err := parseConninfo(conninfo)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, &ConnectError{Reason: connectReason(err, cfg.Password), Err: err}
	}
	c := &Conn{
		conn:    conn,
		log:     opt.Log,
		user:    cfg.User,
		version: libpqVersion(conn.PgConn().ParameterStatus("server_version")),
	}
	if !hasAppName && opt.ApplicationName != "" {
		if _, err := conn.Exec(ctx, "SET application_name TO "+sqlName(opt.ApplicationName)); err != nil {
			conn.Close(context.Background()) //nolint:errcheck // the SET error is the one to report
			return nil, &ConnectError{Reason: "SET application_name: " + errorText(err), Err: err}
		}
	}
	return c, nil
}

// sqlName is name as Barman interpolates it into SET (unquoted) when it is
// a plain lower-case identifier such as barman_cloud_backup, else quoted as
// an identifier, which sets the same value and is safe for any name.
func sqlName(name string) string {
	if plainIdentifier.MatchString(name) {
		return name
	}
	return pgx.Identifier{name}.Sanitize()
}

var plainIdentifier = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// connectReason is pgx's connection error on one line, "failed to connect
// to `user=… database=…`: <attempt>; <attempt>…" with what each attempt
// it made (each address, with and then without TLS under sslmode=prefer)
// met, the same failure once, and with the password masked should any part
// of it quote one.
func connectReason(err error, password string) string {
	var parts []string
	for _, l := range strings.Split(err.Error(), "\n") {
		l = strings.TrimSpace(l)
		// pgx repeats a failure per TLS mode and per address, and joins
		// a lookup error onto "hostname resolving error: <the same>".
		if l != "" && !slices.ContainsFunc(parts, func(p string) bool { return strings.HasSuffix(p, l) }) {
			parts = append(parts, l)
		}
	}
	msg := parts[0]
	if len(parts) > 1 {
		msg += " " + strings.Join(parts[1:], "; ")
	}
	if password != "" {
		msg = strings.ReplaceAll(msg, password, mask)
	}
	return msg
}

// Close ends the session.
func (c *Conn) Close(ctx context.Context) error { return c.conn.Close(ctx) }

// ServerVersion is the server's version number as libpq reports it
// (psycopg2's server_version): 150004 for 15.4, 90624 for 9.6.24.
func (c *Conn) ServerVersion() int { return c.version }

// User is the user the session authenticated as, whether the connection
// string, PGUSER, a service file or the operating system named it.
func (c *Conn) User() string { return c.user }

// MajorVersion is the server's major version ("15", "9.6"), read once from
// SELECT version() (PostgreSQLConnection.server_major_version): the name of
// the PG_<major>_<catversion> directory of tablespaces, and of the version
// in the unsupported-version error.
func (c *Conn) MajorVersion(ctx context.Context) (string, error) {
	if c.major != "" {
		return c.major, nil
	}
	var s string
	if err := c.queryRow(ctx, "SELECT version()").Scan(&s); err != nil {
		return "", &QueryError{Op: "Error retrieving PostgreSQL version", Err: err}
	}
	major, err := majorVersion(s)
	if err != nil {
		return "", err
	}
	c.major = major
	return major, nil
}

// CheckVersion fails with an *UnsupportedVersionError for a server older
// than 9.6 (CloudBackup._check_postgres_version), naming its major version
// as SELECT version() gives it, "None" when that fails.
func (c *Conn) CheckVersion(ctx context.Context) error {
	if c.version >= MinimalVersion {
		return nil
	}
	major, err := c.MajorVersion(ctx)
	if err != nil {
		c.log.Debug().Msg(err.Error())
		major = "None"
	}
	return &UnsupportedVersionError{Version: c.version, Major: major}
}

// queryRow runs a query that returns one row. On a session that has
// already ended it fails with ErrConnectionLost rather than pgx's "conn
// closed".
func (c *Conn) queryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if c.conn.IsClosed() {
		return errRow{ErrConnectionLost}
	}
	return c.conn.QueryRow(ctx, sql, args...)
}

// exec runs a statement that returns no rows, as queryRow.
func (c *Conn) exec(ctx context.Context, sql string) error {
	if c.conn.IsClosed() {
		return ErrConnectionLost
	}
	_, err := c.conn.Exec(ctx, sql)
	return err
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// debug logs an error Barman swallows, as it does, at DEBUG.
func (c *Conn) debug(format string, err error) {
	c.log.Debug().Msgf(format, errorText(err))
}
