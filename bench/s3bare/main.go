// Command s3bare is the storage's ceiling for bench/parallel.sh: it only
// PUTs (or GETs) WAL files to S3, N at a time, in one process, with the
// same SDK and defaults barman-cloud uses, and prints the seconds taken.
// No checks, no listing, no hashing beyond what the SDK does, no process
// per file: what is left is what the storage and the network take.
//
//	s3bare -endpoint URL -bucket B -prefix P -c N -op put FILE...
//	s3bare -endpoint URL -bucket B -prefix P -c N -op get NAME...
//	s3bare -endpoint URL -bucket B -prefix P -op get1 NAME DEST
//
// get1 is a restore_command's ceiling: one process per call, as PostgreSQL
// makes them, that GETs one WAL file of a Barman layout archive (P is
// .../SERVER/wals; a segment is under its hash directory, the first 16
// characters of its name, a .history file is not) into DEST (%f %p, in
// barman-cloud-wal-restore's order), and prints nothing. A file that is not there exits 1, as restore_command must; no
// listing, no checksum, no temporary file, no fsync.
//
// Credentials and region come from the environment (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_REGION), as for the tools.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func main() {
	endpoint := flag.String("endpoint", "", "S3 endpoint URL")
	bucket := flag.String("bucket", "", "bucket")
	prefix := flag.String("prefix", "s3bare", "key prefix")
	conc := flag.Int("c", 1, "requests at once")
	op := flag.String("op", "put", "put, get or get1")
	flag.Parse()
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fail(err)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(*endpoint)
		o.UsePathStyle = true
	})
	if *op == "get1" {
		if flag.NArg() != 2 {
			fail(fmt.Errorf("get1 takes a WAL file name and the file to write"))
		}
		if err := get1(ctx, client, *bucket, walKey(*prefix, flag.Arg(0)), flag.Arg(1)); err != nil {
			fail(err)
		}
		return
	}
	work := make(chan string)
	errs := make(chan error, len(flag.Args()))
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < *conc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range work {
				key := *prefix + "/" + filepath.Base(f)
				if err := do(ctx, client, *op, *bucket, key, f); err != nil {
					errs <- fmt.Errorf("%s %s: %w", *op, key, err)
				}
			}
		}()
	}
	for _, f := range flag.Args() {
		work <- f
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		fail(err)
	}
	fmt.Printf("%.3f\n", time.Since(start).Seconds())
}

func do(ctx context.Context, client *s3.Client, op, bucket, key, file string) error {
	if op == "get" {
		out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
		if err != nil {
			return err
		}
		defer out.Body.Close()
		_, err = io.Copy(io.Discard, out.Body)
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	_, err = client.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: f, ContentLength: aws.Int64(fi.Size())})
	return err
}

// walKey is Barman's key of a WAL file under a server's wals directory.
func walKey(wals, name string) string {
	if len(name) == 24 {
		return wals + "/" + name[:16] + "/" + name
	}
	return wals + "/" + name
}

func get1(ctx context.Context, client *s3.Client, bucket, key, dest string) error {
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return fmt.Errorf("get %s: %w", key, err)
	}
	defer out.Body.Close()
	f, err := os.Create(dest)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, out.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "s3bare:", err)
	os.Exit(1)
}
