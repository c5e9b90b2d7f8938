// Package walrestore is barman-cloud-wal-restore: it fetches one WAL file
// (a segment, .partial, .history or backup label) that Barman or
// barman-cloud-wal-archive stored in a cloud bucket, as PostgreSQL's
// restore_command.
//
//	barman-cloud-wal-restore [OPTIONS] SOURCE_URL SERVER_NAME WAL_NAME WAL_DEST
//
// It mirrors barman/clients/cloud_walrestore.py (Barman 3.17): the same
// options, exit statuses and choice among the archived copies of a WAL. It
// adds what Barman lacks: WAL_DEST appears only once complete and
// verified, against the SHA-256 barman-cloud-wal-archive records or, for
// objects written by Barman, against the WAL segment size.
package walrestore

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/barmancloud/barman-cloud/shared/cloudcli"
	"github.com/barmancloud/barman-cloud/shared/exitcode"
	"github.com/barmancloud/barman-cloud/shared/storage"
)

// Tool is barman-cloud-wal-restore.
var Tool = &cloudcli.Tool{
	Name:  "wal-restore",
	Usage: "restore a PostgreSQL WAL file from cloud storage",
	Args:  []cloudcli.Arg{{Name: "source_url"}, {Name: "server_name"}, {Name: "wal_name"}, {Name: "wal_dest"}},
	Description: `Downloads the WAL file WAL_NAME (PostgreSQL's %f) of server SERVER_NAME from the bucket of SOURCE_URL, decompresses it, and writes it to WAL_DEST (PostgreSQL's %p). Run it as PostgreSQL's restore_command. It reads what barman-cloud-wal-archive and Barman's own barman-cloud-wal-archive store, under any compression: gzip, bzip2, xz, snappy, zstd or lz4, told apart by the object's suffix.

` + cloudcli.URLHelp("SOURCE_URL") + `

The archived copy is chosen as Barman chooses it: among the objects named WAL_NAME, WAL_NAME plus a compression suffix, and WAL_NAME.partial (plus a suffix), the first in name order wins, and the uncompressed WAL_NAME is used only when there is no other; backup labels standing in for a segment are skipped, and so are .partial files with --no-partial. Objects whose names are not WAL names are reported as "Unknown WAL file" and skipped. Unlike Barman, the object is decompressed according to its own suffix (Barman could apply the suffix of a backup label it had just skipped), and a compressed copy of the very file requested (WAL_NAME.gz for a backup label or .partial asked for by name) is served, where Barman reports it missing.

When the WAL is archived under several suffixes with different contents, or contents that cannot be compared without downloading them (objects written by Barman record no checksum), the copy served is the one the storage recorded first (its creation time, which Azure gives to the second; ties are broken by name), never one chosen by its suffix alone, and each copy passed over is named at WARNING level. barman-cloud-wal-archive reports a WAL archived only when no other content was listed after its object was stored, so the copy it reported was stored first; another content under the name can only be left by an archiver killed between storing its object and removing it after losing a race, and stays until it is removed by hand. Where the storage's times cannot tell the two apart, such a leftover can be served instead: on an S3 server that dates an object from the start of its upload (MinIO does), or on Azure within one second.

WAL_DEST appears only complete: the WAL is written to a temporary file in the same directory, flushed to disk and renamed to WAL_DEST. It is not flushed when WAL_DEST is PostgreSQL's pg_wal/RECOVERYXLOG or RECOVERYHISTORY: PostgreSQL flushes that file itself (with fsync on) when it keeps it under the WAL's name, and asks for it again after a crash before that. When the object carries the SHA-256 barman-cloud-wal-archive records, the decompressed content must match it. Without one (archived by Barman), the content is checked as barman-cloud-wal-archive checks a file: a WAL segment or .partial must have the segment size its first page header declares, and that header must name this segment (a .partial served for a segment, its own) on this timeline or an ancestor; a history file or backup label must be text; the restore says so at INFO level. A download, decompression or verification error leaves no file behind (exit status 4), and a file already at WAL_DEST is replaced only by a complete one. Only a process killed outright (SIGKILL, the OOM killer) can leave its temporary file, named .WAL_DEST.barman-cloud-tmp-XXXXXXXXXXXX, behind; the next barman-cloud-wal-restore into the same directory removes such files once they are a minute old and no running process holds their lock.

A WAL that is not in the archive is not an error to report: PostgreSQL asks for files that may not exist (the next timeline's history file, the segment after the last one archived). The exit status is then 1, logged at INFO level only, so PostgreSQL's log stays quiet at the default verbosity.

With --prefetch N (N > 1; barman-wal-restore calls it --parallel), once a segment is restored, a detached copy of the tool downloads the next N-1 segments of its timeline into WAL_DEST's directory, under barman-cloud/spool/SOURCE-BOOT/ (SOURCE a digest of the provider, endpoint, URL and server, BOOT the kernel's boot id), at once, each written and verified as WAL_DEST is, and only then renamed to its WAL name; the call itself returns at once. Spooled files are not flushed to disk either: they are served only during the boot that wrote them, and a spool of another boot is removed. Where the boot id is unknown, the spool is barman-cloud/spool/SOURCE/ and each file is flushed before its rename. The next call for one of them moves it to WAL_DEST, waiting for a prefetcher still downloading it; a file under a temporary name is never handed over. Spooled segments of another timeline, or older than the one asked for, are removed; one prefetcher runs per spool (its .lock). A .partial file is never prefetched.`,
	Command: func() cloudcli.Command {
		o := &Options{}
		return cloudcli.Command{
			Flags: []cli.Flag{
				&cli.BoolFlag{Name: "no-partial", Destination: &o.NoPartial, Usage: "do not download partial WAL files"},
				&cloudcli.ValueFlag{StringFlag: cli.StringFlag{Name: "prefetch",
					Usage: "after restoring a segment, download the next `NUMBER`-1 segments of its timeline in the background into pg_wal/barman-cloud/spool, for the next calls (like barman-wal-restore's --parallel; default: 0, off)"},
					Set: func(v string) error {
						var n int64
						err := cloudcli.SetNonNegative(&n)(v)
						if err == nil && n > maxPrefetch {
							err = fmt.Errorf("at most %d", maxPrefetch)
						}
						if err == nil {
							o.Prefetch = int(n)
						}
						return err
					}},
			},
			Run: func(r *cloudcli.Run) error { return run(r, o) },
		}
	},
	ExitStatus: []cloudcli.ExitStatus{
		{Code: exitcode.OK, Meaning: "the WAL file is restored at WAL_DEST; with --test, the storage answered and the bucket exists"},
		{Code: exitcode.Failure, Meaning: "the WAL file is not in the archive (or only as a .partial, with --no-partial); the bucket does not exist"},
		cloudcli.NetworkExit,
		{Code: exitcode.Usage, Meaning: "invalid command line, or an invalid WAL file name"},
		{Code: exitcode.General, Meaning: "any other error: invalid URL, missing or rejected credentials, a corrupt or truncated object, a checksum mismatch, a local file error; nothing is left at WAL_DEST"},
	},
	Examples: []cloudcli.Example{
		{Comment: "postgresql.conf (or CloudNativePG's equivalent): restore from S3", Command: `restore_command = 'barman-cloud-wal-restore s3://bucket/prefix pg %f %p'`},
		{Comment: "a recovery that keeps the next 3 segments downloading ahead of PostgreSQL", Command: `restore_command = 'barman-cloud-wal-restore --prefetch 4 s3://bucket/prefix pg %f %p'`},
		{Comment: "a standby that must not replay partial WAL files", Command: `restore_command = 'barman-cloud-wal-restore --no-partial s3://bucket/prefix pg %f %p'`},
		{Comment: "an S3-compatible server (MinIO), checking the connection and the bucket only", Command: `barman-cloud-wal-restore -t --endpoint-url http://127.0.0.1:9000 s3://bucket/prefix pg 000000010000000000000001 /tmp/wal`},
		{Comment: "Azure Blob Storage with an account key", Command: `AZURE_STORAGE_KEY=... barman-cloud-wal-restore --cloud-provider azure-blob-storage https://acct.blob.core.windows.net/container/prefix pg %f %p`},
		{Comment: "Google Cloud Storage, verbose", Command: `barman-cloud-wal-restore -v --cloud-provider google-cloud-storage gs://bucket/prefix pg 00000002.history /tmp/00000002.history`},
	},
}

// maxPrefetch bounds --prefetch: each prefetched segment is a connection
// and up to a segment of disk in pg_wal.
const maxPrefetch = 64

// Options is a parsed command line.
type Options struct {
	URL       string
	Server    string
	WALName   string
	Dest      string
	Test      bool
	NoPartial bool
	// Prefetch is --prefetch: how many segments one call makes local, the
	// one asked for included (see prefetch.go); 0 or 1 is off.
	Prefetch int
	Storage  storage.Options
}

func run(r *cloudcli.Run, o *Options) error {
	o.URL, o.Server, o.WALName, o.Dest, o.Test = r.Args[0], r.Args[1], r.Args[2], r.Args[3], r.Common.Test
	return Restore(r, *o)
}
