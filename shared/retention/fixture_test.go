package retention

import (
	"slices"
	"time"
)

// Spec §11.1: catalog fixture C and its WAL objects, URL s3://bucket/pfx,
// server srv.
const walsC = "pfx/srv/wals"

func utc(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

func fixtureC() []Backup {
	return []Backup{
		{ID: "20240101T000000", Status: StatusDone, Timeline: 1, BeginWAL: "000000010000000000000002", EndWAL: "000000010000000000000003", EndTime: utc("2024-01-01 00:10")},
		{ID: "20240108T000000", Status: StatusDone, Timeline: 1, BeginWAL: "000000010000000000000010", EndWAL: "000000010000000000000011", EndTime: utc("2024-01-08 00:10"), Keep: KeepStandalone},
		{ID: "20240115T000000", Status: StatusFailed},
		{ID: "20240122T000000", Status: StatusDone, Timeline: 1, BeginWAL: "000000010000000000000030", EndWAL: "000000010000000000000031", EndTime: utc("2024-01-22 00:10")},
		{ID: "20240129T000000", Status: StatusDone, Timeline: 1, BeginWAL: "000000010000000100000005", EndWAL: "000000010000000100000006", EndTime: utc("2024-01-29 00:10"), Keep: KeepFull},
		{ID: "20240205T000000", Status: StatusDone, Timeline: 2, BeginWAL: "000000020000000100000010", EndWAL: "000000020000000100000011", EndTime: utc("2024-02-05 00:10")},
	}
}

// subset returns the backups of C with the given IDs, with keep
// annotations overridden where keep names one.
func subset(ids []string, keep map[string]Keep) []Backup {
	var out []Backup
	for _, b := range fixtureC() {
		if slices.Contains(ids, b.ID) {
			if k, ok := keep[b.ID]; ok {
				b.Keep = k
			}
			out = append(out, b)
		}
	}
	return out
}

var walKeysC = []string{
	"pfx/srv/wals/0000000100000000/000000010000000000000001.gz",
	"pfx/srv/wals/0000000100000000/000000010000000000000002.gz",
	"pfx/srv/wals/0000000100000000/000000010000000000000002.00000028.backup.gz",
	"pfx/srv/wals/0000000100000000/000000010000000000000003.gz",
	"pfx/srv/wals/0000000100000000/000000010000000000000010.gz",
	"pfx/srv/wals/0000000100000000/000000010000000000000011.gz",
	"pfx/srv/wals/0000000100000000/000000010000000000000012.gz",
	"pfx/srv/wals/0000000100000000/000000010000000000000030.gz",
	"pfx/srv/wals/0000000100000000/garbage.txt",
	"pfx/srv/wals/0000000100000001/000000010000000100000005.gz",
	"pfx/srv/wals/0000000100000001/000000010000000100000006.partial",
	"pfx/srv/wals/0000000200000001/000000020000000100000010.gz",
	"pfx/srv/wals/00000002.history.gz",
}

// nowC is §11.2's evaluation time.
var nowC = utc("2024-02-10 00:00")

// w1 abbreviates a key of C's first hash directory.
func w1(rest string) string { return "pfx/srv/wals/0000000100000000/0000000100000000000000" + rest }
