package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/barmancloud/barman-cloud/shared/backupinfo"
	"github.com/barmancloud/barman-cloud/shared/catalog"
	"github.com/barmancloud/barman-cloud/shared/cloudcli"
	"github.com/barmancloud/barman-cloud/shared/exitcode"
	"github.com/barmancloud/barman-cloud/shared/humanize"
	"github.com/barmancloud/barman-cloud/shared/pg"
	"github.com/barmancloud/barman-cloud/shared/pgtar"
	"github.com/barmancloud/barman-cloud/shared/storage"
	"github.com/barmancloud/barman-cloud/shared/wal"
)

// Postgres is what a backup asks of PostgreSQL, in the order it asks:
// *pg.Conn, over the one session of the backup.
type Postgres interface {
	SystemID(ctx context.Context) (string, error)
	CheckVersion(ctx context.Context) error
	ServerVersion() int
	MajorVersion(ctx context.Context) (string, error)
	Metadata(ctx context.Context) (*pg.Metadata, error)
	StartBackup(ctx context.Context, label string, fast bool) (pg.Start, error)
	StopBackup(ctx context.Context) (pg.Stop, error)
	SwitchWAL(ctx context.Context) (string, error)
	CreateRestorePoint(ctx context.Context, name string) string
}

// applicationName names the session in pg_stat_activity, as Barman's.
const applicationName = "barman_cloud_backup"

// infoTimeout bounds the writing of backup.info once the archives are
// done or the backup failed, even after SIGTERM or --max-time: a stored
// backup must not lose its backup.info to a late signal, and a failed
// one should say it failed.
const infoTimeout = time.Minute

// idTries bounds the search for a free backup ID, one second apart.
const idTries = 10

// backupServer connects to PostgreSQL and takes the backup
// (cloud_backup.py main, CloudBackupUploader.backup).
func backupServer(r *cloudcli.Run, o *options, s *storage.Store) error {
	conninfo := pg.BuildConninfo(o.pg.Host, o.pg.Port, o.pg.User, o.pg.DBName, o.pg.DBNameGiven)
	conn, err := pg.Connect(r.Ctx, conninfo, pg.Options{ApplicationName: applicationName, Log: r.Log})
	if err != nil {
		if errors.As(err, new(*pg.ConnectError)) {
			return exitcode.Wrap(exitcode.Failure, fmt.Errorf("Cannot connect to postgres: %w", err))
		}
		// An unparsable connection string: Barman's catch-all, exit 4.
		return exitcode.Wrap(exitcode.General, fmt.Errorf("Barman cloud backup exception: %w", err))
	}
	defer func() {
		// Ending the session ends PostgreSQL's backup if it is still on.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Ctx), 10*time.Second)
		defer cancel()
		conn.Close(ctx) //nolint:errcheck // nothing left to do with the session
	}()
	return newJob(o, s, r.Args[1], conn, r.Log).run(r.Ctx)
}

// job is one backup of a live server.
type job struct {
	o     *options
	cat   *catalog.Catalog
	pg    Postgres
	log   zerolog.Logger
	now   func() time.Time
	sleep func(context.Context, time.Duration) error
	// workers is copy_stats' number_of_workers: the parts sent at once
	// (1 on GCS, which takes them one after the other, as Barman's one
	// worker there).
	workers int

	id   string
	arch *archiver
}

func newJob(o *options, s *storage.Store, server string, conn Postgres, log zerolog.Logger) *job {
	workers := int(o.jobs)
	if s.Loc.Provider == storage.GCS {
		workers = 1
	}
	return &job{o: o, cat: catalog.New(s, server), pg: conn, log: log, now: time.Now, sleep: sleepCtx, workers: workers}
}

// upload is what every object of the backup carries, and the conditional
// create that keeps it from replacing another backup's.
func (j *job) upload() storage.UploadOptions {
	return storage.UploadOptions{Tags: j.o.tags, IfNotExist: true}
}

// run takes the backup: CloudBackupUploader.backup and _coordinate_backup.
func (j *job) run(ctx context.Context) error {
	id, err := j.newID(ctx)
	if err != nil {
		return err
	}
	j.id = id
	info := backupinfo.New()
	info.ServerName = backupinfo.Some("cloud")
	if sys, err := j.pg.SystemID(ctx); err != nil {
		j.log.Debug().Msg(err.Error()) // Barman stores None
	} else {
		info.SystemID = backupinfo.Some(sys)
	}
	created := j.now() // the upload controller's creation: copy_stats' total_time starts
	j.arch = j.newArchiver(ctx)
	if err := j.pg.CheckVersion(ctx); err != nil {
		return exitcode.Wrap(exitcode.General, fmt.Errorf("Barman cloud backup exception: %w", err))
	}
	return j.coordinate(ctx, info, created)
}

