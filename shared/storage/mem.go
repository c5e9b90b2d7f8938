package storage

import (
	"bytes"
	"context"
	"slices"
	"sync"

	"gocloud.dev/blob/memblob"

	"github.com/barmancloud/barman-cloud/shared/retry"
)

// NewMemStore returns a store held in memory (gocloud's memblob), for the
// unit tests of tools: it behaves as the others do for what the tools use
// (conditional creates, metadata, tags kept as metadata "tag-KEY" as on a
// file store, Writers in parts, batched deletes, listings with "/" as
// delimiter) and makes a single attempt at each operation. Its Writers
// take parts of any size, so that tests can cut small objects into many
// parts; deletes take loc.Provider's batch size. OpenUploads tells which
// uploads were begun and neither completed nor aborted.
func NewMemStore(loc Location) *Store {
	s := &Store{
		Loc:           loc,
		Bucket:        memblob.OpenBucket(nil),
		retrier:       &retry.Retrier{Policy: retry.Policy{Tries: 1}},
		writerOptions: tagsAsMetadata,
		bucketExists:  func(context.Context) (bool, error) { return true, nil },
	}
	m := &memUploads{s: s, open: map[*memParts]string{}}
	s.wp = &writePath{
		multipart: func(key string, o UploadOptions) (multipart, error) {
			return &memParts{m: m, key: key, o: o, data: map[int][]byte{}}, nil
		},
		limits:      partLimits{minSize: 1},
		deleteBatch: s.deleteEach,
		maxBatch:    maxDeleteBatch(loc.Provider),
	}
	s.mem = m
	return s
}

// maxDeleteBatch is the most keys provider deletes in one request.
func maxDeleteBatch(p Provider) int {
	switch p {
	case Azure:
		return azureMaxDeleteBatch
	case GCS:
		return gcsMaxDeleteBatch
	}
	return s3MaxDeleteBatch
}

// OpenUploads lists, for a memory store, the keys of the uploads in parts
// that were begun and neither completed nor aborted (nil for the other
// stores: ask the provider).
func (s *Store) OpenUploads() []string {
	if s.mem == nil {
		return nil
	}
	s.mem.mu.Lock()
	defer s.mem.mu.Unlock()
	var keys []string
	for _, k := range s.mem.open {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// memUploads are a memory store's uploads in progress.
type memUploads struct {
	s    *Store
	mu   sync.Mutex
	open map[*memParts]string
}

// memParts is an upload in parts to a memory store: the parts are kept
// (copied) until the upload completes into one object.
type memParts struct {
	m    *memUploads
	key  string
	o    UploadOptions
	mu   sync.Mutex
	data map[int][]byte
}

func (p *memParts) put(ctx context.Context, data []byte) error {
	return p.m.s.directPut(ctx, p.key, data, p.o)
}

func (p *memParts) begin(context.Context) error {
	p.m.mu.Lock()
	defer p.m.mu.Unlock()
	p.m.open[p] = p.key
	return nil
}

func (p *memParts) part(_ context.Context, pt part) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.data[pt.n] = bytes.Clone(pt.data)
	return nil
}

func (p *memParts) complete(ctx context.Context, parts int, _ int64) error {
	var all []byte
	p.mu.Lock()
	for n := 1; n <= parts; n++ {
		all = append(all, p.data[n]...)
	}
	p.mu.Unlock()
	if err := p.m.s.directPut(ctx, p.key, all, p.o); err != nil {
		return err
	}
	return p.abort(ctx)
}

func (p *memParts) abort(context.Context) error {
	p.m.mu.Lock()
	defer p.m.mu.Unlock()
	delete(p.m.open, p)
	return nil
}

// FailDeletes injects a fault into a memory store's deletes, for the tests
// of tools that must survive a deletion cut off in the middle: fail is
// called with each key before it is deleted, and an error it returns fails
// that key and ends its batch, as a provider's refusal would (the keys
// before it in the batch are deleted). nil removes the fault. It panics on
// any other store.
func (s *Store) FailDeletes(fail func(key string) error) {
	if s.mem == nil {
		panic("storage: FailDeletes on a store that is not a memory store")
	}
	if fail == nil {
		s.wp.deleteBatch = s.deleteEach
		return
	}
	s.wp.deleteBatch = func(ctx context.Context, keys []string) (batchResult, error) {
		for i, k := range keys {
			if err := fail(k); err != nil {
				r, derr := s.deleteEach(ctx, keys[:i])
				if derr != nil {
					return r, derr
				}
				return r, &DeleteError{Key: k, Code: "InjectedFault", Status: 403, Err: err}
			}
		}
		return s.deleteEach(ctx, keys)
	}
}
