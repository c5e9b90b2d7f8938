package walarchive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/barmancloud/barman-cloud/shared/cloudcli"
	"github.com/barmancloud/barman-cloud/shared/compress"
	"github.com/barmancloud/barman-cloud/shared/storage"
	"github.com/barmancloud/barman-cloud/shared/wal"
	"github.com/barmancloud/barman-cloud/shared/wal/waltest"
	"github.com/barmancloud/barman-cloud/shared/walobject"
)

const (
	seg = "000000010000000000000001"
	dir = "pg/wals/0000000100000000/"
)

// env is a file:// store and the WAL files archived into it; its
// archivers run in-process, so that tests can stop them between steps.
type env struct {
	t    *testing.T
	root string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, root: filepath.Join(t.TempDir(), "store")}
	if err := os.Mkdir(e.root, 0o755); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) open() *storage.Store {
	e.t.Helper()
	loc, err := storage.ParseURL(storage.S3, "file://"+e.root)
	if err != nil {
		e.t.Fatal(err)
	}
	s, err := storage.Open(context.Background(), loc, storage.Options{})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { s.Close() })
	return s
}

// content is the segment of one seed, written to a file of its own.
type content struct {
	data []byte
	path string
}

func (e *env) content(seed int64) content {
	e.t.Helper()
	c := content{data: waltest.Segment(seg, 1<<20, 0, seed)}
	c.path = filepath.Join(e.t.TempDir(), seg)
	if err := os.WriteFile(c.path, c.data, 0o600); err != nil {
		e.t.Fatal(err)
	}
	return c
}

// racer is one archiver of the test and what it logged.
type racer struct {
	a   *archiver
	log *bytes.Buffer
}

func (e *env) racer(c content, alg *compress.Algorithm, overwrite bool) *racer {
	e.t.Helper()
	var buf bytes.Buffer
	n, err := wal.Parse(c.path)
	if err != nil {
		e.t.Fatal(err)
	}
	o := Options{URL: "file://" + e.root, Server: "pg", WALPath: c.path, Compression: alg, Overwrite: overwrite}
	return &racer{log: &buf, a: &archiver{log: zerolog.New(&buf).Level(zerolog.DebugLevel), store: e.open(), o: o, name: n}}
}

func (r *racer) run() error { return r.a.run(context.Background()) }

