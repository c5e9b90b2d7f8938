//go:build integration

package faults

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/barmancloud/barman-cloud/test/faultproxy"
	"github.com/barmancloud/barman-cloud/test/harness"
)

// scenario is one way of breaking a tool's requests, and its outcome.
type scenario struct {
	name  string
	rules func(base string) []*faultproxy.Rule
	args  []string // extra options
	// code is the exit status wanted: 0 (the retries got through) or 2
	// (given up).
	code int
	// minFaults is the fewest faults the proxy must have injected for the
	// run to prove anything.
	minFaults int
	// stderr must contain this.
	stderr string
	// maxTime bounds the run's duration, when not zero.
	maxTime time.Duration
	// noRetry: the run must succeed at the first attempt.
	noRetry bool
}

// archiveScenarios break wal-archive in every way the tools must survive;
// each one that is survivable must end with the WAL archived, the others
// with exit 2 and nothing (or the complete WAL) under its key.
var archiveScenarios = []scenario{
	{
		name: "resets before the request reaches the server",
		rules: func(base string) []*faultproxy.Rule {
			return []*faultproxy.Rule{{Name: "reset-before", Match: isUpload(base), Times: 2, Fault: faultproxy.Fault{Kind: faultproxy.ResetBeforeForward}}}
		},
		minFaults: 2, stderr: "connection reset by peer; trying again in",
	},
	{
		// The server stored the object, the answer was lost: the retry's
		// conditional create meets it, compares, and knows it by the run's
		// token.
		name: "reset after the object was committed",
		rules: func(base string) []*faultproxy.Rule {
			return []*faultproxy.Rule{{Name: "reset-after-commit", Match: isCommit(base), Times: 1, Fault: faultproxy.Fault{Kind: faultproxy.ResetAfterForward}}}
		},
		minFaults: 1, stderr: "was stored by an earlier attempt of this run, whose answer was lost",
	},
	{
		name: "resets in the middle of the request body",
		rules: func(base string) []*faultproxy.Rule {
			return []*faultproxy.Rule{{Name: "reset-mid-body", Match: isUpload(base), Times: 2, Fault: faultproxy.Fault{Kind: faultproxy.ResetMidBody, After: 100 << 10}}}
		},
		minFaults: 2,
	},
	{
		name: "a burst of 503 on the upload",
		rules: func(base string) []*faultproxy.Rule {
			return []*faultproxy.Rule{{Name: "503-upload", Match: isUpload(base), Times: 3, Fault: faultproxy.Fault{Kind: faultproxy.Unavailable}}}
		},
		minFaults: 3, stderr: "HTTP 503",
	},
	{
		name: "500 and 503 on the listing",
		rules: func(string) []*faultproxy.Rule {
			return []*faultproxy.Rule{
				{Name: "500-list", Match: isList, Times: 1, Fault: faultproxy.Fault{Kind: faultproxy.Unavailable, Status: 500}},
				{Name: "503-list", Match: isList, Times: 1, Fault: faultproxy.Fault{Kind: faultproxy.Unavailable}},
			}
		},
		minFaults: 2, stderr: "HTTP 500",
	},
	{
		name: "a stalled upload, given up after --read-timeout and retried",
		rules: func(base string) []*faultproxy.Rule {
			return []*faultproxy.Rule{{Name: "stall", Match: isUpload(base), Times: 1, Fault: faultproxy.Fault{Kind: faultproxy.Stall}}}
		},
		args: []string{"--read-timeout", "1"}, minFaults: 1, stderr: "no data sent or received for 1s",
	},
}

// slow is a transfer throttled so that it takes twice --read-timeout: it
// must not be cut short, since it keeps moving. Uncompressed only: a
// compressed segment is too small to take that long.
var slow = scenario{
	name: "a slow transfer, longer than --read-timeout, that keeps moving",
	rules: func(string) []*faultproxy.Rule {
		// 16 MiB at 8 MiB/s: 2 s.
		return []*faultproxy.Rule{{Name: "slow", Fault: faultproxy.Fault{Rate: 8 << 20}, Match: func(r *http.Request) bool {
			// Uploads (GCS sends its body chunked) and downloads.
			return r.ContentLength > 1<<20 || (r.ContentLength < 0 && r.Method == http.MethodPost) || r.Method == http.MethodGet
		}}}
	},
	args: []string{"--read-timeout", "1"}, minFaults: 1, noRetry: true,
}

