package restore

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/rs/zerolog"

	"github.com/barmancloud/barman-cloud/shared/bufpipe"
	"github.com/barmancloud/barman-cloud/shared/catalog"
	"github.com/barmancloud/barman-cloud/shared/compress"
	"github.com/barmancloud/barman-cloud/shared/pgtar"
	"github.com/barmancloud/barman-cloud/shared/storage"
)

// The pipeline's buffers: everything it holds of the backup at any time.
// Downloaded data waits in up to rawBuffers buffers (the download runs
// that far ahead of the decompression, into the next archive once one is
// downloaded); decompressed data in up to decodedBuffers (the
// decompression runs that far ahead of the file writes). Files are written
// in blocks of up to bufferSize. 13 MiB in all.
const (
	bufferSize     = 1 << 20
	rawBuffers     = 8
	decodedBuffers = 4
)

// job is one archive and the directory it is extracted into.
type job struct {
	archive catalog.Archive
	dir     string
}

// jobs lists the archives in extraction order (download_backup's
// copy_jobs): each family's first archive, then its continuations in
// listing order; PGDATA first, then the tablespaces.
func jobs(targets []target) []job {
	var js []job
	for _, t := range targets {
		js = append(js, job{archive: *t.fam.Main, dir: t.dir})
		for _, a := range t.fam.Parts {
			js = append(js, job{archive: a, dir: t.dir})
		}
	}
	return js
}

// extractAll downloads and extracts the archives in order, streaming:
// nothing is written to disk but the restored files. Three goroutines
// overlap: one downloads the archives one after the other (resuming a cut
// transfer where it stopped), one decompresses the current archive, and
// this one parses the tar stream and writes the files. It returns the
// number of bytes downloaded.
//
// Each archive is read to its end, past the tar end-of-archive blocks, so
// that the decompressor checks its trailer (gzip's CRC-32 and length,
// bzip2's CRCs): every archive has decoded completely and correctly when
// extractAll returns nil. On any failure everything stops at once and the
// first error is returned; what was extracted stays (Barman leaves it
// too), and the caller does not claim success.
func extractAll(ctx context.Context, s *storage.Store, js []job, log zerolog.Logger) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	raw := bufpipe.NewPool(rawBuffers, bufferSize)
	decoded := bufpipe.NewPool(decodedBuffers, bufferSize)
	pipes := make(chan *bufpipe.Pipe, len(js))
	var (
		downloaded atomic.Int64
		wg         sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(pipes)
		for _, j := range js {
			p := raw.New()
			pipes <- p
			n, err := s.Download(ctx, j.archive.Key, p)
			downloaded.Add(n)
			p.CloseWithError(err)
			if err != nil {
				return
			}
		}
	}()
	defer func() {
		// Stop the download (a failure, or a panic below) and wait for
		// it, so that nothing runs on after the tool returns.
		cancel()
		for p := range pipes {
			p.Close()
		}
		wg.Wait()
	}()
	for _, j := range js {
		p := <-pipes
		err := extract(cancel, j, p, decoded, log)
		p.Close()
		if err != nil {
			return downloaded.Load(), err
		}
	}
	return downloaded.Load(), nil
}

// extract extracts one archive from the pipe of its download
// (CloudInterface.extract_tar), decompressing it by its key's extension
// in a goroutine of its own.
func extract(cancel context.CancelFunc, j job, src *bufpipe.Pipe, pool *bufpipe.Pool, log zerolog.Logger) (err error) {
	alg := j.archive.Compression
	what := "no compression"
	if alg != nil {
		what = "decompressing " + alg.Name
	}
	log.Debug().Msgf("Extracting %s to %s (%s)", j.archive.Key, j.dir, what)
	defer func() {
		if err != nil {
			err = fmt.Errorf("extracting %s into %s: %w", j.archive.Key, j.dir, err)
		}
	}()
	var r io.Reader = src
	if alg != nil {
		zr, err := alg.NewReader(compress.Source(src))
		if err != nil {
			return err
		}
		defer zr.Close()
		dec := pool.New()
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer func() {
				// A decoder that panics (a library bug, on data corrupted
				// the wrong way) must not take the process down with a
				// stack trace and exit status 2.
				if p := recover(); p != nil {
					dec.CloseWithError(&compress.CorruptError{Alg: alg.Name, Err: fmt.Errorf("decoder panic: %v", p)})
				}
			}()
			_, err := dec.ReadFrom(zr)
			dec.CloseWithError(err)
		}()
		defer func() {
			if err != nil {
				// The decompressor may be waiting for downloaded data:
				// stop the download before waiting for it.
				cancel()
			}
			dec.Close()
			<-done
		}()
		r = dec
	}
	if err := pgtar.Extract(r, j.dir, pgtar.ExtractOptions{}); err != nil {
		return err
	}
	// The rest: the tar's record padding, then the decompressor's check
	// of its trailer, which comes only at the end of its input.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return fmt.Errorf("after the end of the tar archive: %w", err)
	}
	return nil
}
