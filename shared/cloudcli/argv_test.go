package cloudcli

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/barmancloud/barman-cloud/shared/exitcode"
)

// fakeOptions has one option of every kind the tools use, named as in
// barman-cloud-wal-archive, and records what it was given.
type fakeOptions struct {
	gzip, bzip2, xz bool
	level           string
	tags, tag       []string
	tagsSet         bool
	historyTags     []string
	historyTag      []string
	encryption      string
	scope           string
	concurrency     int64
}

func (o *fakeOptions) flags() []cli.Flag {
	appendTo := func(dst *[]string) func(string) error {
		return func(v string) error { *dst = append(*dst, v); return nil }
	}
	return []cli.Flag{
		&cli.BoolFlag{Name: "gzip", Aliases: []string{"z"}, Usage: "gzip it", Destination: &o.gzip},
		&cli.BoolFlag{Name: "bzip2", Aliases: []string{"j"}, Usage: "bzip2 it", Destination: &o.bzip2},
		&cli.BoolFlag{Name: "xz", Usage: "xz it", Destination: &o.xz},
		&ValueFlag{StringFlag: cli.StringFlag{Name: "compression-level", Usage: "the `LEVEL`"}, Set: SetString(&o.level)},
		NewNargsFlag("tags", "tags as `KEY,VALUE ...`", "", func() { o.tags, o.tagsSet = nil, true }, appendTo(&o.tags)),
		NewListFlag("tag", "a tag as `KEY,VALUE`", "", appendTo(&o.tag)),
		NewNargsFlag("history-tags", "history tags as `KEY,VALUE ...`", "", func() { o.historyTags = nil }, appendTo(&o.historyTags)),
		NewListFlag("history-tag", "a history tag as `KEY,VALUE`", "", appendTo(&o.historyTag)),
		&ValueFlag{StringFlag: cli.StringFlag{Name: "encryption", Aliases: []string{"e"}, Usage: "encryption", Category: CategoryS3},
			Choices: []string{"AES256", "aws:kms"}, Set: SetString(&o.encryption)},
		&ValueFlag{StringFlag: cli.StringFlag{Name: "encryption-scope", Usage: "scope `NAME`", Category: CategoryAzure}, Set: SetString(&o.scope)},
		&ValueFlag{StringFlag: cli.StringFlag{Name: "max-concurrency", Usage: "`NUMBER` of blocks", Category: CategoryAzure}, Set: SetPositive(&o.concurrency)},
	}
}

// testFlags are the common options and fakeOptions', as a tool has them.
func testFlags() []cli.Flag { return append(commonFlags(), (&fakeOptions{}).flags()...) }

// fakeCommand is a tool command with fakeOptions that calls run.
func fakeCommand(run func(*Run, *fakeOptions) error) func() Command {
	return func() Command {
		o := &fakeOptions{}
		return Command{Flags: o.flags(), Exclusive: testExclusive[1:], Run: func(r *Run) error { return run(r, o) }}
	}
}

var testExclusive = [][]string{
	{"verbose", "quiet"},
	{"gzip", "bzip2", "xz"},
	{"tags", "tag"},
	{"history-tags", "history-tag"},
}

// start is how the canonical arguments mark a new occurrence of a nargs
// option.
func start(name string) string { return "--" + name + "=" + groupStart }

// The positionals of normalizeTests.
const nURL, nSrv, nWAL = "s3://b/p", "srv", "000000010000000000000001"

