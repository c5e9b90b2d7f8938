// Command s3ceiling measures what the storage takes in, for the backup benchmark
// (bench/backup.sh): it uploads SIZE bytes as one object through shared/storage's
// Writer with JOBS parts in flight, from memory, with no tar, no disk and no
// compression, and prints the seconds and MB/s. A backup cannot go faster than
// this; the benchmark reports each tool's speed against it, measured in the
// same run. With -get it downloads every object under the URL's prefix instead,
// one after the other into io.Discard: the ceiling of a restore of those
// archives (bench/restore.sh).
//
//	go run ./bench/s3ceiling -endpoint http://127.0.0.1:9300 -jobs 4 -size 1590000000 s3://bucket/key
//	go run ./bench/s3ceiling -endpoint http://127.0.0.1:9300 -get s3://bucket/prefix/pg/base/ID/
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"time"

	"github.com/barmancloud/barman-cloud/shared/storage"
)

func main() {
	endpoint := flag.String("endpoint", "", "S3 endpoint URL")
	jobs := flag.Int("jobs", 2, "parts in flight")
	size := flag.Int64("size", 1<<30, "bytes to upload")
	get := flag.Bool("get", false, "download every object under the URL's prefix instead")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: s3ceiling [-endpoint URL] [-jobs N] [-size BYTES] s3://BUCKET/KEY")
		os.Exit(3)
	}
	run := put
	if *get {
		run = func(endpoint string, _ int, _ int64, url string) error { return download(endpoint, url) }
	}
	if err := run(*endpoint, *jobs, *size, flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "s3ceiling:", err)
		os.Exit(1)
	}
}

// open opens the store of an s3:// URL.
func open(ctx context.Context, endpoint, url string) (*storage.Store, storage.Location, error) {
	loc, err := storage.ParseURL(storage.S3, url)
	if err != nil {
		return nil, loc, err
	}
	s, err := storage.Open(ctx, loc, storage.Options{EndpointURL: endpoint})
	return s, loc, err
}

func put(endpoint string, jobs int, size int64, url string) error {
	ctx := context.Background()
	s, loc, err := open(ctx, endpoint, url)
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

func download(endpoint, url string) error {
	ctx := context.Background()
	s, loc, err := open(ctx, endpoint, url)
	if err != nil {
		return err
	}
	defer s.Close()
	objs, err := s.List(ctx, loc.Prefix, "")
	if err != nil {
		return err
	}
	start := time.Now()
	var total int64
	for _, o := range objs {
		n, err := s.Download(ctx, o.Key, io.Discard)
		if err != nil {
			return err
		}
		total += n
	}
	secs := time.Since(start).Seconds()
	fmt.Printf("%.2f %.0f\n", secs, float64(total)/1e6/secs)
	return nil
}
