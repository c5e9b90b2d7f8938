package cloudcli

import (
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

func helpTool() *Tool {
	return &Tool{
		Name:        "fake",
		Usage:       "do fake things",
		Args:        []Arg{{Name: "url"}, {Name: "server"}, {Name: "file", Optional: true}, {Name: "more", Optional: true}},
		Description: "First paragraph, long enough to need wrapping at eighty columns because it goes on and on about nothing in particular.\n\nSecond paragraph with a long word https://example.com/a/very/long/path/that/cannot/be/broken/anywhere/at/all/really in it.",
		Command: func() Command {
			return Command{Flags: append((&fakeOptions{}).flags(),
				&cli.StringFlag{Name: "hidden", Hidden: true, Usage: "not shown"},
				&cli.StringFlag{Name: "kms-key-name", Usage: "the key `NAME`", Category: CategoryGCS})}
		},
		ExitStatus: []ExitStatus{{0, "fine"}, {3, "a bad command line, with a meaning long enough to be wrapped onto a second line of the help"}},
	}
}

func TestWriteHelp(t *testing.T) {
	var b strings.Builder
	if err := WriteHelp(&b, helpTool(), "barman-cloud fake"); err != nil {
		t.Fatal(err)
	}
	help := b.String()
	lines := strings.Split(help, "\n")

	if want := "usage: barman-cloud fake [OPTIONS] URL SERVER [FILE] [MORE]"; lines[0] != want {
		t.Errorf("first line %q, want %q", lines[0], want)
	}
	for _, want := range []string{
		"\ndo fake things\n\nFirst paragraph, long enough",
		"\n\nSecond paragraph with a long word\nhttps://example.com/a/very/long/path/that/cannot/be/broken/anywhere/at/all/really\nin it.\n",
		"\npositional arguments:\n  URL\n  SERVER\n  FILE\n  MORE\n",
		"\noptions:\n  -V, --version         show program's version number and exit\n  --help                show this help message and exit\n  -v, --verbose ",
		"\n  -z, --gzip            gzip it\n",
		"\n  --cloud-provider {aws-s3,azure-blob-storage,google-cloud-storage}\n                        the cloud provider to which the backup should be\n                        uploaded (default: aws-s3)\n",
		"\n  --compression-level LEVEL\n                        the LEVEL\n",
		"\n  --tags [KEY,VALUE ...]\n                        tags as KEY,VALUE ...\n",
		"\n  --tag KEY,VALUE       a tag as KEY,VALUE\n",
		"\n  -P, --aws-profile, --profile AWS_PROFILE\n",
		"\n  --endpoint-url ENDPOINT_URL\n",
		"\n  -e, --encryption {AES256,aws:kms}\n                        encryption\n",
		"\n  --azure-credential, --credential, --default {azure-cli,managed-identity,default}\n                        optionally specify the type of credential to use when\n                        authenticating with Azure; if omitted",
		"\nexit status:\n  0  fine\n  3  a bad command line, with a meaning long enough to be wrapped onto a second\n     line of the help\n",
	} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q:\n%s", want, help)
		}
	}
	if strings.Contains(help, "hidden") || strings.Contains(help, "default: false") || strings.Contains(help, "`") {
		t.Errorf("help shows a hidden option, a bool default or a backquote:\n%s", help)
	}

	// Groups: the general one first, then categories as first declared.
	var titles []string
	for _, l := range lines {
		if strings.HasSuffix(l, ":") && !strings.HasPrefix(l, " ") {
			titles = append(titles, l)
		}
	}
	wantTitles := []string{"positional arguments:", "options:", CategoryS3 + ":", CategoryAzure + ":", CategoryGCS + ":", "exit status:"}
	if !slices.Equal(titles, wantTitles) {
		t.Errorf("sections %q, want %q", titles, wantTitles)
	}

	// Every option of the tool is there, in declaration order.
	last := -1
	for _, f := range helpTool().Flags() {
		if f.Names()[0] == "hidden" {
			continue
		}
		o := DescribeFlag(f)
		i := strings.Index(help, "  "+o.invocation())
		if i < 0 {
			t.Errorf("help lacks %q", o.invocation())
		}
		if o.Category == "" && i < last {
			t.Errorf("%q is out of declaration order", o.invocation())
		}
		if o.Category == "" {
			last = i
		}
	}

	for _, l := range lines {
		if len(l) > helpWidth && !strings.HasPrefix(l, "  -") && strings.Contains(l, " ") {
			t.Errorf("line longer than %d columns: %q", helpWidth, l)
		}
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		flag       cli.Flag
		invocation string
		choices    []string
		text       string
	}{
		{&cli.BoolFlag{Name: "gzip", Aliases: []string{"z"}, Usage: "gzip it"}, "-z, --gzip", nil, "gzip it"},
		{&cli.StringFlag{Name: "aws-profile", Aliases: []string{"P", "profile"}, Usage: "a profile"}, "-P, --aws-profile, --profile AWS_PROFILE", nil, "a profile"},
		{&cli.StringFlag{Name: "read-timeout", Usage: "the time in `SECONDS` until"}, "--read-timeout SECONDS", nil, "the time in SECONDS until"},
		{&ValueFlag{StringFlag: cli.StringFlag{Name: "e", Aliases: []string{"encryption"}, Usage: "how; more"}, Choices: []string{"A", "b:c"}}, "-e, --encryption {A,b:c}", []string{"A", "b:c"}, "how; more"},
		{&ValueFlag{StringFlag: cli.StringFlag{Name: "mode", Usage: "mode", DefaultText: "x"}, Choices: []string{"x", "y"}}, "--mode {x,y}", []string{"x", "y"}, "mode (default: x)"},
		{NewNargsFlag("tags", "tags `K,V ...`", "", nil, nil), "--tags [K,V ...]", nil, "tags K,V ..."},
		{NewListFlag("tag", "a tag", "", nil), "--tag TAG", nil, "a tag"},
		{&cli.StringFlag{Name: "odd", Usage: "one `backquote"}, "--odd ODD", nil, "one `backquote"},
	}
	for _, tt := range tests {
		o := DescribeFlag(tt.flag)
		if o.invocation() != tt.invocation || !slices.Equal(o.Choices, tt.choices) || o.Text != tt.text {
			t.Errorf("%v: got %q %q %q, want %q %q %q", tt.flag.Names(), o.invocation(), o.Choices, o.Text, tt.invocation, tt.choices, tt.text)
		}
	}
}

func TestWriteMultiHelp(t *testing.T) {
	var b strings.Builder
	tools := []*Tool{helpTool(), {Name: "other-tool", Usage: "other things"}}
	if err := writeMultiHelp(&b, tools); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"usage: barman-cloud TOOL [OPTIONS] ARGS...\n       barman-cloud-TOOL [OPTIONS] ARGS...\n",
		"\ntools:\n  fake           do fake things\n  other-tool     other things\n",
		"\noptions:\n  -V, --version  show program's version number and exit\n  --help         show this help message and exit\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, b.String())
		}
	}
}

func TestWrap(t *testing.T) {
	tests := []struct {
		text   string
		width  int
		indent int
		want   string
	}{
		{"a b c", 3, 0, "a b\nc"},
		{"a  b\n c", 80, 0, "a b c"},
		{"aaaa b", 3, 0, "aaaa\nb"},
		{"usage: x y z", 9, 7, "usage: x\n       y\n       z"},
		{"", 10, 0, ""},
	}
	for _, tt := range tests {
		if got := wrapIndent(tt.text, tt.width, tt.indent); got != tt.want {
			t.Errorf("wrapIndent(%q, %d, %d) = %q, want %q", tt.text, tt.width, tt.indent, got, tt.want)
		}
	}
}