// normalizeTests are the normaliser's cases; their argv seed FuzzNormalize.
var normalizeTests = []struct {
	name    string
	argv    []string
	opts    []string // canonical options, before "--"
	pos     []string
	help    bool
	version bool
	err     string // the whole usage error message
}{
	// Spec §8.3, the rows about parsing.
	{name: "no wal path", argv: []string{nURL, nSrv}, pos: []string{nURL, nSrv}},
	{name: "wal path", argv: []string{nURL, nSrv, "/tmp/foo"}, pos: []string{nURL, nSrv, "/tmp/foo"}},
	{name: "test without wal path", argv: []string{"-t", nURL, nSrv}, opts: []string{"--test"}, pos: []string{nURL, nSrv}},
	{name: "exclusive compressions", argv: []string{"-z", "-j", nURL, nSrv, nWAL}, err: "argument -j/--bzip2: not allowed with argument -z/--gzip"},
	{name: "exclusive verbosity", argv: []string{"-v", "-q", nURL, nSrv, nWAL}, err: "argument -q/--quiet: not allowed with argument -v/--verbose"},
	{name: "exclusive verbosity, long", argv: []string{"--quiet", "--verb", nURL}, err: "argument -v/--verbose: not allowed with argument -q/--quiet"},
	{name: "counted -vvv", argv: []string{"-vvv", nURL, nSrv, nWAL}, opts: []string{"--verbose", "--verbose", "--verbose"}, pos: []string{nURL, nSrv, nWAL}},
	{name: "bundle -zvt", argv: []string{"-zvt", nURL, nSrv, nWAL}, opts: []string{"--gzip", "--verbose", "--test"}, pos: []string{nURL, nSrv, nWAL}},
	{name: "option between positionals", argv: []string{nURL, nSrv, "-z", nWAL}, opts: []string{"--gzip"}, pos: []string{nURL, nSrv, nWAL}},
	{name: "options everywhere", argv: []string{"-z", nURL, "-v", nSrv, nWAL, "-t"}, opts: []string{"--gzip", "--verbose", "--test"}, pos: []string{nURL, nSrv, nWAL}},
	{name: "tags swallow positionals", argv: []string{"--tags", "a,b", nURL, nSrv, nWAL},
		opts: []string{start("tags"), "--tags=a,b", "--tags=" + nURL, "--tags=" + nSrv, "--tags=" + nWAL}},
	{name: "tags ended by --", argv: []string{"--tags", "a,b", "--", nURL, nSrv, nWAL},
		opts: []string{start("tags"), "--tags=a,b"}, pos: []string{nURL, nSrv, nWAL}},
	{name: "tags last", argv: []string{nURL, nSrv, nWAL, "--tags", "a,b", `"c,d",e`, "f, g"},
		opts: []string{start("tags"), "--tags=a,b", `--tags="c,d",e`, "--tags=f, g"}, pos: []string{nURL, nSrv, nWAL}},
	{name: "tags: last occurrence wins", argv: []string{nURL, nSrv, nWAL, "--tags", "a,b", "--tags", "c,d"},
		opts: []string{start("tags"), "--tags=c,d"}, pos: []string{nURL, nSrv, nWAL}},
	{name: "tag with tags", argv: []string{nURL, nSrv, nWAL, "--tag", "a,b", "--tags", "c,d"}, err: "argument --tags: not allowed with argument --tag"},
	{name: "tags with tag", argv: []string{"--tags", "c,d", "--tag", "a,b"}, err: "argument --tag: not allowed with argument --tags"},
	{name: "history-tag and tag", argv: []string{nURL, nSrv, nWAL, "--history-tag", "a,b", "--tag", "c,d"},
		opts: []string{"--history-tag=a,b", "--tag=c,d"}, pos: []string{nURL, nSrv, nWAL}},
	{name: "level word", argv: []string{"--compression-level", "HIGH"}, opts: []string{"--compression-level=HIGH"}},
	{name: "level negative", argv: []string{"--compression-level", "-5"}, opts: []string{"--compression-level=-5"}},
	{name: "level --5", argv: []string{"--compression-level", "--5"}, err: "argument --compression-level: expected one argument"},
	{name: "level +5 (checked later)", argv: []string{"--compression-level", "+5"}, opts: []string{"--compression-level=+5"}},
	{name: "level empty", argv: []string{"--compression-level", ""}, opts: []string{"--compression-level="}},
	{name: "level =--5 (checked later)", argv: []string{"--compression-level=--5"}, opts: []string{"--compression-level=--5"}},
	{name: "max-concurrency 0 (checked later)", argv: []string{"--max-concurrency", "0"}, opts: []string{"--max-concurrency=0"}},
	{name: "choice (checked later)", argv: []string{"-e", "aes256"}, opts: []string{"--encryption=aes256"}},
	{name: "--default alias", argv: []string{"--default", "default"}, opts: []string{"--azure-credential=default"}},
	{name: "--credential alias", argv: []string{"--credential", "azure-cli"}, opts: []string{"--azure-credential=azure-cli"}},
	{name: "--profile", argv: []string{"--profile", "x"}, opts: []string{"--aws-profile=x"}},
	{name: "-Px", argv: []string{"-Px"}, opts: []string{"--aws-profile=x"}},
	{name: "-P=x", argv: []string{"-P=x"}, opts: []string{"--aws-profile=x"}},
	{name: "-P x", argv: []string{"-P", "x"}, opts: []string{"--aws-profile=x"}},
	{name: "--aws x", argv: []string{"--aws", "x"}, opts: []string{"--aws-profile=x"}},
	{name: "--aws-profile=x", argv: []string{"--aws-profile=x"}, opts: []string{"--aws-profile=x"}},
	{name: "-h is not an option", argv: []string{"-h"}, err: "unrecognized arguments: -h"},
	{name: "--ver ambiguous", argv: []string{"--ver"}, err: "ambiguous option: --ver could match --version, --verbose"},
	{name: "--vers", argv: []string{"--vers"}, version: true},

	// Abbreviations.
	{name: "--enc ambiguous", argv: []string{"--enc", "x"}, err: "ambiguous option: --enc could match --encryption, --encryption-scope"},
	{name: "--enc= ambiguous, as typed", argv: []string{"--enc=x"}, err: "ambiguous option: --enc=x could match --encryption, --encryption-scope"},
	{name: "--history ambiguous", argv: []string{"--history", "x"}, err: "ambiguous option: --history could match --history-tags, --history-tag"},
	{name: "--gz", argv: []string{"--gz"}, opts: []string{"--gzip"}},
	{name: "--comp 9", argv: []string{"--comp", "9"}, opts: []string{"--compression-level=9"}},
	{name: "--comp=9", argv: []string{"--comp=9"}, opts: []string{"--compression-level=9"}},
	{name: "--encryption exact beats --encryption-scope", argv: []string{"--encryption", "AES256"}, opts: []string{"--encryption=AES256"}},
	{name: "--tag exact beats --tags", argv: []string{"--tag", "a,b"}, opts: []string{"--tag=a,b"}},
	{name: "--history-tag exact", argv: []string{"--history-tag", "a,b"}, opts: []string{"--history-tag=a,b"}},
	{name: "--he is --help", argv: []string{"--he"}, help: true},
	{name: "--h ambiguous", argv: []string{"--h"}, err: "ambiguous option: --h could match --help, --history-tags, --history-tag"},

	// Values.
	{name: "missing value at end", argv: []string{"--aws-profile"}, err: "argument -P/--aws-profile/--profile: expected one argument"},
	{name: "option instead of value", argv: []string{"-P", "-z"}, err: "argument -P/--aws-profile/--profile: expected one argument"},
	{name: "-- instead of value", argv: []string{"-P", "--", "x"}, err: "argument -P/--aws-profile/--profile: expected one argument"},
	{name: "value with a space is not an option", argv: []string{"-P", "-x y"}, opts: []string{"--aws-profile=-x y"}},
	{name: "value =", argv: []string{"--tag=a,b=c"}, opts: []string{"--tag=a,b=c"}},
	{name: "bundle ending in a value option", argv: []string{"-zP", "prof", nURL}, opts: []string{"--gzip", "--aws-profile=prof"}, pos: []string{nURL}},
	{name: "bundle with attached value", argv: []string{"-zPprof"}, opts: []string{"--gzip", "--aws-profile=prof"}},
	{name: "-e=aws:kms", argv: []string{"-e=aws:kms"}, opts: []string{"--encryption=aws:kms"}},
	{name: "flag with =value", argv: []string{"--gzip=x"}, err: "argument -z/--gzip: ignored explicit argument 'x'"},
	{name: "flag bundled with unknown", argv: []string{"-zx"}, err: "argument -z/--gzip: ignored explicit argument 'x'"},
	{name: "tag repeated", argv: []string{"--tag", "a,b", "--tag", "c,d"}, opts: []string{"--tag=a,b", "--tag=c,d"}},

	// nargs.
	{name: "bare --tags", argv: []string{nURL, nSrv, "--tags"}, opts: []string{start("tags")}, pos: []string{nURL, nSrv}},
	{name: "--tags stops at an option", argv: []string{"--tags", "a,b", "-z", nURL}, opts: []string{"--gzip", start("tags"), "--tags=a,b"}, pos: []string{nURL}},
	{name: "--tags takes a negative number", argv: []string{"--tags", "-5", "a,b"}, opts: []string{start("tags"), "--tags=-5", "--tags=a,b"}},
	{name: "--tags=v takes one value", argv: []string{"--tags=a,b", "c,d"}, opts: []string{start("tags"), "--tags=a,b"}, pos: []string{"c,d"}},
	{name: "--tags then --history-tags", argv: []string{"--tags", "a,b", "--history-tags", "h,1"},
		opts: []string{start("tags"), "--tags=a,b", start("history-tags"), "--history-tags=h,1"}},

	// Positionals.
	{name: "-- ends options", argv: []string{"--", "-z", nURL}, pos: []string{"-z", nURL}},
	{name: "only the first -- counts", argv: []string{nURL, "--", "--", "x"}, pos: []string{nURL, "--", "x"}},
	{name: "negative number positional", argv: []string{nURL, "-5"}, pos: []string{nURL, "-5"}},
	{name: "dash positional", argv: []string{"-", nURL}, pos: []string{"-", nURL}},
	{name: "unknown options, all reported", argv: []string{"--bogus", nURL, "-x", "--bogus2=3"}, err: "unrecognized arguments: --bogus -x --bogus2=3"},

	// Help and version end parsing where they stand.
	{name: "-V", argv: []string{"-V"}, version: true},
	{name: "--version with junk after", argv: []string{"--version", "--bogus", "-z", "-j"}, version: true},
	{name: "unknown before -V", argv: []string{"--bogus", "-V"}, version: true},
	{name: "-V in a bundle", argv: []string{"-zV"}, version: true},
	{name: "--help", argv: []string{nURL, "--help", "--bogus"}, help: true},
	{name: "conflict before --help", argv: []string{"-v", "-q", "--help"}, err: "argument -q/--quiet: not allowed with argument -v/--verbose"},
}

