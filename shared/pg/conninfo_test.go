package pg

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestBuildConninfo: the conninfo vectors of spec §11.7.
func TestBuildConninfo(t *testing.T) {
	for _, tt := range []struct {
		name                     string
		host, port, user, dbname string
		dbnameGiven              bool
		want                     string
	}{
		{name: "no options", want: "dbname=postgres"},
		{name: "-h -p -U", host: "db1", port: "5433", user: "backup", want: "host=db1 port=5433 user=backup dbname=postgres"},
		{name: "socket directory", host: "/var/run/postgresql", want: "host=/var/run/postgresql dbname=postgres"},
		{name: "-d name", dbname: "mydb", dbnameGiven: true, want: "dbname=mydb"},
		{name: "-d empty", dbname: "", dbnameGiven: true, host: "ignored", want: ""},
		{name: "-d conninfo overrides -h", host: "x", dbname: "host=y dbname=z", dbnameGiven: true, want: "host=y dbname=z"},
		{name: "-d URI without =", dbname: "postgresql://u@h/db", dbnameGiven: true, want: "dbname=postgresql://u@h/db"},
		{name: "-d URI with =", host: "x", dbname: "postgresql://u@h/db?sslmode=disable", dbnameGiven: true, want: "postgresql://u@h/db?sslmode=disable"},
		{name: "blank in host", host: "my host", want: "host='my host' dbname=postgres"},
		{name: "quote and blank in user", user: "o'neil x", want: `user='o\'neil x' dbname=postgres`},
		{name: "quote without blank", user: "o'neil", want: `user=o'neil dbname=postgres`},
		{name: "backslash and tab", dbname: "a\\b\tc", dbnameGiven: true, want: `dbname='a\\b` + "\t" + `c'`},
		{name: "Unicode blank", host: "a\u00a0b", want: "host='a\u00a0b' dbname=postgres"},
		{name: "Python-only blank U+001F", host: "a\x1fb", want: "host='a\x1fb' dbname=postgres"},
		{name: "empty port", port: "", want: "dbname=postgres"},
	} {
		if got := BuildConninfo(tt.host, tt.port, tt.user, tt.dbname, tt.dbnameGiven); got != tt.want {
			t.Errorf("%s: BuildConninfo = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// cleanEnv removes what libpq (and pgx) would read from the environment
// and the home directory.
func cleanEnv(t *testing.T) {
	for _, v := range []string{"PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD", "PGPASSFILE",
		"PGSERVICE", "PGSERVICEFILE", "PGSSLMODE", "PGAPPNAME", "PGOPTIONS", "PGTZ", "PGCONNECT_TIMEOUT",
		"PGTARGETSESSIONATTRS", "PGSSLCERT", "PGSSLKEY", "PGSSLROOTCERT", "PGSSLSNI", "PGSSLCERTMODE"} {
		t.Setenv(v, "") // restored at the end of the test
		os.Unsetenv(v)
	}
	t.Setenv("HOME", t.TempDir())
}

// TestParseConninfo: what BuildConninfo makes parses with libpq's rules,
// including the quoted values Barman's whitespace split refuses, with the
// environment filling what the string leaves unset.
func TestParseConninfo(t *testing.T) {
	for _, tt := range []struct {
		name     string
		conninfo string
		env      map[string]string
		host     string
		port     uint16
		user     string
		database string
		password string
	}{
		{name: "built", conninfo: BuildConninfo("db1", "5433", "backup", "", false),
			host: "db1", port: 5433, user: "backup", database: "postgres"},
		{name: "quoted host", conninfo: BuildConninfo("my host", "", "u", "", false),
			host: "my host", port: 5432, user: "u", database: "postgres"},
		{name: "quoted user with quote", conninfo: BuildConninfo("h", "", "o'neil x", "", false),
			host: "h", port: 5432, user: "o'neil x", database: "postgres"},
		{name: "backslash", conninfo: BuildConninfo("h", "", "u", `a\b c`, true),
			host: "h", port: 5432, user: "u", database: `a\b c`},
		{name: "environment fills the rest", conninfo: BuildConninfo("", "", "", "", false),
			env:  map[string]string{"PGHOST": "envhost", "PGPORT": "6543", "PGUSER": "envuser", "PGPASSWORD": "envpw"},
			host: "envhost", port: 6543, user: "envuser", database: "postgres", password: "envpw"},
		{name: "the string wins over the environment", conninfo: BuildConninfo("h", "7000", "u", "", false),
			env:  map[string]string{"PGHOST": "envhost", "PGPORT": "6543", "PGUSER": "envuser"},
			host: "h", port: 7000, user: "u", database: "postgres"},
		{name: "PGDATABASE shadowed by the default dbname", conninfo: BuildConninfo("h", "", "u", "", false),
			env:  map[string]string{"PGDATABASE": "envdb"},
			host: "h", port: 5432, user: "u", database: "postgres"},
		{name: "PGDATABASE with -d ''", conninfo: BuildConninfo("ignored", "", "", "", true),
			env:  map[string]string{"PGDATABASE": "envdb", "PGHOST": "envhost", "PGUSER": "envuser"},
			host: "envhost", port: 5432, user: "envuser", database: "envdb"},
		{name: "dbname=URI is a database name, as for PQconnectdb", conninfo: BuildConninfo("h", "", "u", "postgresql://x@y/z", true),
			host: "h", port: 5432, user: "u", database: "postgresql://x@y/z"},
		{name: "URI", conninfo: "postgresql://uu:p%40ss@uhost:5444/udb?sslmode=disable",
			host: "uhost", port: 5444, user: "uu", database: "udb", password: "p@ss"},
		{name: "password with blanks", conninfo: `host=h user=u password='a b\'c'`,
			host: "h", port: 5432, user: "u", password: "a b'c"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cleanEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			cfg, _, err := parseConninfo(tt.conninfo)
			if err != nil {
				t.Fatalf("parseConninfo(%q): %v", tt.conninfo, err)
			}
			if cfg.Host != tt.host || cfg.Port != tt.port || cfg.User != tt.user || cfg.Database != tt.database || cfg.Password != tt.password {
				t.Errorf("parseConninfo(%q) = host %q port %d user %q database %q password %q; want %q %d %q %q %q",
					tt.conninfo, cfg.Host, cfg.Port, cfg.User, cfg.Database, cfg.Password, tt.host, tt.port, tt.user, tt.database, tt.password)
			}
		})
	}
}

func TestParseConninfoErrors(t *testing.T) {
	cleanEnv(t)
	for _, tt := range []struct {
		conninfo string
		secret   string // must not appear in the message
	}{
		{conninfo: "host"},
		{conninfo: "host=x junk"},
		{conninfo: "host='unterminated"},
		{conninfo: "host=h port=notaport password=hunter2secret", secret: "hunter2secret"},
		{conninfo: "password='two words' host='x", secret: "two words"},
		{conninfo: `password='it\'s secret' host=h port=x`, secret: "secret"},
		{conninfo: "password=s3cr3tvalue host=h target_session_attrs=bogus", secret: "s3cr3tvalue"},
		{conninfo: "postgresql://u:urisecret@h:notaport/db", secret: "urisecret"},
		{conninfo: "postgresql://u:uri/secret@h:99999/db", secret: "secret"},
		{conninfo: "postgresql://u@h:99999/db?password=querysecret", secret: "querysecret"},
	} {
		_, _, err := parseConninfo(tt.conninfo)
		var ce *ConninfoError
		if !errors.As(err, &ce) {
			t.Errorf("parseConninfo(%q) = %v, want a *ConninfoError", tt.conninfo, err)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, `Cannot connect to postgres: "`) || !strings.Contains(msg, `" is not a valid connection string: `) {
			t.Errorf("parseConninfo(%q) error %q lacks Barman's wording", tt.conninfo, msg)
		}
		if tt.secret != "" && strings.Contains(msg, tt.secret) {
			t.Errorf("parseConninfo(%q) error %q shows the password", tt.conninfo, msg)
		}
		if strings.Contains(msg, "\n") || strings.Contains(msg, "cannot parse `") {
			t.Errorf("parseConninfo(%q) error %q: want one line without pgx's copy of the string", tt.conninfo, msg)
		}
		var pe *pgconn.ParseConfigError
		if !errors.As(err, &pe) {
			t.Errorf("parseConninfo(%q) error does not wrap pgx's", tt.conninfo)
		}
	}
}

func TestHasApplicationName(t *testing.T) {
	cleanEnv(t)
	for _, tt := range []struct {
		conninfo string
		env      string // PGAPPNAME
		want     bool
	}{
		{conninfo: "host=h", want: false},
		{conninfo: "", want: false},
		{conninfo: "host=h", env: "fromenv", want: false},
		{conninfo: "application_name=x host=h", want: true},
		{conninfo: "host=h application_name='my app'", env: "fromenv", want: true},
		{conninfo: "host=h application_name=probe-1", want: true},
		{conninfo: "application_name=probe-2 host=h", want: true},
		{conninfo: "postgresql://h/db", want: false},
		{conninfo: "postgresql://h/db?application_name=x", want: true},
		{conninfo: "postgres://h/db?sslmode=disable&application%5Fname=x", want: true},
		{conninfo: "postgresql://h/db?sslmode=disable", env: "fromenv", want: false},
	} {
		t.Setenv("PGAPPNAME", tt.env)
		got, err := hasApplicationName(tt.conninfo)
		if err != nil || got != tt.want {
			t.Errorf("hasApplicationName(%q) with PGAPPNAME=%q = %v, %v; want %v", tt.conninfo, tt.env, got, err, tt.want)
		}
	}
}

func TestMaskConninfo(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"host=h password=secret", "host=h password=********"},
		{"password='se cret' host=h", "password=******** host=h"},
		{`password='it\'s x' host=h`, "password=******** host=h"},
		{"host=h password='unterminated value", "host=h password=********"},
		{`password=a\ b host=h`, "password=******** host=h"},
		{"host=h password = spaced user=u", "host=h password = ******** user=u"},
		{"PASSWORD=x sslpassword=keypw", "PASSWORD=******** sslpassword=********"},
		{"host=h user=passwordless mypassword=x", "host=h user=passwordless mypassword=x"},
		{"host=h password=", "host=h password="},
		{"postgresql://u:pw@h/db", "postgresql://u:********@h/db"},
		{"postgresql://u:p/w@h/db?password=x&sslmode=require", "postgresql://u:********@h/db?password=********&sslmode=require"},
		{"postgres://u@h/db?sslpassword=k", "postgres://u@h/db?sslpassword=********"},
		{"postgresql://u@h:5432/db", "postgresql://u@h:5432/db"},
	} {
		if got := MaskConninfo(tt.in); got != tt.want {
			t.Errorf("MaskConninfo(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestConnectReason(t *testing.T) {
	for _, tt := range []struct{ err, password, want string }{
		{"failed to connect to `user=u database=d`: /tmp/.s.PGSQL.5432 (/tmp): dial error", "", "failed to connect to `user=u database=d`: /tmp/.s.PGSQL.5432 (/tmp): dial error"},
		{"failed to connect to `user=u database=d`:\n\t127.0.0.1:1 (h): server said pw=hunter22\n\t127.0.0.1:1 (h): refused\n\t127.0.0.1:1 (h): refused",
			"hunter22", "failed to connect to `user=u database=d`: 127.0.0.1:1 (h): server said pw=********; 127.0.0.1:1 (h): refused"},
		{"failed to connect to `user=u database=d`:\n\thostname resolving error: lookup x: no such host\n\tlookup x: no such host", "",
			"failed to connect to `user=u database=d`: hostname resolving error: lookup x: no such host"},
	} {
		if got := connectReason(errors.New(tt.err), tt.password); got != tt.want {
			t.Errorf("connectReason(%q) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
