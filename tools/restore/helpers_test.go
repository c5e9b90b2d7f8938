package restore

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/barmancloud/barman-cloud/shared/backupinfo"
	"github.com/barmancloud/barman-cloud/shared/catalog"
	"github.com/barmancloud/barman-cloud/shared/catalog/catalogtest"
	"github.com/barmancloud/barman-cloud/shared/compress"
	"github.com/barmancloud/barman-cloud/shared/storage"
)

// member is one entry of a test archive.
type member struct {
	name string
	typ  byte   // tar.TypeReg when 0
	body string // content, or link target
	mode int64  // 0600 (files) or 0700 (directories) when 0
}

// mtime is every test member's modification time.
var mtime = time.Date(2024, 5, 1, 12, 0, 0, 500_000_000, time.UTC)

// tarball builds a PAX tar stream of members, compressed with alg (nil:
// none), as Barman's tarfile writes them.
func tarball(t *testing.T, alg *compress.Algorithm, members ...member) []byte {
	t.Helper()
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	for _, m := range members {
		h := &tar.Header{Name: m.name, Typeflag: m.typ, Mode: m.mode, ModTime: mtime, Format: tar.FormatPAX}
		switch m.typ {
		case 0, tar.TypeReg:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(m.body))
			if h.Mode == 0 {
				h.Mode = 0o600
			}
		case tar.TypeDir:
			if h.Mode == 0 {
				h.Mode = 0o700
			}
		case tar.TypeSymlink, tar.TypeLink:
			h.Linkname = m.body
			h.Mode = 0o777
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte(m.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if alg == nil {
		return raw.Bytes()
	}
	var out bytes.Buffer
	zw, err := alg.NewWriter(&out, compress.Medium)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(raw.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// doneInfo is the backup.info of a DONE backup of PostgreSQL version of
// the cluster at pgdata, with its configuration files inside it.
func doneInfo(pgdata string, version int64, tbs ...backupinfo.Tablespace) *backupinfo.Info {
	i := backupinfo.New()
	i.Status = backupinfo.Some(backupinfo.StatusDone)
	i.ServerName = backupinfo.Some("cloud")
	i.Version = backupinfo.Some(version)
	i.PGData = backupinfo.Some(pgdata)
	i.Timeline = backupinfo.Some[int64](1)
	i.BeginWAL = backupinfo.Some("000000010000000000000002")
	i.EndWAL = backupinfo.Some("000000010000000000000002")
	i.BeginXlog = backupinfo.Some("0/2000028")
	i.EndXlog = backupinfo.Some("0/2000100")
	i.BeginTime = backupinfo.Some(mtime)
	i.EndTime = backupinfo.Some(mtime.Add(time.Minute))
	i.ConfigFile = backupinfo.Some(pgdata + "/postgresql.conf")
	i.HBAFile = backupinfo.Some(pgdata + "/pg_hba.conf")
	i.IdentFile = backupinfo.Some(pgdata + "/pg_ident.conf")
	i.Tablespaces = tbs
	return i
}

// putBackup stores backup id of server: its archives (name → content,
// "data.tar.gz") and then its backup.info, as barman-cloud-backup does.
func putBackup(t *testing.T, s *storage.Store, server, id string, info *backupinfo.Info, archives map[string][]byte) {
	t.Helper()
	c := catalog.New(s, server)
	for name, data := range archives {
		catalogtest.Put(t, s, c.Dir(id)+name, string(data))
	}
	data, err := info.Marshal(backupinfo.Fields317)
	if err != nil {
		t.Fatal(err)
	}
	catalogtest.Put(t, s, c.InfoKey(id), string(data))
}

// pgdataMembers is a small data directory as Barman archives it, without
// pg_wal, as when it was a symbolic link: restore must create it.
var pgdataMembers = []member{
	{name: ".", typ: tar.TypeDir},
	{name: "./PG_VERSION", body: "15\n"},
	{name: "./postgresql.conf", body: "# conf\n"},
	{name: "base", typ: tar.TypeDir},
	{name: "base/1", typ: tar.TypeDir},
	{name: "base/1/16384", body: strings.Repeat("page", 5000)},
	{name: "base/1/16384_link", typ: tar.TypeLink, body: "base/1/16384"},
	{name: "pg_tblspc", typ: tar.TypeDir},
	{name: "global", typ: tar.TypeDir},
	{name: "global/pg_control", body: "control"},
	{name: "./somelink", typ: tar.TypeSymlink, body: "PG_VERSION"},
	{name: "backup_label", body: "START WAL LOCATION: 0/2000028\n", mode: 0o644},
}

// readTree returns the files, links and directories under root: path →
// "d 0700", "f 0600 content" or "l target".
func readTree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out[rel] = "l " + target
		case fi.IsDir():
			out[rel] = "d " + modeString(fi)
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] = "f " + modeString(fi) + " " + string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func modeString(fi os.FileInfo) string { return fmt.Sprintf("%04o", fi.Mode().Perm()) }
