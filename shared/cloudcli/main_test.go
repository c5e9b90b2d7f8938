package cloudcli

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/barmancloud/barman-cloud/shared/exitcode"
	"github.com/barmancloud/barman-cloud/shared/storage"
)

func TestReport(t *testing.T) {
	logLine := `^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \[\d+\] ERROR: `
	tests := []struct {
		name   string
		err    error
		code   int
		stderr string // a regexp for the whole of stderr
	}{
		{"nil", nil, 0, `^$`},
		{"usage", UsageError("bad %s", "thing"), 3, `^prog: error: bad thing\n$`},
		{"usage on several lines", UsageError("Error parsing tag a,b\nc,d: x"), 3, `^prog: error: Error parsing tag a,b c,d: x\n$`},
		{"wrapped usage", fmt.Errorf("context: %w", UsageError("inner")), 3, `^prog: error: inner\n$`},
		{"plain error", errors.New("boom"), 4, logLine + `boom\n$`},
		{"failure", exitcode.Failuref("missing"), 1, logLine + `missing\n$`},
		{"network", exitcode.Networkf("refused"), 2, logLine + `refused\n$`},
		{"multi-line SDK error", errors.New("request failed\n  status 500\r\n  body: x"), 4, logLine + `request failed status 500 body: x\n$`},
		{"already reported", exitcode.Reported(exitcode.Usage, errors.New("said")), 3, `^$`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut strings.Builder
			code := report(Env{Stdout: &out, Stderr: &errOut}, "prog", nil, tt.err)
			if code != tt.code {
				t.Errorf("exit status %d, want %d", code, tt.code)
			}
			if !regexp.MustCompile(tt.stderr).MatchString(errOut.String()) {
				t.Errorf("stderr %q does not match %q", errOut.String(), tt.stderr)
			}
			if out.Len() != 0 {
				t.Errorf("stdout %q, want nothing", out.String())
			}
		})
	}
}

func TestReportUsesToolLogger(t *testing.T) {
	// A tool's errors go through the run's logger, at its verbosity: -qq
	// silences even errors, as in Barman.
	var errOut strings.Builder
	log := NewLogger(&errOut, -2)
	if code := report(Env{Stderr: &errOut}, "prog", &log, errors.New("boom")); code != 4 || errOut.Len() != 0 {
		t.Errorf("exit %d, stderr %q; want 4 and nothing", code, errOut.String())
	}
}

func TestComplete(t *testing.T) {
	tests := []struct {
		args []string // words before --generate-bash-completion
		want []string
	}{
		{[]string{"--gz"}, []string{"--gzip"}},
		{[]string{"--enc"}, []string{"--encryption", "--encryption-scope"}},
		{[]string{"--history-tag"}, []string{"--history-tags", "--history-tag"}},
		{[]string{"s3://b/p", "--ver"}, []string{"--version", "--verbose"}},
		{[]string{"--cloud-provider"}, []string{"aws-s3", "azure-blob-storage", "google-cloud-storage"}},
		{[]string{"-z", "--default"}, []string{"azure-cli", "managed-identity", "default"}},
		{[]string{"-e"}, []string{"AES256", "aws:kms"}},
		{[]string{"--encryption"}, []string{"AES256", "aws:kms"}},
		{[]string{"--bogus"}, nil},
		{[]string{"-P"}, nil},
		{[]string{"s3://b/p"}, nil},
		{nil, nil},
	}
	specs := newSpecTable(testFlags())
	for _, tt := range tests {
		var b strings.Builder
		complete(&b, specs, tt.args)
		got := strings.Fields(b.String())
		if strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("complete(%q) = %q, want %q", tt.args, got, tt.want)
		}
	}
}

func TestExecuteCompletion(t *testing.T) {
	tool := &Tool{Name: "fake", Command: fakeCommand(func(*Run, *fakeOptions) error { return errors.New("ran") })}
	tests := []struct {
		argv []string
		want string
	}{
		{[]string{"barman-cloud-fake", "--gz", completionFlag}, "--gzip\n"},
		{[]string{"barman-cloud", "fake", "-e", completionFlag}, "AES256\naws:kms\n"},
		{[]string{"barman-cloud", completionFlag}, "fake\n"},
		{[]string{"barman-cloud", "-", completionFlag}, "fake\n"},
	}
	for _, tt := range tests {
		var out, errOut strings.Builder
		code := Execute(t.Context(), Env{Args: tt.argv, Stdout: &out, Stderr: &errOut}, tool)
		if code != 0 || out.String() != tt.want || errOut.Len() != 0 {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 0 and %q", tt.argv, code, out.String(), errOut.String(), tt.want)
		}
	}
}

