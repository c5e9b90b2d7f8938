package cloudcli

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/barmancloud/barman-cloud/shared/argval"
	"github.com/barmancloud/barman-cloud/shared/exitcode"
)

// FuzzNormalize: any argv (joined by NUL bytes) gives either a usage error
// (exit status 3) or urfave's canonical form, options first, then "--",
// then the positionals; and a whole run through Execute never panics and
// exits 0 or 3, with the positionals the normaliser found.
func FuzzNormalize(f *testing.F) {
	for _, tt := range normalizeTests {
		f.Add(strings.Join(tt.argv, "\x00"))
	}
	f.Add("--read-timeout\x0099999999999\x00u")
	f.Add("--read-timeout\x0018446744074\x00u") // 0.29 s once wrapped
	f.Add("--read-timeout=-1\x00u")
	f.Add("--cloud-provider\x00gcs\x00u")
	specs := newSpecTable(testFlags())
	f.Fuzz(func(t *testing.T, joined string) {
		var argv []string
		if joined != "" {
			argv = strings.Split(joined, "\x00")
		}
		n, err := normalize(specs, argv, testExclusive)
		switch {
		case err != nil:
			var ue *usageError
			if !errors.As(err, &ue) || StatusOf(err) != exitcode.Usage {
				t.Fatalf("normalize(%q): %T %v is not a usage error", argv, err, err)
			}
		case !n.help && !n.version:
			k := slices.Index(n.args, "--")
			if k < 0 || !slices.Equal(n.args[k+1:], n.positionals) {
				t.Fatalf("normalize(%q) = %q: not options, --, positionals %q", argv, n.args, n.positionals)
			}
			for _, o := range n.args[:k] {
				name, _, _ := strings.Cut(strings.TrimPrefix(o, "--"), "=")
				if !strings.HasPrefix(o, "--") || !slices.ContainsFunc(specs.all, func(s *spec) bool { return s.name == name }) {
					t.Fatalf("normalize(%q) = %q: %q is no canonical option", argv, n.args, o)
				}
			}
			if len(n.positionals) > len(argv) {
				t.Fatalf("normalize(%q): %d positionals", argv, len(n.positionals))
			}
		}

		var got map[string]any
		var out, errOut strings.Builder
		tool := recorder(&got)
		var timeout, wantTimeout time.Duration
		if err == nil {
			for _, v := range n.values {
				if v.s.name == "read-timeout" {
					// Seconds, or the longest Duration for more than it holds.
					n, err := argval.Int(v.v)
					if err != nil || n < 1 {
						wantTimeout = 0 // refused: the tool does not run
						break
					}
					wantTimeout = time.Duration(math.MaxInt64)
					if n <= math.MaxInt64/int64(time.Second) {
						wantTimeout = time.Duration(n) * time.Second
					}
				}
			}
		}
		command := tool.Command
		tool.Command = func() Command {
			c := command()
			run := c.Run
			c.Run = func(r *Run) error {
				timeout = r.Common.ReadTimeout
				return run(r)
			}
			return c
		}
		code := Execute(context.Background(), Env{Args: append([]string{"barman-cloud-fake"}, argv...), Stdout: &out, Stderr: &errOut,
			LookupEnv: func(string) (string, bool) { return "", false }}, tool)
		switch {
		case code != exitcode.OK && code != exitcode.Usage:
			t.Fatalf("%q: exit status %d: %s", argv, code, errOut.String())
		case err != nil && code != exitcode.Usage:
			t.Fatalf("%q: exit status %d after the usage error %v", argv, code, err)
		case got != nil && !slices.Equal(got["args"].([]string)[:len(n.positionals)], n.positionals):
			t.Fatalf("%q: the tool got %q, the normaliser found %q", argv, got["args"], n.positionals)
		case timeout != wantTimeout:
			t.Fatalf("%q: read timeout %v, want %v", argv, timeout, wantTimeout)
		}
	})
}
