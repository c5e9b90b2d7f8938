// Package backupinfotest holds the backup catalog of the spec's test
// vectors (barman-cloud-backup.md §11.1, "catalog fixture C") for the tests
// of the packages that read, list, show, keep or delete backups.
//
// This package is part of the barman-cloud command and has no compatibility
// promise as a library.
package backupinfotest

import (
	"fmt"
	"strings"
)

// Backup is one backup of the catalog.
type Backup struct {
	ID   string
	Name string // backup_name, "" for none
	Keep string // the keep annotation: "", "full" or "standalone"
	Info []byte // backup.info as Barman 3.17 writes it
}

// Tablespace is the backup.info line of the one-tablespace variant of a
// backup (§11.5): replace "tablespaces=None\n" with it.
const Tablespace = "tablespaces=[('tbs1', 16400, '/srv/tbs1')]\n"

// CatalogC returns the six backups of fixture C in ID order: five DONE on
// timelines 1 and 2, begun at 00:00 and ended at 00:10 UTC on their day,
// and 20240115T000000, which FAILED in pg_backup_start.
func CatalogC() []Backup {
	return []Backup{
		done("20240101T000000", "", "", 1, "000000010000000000000002", "000000010000000000000003"),
		done("20240108T000000", "", "standalone", 1, "000000010000000000000010", "000000010000000000000011"),
		{ID: "20240115T000000", Info: []byte(failed)},
		done("20240122T000000", "weekly", "", 1, "000000010000000000000030", "000000010000000000000031"),
		done("20240129T000000", "", "full", 1, "000000010000000100000005", "000000010000000100000006"),
		done("20240205T000000", "", "", 2, "000000020000000100000010", "000000020000000100000011"),
	}
}

// WithTablespace returns info with its tablespaces line replaced by
// Tablespace.
func WithTablespace(info []byte) []byte {
	return []byte(strings.Replace(string(info), "tablespaces=None\n", Tablespace, 1))
}

// done builds the backup.info of a DONE backup: start at offset 40 of
// beginWAL, stop at offset 256 of endWAL.
func done(id, name, keep string, timeline int, beginWAL, endWAL string) Backup {
	day := id[:4] + "-" + id[4:6] + "-" + id[6:8]
	nameLine := ""
	if name != "" {
		nameLine = "backup_name=" + name + "\n"
	}
	info := fmt.Sprintf(doneTemplate,
		lsn(beginWAL, 0x28), beginWAL, nameLine, day, beginWAL, lsn(beginWAL, 0x28),
		day, endWAL, lsn(endWAL, 0x100), timeline)
	return Backup{ID: id, Name: name, Keep: keep, Info: []byte(info)}
}

// lsn is the LSN text of offset off in the 16 MiB segment wal: "0/2000028".
func lsn(wal string, off int) string {
	var tli, log, seg uint64
	fmt.Sscanf(wal, "%08X%08X%08X", &tli, &log, &seg)
	return fmt.Sprintf("%X/%X", log, seg<<24|uint64(off))
}

const doneTemplate = `backup_label='START WAL LOCATION: %s (file %s)\n'
%sbegin_offset=40
begin_time=%s 00:00:00+00:00
begin_wal=%s
begin_xlog=%s
children_backup_ids=None
cluster_size=31457280
compression=None
config_file=/var/lib/postgresql/16/main/postgresql.conf
copy_stats={'total_time': 12.5, 'number_of_workers': 2, 'analysis_time': 0, 'copy_time': 10.25}
data_checksums=on
deduplicated_size=None
encryption=None
end_offset=256
end_time=%s 00:10:00+00:00
end_wal=%s
end_xlog=%s
error=None
hba_file=/var/lib/postgresql/16/main/pg_hba.conf
ident_file=/var/lib/postgresql/16/main/pg_ident.conf
included_files=['/var/lib/postgresql/16/main/postgresql.auto.conf']
mode=None
parent_backup_id=None
pgdata=/var/lib/postgresql/16/main
server_name=cloud
size=None
status=DONE
summarize_wal=None
systemid=7363823450123456789
tablespaces=None
timeline=%d
version=160004
xlog_segment_size=16777216
`

const failed = `backup_label=None
begin_offset=None
begin_time=None
begin_wal=None
begin_xlog=None
children_backup_ids=None
cluster_size=None
compression=None
config_file=None
copy_stats=None
data_checksums=None
deduplicated_size=None
encryption=None
end_offset=None
end_time=None
end_wal=None
end_xlog=None
error=failure uploading data (pg_backup_start command: boom)
hba_file=None
ident_file=None
included_files=None
mode=None
parent_backup_id=None
pgdata=/var/lib/postgresql/16/main
server_name=cloud
size=None
status=FAILED
summarize_wal=None
systemid=7363823450123456789
tablespaces=None
timeline=None
version=160004
xlog_segment_size=16777216
`