func TestExecuteDispatch(t *testing.T) {
	var ran []string
	tool := func(name string) *Tool {
		return simpleTool(name, []Arg{{Name: "x", Optional: true}}, func(r *Run) error { ran = append(ran, r.Prog+" "+strings.Join(r.Args, " ")); return nil })
	}
	tools := []*Tool{tool("one"), tool("two")}
	tests := []struct {
		argv   []string
		code   int
		stdout string
		stderr string
		ran    string
	}{
		{argv: []string{"/usr/bin/barman-cloud-two", "a"}, ran: "barman-cloud-two a"},
		{argv: []string{"barman-cloud", "one", "b"}, ran: "barman-cloud-one b"},
		{argv: []string{"./barman-cloud", "two", "-V"}, stdout: "barman-cloud-two 1.2.3\n"},
		{argv: []string{"barman-cloud-one", "--version"}, stdout: "barman-cloud-one 1.2.3\n"},
		{argv: []string{"barman-cloud", "-V"}, stdout: "barman-cloud 1.2.3\n"},
		{argv: []string{"barman-cloud"}, code: 3, stderr: "barman-cloud: error: a tool name is required (choose from 'one', 'two'); see --help\n"},
		{argv: []string{"barman-cloud", "three"}, code: 3, stderr: "barman-cloud: error: unknown tool 'three' (choose from 'one', 'two')\n"},
		{argv: []string{"barman-cloud", "-h"}, code: 3, stderr: "barman-cloud: error: unrecognized arguments: -h\n"},
		{argv: []string{"barman-cloud-one", "-h"}, code: 3, stderr: "barman-cloud-one: error: unrecognized arguments: -h\n"},
		{argv: []string{"other-name", "one"}, ran: "barman-cloud-one "},
	}
	for _, tt := range tests {
		ran = nil
		var out, errOut strings.Builder
		code := Execute(t.Context(), Env{Args: tt.argv, Stdout: &out, Stderr: &errOut, Version: "1.2.3",
			LookupEnv: func(string) (string, bool) { return "", false }}, tools...)
		if code != tt.code || out.String() != tt.stdout || errOut.String() != tt.stderr || strings.Join(ran, "|") != tt.ran {
			t.Errorf("%q: exit %d, stdout %q, stderr %q, ran %q; want %d, %q, %q, %q",
				tt.argv, code, out.String(), errOut.String(), ran, tt.code, tt.stdout, tt.stderr, tt.ran)
		}
	}
}

// TestExecutePanic: a panic in a tool is one ERROR line and exit 4, not
// Go's stack trace and exit 2 ("storage unreachable").
func TestExecutePanic(t *testing.T) {
	tool := simpleTool("boom", []Arg{{Name: "x"}}, func(r *Run) error { var m map[string]int; m["x"]++; return nil })
	var out, errOut strings.Builder
	code := Execute(t.Context(), Env{Args: []string{"barman-cloud-boom", "a"}, Stdout: &out, Stderr: &errOut,
		LookupEnv: func(string) (string, bool) { return "", false }}, tool)
	lines := strings.Split(strings.TrimSuffix(errOut.String(), "\n"), "\n")
	if code != exitcode.General || out.Len() != 0 || len(lines) != 1 ||
		!strings.Contains(lines[0], "ERROR: internal error, please report it as a bug: assignment to entry in nil map") {
		t.Errorf("exit %d, stdout %q, stderr %q; want 4 and one ERROR line", code, out.String(), errOut.String())
	}
}

// simpleTool is a tool without options of its own.
func simpleTool(name string, args []Arg, run func(*Run) error) *Tool {
	return &Tool{Name: name, Usage: name + " things", Args: args,
		Command: func() Command { return Command{Run: run} }}
}

// TestReportStorageError: a storage error is one ERROR line in the
// operator's words, with the exit status of its kind; -v adds the
// provider's own error on an INFO line.
func TestReportStorageError(t *testing.T) {
	sdk := errors.New("operation error S3: ListObjectsV2, https response error StatusCode: 403, RequestID: 18, HostID: dd, api error SignatureDoesNotMatch: The request signature we calculated does not match")
	for _, tc := range []struct {
		err  error
		code int
	}{
		{&storage.Error{Kind: storage.Denied, Msg: "the storage rejected the credentials (SignatureDoesNotMatch)", Err: sdk}, exitcode.General},
		{&storage.Error{Kind: storage.Unreachable, Msg: "cannot reach the storage: connection refused", Err: sdk}, exitcode.Network},
		{&storage.Error{Kind: storage.BucketMissing, Msg: "Bucket b does not exist", Err: sdk}, exitcode.Failure},
	} {
		for _, verbose := range []bool{false, true} {
			tool := simpleTool("lister", nil, func(r *Run) error { return fmt.Errorf("listing pfx/srv/wals/: %w", tc.err) })
			args := []string{"barman-cloud-lister"}
			if verbose {
				args = append(args, "-v")
			}
			var out, errOut strings.Builder
			code := Execute(t.Context(), Env{Args: args, Stdout: &out, Stderr: &errOut,
				LookupEnv: func(string) (string, bool) { return "", false }}, tool)
			lines := strings.Split(strings.TrimSuffix(errOut.String(), "\n"), "\n")
			wantLines := 1
			if verbose {
				wantLines = 2
			}
			if code != tc.code || len(lines) != wantLines || !strings.HasSuffix(lines[0], "ERROR: listing pfx/srv/wals/: "+tc.err.Error()) {
				t.Errorf("%v (verbose %v): exit %d, stderr %q", tc.err, verbose, code, errOut.String())
			}
			if verbose && !strings.HasSuffix(lines[1], "INFO: the storage's error: "+sdk.Error()) {
				t.Errorf("-v: second line %q", lines[1])
			}
		}
	}
}
