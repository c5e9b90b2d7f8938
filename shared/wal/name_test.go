package wal

import "testing"

// parseVectors are spec §8.1's names; they seed FuzzParse too.
var parseVectors = []struct {
	in      string
	kind    Kind // 0 = invalid
	hashDir string
}{
	{"000000010000000000000001", Segment, "0000000100000000"},
	{"00000001000000000000000a", Segment, "0000000100000000"},
	{"000000010000000a000000ff", Segment, "000000010000000A"},
	{"000000080000ABFF000000C1", Segment, "000000080000ABFF"},
	{"/var/lib/pg/pg_wal/000000010000000000000001", Segment, "0000000100000000"},
	{"000000010000000000000001.partial", Partial, "0000000100000000"},
	{"000000010000000000000001.00000028.backup", Backup, "0000000100000000"},
	{"00000002.history", History, ""},
	{"abcdefab.history", History, ""},
	{"x/00000002.history", History, ""},
	{"00000001000000000000000", 0, ""},
	{"0000000100000000000000001", 0, ""},
	{"000000010000000000000001.PARTIAL", 0, ""},
	{"000000010000000000000001.0000028.backup", 0, ""},
	{"000000010000000000000001.00000028.BACKUP", 0, ""},
	{"00000002.HISTORY", 0, ""},
	{"0000000G.history", 0, ""},
	{"000000010000000000000001.gz", 0, ""},
	{"000000010000000000000001/", 0, ""},
	{"RECOVERYHISTORY", 0, ""},
	{"00000001.history.partial", 0, ""},
	{"0000000100000000000000010.history", 0, ""},
	{"000000010000000000000001.partial.backup", 0, ""},
	{"000000080000ABFF000000C1-INVALID", 0, ""},
	{"not_a_valid_wal_name", 0, ""},
	// Python's \d and $ accidents are not reproduced.
	{"00000001000000000000000١", 0, ""},
	{"000000010000000000000001\n", 0, ""},
	{"", 0, ""},
}

func TestParse(t *testing.T) {
	for _, tt := range parseVectors {
		n, err := Parse(tt.in)
		if tt.kind == 0 {
			if err == nil {
				t.Errorf("Parse(%q) = %v, want error", tt.in, n.Kind)
			} else if want := tt.in + " is an invalid name for a WAL file"; err.Error() != want {
				t.Errorf("Parse(%q) error %q, want %q", tt.in, err, want)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if n.Kind != tt.kind || n.HashDir() != tt.hashDir {
			t.Errorf("Parse(%q) = %v %q, want %v %q", tt.in, n.Kind, n.HashDir(), tt.kind, tt.hashDir)
		}
	}
}

func TestPyJoin(t *testing.T) {
	tests := []struct {
		parts []string
		want  string
	}{
		{[]string{"", "srv", "wals", ""}, "srv/wals/"},
		{[]string{"a/b", "srv"}, "a/b/srv"},
		{[]string{"a/b/", "srv"}, "a/b/srv"},
		{[]string{"a//b//", "srv"}, "a//b//srv"},
		{[]string{"p", "/x", "wals"}, "/x/wals"},
		{[]string{"p", "s/t", "wals"}, "p/s/t/wals"},
		{[]string{"", ""}, ""},
	}
	for _, tt := range tests {
		if got := PyJoin(tt.parts[0], tt.parts[1:]...); got != tt.want {
			t.Errorf("PyJoin(%q) = %q, want %q", tt.parts, got, tt.want)
		}
	}
}

// Keys of spec §8.2, given the prefix the URL parser yields.
func TestKey(t *testing.T) {
	tests := []struct {
		prefix, server, walPath, ext, want string
	}{
		{"", "pg", "/x/000000010000000A000000FF", ".gz", "pg/wals/000000010000000A/000000010000000A000000FF.gz"},
		{"", "pg", "00000003.history", "", "pg/wals/00000003.history"},
		{"a/b", "pg", "00000003.history", "", "a/b/pg/wals/00000003.history"},
		{"a/b/", "pg", "/x/000000010000000A000000FF", ".gz", "a/b/pg/wals/000000010000000A/000000010000000A000000FF.gz"},
		{"a//b//", "pg", "/x/000000010000000A000000FF", ".gz", "a//b//pg/wals/000000010000000A/000000010000000A000000FF.gz"},
		{"some/prefix/", "srv", "/tmp/0000000100000000000000a2", ".zst", "some/prefix/srv/wals/0000000100000000/0000000100000000000000a2.zst"},
		{"testfolder", "test-server", "/tmp/000000080000ABFF000000C1", "", "testfolder/test-server/wals/000000080000ABFF/000000080000ABFF000000C1"},
		{"a/b/", "pg", "000000010000000A000000FF", ".lz4", "a/b/pg/wals/000000010000000A/000000010000000A000000FF.lz4"},
		{"p/q", "pg", "000000010000000A000000FF", ".lz4", "p/q/pg/wals/000000010000000A/000000010000000A000000FF.lz4"},
		{"useful/path", "pg", "000000010000000000000003.partial", ".bz2", "useful/path/pg/wals/0000000100000000/000000010000000000000003.partial.bz2"},
		{"p", "pg", "000000010000000000000002.00000028.backup", ".snappy", "p/pg/wals/0000000100000000/000000010000000000000002.00000028.backup.snappy"},
		// The name keeps its spelling, the hash dir is upper-cased.
		{"p", "srv", "000000010000000a000000ff", "", "p/srv/wals/000000010000000A/000000010000000a000000ff"},
	}
	for _, tt := range tests {
		n, err := Parse(tt.walPath)
		if err != nil {
			t.Fatal(err)
		}
		if got := Key(tt.prefix, tt.server, n, tt.ext); got != tt.want {
			t.Errorf("Key(%q, %q, %q, %q) = %q, want %q", tt.prefix, tt.server, tt.walPath, tt.ext, got, tt.want)
		}
	}
}

func TestDir(t *testing.T) {
	for _, tt := range []struct{ prefix, name, want string }{
		{"some/prefix/", "0000000100000000000000A1", "some/prefix/srv/wals/0000000100000000/"},
		{"some/prefix/", "00000002.history", "some/prefix/srv/wals/"},
		{"", "00000002.history", "srv/wals/"},
	} {
		n, _ := Parse(tt.name)
		if got := Dir(tt.prefix, "srv", n); got != tt.want {
			t.Errorf("Dir(%q, %q) = %q, want %q", tt.prefix, tt.name, got, tt.want)
		}
	}
	if got := WalsDir("p/", "srv"); got != "p/srv/wals/" {
		t.Errorf("WalsDir = %q", got)
	}
}

// Server names CheckServer accepts and refuses; they seed FuzzKey too.
var (
	goodServers = []string{"pg", "test-server", "pg.main", "pg..x", "srv_1", "münchen"}
	badServers  = []string{"", "a/b", "/x", "..", ".", "x/..", "pg\n", "pg\x00", "a\tb", "\x7f", "pg\u0085", "caf\xe9"}
)

func TestCheckServer(t *testing.T) {
	for _, ok := range goodServers {
		if err := CheckServer(ok); err != nil {
			t.Errorf("CheckServer(%q): %v", ok, err)
		}
	}
	for _, bad := range badServers {
		if err := CheckServer(bad); err == nil {
			t.Errorf("CheckServer(%q) accepted", bad)
		}
	}
}
