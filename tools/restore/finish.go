package restore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/barmancloud/barman-cloud/shared/backupinfo"
)

// finish does what download_backup does after the extraction: the
// symbolic links RECOVERY_DIR/pg_tblspc/<oid> to each tablespace's
// directory, and the WAL directory (pg_wal, pg_xlog before PostgreSQL 10)
// when no archive brought it (it is not archived when it was a symbolic
// link).
//
// Deliberate improvement: as root, the links, the WAL directory and the
// tablespace directories that did not exist are given the owner of the
// restored RECOVERY_DIR (the data directory's owner at backup time), so
// that PostgreSQL can use them; Barman leaves them to root. So is the
// backup_label that Barman's archives give to root (uid 0, no user name:
// CloudBackupUploader writes it from memory): PostgreSQL opens it for
// writing before renaming it at the end of recovery, and fails on a file
// of root's ("could not open file "backup_label": Permission denied").
func finish(dest string, targets []target, created []string, info *backupinfo.Info) error {
	owner := func(string) error { return nil }
	if os.Geteuid() == 0 {
		fi, err := os.Stat(dest)
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 {
			owner = func(p string) error { return os.Lchown(p, int(st.Uid), int(st.Gid)) }
			label := filepath.Join(dest, "backup_label")
			if fi, err := os.Lstat(label); err == nil && fi.Mode().IsRegular() && fi.Sys().(*syscall.Stat_t).Uid == 0 {
				created = append(created, label)
			}
		}
	}
	for _, p := range created {
		if err := owner(p); err != nil {
			return err
		}
	}
	for _, t := range targets {
		if t.link == "" {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(t.link), 0o700); err != nil {
			return err
		}
		if err := os.Symlink(t.dir, t.link); err != nil {
			return err
		}
		if err := owner(t.link); err != nil {
			return err
		}
	}
	wal := filepath.Join(dest, walDir(info))
	if _, err := os.Stat(wal); errors.Is(err, fs.ErrNotExist) {
		if err := os.Mkdir(wal, 0o700); err != nil {
			return err
		}
		return owner(wal)
	}
	return nil
}

// mkdirs creates the tablespace directories that do not exist, with
// their missing parents (mode 0700, as PostgreSQL wants them), and
// returns the directories it created, for finish to give them an owner.
func mkdirs(targets []target) ([]string, error) {
	var created []string
	for _, t := range targets {
		if t.link == "" {
			continue
		}
		var missing []string
		for dir := filepath.Clean(t.dir); ; dir = filepath.Dir(dir) {
			if _, err := os.Lstat(dir); err == nil || dir == filepath.Dir(dir) {
				break
			}
			missing = append(missing, dir)
		}
		for i := len(missing) - 1; i >= 0; i-- {
			if err := os.Mkdir(missing[i], 0o700); err != nil {
				return created, err
			}
			created = append(created, missing[i])
		}
	}
	return created, nil
}

// nextSteps tells the operator what is left to do before PostgreSQL can
// start from the restored directory, which Barman's documentation says
// and barman-cloud-restore does not: the configuration files that were
// outside PGDATA (restored at its root), which must be moved (WARNING);
// the included files that were not backed up (WARNING); then
// restore_command, the recovery signal file and the recovery targets
// (INFO).
func nextSteps(log zerolog.Logger, dest string, info *backupinfo.Info, restoreCommand string, t Targets) {
	pgdata := info.PGData.V
	for _, f := range []backupinfo.Null[string]{info.ConfigFile, info.HBAFile, info.IdentFile} {
		path, ok := f.Get()
		// Barman's test (upload_directory's caller): a plain prefix.
		if !ok || path == "" || strings.HasPrefix(path, pgdata) {
			continue
		}
		restored := filepath.Join(dest, filepath.Base(path))
		if _, err := os.Lstat(restored); err != nil {
			continue // a missing ident file is not backed up
		}
		log.Warn().Msgf("%s was outside PGDATA when the backup was taken (%s): it is restored as %s; move it where the restored server will read it, or point the server at it", filepath.Base(path), path, restored)
	}
	for _, f := range info.IncludedFiles {
		if !strings.HasPrefix(f, pgdata) {
			log.Warn().Msgf("%s, included by the configuration, was outside PGDATA and is not in the backup: restore it by hand", f)
		}
	}
	signal, conf := "recovery.signal", "postgresql.conf (or postgresql.auto.conf)"
	if v, _ := info.Version.Get(); v > 0 && v < 120000 {
		signal, conf = "", "recovery.conf"
	}
	settings := []string{fmt.Sprintf("restore_command = '%s'", strings.ReplaceAll(restoreCommand, "'", "''"))}
	if t.Time != "" {
		settings = append(settings, fmt.Sprintf("recovery_target_time = '%s'", t.Time))
	}
	if t.LSN != "" {
		settings = append(settings, fmt.Sprintf("recovery_target_lsn = '%s'", t.LSN))
	}
	if t.TLI != "" {
		settings = append(settings, fmt.Sprintf("recovery_target_timeline = '%s'", t.TLI))
	}
	if signal != "" {
		log.Info().Msgf("Before starting PostgreSQL on %s: set %s in %s, and create %s (or standby.signal for a standby); the WAL directory is empty, recovery fetches every WAL file through restore_command",
			dest, strings.Join(settings, ", "), conf, filepath.Join(dest, signal))
		return
	}
	log.Info().Msgf("Before starting PostgreSQL on %s: create %s with %s (and standby_mode = 'on' for a standby); the WAL directory is empty, recovery fetches every WAL file through restore_command",
		dest, filepath.Join(dest, conf), strings.Join(settings, ", "))
}