// newArchiver makes the upload controller, capping --max-archive-size as
// CloudUploadController does.
func (j *job) newArchiver(ctx context.Context) *archiver {
	size := j.o.maxArchiveSize
	if size >= maxArchiveSizeCap {
		j.log.Warn().Msgf("max-archive-size too big. Capping it to to %s", humanize.PrettySize(maxArchiveSizeCap))
		size = maxArchiveSizeCap
	}
	a := &archiver{
		ctx:     ctx,
		cat:     j.cat,
		id:      j.id,
		alg:     j.o.compression,
		maxSize: size,
		write: storage.WriteOptions{
			UploadOptions: j.upload(),
			PartSize:      storage.StreamPartSize(j.cat.Store.Loc.Provider, j.o.minChunkSize),
			// Barman sizes its parts so that the provider's part limit
			// holds twice --max-archive-size: an archive goes over it by
			// the member that crosses it, up to a 1 GiB relation segment.
			MaxSize: 2 * size,
			Jobs:    int(j.o.jobs),
			Buffers: &storage.Buffers{},
		},
		log:  j.log,
		now:  j.now,
		open: map[*archivePart]bool{},
	}
	if j.o.maxBandwidth > 0 {
		a.limit = newThrottle(ctx, j.o.maxBandwidth, j.now, j.sleep)
	}
	return a
}

// newID is the backup ID: the local time, as Barman's
// datetime.now().strftime("%Y%m%dT%H%M%S").
//
// Deliberate improvement: Barman never checks the ID is free, and two
// backups started in the same second overwrite each other's objects. An
// ID whose directory already holds objects is skipped for the next
// second's. A storage that refuses the listing (a credential allowed to
// write only) is not checked; the conditional creates of every object
// then still keep the backup from replacing another's.
func (j *job) newID(ctx context.Context) (string, error) {
	for try := 1; ; try++ {
		t := j.now()
		id := t.Format("20060102T150405")
		taken, err := j.taken(ctx, id)
		if errors.Is(err, storage.ErrDenied) {
			j.log.Warn().Msgf("cannot check that backup ID %s is free (%v): relying on conditional creates", id, err)
			return id, nil
		}
		if err != nil {
			return "", err
		}
		if !taken {
			return id, nil
		}
		if try == idTries {
			return "", exitcode.Generalf("Barman cloud backup exception: no free backup ID: %s and the %d seconds before it are taken under %s", id, idTries-1, j.cat.Base)
		}
		j.log.Warn().Msgf("Backup ID %s is already taken under %s: waiting for the next second", id, j.cat.Base)
		if err := j.sleep(ctx, t.Truncate(time.Second).Add(time.Second).Sub(t)); err != nil {
			return "", err
		}
	}
}

// errFound stops a listing at its first object.
var errFound = errors.New("found")

// taken reports whether BASE/ID/ holds any object.
func (j *job) taken(ctx context.Context, id string) (bool, error) {
	err := j.cat.Store.Walk(ctx, j.cat.Dir(id), "", func(storage.Object) error { return errFound })
	if errors.Is(err, errFound) {
		return true, nil
	}
	return false, err
}

// coordinate is _coordinate_backup: the copy, then backup.info whatever
// happened, DONE only if the copy finished, FAILED with the error
// otherwise.
func (j *job) coordinate(ctx context.Context, info *backupinfo.Info, created time.Time) error {
	copyStart := j.now()
	err := j.copy(ctx, info, created)
	if err != nil {
		j.arch.abort(err)
		line := failureLine(ctx, err)
		info.Status = backupinfo.Some(backupinfo.StatusFailed)
		info.Error = backupinfo.Some("failure uploading data (" + line + ")")
		j.log.Error().Msgf("Backup failed uploading data (%s)", line)
	}
	if j.o.name != "" {
		info.BackupName = backupinfo.Some(j.o.name)
	}
	if werr := j.writeInfo(ctx, info); werr != nil {
		j.log.Error().Msgf("Backup failed uploading backup.info file (%s)", failureLine(ctx, werr))
		if err == nil {
			err = werr
		}
		return exitcode.Reported(exitcode.Failure, err)
	}
	if err != nil {
		return exitcode.Reported(exitcode.Failure, err)
	}
	j.log.Info().Msgf("Backup end at LSN: %s (%s, %08X)", info.EndXlog.V, info.EndWAL.V, info.EndOffset.V)
	elapsed, _ := humanize.HumanTimedelta(j.now().Sub(copyStart).Seconds())
	j.log.Info().Msgf("Backup completed (start time: %s, elapsed time: %s)", naiveStr(copyStart), elapsed)
	return nil
}