func TestNormalize(t *testing.T) {
	for _, tt := range normalizeTests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := normalize(newSpecTable(testFlags()), tt.argv, testExclusive)
			if tt.err != "" {
				var ue *usageError
				if !errors.As(err, &ue) || ue.msg != tt.err {
					t.Fatalf("error = %v, want usage error %q", err, tt.err)
				}
				if StatusOf(err) != exitcode.Usage {
					t.Errorf("exit status %d, want %d", StatusOf(err), exitcode.Usage)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if n.help != tt.help || n.version != tt.version {
				t.Fatalf("help=%v version=%v, want %v %v", n.help, n.version, tt.help, tt.version)
			}
			if tt.help || tt.version {
				return
			}
			want := append(append(append([]string{}, tt.opts...), "--"), tt.pos...)
			if !slices.Equal(n.args, want) {
				t.Errorf("args\n got %q\nwant %q", n.args, want)
			}
			if !slices.Equal(n.positionals, tt.pos) {
				t.Errorf("positionals %q, want %q", n.positionals, tt.pos)
			}
		})
	}
}

func TestIsOption(t *testing.T) {
	specs := newSpecTable(testFlags())
	for a, want := range map[string]bool{
		"-z": true, "--gzip": true, "--gz": true, "--bogus": true, "-x": true, "--": true,
		"-": false, "x": false, "": false, "-5": false, "-1.5": false, "-.5": false,
		"--5": true, "-5x": true,
		"-x y": false, "--bogus y": false, "--aws-profile=a b": true, "-Pa b": true, "--aws a": false,
	} {
		if got := specs.isOption(a); got != want {
			t.Errorf("isOption(%q) = %v, want %v", a, got, want)
		}
	}
}

