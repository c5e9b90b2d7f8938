package pg

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// BuildConninfo is the connection string barman-cloud-backup builds from
// -h/--host, -p/--port, -U/--user and -d/--dbname (cloud_backup.py
// build_conninfo): a --dbname that is empty or contains "=" is the whole
// connection string (the other options are ignored); otherwise the
// non-empty values as "host=… port=… user=… dbname=…", dbname defaulting
// to postgres when -d was not given (dbnameGiven false), each value with
// whitespace quoted by quoteConninfo.
func BuildConninfo(host, port, user, dbname string, dbnameGiven bool) string {
	if !dbnameGiven {
		dbname = "postgres"
	}
	if dbname == "" || strings.Contains(dbname, "=") {
		return dbname
	}
	var parts []string
	for _, kv := range [][2]string{{"host", host}, {"port", port}, {"user", user}, {"dbname", dbname}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+"="+quoteConninfo(kv[1]))
		}
	}
	return strings.Join(parts, " ")
}

// quoteConninfo is cloud_backup.py quote_conninfo for a non-empty value:
// the value as is unless it contains whitespace (Python's \s, which is
// Unicode white space plus the separators U+001C–U+001F), else in single
// quotes with "\" and "'" escaped by a backslash.
func quoteConninfo(v string) string {
	if !strings.ContainsFunc(v, pyIsSpace) {
		return v
	}
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

func pyIsSpace(r rune) bool { return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f }

// ConninfoError is a connection string that cannot be parsed (Barman's
// ConninfoException). Error() is Barman's text, with the passwords of the
// connection string masked, followed by the reason.
type ConninfoError struct {
	Conninfo string // as given, passwords included: do not print
	Err      error
}

func (e *ConninfoError) Error() string {
	return fmt.Sprintf("Cannot connect to postgres: \"%s\" is not a valid connection string: %s", MaskConninfo(e.Conninfo), parseReason(e.Err))
}

func (e *ConninfoError) Unwrap() error { return e.Err }

// parseReason is the reason pgconn gives for a connection string it cannot
// parse, without the (best-effort redacted) copy of the string it quotes
// first: "cannot parse `…`: <reason>".
func parseReason(err error) string {
	var pe *pgconn.ParseConfigError
	if !errors.As(err, &pe) {
		return oneLine(err.Error())
	}
	msg := pe.Error()
	if i := strings.LastIndex(msg, "`: "); i >= 0 {
		msg = msg[i+3:]
	}
	return oneLine(msg)
}

// parseConninfo parses a connection string with libpq's rules (keyword =
// value pairs with quoting and backslash escapes, or a postgres:// URI),
// filling what it leaves unset from the PG* environment, the service file
// and the password file, as pgx does. It also reports whether the string
// itself sets application_name: Barman sets its own application name
// unless it does.
func parseConninfo(conninfo string) (*pgx.ConnConfig, bool, error) {
	cfg, err := pgx.ParseConfig(conninfo)
	if err != nil {
		return nil, false, &ConninfoError{Conninfo: conninfo, Err: err}
	}
	has, err := hasApplicationName(conninfo)
	if err != nil {
		return nil, false, &ConninfoError{Conninfo: conninfo, Err: err}
	}
	return cfg, has, nil
}

// hasApplicationName reports whether the connection string itself (not
// the environment or a service file: Barman's parse_dsn looks only at the
// string) sets application_name. For a URI that is a query parameter. For
// keyword = value pairs, where a later keyword overrides an earlier one and
// the string overrides the environment, the string is parsed behind a
// first application_name, twice with two different values: only when the
// string sets its own do both parses end with the same one.
func hasApplicationName(conninfo string) (bool, error) {
	if strings.HasPrefix(conninfo, "postgres://") || strings.HasPrefix(conninfo, "postgresql://") {
		_, query, _ := strings.Cut(conninfo, "?")
		q, err := url.ParseQuery(query)
		if err != nil {
			return false, err
		}
		return q.Has("application_name"), nil
	}
	var names [2]string
	for i, probe := range []string{"probe-1", "probe-2"} {
		cfg, err := pgconn.ParseConfig("application_name=" + probe + " " + conninfo)
		if err != nil {
			return false, err
		}
		names[i] = cfg.RuntimeParams["application_name"]
	}
	return names[0] == names[1], nil
}

// MaskConninfo masks the passwords of a connection string, valid or not,
// for messages: the values of password and sslpassword keywords (quoted or
// not) and, in a URI, the password of the user information and password
// query parameters.
func MaskConninfo(conninfo string) string {
	if strings.HasPrefix(conninfo, "postgres://") || strings.HasPrefix(conninfo, "postgresql://") {
		s := uriUserinfoPassword.ReplaceAllString(conninfo, "${1}"+mask+"@")
		return uriQueryPassword.ReplaceAllString(s, "${1}"+mask)
	}
	return kvPassword.ReplaceAllString(conninfo, "${1}"+mask)
}

const mask = "********"

var (
	// A quoted value runs to the first quote not escaped by a backslash,
	// or to the end of the string when unterminated; an unquoted one to
	// the first ASCII blank (libpq's conninfo_parse).
	kvPassword = regexp.MustCompile(`((?:^|[ \t\n\v\f\r])(?i:(?:ssl)?password)[ \t\n\v\f\r]*=[ \t\n\v\f\r]*)(?:'(?:[^'\\]|\\.)*(?:'|\\?$)|(?:[^ \t\n\v\f\r\\]|\\.)+\\?)`)
	// user:password@, up to the last "@": a password may hold an
	// unencoded "/" or "?" (over-masking a malformed URI is harmless).
	uriUserinfoPassword = regexp.MustCompile(`(?s)^(postgres(?:ql)?://[^:@/?]*:).*@`)
	uriQueryPassword    = regexp.MustCompile(`([?&](?i:(?:ssl)?password)=)[^&]*`)
)

// oneLine joins the lines of a message, for one-line log messages.
func oneLine(s string) string {
	lines := strings.FieldsFunc(strings.TrimSpace(s), func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, "; ")
}
