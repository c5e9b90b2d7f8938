// Command deletebench is bench/delete.sh's driver: it deletes one backup
// whose WAL clean-up covers N archived WALs, with our
// barman-cloud-backup-delete and with Barman's, on the same S3 server (a
// fresh copy of the catalog for each), and prints the wall time, the
// requests each sent (counted by a pass-through test/faultproxy in front
// of the server) and the WALs each left. Not a test: it prints figures.
//
//	deletebench -ours BIN -barman BIN -n 10000 -n 1000
//
// The server comes from the environment as the tests have it:
// S3_ENDPOINT_URL, S3_BUCKET and the AWS_* credentials.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/barmancloud/barman-cloud/shared/backupinfo/backupinfotest"
	"github.com/barmancloud/barman-cloud/shared/storage"
	"github.com/barmancloud/barman-cloud/test/faultproxy"
)

type sizes []int

func (s *sizes) String() string { return fmt.Sprint(*s) }
func (s *sizes) Set(v string) error {
	var n int
	_, err := fmt.Sscan(v, &n)
	*s = append(*s, n)
	return err
}

func main() {
	ours := flag.String("ours", "", "our barman-cloud-backup-delete")
	barman := flag.String("barman", "/usr/bin/barman-cloud-backup-delete", "Barman's barman-cloud-backup-delete")
	only := flag.String("only", "", "run only this tool: ours or barman")
	rounds := flag.Int("rounds", 3, "rounds per tool and size; the median wall time is shown")
	extra := flag.String("args", "", "extra options for the tools, space separated (-v)")
	var ns sizes
	flag.Var(&ns, "n", "number of WALs the deletion clears (repeatable)")
	flag.Parse()
	if *ours == "" || len(ns) == 0 {
		flag.Usage()
		os.Exit(3)
	}
	endpoint, bucket := os.Getenv("S3_ENDPOINT_URL"), os.Getenv("S3_BUCKET")
	if endpoint == "" || bucket == "" {
		fail("S3_ENDPOINT_URL and S3_BUCKET must be set")
	}
	fmt.Printf("| WALs | tool | median wall s (%d rounds) | requests | WALs deleted | WALs left behind |\n", *rounds)
	fmt.Println("|---|---|---|---|---|---|")
	for _, n := range ns {
		type result struct {
			walls      []float64
			reqs, left int
		}
		res := map[string]*result{"barman": {}, "ours": {}, "floor": {}}
		for r := 0; r < *rounds; r++ {
			// Alternate which tool goes first, so neither always meets
			// a warmer server.
			order := []string{"barman", "ours", "floor"}
			if r%2 == 1 {
				order = []string{"ours", "barman", "floor"}
			}
			for _, who := range order {
				if *only != "" && who != *only {
					continue
				}
				if who == "floor" {
					res[who].walls = append(res[who].walls, floor(endpoint, bucket, fmt.Sprintf("bench-delete-%d-floor-%d-%d", n, r, os.Getpid()), n))
					continue
				}
				bin := *ours
				if who == "barman" {
					bin = *barman
				}
				prefix := fmt.Sprintf("bench-delete-%d-%s-%d-%d", n, who, r, os.Getpid())
				s := open(endpoint, bucket, prefix)
				seed(s, prefix, n)
				px, err := faultproxy.New(endpoint, faultproxy.S3)
				if err != nil {
					fail(err.Error())
				}
				args := append(strings.Fields(*extra), "--endpoint-url", px.URL, "-b", "20240101T000000", "s3://"+bucket+"/"+prefix, "srv")
				cmd := exec.Command(bin, args...)
				cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
				start := time.Now()
				err = cmd.Run()
				wall := time.Since(start)
				res[who].reqs = px.Requests()
				px.Close()
				if err != nil {
					fail(fmt.Sprintf("%s: %v", who, err))
				}
				res[who].left = count(s, prefix+"/srv/wals/")
				res[who].walls = append(res[who].walls, wall.Seconds())
				cleanup(s, prefix+"/")
			}
		}
		for _, who := range []string{"barman", "ours", "floor"} {
			r := res[who]
			if len(r.walls) == 0 {
				continue
			}
			slices.Sort(r.walls)
			if who == "floor" {
				fmt.Printf("| %d | the storage's floor: the same WAL keys deleted from memory, 8 requests of 1000 in flight | %.2f | %d | %d | 0 |\n", n, r.walls[len(r.walls)/2], (n+999)/1000, n)
				continue
			}
			// n WALs before the kept backup, 2 of its own.
			fmt.Printf("| %d | %s | %.2f | %d | %d | %d |\n", n, name(who), r.walls[len(r.walls)/2], r.reqs, n+2-r.left, r.left-2)
		}
	}
}