// recorder is a tool that keeps what it was given, to check that the
// canonical arguments reach the tool as argparse would have parsed them.
func recorder(got *map[string]any) *Tool {
	return &Tool{
		Name: "fake", Usage: "record",
		Args: []Arg{{Name: "url"}, {Name: "x", Optional: true}, {Name: "y", Optional: true}},
		Command: fakeCommand(func(r *Run, o *fakeOptions) error {
			*got = map[string]any{
				"args": r.Args, "verbosity": r.Common.Verbosity, "test": r.Common.Test,
				"profile": r.Common.AWSProfile, "gzip": o.gzip,
				"tags": o.tags, "tags set": o.tagsSet, "tag": o.tag,
				"level": o.level, "credential": r.Common.AzureCredential,
				"read timeout": r.Common.ReadTimeout, "max time": r.Common.MaxTime,
			}
			return nil
		}),
	}
}

func TestParsedValues(t *testing.T) {
	tests := []struct {
		argv []string
		want map[string]any // the recorded values to check
	}{
		{[]string{"-vvv", "u"}, map[string]any{"verbosity": 3, "args": []string{"u", "", ""}}},
		{[]string{"-qq", "u"}, map[string]any{"verbosity": -2}},
		{[]string{"u"}, map[string]any{"verbosity": 0, "test": false, "gzip": false, "tags set": false}},
		{[]string{"-zvt", "u", "x", "y"}, map[string]any{"gzip": true, "verbosity": 1, "test": true, "args": []string{"u", "x", "y"}}},
		{[]string{"u", "--tags", "a,b", `"c,d",e`, "f, g"}, map[string]any{"tags": []string{"a,b", `"c,d",e`, "f, g"}}},
		{[]string{"u", "--tags", "a,b", "--tags", "c,d"}, map[string]any{"tags": []string{"c,d"}}},
		{[]string{"u", "--tags"}, map[string]any{"tags": []string(nil), "tags set": true}},
		{[]string{"u", "--tag", "a,b", "--tag", "c,d"}, map[string]any{"tag": []string{"a,b", "c,d"}}},
		{[]string{"u", "--tag", "a,b"}, map[string]any{"tags set": false}},
		{[]string{"u"}, map[string]any{"read timeout": time.Duration(0), "max time": time.Duration(0)}},
		{[]string{"--max-t", "90", "--read-t", " +5", "u"}, map[string]any{"read timeout": 5 * time.Second, "max time": 90 * time.Second}},
		{[]string{"--comp", "-5", "u"}, map[string]any{"level": "-5"}},
		{[]string{"--profile", "a", "-Pb", "u"}, map[string]any{"profile": "b"}},
		{[]string{"--default", "default", "u"}, map[string]any{"credential": "default"}},
		{[]string{"--", "-z", "u"}, map[string]any{"gzip": false, "args": []string{"-z", "u", ""}}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.argv, " "), func(t *testing.T) {
			var got map[string]any
			var out, errOut strings.Builder
			code := Execute(t.Context(), Env{Args: append([]string{"barman-cloud-fake"}, tt.argv...), Stdout: &out, Stderr: &errOut,
				LookupEnv: func(string) (string, bool) { return "", false }}, recorder(&got))
			if code != 0 {
				t.Fatalf("exit status %d: %s", code, errOut.String())
			}
			for k, want := range tt.want {
				if !equalValue(got[k], want) {
					t.Errorf("%s = %#v, want %#v", k, got[k], want)
				}
			}
		})
	}
}

