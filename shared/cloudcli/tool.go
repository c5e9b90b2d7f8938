package cloudcli

import (
	"context"
	"io"
	"strings"

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
	// Args are the positional arguments, in order. The usage line, the
	// "required"/"unrecognized" errors and the man page's synopsis are
	// derived from them.
	Args []Arg
	// Description is the long help text (paragraphs separated by blank
	// lines), shown by --help and in the man page.
	Description string
	// Command returns the tool's own options, bound to a fresh value that
	// they fill as the command line is parsed, and the function that runs
	// with that value. It is called afresh for every run (urfave flags
	// keep state, and tests run tools many times in one process); the
	// common options are added by cloudcli.
	Command func() Command
	// ExitStatus documents what each exit status means for this tool.
	ExitStatus []ExitStatus
	// Environment documents environment variables the tool reads beyond
	// the providers' credentials.
	Environment []EnvVar
	// Examples are shell lines with a comment each, for help and man pages.
	Examples []Example
}

// Arg is a positional argument.
type Arg struct {
	// Name is argparse's name for it, used in its messages
	// ("destination_url"); usage lines show it in capitals.
	Name string
	// Optional arguments may be left out; they come last.
	Optional bool
}

// Metavar is how usage lines show the argument: "DESTINATION_URL".
func (a Arg) Metavar() string { return strings.ToUpper(a.Name) }

// Command is a tool's options and what runs with them.
type Command struct {
	// Flags are the tool's own options. An option whose value must be
	// checked (a size, a choice, a number) is a *ValueFlag, whose Set
	// stores the converted value as the command line is parsed.
	Flags []cli.Flag
	// Exclusive lists argparse mutually exclusive groups by option name.
	Exclusive [][]string
	// Run does the work, once every option is parsed and the positional
	// arguments are counted.
	Run func(*Run) error
}

// Add appends a group of options (and its exclusive sets) to c.
func (c *Command) Add(g Group) {
	c.Flags = append(c.Flags, g.Flags...)
	c.Exclusive = append(c.Exclusive, g.Exclusive...)
}

// Group is a set of related options shared by several tools (tags,
// encryption, PostgreSQL connection), with the mutually exclusive sets
// among them.
type Group struct {
	Flags     []cli.Flag
	Exclusive [][]string
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

// ArgsUsage is the positional part of the usage line:
// "DESTINATION_URL SERVER_NAME [WAL_PATH]".
func (t *Tool) ArgsUsage() string {
	s := make([]string, len(t.Args))
	for i, a := range t.Args {
		s[i] = a.Metavar()
		if a.Optional {
			s[i] = "[" + s[i] + "]"
		}
	}
	return strings.Join(s, " ")
}

// Flags are every option of the tool, the common ones first, as --help,
// the parser and the documentation see them.
func (t *Tool) Flags() []cli.Flag {
	return append(commonFlags(), t.Command().Flags...)
}

// Run is one invocation of a tool: parsed arguments and everything the tool
// may touch of the outside world, so tests can run tools in-process.
type Run struct {
	Ctx  context.Context
	Prog string // program name for messages, e.g. "barman-cloud-wal-archive"
	// Args are the positional arguments, one per Tool.Args entry: an
	// optional one that was not given is "".
	Args   []string
	Common Common // the options every tool has
	Log    zerolog.Logger
	Stdout io.Writer
	Stderr io.Writer
	// LookupEnv reads the environment (os.LookupEnv in production).
	LookupEnv func(string) (string, bool)
}

// Getenv returns the value of an environment variable, "" when unset.
func (r *Run) Getenv(name string) string {
	v, _ := r.LookupEnv(name)
	return v
}

// checkArgs is argparse's count of positional arguments, done after every
// option was converted (argparse converts option values as it meets them
// and checks the positionals last: "--tags a,b URL SRV WAL" fails on the
// tag "URL").
func checkArgs(args []Arg, given []string) ([]string, error) {
	var missing []string
	for i, a := range args {
		if i >= len(given) && !a.Optional {
			missing = append(missing, a.Name)
		}
	}
	switch {
	case len(missing) > 0:
		return nil, usageErrorf("the following arguments are required: %s", strings.Join(missing, ", "))
	case len(given) > len(args):
		return nil, usageErrorf("unrecognized arguments: %s", strings.Join(given[len(args):], " "))
	}
	out := make([]string, len(args))
	copy(out, given)
	return out, nil
}