// failureLine is the first line of err, or what interrupted the backup:
// Barman's Ctrl-C reads "KeyboardInterrupt" there.
func failureLine(ctx context.Context, err error) string {
	if ctx.Err() != nil {
		cause := context.Cause(ctx)
		if errors.Is(ctx.Err(), context.Canceled) {
			return "interrupted: " + firstLine(cause.Error())
		}
		return firstLine(cause.Error())
	}
	if line := firstLine(err.Error()); line != "" {
		return line
	}
	return fmt.Sprintf("%T", err)
}

// naiveStr is Python's str() of a naive datetime.now(): the local wall
// clock with microseconds when not zero.
func naiveStr(t time.Time) string {
	s := t.Format("2006-01-02 15:04:05")
	if us := t.Nanosecond() / 1000; us != 0 {
		s += fmt.Sprintf(".%06d", us)
	}
	return s
}

// writeInfo uploads backup.info (_upload_backup_info), with a context of
// its own (see infoTimeout).
func (j *job) writeInfo(ctx context.Context, info *backupinfo.Info) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), infoTimeout)
	defer cancel()
	key := j.cat.InfoKey(j.id)
	j.log.Info().Msgf("Uploading '%s'", key)
	err := j.cat.WriteInfo(ctx, j.id, info, j.o.infoFormat, j.upload())
	if errors.Is(err, storage.ErrExists) {
		// An attempt whose answer was lost may have stored it: the
		// object is ours if it holds what we wrote.
		if want, merr := info.Marshal(j.o.infoFormat); merr == nil && holds(ctx, j.cat.Store, key, want) {
			return nil
		}
	}
	return err
}

// holds reports whether the object at key holds exactly want.
func holds(ctx context.Context, s *storage.Store, key string, want []byte) bool {
	r, err := s.NewReader(ctx, key)
	if err != nil {
		return false
	}
	defer r.Close()
	got, err := io.ReadAll(io.LimitReader(r, int64(len(want))+1))
	return err == nil && bytes.Equal(got, want)
}

// copy is the part of _coordinate_backup that may fail the backup: start,
// archives, stop, WAL switch, restore point, backup_label, completion of
// every archive, copy statistics, DONE.
func (j *job) copy(ctx context.Context, info *backupinfo.Info, created time.Time) error {
	j.log.Info().Msgf("Starting backup '%s'", j.id)
	meta, err := j.pg.Metadata(ctx)
	if err != nil {
		return err
	}
	j.setMetadata(info, meta)
	if meta.DataDirectory == nil {
		return errors.New("PostgreSQL did not tell its data directory (SHOW data_directory failed)")
	}
	pgdata := *meta.DataDirectory
	start, err := j.pg.StartBackup(ctx, "Barman backup cloud "+j.id, j.o.immediate)
	if err != nil {
		return err
	}
	if err := setStart(info, start); err != nil {
		return err
	}
	data, err := j.archiveFiles(ctx, info, meta)
	if err != nil {
		return err
	}
	j.log.Info().Msgf("Stopping backup '%s'", j.id)
	stop, err := j.pg.StopBackup(ctx)
	if err != nil {
		return err
	}
	if err := setStop(info, stop); err != nil {
		return err
	}
	if _, err := j.pg.SwitchWAL(ctx); err != nil {
		return err
	}
	j.pg.CreateRestorePoint(ctx, "barman_"+j.id)
	if stop.Label != "" {
		j.log.Info().Msgf("Uploading 'backup_label' file to '%s' with path 'backup_label'", j.arch.destName("data"))
		meta, err := pgtar.BackupLabelMeta(pgdata, stop.Time)
		if err != nil {
			return err
		}
		if err := data.tw.AddBytes("backup_label", []byte(stop.Label), meta); err != nil {
			return err
		}
	}
	j.log.Info().Msg("Marking all the uploaded archives as 'completed'")
	if err := data.tw.Close(); err != nil {
		return err
	}
	closed := j.now()
	j.log.Info().Msg("Calculating backup statistics")
	stats, err := j.arch.copyStats(created, closed, j.workers)
	if err != nil {
		return err
	}
	info.CopyStats = stats
	info.Status = backupinfo.Some(backupinfo.StatusDone)
	return nil
}

// setMetadata fills backup.info from what _pg_get_metadata reads.
func (j *job) setMetadata(info *backupinfo.Info, m *pg.Metadata) {
	info.PGData = nullStr(m.DataDirectory)
	info.Version = backupinfo.Some(int64(j.pg.ServerVersion()))
	info.XlogSegmentSize = backupinfo.Some(m.SegmentSize)
	info.ConfigFile, info.HBAFile, info.IdentFile = nullStr(m.ConfigFile), nullStr(m.HBAFile), nullStr(m.IdentFile)
	info.IncludedFiles = m.IncludedFiles
	for _, ts := range m.Tablespaces {
		info.Tablespaces = append(info.Tablespaces, backupinfo.Tablespace{Name: ts.Name, OID: int64(ts.OID), Location: ts.Location})
		j.log.Info().Msgf("\t%d, %s, %s", ts.OID, ts.Name, ts.Location)
	}
	info.DataChecksums = nullStr(m.DataChecksums)
	info.SummarizeWAL = nullStr(m.SummarizeWAL)
	if m.ClusterSize != nil {
		info.ClusterSize = backupinfo.Some(*m.ClusterSize)
	}
}