func equalValue(a, b any) bool {
	if as, ok := a.([]string); ok {
		bs, ok := b.([]string)
		return ok && slices.Equal(as, bs) && (as == nil) == (bs == nil)
	}
	return a == b
}

// TestValueErrors checks the errors found after normalising: choices and
// the common options' values, worded as argparse words them.
func TestValueErrors(t *testing.T) {
	tests := []struct {
		argv []string
		want string
	}{
		{[]string{"-e", "aes256", "u"}, "argument -e/--encryption: invalid choice: 'aes256' (choose from 'AES256', 'aws:kms')"},
		{[]string{"--cloud-provider", "azure", "u"}, "argument --cloud-provider: invalid choice: 'azure' (choose from 'aws-s3', 'azure-blob-storage', 'google-cloud-storage')"},
		{[]string{"--credential", "x", "u"}, "argument --azure-credential/--credential/--default: invalid choice: 'x' (choose from 'azure-cli', 'managed-identity', 'default')"},
		{[]string{"--read-timeout", "abc", "u"}, "argument --read-timeout: invalid int value: 'abc'"},
		{[]string{"--read-timeout", "0", "u"}, "argument --read-timeout: '0' is not a valid positive integer"},
		{[]string{"--read-timeout", "-3", "u"}, "argument --read-timeout: '-3' is not a valid positive integer"},
		{[]string{"--max-time", "1.5", "u"}, "argument --max-time: invalid int value: '1.5'"},
		{[]string{"--max-time", "0", "u"}, "argument --max-time: '0' is not a valid positive integer"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.argv, " "), func(t *testing.T) {
			var got map[string]any
			var out, errOut strings.Builder
			code := Execute(t.Context(), Env{Args: append([]string{"barman-cloud-fake"}, tt.argv...), Stdout: &out, Stderr: &errOut,
				LookupEnv: func(string) (string, bool) { return "", false }}, recorder(&got))
			want := "barman-cloud-fake: error: " + tt.want + "\n"
			if code != exitcode.Usage || errOut.String() != want || out.Len() != 0 || got != nil {
				t.Errorf("exit %d, stdout %q, stderr %q, ran %v; want exit 3 and stderr %q", code, out.String(), errOut.String(), got != nil, want)
			}
		})
	}
}