// put stores data under the key of alg, as an archiver would (writer
// being its run's token), without any check; without md, as Barman would.
func (e *env) put(c content, alg *compress.Algorithm, md bool, writer ...string) {
	e.t.Helper()
	var buf bytes.Buffer
	w, err := compressWriter(&buf, alg)
	if err != nil {
		e.t.Fatal(err)
	}
	w.Write(c.data)
	w.Close()
	var up storage.UploadOptions
	if md {
		sum := sha256.Sum256(c.data)
		up.Metadata = walobject.Metadata(sum[:])
		for _, w := range writer {
			up.Metadata[walobject.WriterKey] = w
		}
	}
	if err := e.open().Upload(context.Background(), dir+seg+ext(alg), &buf, int64(buf.Len()), up); err != nil {
		e.t.Fatal(err)
	}
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

func compressWriter(w io.Writer, alg *compress.Algorithm) (io.WriteCloser, error) {
	if alg == nil {
		return nopWriteCloser{w}, nil
	}
	return alg.NewWriter(w, compress.Medium)
}

func ext(alg *compress.Algorithm) string {
	if alg == nil {
		return ""
	}
	return alg.Ext
}

// archived returns the copies of the segment in the store, by suffix, as
// their decoded contents.
func (e *env) archived() map[string][]byte {
	e.t.Helper()
	s := e.open()
	cands, err := walobject.Find(context.Background(), s, dir, seg)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, c := range cands {
		r, err := walobject.Open(context.Background(), s, c)
		if err != nil {
			e.t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			e.t.Fatal(err)
		}
		out[strings.TrimPrefix(c.Key, dir+seg)] = b
	}
	return out
}

// wantArchived checks the store holds exactly these copies.
func (e *env) wantArchived(want map[string]content) {
	e.t.Helper()
	got := e.archived()
	var gk, wk []string
	for k := range got {
		gk = append(gk, k)
	}
	for k := range want {
		wk = append(wk, k)
	}
	sort.Strings(gk)
	sort.Strings(wk)
	if strings.Join(gk, ",") != strings.Join(wk, ",") {
		e.t.Fatalf("copies %q, want %q", gk, wk)
	}
	for k, c := range want {
		if !bytes.Equal(got[k], c.data) {
			e.t.Errorf("copy %q holds other content", k)
		}
	}
}

func wantExit(t *testing.T, who string, err error, code int, msg string, log *bytes.Buffer) {
	t.Helper()
	if got := cloudcli.StatusOf(err); got != code {
		t.Errorf("%s: exit %d (%v), want %d\n%s", who, got, err, code, log)
	}
	if msg != "" && (err == nil || !strings.Contains(err.Error(), msg)) {
		t.Errorf("%s: error %v, want it to say %q", who, err, msg)
	}
}

const conflictMsg = "with different content"

// TestRaceInterleavings forces, with hooks between the steps, each order
// of two archivers of one WAL name with different contents and different
// compressions: at most one exits 0, that one's content is the only one
// left, and a loser leaves nothing behind.
func TestRaceInterleavings(t *testing.T) {
	type outcome struct{ a, b int }
	tests := []struct {
		name string
		// orchestrate runs the two archivers in the order under test and
		// returns their errors.
		orchestrate func(a, b *racer) (error, error)
		want        outcome
		left        string // the suffix left ("" none, ".gz" A's, ".zst" B's)
	}{
		{
			name: "A lists before B stores",
			orchestrate: func(a, b *racer) (error, error) {
				ea := a.run()
				return ea, b.run()
			},
			want: outcome{0, 1}, left: ".gz",
		},
		{
			name: "both store, then both list before either removes",
			orchestrate: func(a, b *racer) (error, error) {
				aStored, bStored := make(chan struct{}), make(chan struct{})
				aListed, bListed := make(chan struct{}), make(chan struct{})
				a.a.afterCommit = func() { close(aStored); <-bStored }
				b.a.afterCommit = func() { close(bStored); <-aStored }
				a.a.afterList = func() { close(aListed); <-bListed }
				b.a.afterList = func() { close(bListed); <-aListed }
				return both(a, b)
			},
			want: outcome{1, 1}, left: "",
		},
		{
			name: "both store, A lists and removes its object before B lists",
			orchestrate: func(a, b *racer) (error, error) {
				aStored, bStored, aDone := make(chan struct{}), make(chan struct{}), make(chan struct{})
				a.a.afterCommit = func() { close(aStored); <-bStored }
				b.a.afterCommit = func() { close(bStored); <-aDone }
				var ea, eb error
				var wg sync.WaitGroup
				wg.Add(2)
				go func() { defer wg.Done(); ea = a.run(); close(aDone) }()
				go func() { defer wg.Done(); eb = b.run() }()
				wg.Wait()
				return ea, eb
			},
			want: outcome{1, 0}, left: ".zst",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ca, cb := e.content(1), e.content(2)
			a, b := e.racer(ca, compress.Gzip, false), e.racer(cb, compress.Zstd, false)
			ea, eb := tc.orchestrate(a, b)
			wantExit(t, "A", ea, tc.want.a, "", a.log)
			wantExit(t, "B", eb, tc.want.b, "", b.log)
			for _, x := range []struct {
				err error
				r   *racer
			}{{ea, a}, {eb, b}} {
				if x.err != nil && !strings.Contains(x.err.Error(), conflictMsg) {
					t.Errorf("a loser's error: %v", x.err)
				}
				if x.err != nil && !strings.Contains(x.r.log.String(), "removed "+dir+seg) {
					t.Errorf("a loser did not say it removed its object:\n%s", x.r.log)
				}
			}
			switch tc.left {
			case "":
				e.wantArchived(nil)
				// Both lost: PostgreSQL retries, and the first retry wins.
				retry := e.racer(ca, compress.Gzip, false)
				wantExit(t, "A's retry", retry.run(), 0, "", retry.log)
				e.wantArchived(map[string]content{".gz": ca})
				again := e.racer(cb, compress.Zstd, false)
				wantExit(t, "B's retry", again.run(), 1, conflictMsg, again.log)
				e.wantArchived(map[string]content{".gz": ca})
			case ".gz":
				e.wantArchived(map[string]content{".gz": ca})
			case ".zst":
				e.wantArchived(map[string]content{".zst": cb})
			}
		})
	}
}

// both runs two archivers at once.
func both(a, b *racer) (error, error) {
	var ea, eb error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); ea = a.run() }()
	go func() { defer wg.Done(); eb = b.run() }()
	wg.Wait()
	return ea, eb
}

