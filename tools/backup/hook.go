package backup

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/barmancloud/barman-cloud/shared/backupinfo"
	"github.com/barmancloud/barman-cloud/shared/cloudcli"
	"github.com/barmancloud/barman-cloud/shared/exitcode"
	"github.com/barmancloud/barman-cloud/shared/humanize"
	"github.com/barmancloud/barman-cloud/shared/storage"
)

// hookNotDone is the exit status of a hook run for a backup that is not
// DONE (Barman's UnrecoverableHookScriptError): Barman then stops running
// the retry script.
const hookNotDone = 63

// hook is a Barman backup to upload, as its hook-script environment
// describes it.
type hook struct {
	dir      string // BARMAN_BACKUP_DIR: data/ and one directory per tablespace OID
	id       string // BARMAN_BACKUP_ID
	infoPath string // BARMAN_BACKUP_INFO_PATH
}

// hookEnv reads the hook-script environment (cloud_backup.py
// __is_hook_script and main): nil when BARMAN_HOOK and BARMAN_PHASE are
// not both set; an error, exit status 4 as Barman's catch-all gives it,
// for an unsupported hook or a missing variable, 63 for a backup that is
// not DONE.
//
// Deliberate difference: without BARMAN_BACKUP_INFO_PATH (set by Barman
// 3.13.3 and later), the backup.info in BARMAN_BACKUP_DIR is read, as
// Barman 3.4 read it, rather than failing.
func hookEnv(r *cloudcli.Run, o *options) (*hook, error) {
	name, hasHook := r.LookupEnv("BARMAN_HOOK")
	phase, hasPhase := r.LookupEnv("BARMAN_PHASE")
	if !hasHook || !hasPhase {
		return nil, nil
	}
	if (name != "backup_script" && name != "backup_retry_script") || phase != "post" {
		return nil, exitcode.Generalf("Barman cloud backup exception: %s called as unsupported hook script: %s_%s", r.Prog, phase, name)
	}
	if o.name != "" {
		return nil, exitcode.Generalf("Barman cloud backup exception: Cannot set backup name when running as a hook script")
	}
	h := &hook{}
	var ok bool
	if h.dir, ok = r.LookupEnv("BARMAN_BACKUP_DIR"); !ok {
		return nil, exitcode.Generalf("Barman cloud backup exception: BARMAN_BACKUP_DIR environment variable not set")
	}
	if h.id, ok = r.LookupEnv("BARMAN_BACKUP_ID"); !ok {
		return nil, exitcode.Generalf("Barman cloud backup exception: BARMAN_BACKUP_ID environment variable not set")
	}
	if status, ok := r.LookupEnv("BARMAN_STATUS"); status != "DONE" {
		if !ok {
			status = "None" // os.getenv's None, as Barman prints it
		}
		return nil, &exitcode.Error{Code: hookNotDone, Err: fmt.Errorf("Barman cloud backup exception: backup in '%s' has status '%s' (status should be: DONE)", h.dir, status)}
	}
	if h.infoPath, ok = r.LookupEnv("BARMAN_BACKUP_INFO_PATH"); !ok {
		h.infoPath = filepath.Join(h.dir, "backup.info")
	}
	return h, nil
}

// uploadHookBackup uploads the Barman server's backup h
// (CloudBackupUploaderBarman.backup): PGDATA from h.dir/data and each
// tablespace from h.dir/<oid>, with the same archive rules as a backup of
// a live server (the backup_label is already in data/), then its
// backup.info as it is, with Barman's server name, mode and sizes.
//
// Its objects replace what a failed earlier run of a backup_retry_script
// left under the same ID, as Barman's do: no conditional create here.
func uploadHookBackup(r *cloudcli.Run, o *options, s *storage.Store, h *hook) error {
	raw, err := os.ReadFile(h.infoPath)
	if err != nil {
		return exitcode.Wrap(exitcode.General, fmt.Errorf("Barman cloud backup exception: %w", err))
	}
	info, err := backupinfo.Parse(raw)
	if err != nil {
		return exitcode.Wrap(exitcode.General, fmt.Errorf("Barman cloud backup exception: %s: %w", h.infoPath, err))
	}
	version, ok := info.Version.Get()
	if !ok {
		return exitcode.Generalf("Barman cloud backup exception: %s has no PostgreSQL version", h.infoPath)
	}
	j := newJob(o, s, r.Args[1], nil, r.Log)
	j.id = h.id
	j.arch = j.newArchiver(r.Ctx)
	j.arch.write.IfNotExist = false
	start := j.now()
	err = j.uploadHook(r.Ctx, h, info, majorOf(version), raw)
	if err != nil {
		j.arch.abort(err)
		j.log.Error().Msgf("Backup upload failed uploading data (%s)", failureLine(r.Ctx, err))
		return exitcode.Reported(exitcode.Failure, err)
	}
	elapsed, _ := humanize.HumanTimedelta(j.now().Sub(start).Seconds())
	j.log.Info().Msgf("Upload of backup completed (start time: %s, elapsed time: %s)", naiveStr(start), elapsed)
	return nil
}

// uploadHook sends the archives, then backup.info.
func (j *job) uploadHook(ctx context.Context, h *hook, info *backupinfo.Info, major string, raw []byte) error {
	var tablespaces []tablespaceSource
	for _, ts := range info.Tablespaces {
		t := tablespaceSource{name: ts.Name, dir: filepath.Join(h.dir, strconv.FormatInt(ts.OID, 10))}
		t.OID, t.Location = uint32(ts.OID), ts.Location
		tablespaces = append(tablespaces, t)
	}
	data, err := j.arch.dataFiles(info.PGData.V, filepath.Join(h.dir, "data"), tablespaces, major)
	if err != nil {
		return err
	}
	j.log.Info().Msg("Marking all the uploaded archives as 'completed'")
	if err := data.tw.Close(); err != nil {
		return err
	}
	key := j.cat.InfoKey(j.id)
	j.log.Info().Msgf("Uploading '%s'", key)
	up := storage.UploadOptions{Tags: j.o.tags}
	return j.cat.Store.Retry(ctx, "uploading "+key, func(ctx context.Context) error {
		return j.cat.Store.Upload(ctx, key, bytes.NewReader(raw), int64(len(raw)), up)
	})
}

// majorOf is BackupInfo.pg_major_version: "9.6" below 10, else "16".
func majorOf(version int64) string {
	major := version / 10000
	if major < 10 {
		return fmt.Sprintf("%d.%d", major, version/100%100)
	}
	return strconv.FormatInt(major, 10)
}