func nullStr(p *string) backupinfo.Null[string] {
	if p == nil {
		return backupinfo.Null[string]{}
	}
	return backupinfo.Some(*p)
}

// setStart fills the begin_* fields (_backup_info_from_start_location):
// the WAL file and offset are computed from the start LSN, the start
// timeline and the segment size.
func setStart(info *backupinfo.Info, s pg.Start) error {
	name, off, err := walPosition(s.LSN, s.Timeline, info.XlogSegmentSize.V)
	if err != nil {
		return fmt.Errorf("backup start location %s: %w", s.LSN, err)
	}
	info.Status = backupinfo.Some(backupinfo.StatusStarted)
	info.BeginTime = backupinfo.Some(s.Time)
	info.BeginXlog = backupinfo.Some(s.LSN)
	info.Timeline = backupinfo.Some(int64(s.Timeline))
	info.BeginWAL, info.BeginOffset = backupinfo.Some(name), backupinfo.Some(off)
	return nil
}

// setStop fills backup_label and the end_* fields
// (_backup_info_from_stop_location), end_wal from the stop LSN and
// timeline: an LSN on a segment boundary names the next segment.
func setStop(info *backupinfo.Info, s pg.Stop) error {
	name, off, err := walPosition(s.LSN, s.Timeline, info.XlogSegmentSize.V)
	if err != nil {
		return fmt.Errorf("backup stop location %s: %w", s.LSN, err)
	}
	info.BackupLabel = backupinfo.Some(s.Label)
	info.EndTime = backupinfo.Some(s.Time)
	info.EndXlog = backupinfo.Some(s.LSN)
	info.EndWAL, info.EndOffset = backupinfo.Some(name), backupinfo.Some(off)
	return nil
}

// walPosition is xlog.location_to_xlogfile_name_offset.
func walPosition(lsn string, timeline int, segSize int64) (string, int64, error) {
	l, err := wal.ParseLSN(lsn)
	if err != nil {
		return "", 0, err
	}
	return l.FileNameOffset(uint32(timeline), segSize)
}

// archiveFiles is _take_backup: the data files, then the configuration
// files kept outside PGDATA.
func (j *job) archiveFiles(ctx context.Context, info *backupinfo.Info, m *pg.Metadata) (*item, error) {
	pgdata := *m.DataDirectory
	var tablespaces []tablespaceSource
	var major string
	if len(m.Tablespaces) > 0 {
		var err error
		if major, err = j.pg.MajorVersion(ctx); err != nil {
			return nil, err
		}
	}
	for _, ts := range m.Tablespaces {
		tablespaces = append(tablespaces, tablespaceSource{Tablespace: pgtar.Tablespace{OID: ts.OID, Location: ts.Location}, name: ts.Name, dir: ts.Location})
	}
	data, err := j.arch.dataFiles(pgdata, pgdata, tablespaces, major)
	if err != nil {
		return nil, err
	}
	return data, j.archiveConfigFiles(data, info, pgdata)
}

// archiveConfigFiles is _backup_config_files: config_file, hba_file and
// ident_file not under pgdata (a plain prefix test, as Barman's) go to the
// root of the data archive by base name, a missing ident file skipped;
// included files not under pgdata are only named in a warning.
func (j *job) archiveConfigFiles(data *item, info *backupinfo.Info, pgdata string) error {
	for _, f := range []struct {
		kind     string
		path     backupinfo.Null[string]
		optional bool
	}{
		{"config_file", info.ConfigFile, false},
		{"hba_file", info.HBAFile, false},
		{"ident_file", info.IdentFile, true},
	} {
		if f.path.V == "" {
			continue
		}
		if strings.HasPrefix(f.path.V, pgdata) {
			j.log.Debug().Msgf("Config file '%s' already in PGDATA", strings.TrimPrefix(f.path.V[len(pgdata):], "/"))
			continue
		}
		if _, err := os.Stat(f.path.V); f.optional && errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := j.arch.addFile(data, f.kind, f.path.V, filepath.Base(f.path.V)); err != nil {
			return err
		}
	}
	var outside []string
	for _, f := range info.IncludedFiles {
		if !strings.HasPrefix(f, pgdata) {
			outside = append(outside, f)
		}
	}
	if len(outside) > 0 {
		j.log.Warn().Msg("The usage of include directives is not supported for files that reside outside PGDATA.\n" +
			"Please manually backup the following files:\n\t" + strings.Join(outside, "\n\t") + "\n")
	}
	return nil
}