// TestClaimProtectsAFoundObject: X finds its content already stored under
// its key by W, which is still running; X claims it and reports it
// archived. Y then stores other content, and W, listing late, sees Y's
// object and loses: its conditional delete must fail, or Y (seeing nothing
// of X's content) would report its own content archived too.
func TestClaimProtectsAFoundObject(t *testing.T) {
	e := newEnv(t)
	c, d := e.content(1), e.content(2)
	w, x, y := e.racer(c, compress.Gzip, false), e.racer(c, compress.Gzip, false), e.racer(d, compress.LZ4, false)
	wStored, wGo, yStored, yGo := make(chan struct{}), make(chan struct{}), make(chan struct{}), make(chan struct{})
	w.a.afterCommit = func() { close(wStored); <-wGo }
	y.a.afterCommit = func() { close(yStored); <-yGo }
	wDone, yDone := make(chan error, 1), make(chan error, 1)
	go func() { wDone <- w.run() }()
	<-wStored
	wantExit(t, "X", x.run(), 0, "", x.log)
	if !strings.Contains(x.log.String(), "already archived with identical content") {
		t.Errorf("X:\n%s", x.log)
	}
	go func() { yDone <- y.run() }()
	<-yStored
	close(wGo)
	wantExit(t, "W", <-wDone, 1, conflictMsg, w.log)
	if !strings.Contains(w.log.String(), "another archiver with the same content has claimed it") {
		t.Errorf("W:\n%s", w.log)
	}
	close(yGo)
	wantExit(t, "Y", <-yDone, 1, conflictMsg, y.log)
	e.wantArchived(map[string]content{".gz": c})
}

// TestLoserSparesAReplacedObject: between a loser's store and its removal,
// its object got a new version (here touched, as a claim does): the
// conditional delete leaves it.
func TestLoserSparesAReplacedObject(t *testing.T) {
	e := newEnv(t)
	c, d := e.content(1), e.content(2)
	e.put(d, compress.Bzip2, true)
	a := e.racer(c, compress.Gzip, false)
	a.a.afterCommit = func() {
		s := e.open()
		info, err := s.Stat(context.Background(), dir+seg+".gz")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Touch(context.Background(), dir+seg+".gz", info.Version, map[string]string{walobject.WriterKey: "another"}); err != nil {
			t.Fatal(err)
		}
	}
	wantExit(t, "A", a.run(), 1, conflictMsg, a.log)
	if !strings.Contains(a.log.String(), "leaving "+dir+seg+".gz in place") {
		t.Errorf("log:\n%s", a.log)
	}
	e.wantArchived(map[string]content{".gz": c, ".bz2": d})
}

// TestSameContent: one content under several suffixes is no conflict,
// whether the other copy records its digest or (Barman's) does not; the
// copies are all left.
func TestSameContent(t *testing.T) {
	for _, md := range []bool{true, false} {
		t.Run(map[bool]string{true: "recorded digest", false: "no digest"}[md], func(t *testing.T) {
			e := newEnv(t)
			c := e.content(1)
			e.put(c, nil, md)
			a := e.racer(c, compress.Zstd, false)
			wantExit(t, "A", a.run(), 0, "", a.log)
			e.wantArchived(map[string]content{"": c, ".zst": c})
			if !strings.Contains(a.log.String(), "identical content also archived") {
				t.Errorf("log:\n%s", a.log)
			}
		})
	}
}

// TestFoundThenConflict: the key already holds this content (an earlier
// run that was killed before it could remove its object, or the object
// another run reported archived), and another suffix holds other content:
// the archiver does not report success, and removes nothing, since what it
// found may be what another run reported archived.
func TestFoundThenConflict(t *testing.T) {
	e := newEnv(t)
	c, d := e.content(1), e.content(2)
	e.put(c, compress.Gzip, true)
	e.put(d, compress.XZ, true)
	a := e.racer(c, compress.Gzip, false)
	wantExit(t, "A", a.run(), 1, dir+seg+".xz "+conflictMsg, a.log)
	if !strings.Contains(a.log.String(), "leaving "+dir+seg+".gz in place: it was there before this run") {
		t.Errorf("log:\n%s", a.log)
	}
	e.wantArchived(map[string]content{".gz": c, ".xz": d})
	// Without the other content, the same run reports the WAL archived.
	e2 := newEnv(t)
	e2.put(c, compress.Gzip, false)
	b := e2.racer(c, compress.Gzip, false)
	wantExit(t, "B", b.run(), 0, "", b.log)
	if !strings.Contains(b.log.String(), "already archived with identical content") {
		t.Errorf("log:\n%s", b.log)
	}
}