// floor seeds the catalog and deletes the n WALs of the first backup
// straight from this process, in 1000-key requests 8 at a time: what the
// server itself needs, against which the tools' times read.
func floor(endpoint, bucket, prefix string, n int) float64 {
	s := open(endpoint, bucket, prefix)
	seed(s, prefix, n)
	var keys []string
	for i := 1; i <= n; i++ {
		name := walName(i)
		keys = append(keys, prefix+"/srv/wals/"+name[:16]+"/"+name+".gz")
	}
	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for chunk := range slices.Chunk(keys, 1000) {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if _, err := s.Delete(context.Background(), chunk, 0); err != nil {
				fail(err.Error())
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start).Seconds()
	cleanup(s, prefix+"/")
	return wall
}

func name(who string) string {
	if who == "barman" {
		return "Barman 3.4.0"
	}
	return "ours"
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "deletebench:", msg)
	os.Exit(1)
}

func open(endpoint, bucket, prefix string) *storage.Store {
	s, err := storage.Open(context.Background(), storage.Location{Provider: storage.S3, Bucket: bucket, Prefix: prefix},
		storage.Options{EndpointURL: endpoint})
	if err != nil {
		fail(err.Error())
	}
	return s
}

// walName is the i-th segment of timeline 1 (16 MiB segments: 256 a log).
func walName(i int) string { return fmt.Sprintf("00000001%08X%08X", i/256, i%256) }

// info34 is a backup.info of catalog C in Barman 3.4's field set, with
// its WAL range moved to begin..end.
func info34(b backupinfotest.Backup, begin, end string) string {
	var out []string
	for _, l := range strings.SplitAfter(string(b.Info), "\n") {
		switch {
		case slices.ContainsFunc([]string{"children_backup_ids=", "cluster_size=", "data_checksums=", "summarize_wal=", "parent_backup_id=", "encryption="},
			func(f string) bool { return strings.HasPrefix(l, f) }):
		case strings.HasPrefix(l, "begin_wal="):
			out = append(out, "begin_wal="+begin+"\n")
		case strings.HasPrefix(l, "end_wal="):
			out = append(out, "end_wal="+end+"\n")
		default:
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

// seed writes two backups: 20240101T000000 (WALs 1-2) and
// 20240122T000000 (WALs n+1 and n+2), and the WALs 1 to n+2: deleting the
// first clears WALs 1 to n.
func seed(s *storage.Store, prefix string, n int) {
	c := backupinfotest.CatalogC()
	base := prefix + "/srv/base/"
	objs := map[string]string{
		base + "20240101T000000/backup.info": info34(c[0], walName(1), walName(2)),
		base + "20240101T000000/data.tar.gz": "tar",
		base + "20240122T000000/backup.info": info34(c[3], walName(n+1), walName(n+2)),
		base + "20240122T000000/data.tar.gz": "tar",
	}
	for i := 1; i <= n+2; i++ {
		name := walName(i)
		objs[prefix+"/srv/wals/"+name[:16]+"/"+name+".gz"] = "wal"
	}
	keys := make(chan string)
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range keys {
				d := objs[k]
				if err := s.Upload(context.Background(), k, strings.NewReader(d), int64(len(d)), storage.UploadOptions{}); err != nil {
					fail(err.Error())
				}
			}
		}()
	}
	for k := range objs {
		keys <- k
	}
	close(keys)
	wg.Wait()
}

func count(s *storage.Store, prefix string) int {
	objs, err := s.List(context.Background(), prefix, "")
	if err != nil {
		fail(err.Error())
	}
	return len(objs)
}

func cleanup(s *storage.Store, prefix string) {
	if _, err := s.DeletePrefix(context.Background(), prefix, 0); err != nil {
		fail(err.Error())
	}
}
