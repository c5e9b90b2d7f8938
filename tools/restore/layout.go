package restore

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/barmancloud/barman-cloud/shared/backupinfo"
	"github.com/barmancloud/barman-cloud/shared/catalog"
	"github.com/barmancloud/barman-cloud/shared/exitcode"
)

// parseRules reads the --tablespace NAME:LOCATION rules
// (cloud_restore.py tablespace_map): split at the first ":", the last
// rule for a name wins.
//
// Deliberate improvements: the rules are read before the storage is
// touched (Barman reads them after downloading the catalog), and an empty
// LOCATION, which Barman turns into the current directory, is refused.
func parseRules(rules []string) (map[string]string, error) {
	m := map[string]string{}
	for _, r := range rules {
		name, loc, ok := strings.Cut(r, ":")
		if !ok || loc == "" {
			return nil, exitcode.Usagef("Invalid tablespace relocation rule '%s'. HINT: The valid syntax for a relocation rule is NAME:LOCATION", r)
		}
		m[name] = loc
	}
	return m, nil
}

// target is where one archive family is extracted.
type target struct {
	fam catalog.Family
	dir string
	// link is RECOVERY_DIR/pg_tblspc/<oid> for a tablespace, "" for
	// PGDATA.
	link string
}

// plan says where each family goes (CloudBackupDownloaderObjectStore.
// download_backup): PGDATA into dest, each tablespace into its location
// in backup.info or the one a rule gives it (made absolute and free of
// symbolic links, as os.path.realpath does), linked from
// dest/pg_tblspc/<oid>. Every directory must be empty or absent. It
// returns warnings for rules that name no tablespace of the backup.
//
// Deliberate improvement: two families sent to one directory are refused
// (Barman would mix them); a rule for an unknown tablespace is warned
// about (Barman ignores it silently).
func plan(dest string, fams []catalog.Family, relocate map[string]string) ([]target, []string, error) {
	var (
		targets  []target
		warnings []string
		used     = map[string]string{} // cleaned absolute directory → what goes there
		known    = map[string]bool{}
	)
	for _, f := range fams {
		t := target{fam: f, dir: dest}
		what := "PGDATA"
		if ts := f.Tablespace; ts != nil {
			known[ts.Name] = true
			t.dir = ts.Location
			if loc, ok := relocate[ts.Name]; ok {
				t.dir = realpath(loc)
			}
			t.link = filepath.Join(dest, "pg_tblspc", strconv.FormatInt(ts.OID, 10))
			what = "tablespace " + ts.Name
		}
		abs, err := filepath.Abs(t.dir)
		if err != nil {
			return nil, nil, err
		}
		if other, ok := used[abs]; ok {
			return nil, nil, exitcode.Failuref("%s and %s would both be restored into %s", other, what, t.dir)
		}
		used[abs] = what
		if err := checkEmpty(t.dir); err != nil {
			return nil, nil, err
		}
		targets = append(targets, t)
	}
	for name := range relocate {
		if !known[name] {
			warnings = append(warnings, fmt.Sprintf("Tablespace relocation rule for '%s' ignored: the backup has no such tablespace", name))
		}
	}
	return targets, warnings, nil
}

// checkEmpty accepts a directory that does not exist or is empty, as
// download_backup's "os.path.exists(d) and os.listdir(d)" does (symbolic
// links followed); a directory that is not empty is exit status 1.
func checkEmpty(dir string) error {
	f, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	switch {
	case errors.Is(err, io.EOF) && len(names) == 0:
		return nil
	case err != nil:
		// A file is not a directory (Barman: NotADirectoryError, exit 4).
		return fmt.Errorf("Destination %s: %w", dir, err)
	}
	return exitcode.Failuref("Destination %s already exists and it is not empty", dir)
}

// realpath is Python's os.path.realpath: p made absolute, with the
// symbolic links of its longest existing part resolved and the rest
// appended as it is.
func realpath(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	rest := ""
	for dir := abs; ; dir = filepath.Dir(dir) {
		if r, err := filepath.EvalSymlinks(dir); err == nil {
			return filepath.Join(r, rest)
		}
		if dir == filepath.Dir(dir) {
			return abs
		}
		rest = filepath.Join(filepath.Base(dir), rest)
	}
}

// walDir is the name of the WAL directory for the backup's PostgreSQL
// version (BackupInfo.wal_directory): pg_xlog before 10.
func walDir(info *backupinfo.Info) string {
	if v, ok := info.Version.Get(); ok && v < 100000 {
		return "pg_xlog"
	}
	return "pg_wal"
}