// TestOtherContentUnderOwnKey: the refusal of today, before any listing.
func TestOtherContentUnderOwnKey(t *testing.T) {
	e := newEnv(t)
	c, d := e.content(1), e.content(2)
	e.put(d, compress.Gzip, true)
	a := e.racer(c, compress.Gzip, false)
	wantExit(t, "A", a.run(), 1, dir+seg+".gz "+conflictMsg, a.log)
	listed := false
	a.a.afterList = func() { listed = true }
	a.run()
	if listed {
		t.Error("listed after finding other content under its own key")
	}
	e.wantArchived(map[string]content{".gz": d})
}

// TestOverwrite: --overwrite keeps Barman's blind replacement: no look at
// other suffixes, no conditional create.
func TestOverwrite(t *testing.T) {
	e := newEnv(t)
	c, d := e.content(1), e.content(2)
	e.put(d, compress.Gzip, true)
	e.put(d, compress.Zstd, true)
	a := e.racer(c, compress.Gzip, true)
	a.a.afterList = func() { t.Error("--overwrite listed the archive") }
	a.a.afterCommit = func() { t.Error("--overwrite checked its object") }
	wantExit(t, "A", a.run(), 0, "", a.log)
	e.wantArchived(map[string]content{".gz": c, ".zst": d})
}

// TestOwnObjectFromALostAnswer: the key holds this content stored by this
// very run (an attempt whose answer was lost, then retried): when another
// content is archived too, the run loses like any creator and removes its
// object, so that two such runs cannot keep each other out for ever.
func TestOwnObjectFromALostAnswer(t *testing.T) {
	e := newEnv(t)
	c, d := e.content(1), e.content(2)
	e.put(c, compress.Gzip, true, "run-a")
	e.put(d, compress.Zstd, true, "run-b")
	a, b := e.racer(c, compress.Gzip, false), e.racer(d, compress.Zstd, false)
	a.a.writer, b.a.writer = "run-a", "run-b"
	aListed, bListed := make(chan struct{}), make(chan struct{})
	a.a.afterList = func() { close(aListed); <-bListed }
	b.a.afterList = func() { close(bListed); <-aListed }
	ea, eb := both(a, b)
	wantExit(t, "A", ea, 1, conflictMsg, a.log)
	wantExit(t, "B", eb, 1, conflictMsg, b.log)
	e.wantArchived(nil)
	retry := e.racer(d, compress.Zstd, false)
	wantExit(t, "B's retry", retry.run(), 0, "", retry.log)
	e.wantArchived(map[string]content{".zst": d})
}

// TestManySameContent: archivers of the same content and suffix, at once,
// all report it archived. Each one that finds the object claimed relies on
// it without claiming it again: claims that kept replacing each other's
// versions made some of them give up ("changed while it was compared").
func TestManySameContent(t *testing.T) {
	e := newEnv(t)
	c := e.content(1)
	const n = 12
	racers := make([]*racer, n)
	for i := range racers {
		racers[i] = e.racer(c, nil, false)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, r := range racers {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = r.run() }()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("archiver %d: %v\n%s", i, err, racers[i].log)
		}
	}
	info, err := e.open().Stat(context.Background(), dir+seg)
	if err != nil {
		t.Fatal(err)
	}
	if info.Metadata[walobject.ClaimedKey] == "" {
		t.Errorf("the object was not claimed: %v", info.Metadata)
	}
}

// TestClaimRace: an archiver whose claim loses to another's (the version
// changed between its Stat and its Touch, every time) relies on the other
// claim instead of giving up.
func TestClaimRace(t *testing.T) {
	e := newEnv(t)
	c := e.content(1)
	e.put(c, nil, true, "creator")
	b := e.racer(c, nil, false)
	other := e.open()
	b.a.beforeTouch = func() {
		info, err := other.Stat(context.Background(), dir+seg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := other.Touch(context.Background(), dir+seg, info.Version, map[string]string{walobject.WriterKey: "other", walobject.ClaimedKey: "1"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.run(); err != nil {
		t.Errorf("archiver: %v\n%s", err, b.log)
	}
}
