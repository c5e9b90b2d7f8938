//go:build integration

package faults

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/barmancloud/barman-cloud/shared/storage"
	"github.com/barmancloud/barman-cloud/shared/wal"
	"github.com/barmancloud/barman-cloud/test/faultproxy"
	"github.com/barmancloud/barman-cloud/test/harness"
)

// TestRaceTally races two archivers of one WAL name, with different bytes
// and compressions, on each provider, each through its own proxy; the
// first commit of each is answered with a reset after the server stored
// it, so that each retries and meets its own object. The losers are then
// retried, as PostgreSQL would, until one archiver has reported success,
// and wal-restore runs. The package's tally counts, as lost, every
// archiver that reported success for content wal-restore does not serve,
// and, as corrupt, every other content left under the name.
func TestRaceTally(t *testing.T) {
	t.Parallel()
	wals := harness.WALs(t)
	src := wals.Segments[8]
	base := filepath.Base(src)
	other := filepath.Join(t.TempDir(), base)
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	for i := 8192; i < len(b); i += 4093 {
		b[i] ^= 0x33
	}
	if err := os.WriteFile(other, b, 0o644); err != nil {
		t.Fatal(err)
	}
	comps := []string{"--gzip", "--zstd"}
	eachProvider(t, func(t *testing.T, p provider) {
		for round := 0; round < 3; round++ {
			prefix := harness.UniquePrefix(t)
			p.cleanup(t, prefix)
			file := func(i int) string { return []string{src, other}[(i+round)%2] }
			archive := func(i int, px *faultproxy.Proxy) harness.Result {
				cmd := p.command(t, px, "barman-cloud-wal-archive", "-v", comps[i], p.URL(prefix), "pg", file(i))
				r := harness.Wait(t, cmd, 2*time.Minute)
				if r.Code != 0 && r.Code != 1 {
					t.Errorf("round %d, archiver %d: exit %d:\n%s", round, i, r.Code, r.Stderr)
				}
				checkStderr(t, r)
				return r
			}
			results := make([]harness.Result, 2)
			faults := 0
			var mu sync.Mutex
			var wg sync.WaitGroup
			for i := range comps {
				px := p.proxy(t)
				px.SetRules(&faultproxy.Rule{Name: "reset-after-commit", Match: isCommit(base), Times: 1, Fault: faultproxy.Fault{Kind: faultproxy.ResetAfterForward}})
				wg.Add(1)
				go func() {
					defer wg.Done()
					results[i] = archive(i, px)
					mu.Lock()
					faults += px.Injected()
					mu.Unlock()
				}()
			}
			wg.Wait()
			won := make([]bool, 2)
			first := []int{results[0].Code, results[1].Code}
			for try := 0; try < 4 && !won[0] && !won[1]; try++ {
				for i := range comps {
					if results[i].Code == 0 {
						won[i] = true
					}
				}
				if won[0] || won[1] {
					break
				}
				time.Sleep(time.Duration(100*(try+1)) * time.Millisecond)
				i := try % 2
				results[i] = archive(i, p.proxy(t))
			}
			for i := range comps {
				won[i] = won[i] || results[i].Code == 0
			}
			dir := t.TempDir()
			dest := filepath.Join(dir, "RECOVERYXLOG")
			rr := p.run(t, p.proxy(t), time.Minute, "barman-cloud-wal-restore", p.URL(prefix), "pg", base, dest)
			var served []byte
			if rr.Code == 0 {
				served, _ = os.ReadFile(dest)
			}
			lost, corrupt := 0, 0
			for i := range comps {
				want, _ := os.ReadFile(file(i))
				if (won[i] || first[i] == 0) && !bytes.Equal(served, want) {
					lost++
					t.Errorf("round %d: archiver %d reported success, wal-restore serves other bytes (exit %d): %s", round, i, rr.Code, rr.Stderr)
				}
			}
			cands := p.copies(t, prefix, base)
			if len(cands) != 1 {
				corrupt += max(len(cands)-1, 0)
				t.Errorf("round %d: %d copies left: %v", round, len(cands), cands)
			}
			count(faults, len(cands), lost, corrupt)
			t.Logf("round %d: first attempts exit %v, won %v; restore exit %d; copies %v; %d lost, %d corrupt", round, first, won, rr.Code, cands, lost, corrupt)
		}
	})
}

// copies lists the keys of the WAL name base under prefix.
func (p provider) copies(t *testing.T, prefix, base string) []string {
	t.Helper()
	name, err := wal.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := p.openDirect(t).List(context.Background(), wal.Dir(prefix, "pg", name)+base, "/")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	return keys
}

// TestUnchecksummedTally stores, on each provider, objects without a
// recorded SHA-256 (as Barman writes them) that are not the segment they
// are named after, and restores each through a proxy that cuts its first
// download: every restore must exit 4 and leave nothing; one that serves
// the object counts as corrupt in the package's tally.
func TestUnchecksummedTally(t *testing.T) {
	t.Parallel()
	wals := harness.WALs(t)
	src := wals.Segments[2]
	base := filepath.Base(src)
	good, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	another, err := os.ReadFile(wals.Segments[3])
	if err != nil {
		t.Fatal(err)
	}
	higher := append([]byte{}, good...)
	binary.LittleEndian.PutUint32(higher[4:], 2)
	bad := map[string][]byte{"truncated": good[:len(good)-1<<20], "another segment": another, "a higher timeline": higher}
	eachProvider(t, func(t *testing.T, p provider) {
		for what, data := range bad {
			prefix := harness.UniquePrefix(t)
			p.cleanup(t, prefix)
			name, _ := wal.Parse(base)
			key := wal.Dir(prefix, "pg", name) + base
			if err := p.openDirect(t).Upload(context.Background(), key, bytes.NewReader(data), int64(len(data)), storage.UploadOptions{}); err != nil {
				t.Fatal(err)
			}
			px := p.proxy(t)
			px.SetRules(&faultproxy.Rule{Name: "cut-download", Match: isDownload(base), Times: 1, Fault: faultproxy.Fault{Kind: faultproxy.CutResponse, After: 64 << 10}})
			dir := t.TempDir()
			dest := filepath.Join(dir, "RECOVERYXLOG")
			r := p.run(t, px, time.Minute, "barman-cloud-wal-restore", p.URL(prefix), "pg", base, dest)
			if r.Code != 4 {
				t.Errorf("%s: exit %d, want 4: %s", what, r.Code, r.Stderr)
			}
			checkStderr(t, r)
			_, corrupt := checkRestored(t, src, dir, dest, false)
			if r.Code == 0 {
				corrupt++
			}
			count(px.Injected(), 1, 0, corrupt)
			t.Logf("%s: exit %d; %d faults; %d corrupt", what, r.Code, px.Injected(), corrupt)
		}
	})
}