// archiveFailures are the scenarios the retries cannot get through.
var archiveFailures = []scenario{
	{
		name: "503 on every upload",
		rules: func(base string) []*faultproxy.Rule {
			return []*faultproxy.Rule{{Name: "503-forever", Match: isUpload(base), Fault: faultproxy.Fault{Kind: faultproxy.Unavailable}}}
		},
		code: 2, minFaults: 5, stderr: "(gave up after 5 attempts)",
	},
	{
		name: "a storage that never answers, bounded by --max-time",
		rules: func(string) []*faultproxy.Rule {
			return []*faultproxy.Rule{{Name: "stall-forever", Fault: faultproxy.Fault{Kind: faultproxy.Stall}}}
		},
		args: []string{"--read-timeout", "1", "--max-time", "3"}, code: 2, minFaults: 1,
		stderr: "the time limit of 3s (--max-time)", maxTime: 6 * time.Second,
	},
}

// TestArchiveFaults runs wal-archive through every scenario on every
// provider, uncompressed and compressed, and reads back what it stored.
func TestArchiveFaults(t *testing.T) {
	t.Parallel() // mostly waiting: backoff and stalls
	wals := harness.WALs(t)
	src := wals.Segments[0]
	eachProvider(t, func(t *testing.T, p provider) {
		for _, comp := range []string{"", "--zstd"} {
			for _, sc := range archiveScenarios {
				t.Run(compName(comp)+"/"+sc.name, func(t *testing.T) {
					runArchive(t, p, sc, comp, src)
				})
			}
		}
		// Giving up takes the full backoff: uncompressed only.
		for _, sc := range append([]scenario{slow}, archiveFailures...) {
			t.Run(sc.name, func(t *testing.T) {
				runArchive(t, p, sc, "", src)
			})
		}
	})
}

func compName(opt string) string {
	if opt == "" {
		return "none"
	}
	return strings.TrimPrefix(opt, "--")
}

// runArchive archives src through a proxy set up for sc and checks the
// outcome and the bucket.
func runArchive(t *testing.T, p provider, sc scenario, comp, src string) harness.Result {
	t.Helper()
	px := p.proxy(t)
	prefix := harness.UniquePrefix(t)
	p.cleanup(t, prefix)
	px.SetRules(sc.rules(filepath.Base(src))...)
	args := append([]string{"-v"}, sc.args...)
	if comp != "" {
		args = append(args, comp)
	}
	r := p.run(t, px, 2*time.Minute, "barman-cloud-wal-archive", append(args, p.URL(prefix), "pg", src)...)
	checkOutcome(t, sc, r, px)
	objects, lost, corrupt := p.audit(t, prefix, src, r.Code == 0)
	count(px.Injected(), objects, lost, corrupt)
	t.Logf("exit %d in %s; %d faults injected %v; %d objects read back, %d lost, %d corrupt",
		r.Code, r.Elapsed.Round(time.Millisecond), px.Injected(), px.Counts(), objects, lost, corrupt)
	return r
}

func checkOutcome(t *testing.T, sc scenario, r harness.Result, px *faultproxy.Proxy) {
	t.Helper()
	if r.Code != sc.code {
		t.Errorf("exit %d, want %d:\n%s", r.Code, sc.code, r.Stderr)
	}
	if n := px.Injected(); n < sc.minFaults {
		t.Errorf("%d faults injected, want at least %d: the scenario did not happen (%v)", n, sc.minFaults, px.Counts())
	}
	if sc.stderr != "" && !strings.Contains(r.Stderr, sc.stderr) {
		t.Errorf("stderr lacks %q:\n%s", sc.stderr, r.Stderr)
	}
	if sc.noRetry && strings.Contains(r.Stderr, "trying again") {
		t.Errorf("retried:\n%s", r.Stderr)
	}
	if sc.maxTime > 0 && r.Elapsed > sc.maxTime {
		t.Errorf("took %s, want at most %s", r.Elapsed, sc.maxTime)
	}
	checkStderr(t, r)
}
