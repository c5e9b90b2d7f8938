// Command s3ceiling measures what the storage takes in, for the backup benchmark
// (bench/backup.sh): it uploads SIZE bytes as one object through shared/storage's
// Writer with JOBS parts in flight, from memory, with no tar, no disk and no
// compression, and prints the MB/s. A backup cannot go faster than this; the
// benchmark reports each tool's speed against it, measured in the same run.
//
//	go run ./bench/s3ceiling -endpoint http://127.0.0.1:9300 -jobs 4 -size 1590000000 s3://bucket/key
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/barmancloud/barman-cloud/shared/storage"
)

func main() {
	endpoint := flag.String("endpoint", "", "S3 endpoint URL")
	jobs := flag.Int("jobs", 2, "parts in flight")
	size := flag.Int64("size", 1<<30, "bytes to upload")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: s3ceiling [-endpoint URL] [-jobs N] [-size BYTES] s3://BUCKET/KEY")
		os.Exit(3)
	}
	if err := run(*endpoint, *jobs, *size, flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "s3ceiling:", err)
		os.Exit(1)
	}
}

func run(endpoint string, jobs int, size int64, url string) error {
	ctx := context.Background()
	loc, err := storage.ParseURL(storage.S3, url)
	if err != nil {
		return err
	}
	s, err := storage.Open(ctx, loc, storage.Options{EndpointURL: endpoint})
	if err != nil {
		return err
	}
	defer s.Close()
	// Incompressible bytes, repeated: the storage sees what a backup sends.
	block := make([]byte, 8<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range block {
		block[i] = byte(r.Uint32())
	}
	start := time.Now()
	w, err := s.NewWriter(ctx, loc.Prefix, storage.WriteOptions{Jobs: jobs, PartSize: storage.StreamPartSize(storage.S3, 0)})
	if err != nil {
		return err
	}
	for left := size; left > 0; {
		n := min(left, int64(len(block)))
		if _, err := w.Write(block[:n]); err != nil {
			w.Abort(err)
			return err
		}
		left -= n
	}
	if err := w.Close(); err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	if _, err := s.Delete(ctx, []string{loc.Prefix}, 1); err != nil {
		return err
	}
	fmt.Printf("%.2f %.0f\n", secs, float64(size)/1e6/secs)
	return nil
}
