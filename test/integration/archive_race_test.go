//go:build integration

package integration

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/barmancloud/barman-cloud/test/harness"
	"github.com/barmancloud/barman-cloud/test/oracle"
)

// Tests of the rule that decides one content per WAL name across every
// compression suffix (tools/walarchive settle): real processes of the
// built binary race on each real server, then wal-restore and the
// providers' own clients check the outcome. Identifiers carry an "ar"
// prefix.

// arRacer is one archiver of a round: a file (named as the WAL) with one
// of the round's contents, archived with one compression.
type arRacer struct {
	path    string
	content int
	comp    oracle.Compression
}

// arRun is one run of an archiver.
type arRun struct {
	code   int
	stderr string
}

// arArchive runs our wal-archive (tool) of r to url, killed after
// waTimeout; a run that could not start or was killed is exit -1.
func arArchive(tool string, tg oracle.Target, url string, r arRacer) arRun {
	ctx, cancel := context.WithTimeout(context.Background(), waTimeout)
	defer cancel()
	args := append(append(append([]string{"-v"}, tg.Args...), r.comp.Args()...), url, "pg", r.path)
	cmd := exec.CommandContext(ctx, tool, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if (err != nil && !errors.As(err, &ee)) || ctx.Err() != nil {
		return arRun{code: -1, stderr: fmt.Sprintf("%v\n%s", err, stderr.String())}
	}
	return arRun{code: cmd.ProcessState.ExitCode(), stderr: stderr.String()}
}

// arRound runs the racers at once; then every one that exited 1 again,
// after a random pause of 50 to 400 ms each time, as PostgreSQL retries a
// failed archive_command (its pause is 1 s): up to retries times, and once
// more only after some racer has exited 0. It returns, per racer, the
// first attempt's run and the attempt at which it exited 0 (0 for the
// first, -1 never).
func arRound(t *testing.T, tg oracle.Target, url string, racers []arRacer, retries int) (first []arRun, wonAt []int) {
	t.Helper()
	tool := harness.Tool(t, "barman-cloud-wal-archive")
	first = make([]arRun, len(racers))
	wonAt = make([]int, len(racers))
	var wg sync.WaitGroup
	for i, r := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first[i] = arArchive(tool, tg, url, r)
		}()
	}
	wg.Wait()
	for i, run := range first {
		wonAt[i] = -1
		switch run.code {
		case 0:
			wonAt[i] = 0
		case 1:
			if !strings.Contains(run.stderr, "with different content") {
				t.Errorf("racer %d (%s, content %d): exit 1 without the different-content refusal:\n%s", i, racers[i].comp.Label(), racers[i].content, run.stderr)
			}
		default:
			t.Errorf("racer %d (%s, content %d): exit %d:\n%s", i, racers[i].comp.Label(), racers[i].content, run.code, run.stderr)
		}
	}
	var mu sync.Mutex
	won := false
	for _, w := range wonAt {
		won = won || w == 0
	}
	for i := range racers {
		if wonAt[i] >= 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(time.Now().UnixNano() + int64(i)))
			for a := 1; a <= retries; a++ {
				time.Sleep(time.Duration(50+rng.Intn(350)) * time.Millisecond)
				mu.Lock()
				last := won
				mu.Unlock()
				run := arArchive(tool, tg, url, racers[i])
				if run.code == 0 {
					mu.Lock()
					wonAt[i], won = a, true
					mu.Unlock()
					return
				}
				if last {
					return // it lost after a winner: it always will
				}
				if run.code != 1 {
					t.Errorf("racer %d, retry %d: exit %d:\n%s", i, a, run.code, run.stderr)
					return
				}
			}
		}()
	}
	wg.Wait()
	return first, wonAt
}

// arCheck checks a round's outcome: every archiver that exited 0 has the
// bytes wal-restore serves, and the WAL name holds one content under all
// its suffixes, read with the provider's own client and decoded with
// Debian's decoders. It returns the content served (-1 when none).
func arCheck(t *testing.T, tg oracle.Target, prefix, base string, racers []arRacer, contents [][]byte, wonAt []int) int {
	t.Helper()
	dest := filepath.Join(t.TempDir(), "RECOVERYXLOG")
	r := waRun(t, nil, harness.Tool(t, "barman-cloud-wal-restore"), append(append([]string{}, tg.Args...), tg.URL(prefix), "pg", base, dest)...)
	served := -1
	if r.Code == 0 {
		got := waRead(t, dest)
		for i, c := range contents {
			if bytes.Equal(got, c) {
				served = i
			}
		}
		if served < 0 {
			t.Errorf("wal-restore served %d bytes that are none of the contents archived", len(got))
		}
	}
	for i, w := range wonAt {
		if w >= 0 && racers[i].content != served {
			t.Errorf("racer %d (%s) exited 0 with content %d, wal-restore serves content %d (exit %d)\n%s",
				i, racers[i].comp.Label(), racers[i].content, served, r.Code, r.Stderr)
		}
	}
	held := map[[sha256.Size]byte][]string{}
	for _, o := range tg.Objects(t, prefix, true) {
		suffix := strings.TrimPrefix(o.Key, waKey(prefix, base, ""))
		c := oracle.Compression{}
		for _, cc := range oracle.Compressions {
			if cc.Suffix == suffix {
				c = cc
			}
		}
		if c.Suffix != suffix {
			t.Errorf("unexpected object %s", o.Key)
			continue
		}
		sum := sha256.Sum256(c.Decode(t, o.Data(t)))
		held[sum] = append(held[sum], o.Key)
	}
	if len(held) > 1 {
		t.Errorf("%s holds %d contents: %v", base, len(held), held)
	}
	if len(held) == 1 && served < 0 {
		t.Errorf("one content archived, but wal-restore serves nothing (exit %d): %s", r.Code, r.Stderr)
	}
	return served
}

