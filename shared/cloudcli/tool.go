package cloudcli

import (
	"context"
	"io"

	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"
)

// Tool declares one barman-cloud tool.
type Tool struct {
	// Name is the subcommand name, e.g. "wal-archive"; the program name is
	// "barman-cloud-" + Name.
	Name string
	// Usage is a one-line summary.
	Usage string
	// ArgsUsage names the positional arguments, e.g.
	// "DESTINATION_URL SERVER_NAME [WAL_PATH]".
	ArgsUsage string
	// Description is the long help text (paragraphs separated by blank
	// lines), shown by --help and in the man page.
	Description string
	// Flags returns the tool's own options; the common ones are added by
	// cloudcli. It is called afresh for every run because urfave flags keep
	// state. --help is rendered from them (help.go): the first `word` in
	// backquotes in Usage names the value, and a placeholder written
	// `{a,b,c}` declares the only values the option accepts (checked for
	// every tool, and offered by shell completion). Category puts an
	// option in one of Barman's provider groups.
	Flags func() []cli.Flag
	// Exclusive lists argparse mutually exclusive groups by flag name.
	Exclusive [][]string
	// ExitStatus documents what each exit status means for this tool.
	ExitStatus []ExitStatus
	// Environment documents environment variables the tool reads beyond
	// the providers' credentials.
	Environment []EnvVar
	// Examples are shell lines with a comment each, for help and man pages.
	Examples []Example
	// Run does the work, once arguments have been parsed.
	Run func(*Run) error
}

// ExitStatus is one documented exit status.
type ExitStatus struct {
	Code    int
	Meaning string
}

// EnvVar is one documented environment variable.
type EnvVar struct {
	Name, Meaning string
}

// Example is a documented command line.
type Example struct {
	Comment, Command string
}

// Prog is the tool's program name.
func (t *Tool) Prog() string { return "barman-cloud-" + t.Name }

// Run is one invocation of a tool: parsed arguments and everything the tool
// may touch of the outside world, so tests can run tools in-process.
type Run struct {
	Ctx    context.Context
	Prog   string   // program name for messages, e.g. "barman-cloud-wal-archive"
	Args   []string // positional arguments
	Common Common   // the options every tool has
	Log    zerolog.Logger
	Stdout io.Writer
	Stderr io.Writer
	// LookupEnv reads the environment (os.LookupEnv in production).
	LookupEnv func(string) (string, bool)

	c     *cli.Context
	specs *specTable
}

// Getenv returns the value of an environment variable, "" when unset.
func (r *Run) Getenv(name string) string {
	v, _ := r.LookupEnv(name)
	return v
}

// String is the value of a tool's string option ("" when not given).
func (r *Run) String(name string) string { return r.c.String(name) }

// Bool is the value of a tool's flag option.
func (r *Run) Bool(name string) bool { return r.c.Bool(name) }

// IsSet reports whether a tool's option was given.
func (r *Run) IsSet(name string) bool { return r.c.IsSet(name) }

// Strings is the values of a repeatable option (see List), in order.
func (r *Run) Strings(name string) []string {
	if l, ok := r.c.Generic(name).(*List); ok && l != nil {
		return l.Values
	}
	return nil
}

// ArgError is a usage error about an option's value, worded as argparse
// words it: "argument -P/--aws-profile: <err>".
func (r *Run) ArgError(name string, err error) error {
	return usageErrorf("argument %s: %v", r.specs.display(name), err)
}
