//go:build integration

package integration

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/barmancloud/barman-cloud/test/harness"
	"github.com/barmancloud/barman-cloud/test/oracle"
)

// TestArchiveOverwrite checks on each real server that an archived WAL is
// never replaced by other bytes: archiving the same bytes again is a
// success that stores nothing new; other bytes under the same name fail
// with exit 1 and leave the archived object as it was.
func TestArchiveOverwrite(t *testing.T) {
	wals := harness.WALs(t)
	seg := wals.Segments[2]
	other := waVariant(t, seg, t.TempDir(), 1)
	for _, tg := range oracle.Targets(t) {
		for _, c := range []oracle.Compression{oracle.CompressionNamed("none"), oracle.CompressionNamed("zstd")} {
			t.Run(tg.Name+"/"+c.Label(), func(t *testing.T) {
				prefix := harness.UniquePrefix(t)
				key := waKey(prefix, filepath.Base(seg), c.Suffix)
				args := func(p string) []string { return append(c.Args(), tg.URL(prefix), "pg", p) }
				waMustArchive(t, tg, args(seg)...)
				before := waObjects(t, tg, prefix, key)[key]

				r := waArchive(t, tg, nil, args(seg)...)
				if r.Code != 0 {
					t.Errorf("same bytes again: exit %d\n%s", r.Code, r.Stderr)
				}
				if !strings.Contains(r.Stderr, "already archived with identical content") || strings.Count(r.Stderr, "\n") != 1 {
					t.Errorf("same bytes again: stderr %q", r.Stderr)
				}
				// The second run claimed the object (Azure and GCS: a metadata
				// write recording it as the writer), but did not upload it again.
				again := waObjects(t, tg, prefix, key)[key]
				if waIncarnation(tg, again) != waIncarnation(tg, before) {
					t.Errorf("same bytes again: the object was rewritten (%s, was %s)", waIncarnation(tg, again), waIncarnation(tg, before))
				}
				if claimed := again.Metadata[waWriterKey(tg)] != before.Metadata[waWriterKey(tg)]; claimed != (tg.Name != "s3") {
					t.Errorf("same bytes again: claimed %v (writer %q, was %q)", claimed, again.Metadata[waWriterKey(tg)], before.Metadata[waWriterKey(tg)])
				}

				r = waArchive(t, tg, nil, args(other)...)
				waWantFailure(t, r, 1, "already archived as "+key+" with different content", "refusing to overwrite")
				after := waObjects(t, tg, prefix, key)[key]
				if after.ETag != again.ETag {
					t.Errorf("different bytes: the object was changed (ETag %s, was %s)", after.ETag, again.ETag)
				}
				waCheckObject(t, tg, after, c, waRead(t, seg))
			})
		}
	}
}

// waConcurrent starts one archiver per path at once, all archiving to url,
// and returns their exit statuses and stderr.
func waConcurrent(t *testing.T, tg oracle.Target, url string, paths []string) ([]int, []string) {
	t.Helper()
	tool := harness.Tool(t, "barman-cloud-wal-archive")
	codes := make([]int, len(paths))
	stderrs := make([]string, len(paths))
	cmds := make([]*exec.Cmd, len(paths))
	bufs := make([]*bytes.Buffer, len(paths))
	for i, p := range paths {
		// -vv: the debug line "Uploading" tells which ones got past the
		// already-archived check.
		cmds[i] = exec.Command(tool, append(append([]string{"-vv"}, tg.Args...), url, "pg", p)...)
		bufs[i] = &bytes.Buffer{}
		cmds[i].Stderr = bufs[i]
	}
	// Start them all before waiting for any: each process spends tens of
	// milliseconds starting, listing and hashing 16 MiB, so their uploads
	// overlap.
	for _, c := range cmds {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i, c := range cmds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := c.Wait()
			codes[i] = c.ProcessState.ExitCode()
			stderrs[i] = bufs[i].String()
			if err != nil && codes[i] < 0 {
				stderrs[i] += err.Error()
			}
		}()
	}
	wg.Wait()
	return codes, stderrs
}

// TestArchiveConcurrent runs 8 archivers of one WAL at once on each real
// server. With the same bytes all succeed and there is one object; with 8
// different contents exactly one succeeds, the 7 others exit 1, and the
// object holds the winner's bytes. The upload is a conditional create
// (If-None-Match: * on S3 and Azure, ifGenerationMatch=0 on GCS), so a
// loser that checked before the winner's upload ended still cannot
// overwrite it.
func TestArchiveConcurrent(t *testing.T) {
	wals := harness.WALs(t)
	seg := wals.Segments[2]
	const n = 8
	same := make([]string, n)
	different := make([]string, n)
	for i := range n {
		same[i] = waCopy(t, seg, t.TempDir(), filepath.Base(seg))
		different[i] = waVariant(t, seg, t.TempDir(), byte(i))
	}
	key := func(prefix string) string { return waKey(prefix, filepath.Base(seg), "") }
	for _, tg := range oracle.Targets(t) {
		t.Run(tg.Name+"/same", func(t *testing.T) {
			prefix := harness.UniquePrefix(t)
			codes, stderrs := waConcurrent(t, tg, tg.URL(prefix), same)
			for i, c := range codes {
				if c != 0 {
					t.Errorf("archiver %d: exit %d\n%s", i, c, stderrs[i])
				}
			}
			waCheckObject(t, tg, waObjects(t, tg, prefix, key(prefix))[key(prefix)], oracle.CompressionNamed("none"), waRead(t, seg))
		})
		t.Run(tg.Name+"/different", func(t *testing.T) {
			prefix := harness.UniquePrefix(t)
			codes, stderrs := waConcurrent(t, tg, tg.URL(prefix), different)
			winner := -1
			for i, c := range codes {
				switch {
				case c == 0 && winner < 0:
					winner = i
				case c == 0:
					t.Errorf("archivers %d and %d both succeeded", winner, i)
				case c != 1:
					t.Errorf("archiver %d: exit %d, want 0 or 1\n%s", i, c, stderrs[i])
				case !strings.Contains(stderrs[i], "with different content"):
					t.Errorf("archiver %d: exit 1 with stderr:\n%s", i, stderrs[i])
				}
			}
			if winner < 0 {
				t.Fatalf("no archiver succeeded: %v\n%s", codes, strings.Join(stderrs, ""))
			}
			o := waObjects(t, tg, prefix, key(prefix))[key(prefix)]
			waCheckObject(t, tg, o, oracle.CompressionNamed("none"), waRead(t, different[winner]))
			// The point of this case is the race between uploads: the
			// archivers start within milliseconds and a 16 MiB upload
			// takes far longer, so several must have found nothing
			// archived and uploaded (all 8 here, on every provider).
			uploads := 0
			for _, s := range stderrs {
				if strings.Contains(s, "Uploading ") {
					uploads++
				}
			}
			t.Logf("archiver %d won; %d of %d uploaded", winner, uploads, n)
			if uploads < 2 {
				t.Errorf("only %d archiver(s) uploaded: the conditional create was not exercised", uploads)
			}
		})
	}
}
