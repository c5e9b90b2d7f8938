package pg

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// MinimalVersion is the oldest server barman-cloud-backup supports
// (PostgreSQL.MINIMAL_VERSION): 9.6, the first with the non-exclusive
// backup API.
const MinimalVersion = 90600

// UnsupportedVersionError is the error of a server older than 9.6, with the
// text of CloudBackup._check_postgres_version (typo included).
type UnsupportedVersionError struct {
	Version int    // the server's version number
	Major   string // its major version as SELECT version() gives it, "None" when unknown
}

func (e *UnsupportedVersionError) Error() string {
	return fmt.Sprintf("unsupported PostgresSQL version %s. Expecting %s or above.", e.Major, versionText(MinimalVersion))
}

// libpqVersion is the version number libpq's PQserverVersion (hence
// psycopg2's server_version) derives from the server_version parameter the
// server reports at start-up (pqSaveParameterStatus): "15.4 (Debian
// 15.4-1)" is 150004, "9.6.24" 90624, "16beta1" 160000, "9.6rc1" 90600,
// and anything else 0.
func libpqVersion(s string) int {
	// sscanf(value, "%d.%d.%d", ...): leading blanks and signs allowed,
	// each number read as far as its digits go.
	var nums []int
	rest := s
	for len(nums) < 3 {
		m := leadingInt.FindStringSubmatch(rest)
		if m == nil {
			break
		}
		n, err := strconv.Atoi(m[1])
		if err != nil {
			break
		}
		nums = append(nums, n)
		rest = rest[len(m[0]):]
		if !strings.HasPrefix(rest, ".") {
			break
		}
		rest = rest[1:]
	}
	switch len(nums) {
	case 3:
		return (100*nums[0]+nums[1])*100 + nums[2]
	case 2:
		if nums[0] >= 10 {
			return 100*100*nums[0] + nums[1]
		}
		return (100*nums[0] + nums[1]) * 100
	case 1:
		return 100 * 100 * nums[0]
	}
	return 0
}

var leadingInt = regexp.MustCompile(`^[ \t\n\v\f\r]*([+-]?[0-9]+)`)

// versionText is PostgreSQL.int_version_to_string_version: 90600 is
// "9.6.0", 150004 "15.4".
func versionText(v int) string {
	major, minor, patch := v/10000, v/100%100, v%100
	if major < 10 {
		return fmt.Sprintf("%d.%d.%d", major, minor, patch)
	}
	return fmt.Sprintf("%d.%d", major, patch)
}

// majorVersion is what Barman's server_major_version makes of the result
// of SELECT version(): the second word (for EnterpriseDB <= 10, whose
// second word carries an extra component, that word minus its last
// component), simplified by barman.utils.simplify_version: "15.4" is "15",
// "9.6.24" "9.6", "16beta1" "16", "9.6rc1" "9.6".
func majorVersion(versionString string) (string, error) {
	words := strings.Fields(versionString)
	if len(words) < 2 {
		return "", fmt.Errorf("cannot read a version number in SELECT version() = %q", versionString)
	}
	v := words[1]
	if words[0] == "EnterpriseDB" {
		parts := strings.Split(v, ".")
		v = strings.Join(parts[:len(parts)-1], ".")
	}
	return simplifyVersion(v), nil
}

// simplifyVersion is barman.utils.simplify_version: the version without
// its last component, where a development suffix ("beta1") counts as a
// component of its own.
func simplifyVersion(v string) string {
	parts := strings.Split(v, ".")
	last := parts[len(parts)-1]
	if i := strings.IndexFunc(last, func(r rune) bool { return (r < '0' || r > '9') && r != '.' }); i >= 0 {
		parts = append(parts[:len(parts)-1], last[:i], last[i:])
	}
	return strings.Join(parts[:len(parts)-1], ".")
}

// names are the version-dependent function names of
// postgres_plumbing.function_name_map that the backup uses.
type names struct {
	backupStart, backupStop             string
	switchWAL, walfileName              string
	walfileNameOffset, currentWALInsert string
}

func functionNames(version int) names {
	n := names{
		backupStart:       "pg_backup_start",
		backupStop:        "pg_backup_stop",
		switchWAL:         "pg_switch_wal",
		walfileName:       "pg_walfile_name",
		walfileNameOffset: "pg_walfile_name_offset",
		currentWALInsert:  "pg_current_wal_insert_lsn",
	}
	if version < 150000 {
		n.backupStart, n.backupStop = "pg_start_backup", "pg_stop_backup"
	}
	if version < 100000 {
		n.switchWAL = "pg_switch_xlog"
		n.walfileName = "pg_xlogfile_name"
		n.walfileNameOffset = "pg_xlogfile_name_offset"
		n.currentWALInsert = "pg_current_xlog_insert_location"
	}
	return n
}
