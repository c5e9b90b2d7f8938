// Package walobject knows the objects a WAL becomes in a bucket: the
// archived copies of one WAL under any compression suffix, Barman's choice
// among them on restore and the choice among copies with different
// contents (Arbitrate), and what barman-cloud records in each object's
// metadata: the content digest and the token of the run that wrote it.
//
// This package is part of the barman-cloud command and has no compatibility
// promise as a library.
package walobject

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"time"

	"github.com/barmancloud/barman-cloud/shared/compress"
	"github.com/barmancloud/barman-cloud/shared/storage"
)

// MetadataKey is the user-metadata key under which barman-cloud records
// the SHA-256 of a WAL's uncompressed content (x-amz-meta-barman-cloud-sha256
// on S3). Objects written by Barman have none.
const MetadataKey = "barman-cloud-sha256"

// WriterKey is the user-metadata key under which barman-cloud-wal-archive
// records which run stored an object, or claimed it last: a random token
// per run. A run tells by it its own object, stored by an attempt whose
// answer was lost, from one another run stored.
const WriterKey = "barman-cloud-writer"

// ClaimedKey marks an object that an archiver found holding its content
// and claimed (see barman-cloud-wal-archive): its version is then no
// creator's, so no archiver will ever remove it, and later archivers of
// the same content can rely on it without claiming it again.
const ClaimedKey = "barman-cloud-claimed"

// Metadata is the user metadata of an object holding content with SHA-256 sum.
func Metadata(sum []byte) map[string]string {
	return map[string]string{MetadataKey: hex.EncodeToString(sum)}
}

// Candidate is an archived copy of a WAL.
type Candidate struct {
	Key         string
	Compression *compress.Algorithm // nil: stored as is
	Size        int64               // the object's size
	// ModTime and Version are the listing's (see storage.Object).
	ModTime time.Time
	Version string
}

// candidate is the listed object o, stored with compression alg.
func candidate(o storage.Object, alg *compress.Algorithm) Candidate {
	return Candidate{Key: o.Key, Compression: alg, Size: o.Size, ModTime: o.ModTime, Version: o.Version}
}

// Find lists the archived copies of the WAL named base in dir (which ends
// with "/"): the object dir+base itself and dir+base plus one compression
// suffix, in listing order. Other objects sharing the prefix (a .partial
// or .backup of the same segment) are not copies.
func Find(ctx context.Context, s *storage.Store, dir, base string) ([]Candidate, error) {
	exact := dir + base
	objs, err := s.List(ctx, exact, "/")
	if err != nil {
		return nil, err
	}
	return Copies(objs, exact), nil
}

// Copies returns, in listing order, the objects of objs that hold the WAL
// file exact (a key): exact itself and exact plus one compression suffix.
func Copies(objs []storage.Object, exact string) []Candidate {
	var out []Candidate
	for _, o := range objs {
		if o.Key == exact {
			out = append(out, candidate(o, nil))
			continue
		}
		if rest, alg := compress.SplitExt(o.Key); alg != nil && rest == exact {
			out = append(out, candidate(o, alg))
		}
	}
	return out
}

// Open returns the candidate's content, decompressed.
func Open(ctx context.Context, s *storage.Store, c Candidate) (io.ReadCloser, error) {
	r, err := s.NewReader(ctx, c.Key)
	if err != nil {
		return nil, err
	}
	if c.Compression == nil {
		return r, nil
	}
	zr, err := c.Compression.NewReader(compress.Source(r))
	if err != nil {
		r.Close()
		return nil, err
	}
	return readCloser{zr, func() error { zr.Close(); return r.Close() }}, nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }

// RecordedDigest returns the SHA-256 recorded in the candidate's metadata,
// or nil for an object that has none (one written by Barman).
func RecordedDigest(ctx context.Context, s *storage.Store, c Candidate) ([]byte, error) {
	md, err := s.Metadata(ctx, c.Key)
	if err != nil {
		return nil, err
	}
	return DigestIn(c.Key, md)
}

// DigestIn returns the SHA-256 recorded in md, the metadata of key, or nil
// when there is none.
func DigestIn(key string, md map[string]string) ([]byte, error) {
	v, ok := md[MetadataKey]
	if !ok {
		return nil, nil
	}
	sum, err := hex.DecodeString(v)
	if err != nil || len(sum) != sha256.Size {
		return nil, fmt.Errorf("%s: invalid %s metadata %q", key, MetadataKey, v)
	}
	return sum, nil
}

// SameContent reports whether the candidate holds the content whose
// SHA-256 is sum and whose length is size, and how the archived content
// was identified (for messages). It trusts the recorded digest when there
// is one, and otherwise reads the object, decompressing it.
func SameContent(ctx context.Context, s *storage.Store, c Candidate, sum []byte, size int64) (bool, string, error) {
	rec, err := RecordedDigest(ctx, s, c)
	if err != nil {
		return false, "", err
	}
	return Compare(ctx, s, c, rec, sum, size)
}

// Compare is SameContent for a candidate whose recorded digest, rec (nil
// when it has none), was already read.
func Compare(ctx context.Context, s *storage.Store, c Candidate, rec, sum []byte, size int64) (bool, string, error) {
	if rec != nil {
		return bytes.Equal(rec, sum), "sha256 " + hex.EncodeToString(rec), nil
	}
	if c.Compression == nil && c.Size != size {
		return false, fmt.Sprintf("%d bytes, not %d", c.Size, size), nil
	}
	var (
		n   int64
		got []byte
	)
	err := s.Retry(ctx, "reading "+c.Key, func(ctx context.Context) error {
		r, err := Open(ctx, s, c)
		if err != nil {
			return err
		}
		defer r.Close()
		h := sha256.New()
		if n, err = io.Copy(h, r); err != nil {
			return err
		}
		got = h.Sum(nil)
		return nil
	})
	if err != nil {
		return false, "", err
	}
	if n != size {
		return false, fmt.Sprintf("%d bytes, not %d", n, size), nil
	}
	return bytes.Equal(got, sum), "sha256 " + hex.EncodeToString(got), nil
}