// arTally counts a provider's rounds.
type arTally struct {
	rounds, firstAttempt, afterRetries, none int
}

func (a *arTally) add(wonAt []int) {
	a.rounds++
	best := -1
	for _, w := range wonAt {
		if w >= 0 && (best < 0 || w < best) {
			best = w
		}
	}
	switch {
	case best == 0:
		a.firstAttempt++
	case best > 0:
		a.afterRetries++
	default:
		a.none++
	}
}

func (a arTally) String() string {
	return fmt.Sprintf("%d rounds: a winner at the first attempt in %d, only after retries in %d, none in %d", a.rounds, a.firstAttempt, a.afterRetries, a.none)
}

// arContents returns n different contents for the segment seg: the
// segment itself, then copies with other bytes past the first page (whose
// header still names seg), each written under seg's name in its own
// directory per racer that uses it.
func arContents(t *testing.T, seg string, n int) [][]byte {
	t.Helper()
	out := [][]byte{waRead(t, seg)}
	for i := 1; i < n; i++ {
		out = append(out, waRead(t, waVariant(t, seg, t.TempDir(), byte(i))))
	}
	return out
}

func arRacers(t *testing.T, base string, contents [][]byte, spec []arRacer) []arRacer {
	t.Helper()
	for i := range spec {
		spec[i].path = waWrite(t, t.TempDir(), base, contents[spec[i].content])
	}
	return spec
}

const arRounds = 10

// TestArchiveRaceTwoCompressions: two archivers of one WAL name, with
// different bytes and different compressions (--gzip and --zstd), at the
// same time, on each server, ten rounds: never both exit 0, whoever exits
// 0 has the bytes wal-restore serves, and once the losers' retries are
// done one content is left.
func TestArchiveRaceTwoCompressions(t *testing.T) {
	wals := harness.WALs(t)
	seg := wals.Segments[3]
	base := filepath.Base(seg)
	contents := arContents(t, seg, 2)
	for _, tg := range oracle.Targets(t) {
		t.Run(tg.Name, func(t *testing.T) {
			var tally arTally
			for round := 0; round < arRounds; round++ {
				prefix := harness.UniquePrefix(t)
				racers := arRacers(t, base, contents, []arRacer{
					{content: round % 2, comp: oracle.CompressionNamed("gzip")},
					{content: 1 - round%2, comp: oracle.CompressionNamed("zstd")},
				})
				first, wonAt := arRound(t, tg, tg.URL(prefix), racers, 4)
				if first[0].code == 0 && first[1].code == 0 {
					t.Errorf("round %d: both archivers exited 0", round)
				}
				arCheck(t, tg, prefix, base, racers, contents, wonAt)
				tally.add(wonAt)
				t.Logf("round %d: first attempts exit %d, %d; won at attempt %v", round, first[0].code, first[1].code, wonAt)
			}
			t.Logf("%s, 2 racers: %s", tg.Name, tally)
			if tally.none > 0 {
				t.Errorf("%d rounds ended with no content archived after the retries", tally.none)
			}
		})
	}
}

// TestArchiveRaceEightRacers: eight archivers of one WAL name at once,
// with every compression (one of them twice) and three contents, on each
// server, ten rounds. Racers sharing a compression always have different
// contents: the one that finds the other's object under its own key
// refuses at once. (Two racers with the same content and compression
// would claim each other's object, which S3 and fake-gcs-server cannot
// protect from a concurrent conditional delete: see walarchive settle.)
func TestArchiveRaceEightRacers(t *testing.T) {
	wals := harness.WALs(t)
	seg := wals.Segments[4]
	base := filepath.Base(seg)
	contents := arContents(t, seg, 3)
	comps := []string{"none", "gzip", "bzip2", "xz", "snappy", "zstd", "lz4", "gzip"}
	for _, tg := range oracle.Targets(t) {
		t.Run(tg.Name, func(t *testing.T) {
			var tally arTally
			for round := 0; round < arRounds; round++ {
				prefix := harness.UniquePrefix(t)
				spec := make([]arRacer, len(comps))
				for i, c := range comps {
					// Racers 1 and 7 (both gzip) get contents one apart.
					spec[i] = arRacer{content: (i + round) % 3, comp: oracle.CompressionNamed(c)}
				}
				spec[7].content = (spec[1].content + 1) % 3
				racers := arRacers(t, base, contents, spec)
				first, wonAt := arRound(t, tg, tg.URL(prefix), racers, 4)
				winners := map[int]bool{}
				var codes []int
				for i, f := range first {
					codes = append(codes, f.code)
					if f.code == 0 {
						winners[racers[i].content] = true
					}
				}
				if len(winners) > 1 {
					t.Errorf("round %d: archivers with %d different contents exited 0", round, len(winners))
				}
				arCheck(t, tg, prefix, base, racers, contents, wonAt)
				tally.add(wonAt)
				t.Logf("round %d: first attempts exit %v; won at attempt %v", round, codes, wonAt)
			}
			t.Logf("%s, 8 racers: %s", tg.Name, tally)
			if tally.none > 0 {
				t.Errorf("%d rounds ended with no content archived after the retries", tally.none)
			}
		})
	}
}
