package cloudcli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	azlog "github.com/Azure/azure-sdk-for-go/sdk/azcore/log"
	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/barmancloud/barman-cloud/shared/exitcode"
	"github.com/barmancloud/barman-cloud/shared/retry"
	"github.com/barmancloud/barman-cloud/shared/secret"
	"github.com/barmancloud/barman-cloud/shared/storage"
)

// MultiCall is the name of the multi-call binary.
const MultiCall = "barman-cloud"

// completionFlag is what shell completion scripts append to the words
// typed so far (urfave/cli's protocol).
const completionFlag = "--generate-bash-completion"

// Env is the outside world of one run.
type Env struct {
	Args      []string // argv, program name first
	Stdout    io.Writer
	Stderr    io.Writer
	LookupEnv func(string) (string, bool)
	Version   string
}

// Main runs the tool that os.Args names and returns the exit status.
// SIGINT and SIGTERM cancel the running operation.
func Main(version string, tools ...*Tool) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Execute(ctx, Env{Args: os.Args, Stdout: os.Stdout, Stderr: os.Stderr, LookupEnv: os.LookupEnv, Version: version}, tools...)
}

// Execute dispatches as gobusybox does: on the base name of argv[0]
// ("barman-cloud-wal-archive"), then on argv[1] ("barman-cloud wal-archive").
//
// Everything the tool prints passes through a secret.Redactor that knows
// the credentials in the environment and in URLs on the command line.
func Execute(ctx context.Context, env Env, tools ...*Tool) int {
	env = redacted(env)
	prog := filepath.Base(env.Args[0])
	for _, t := range tools {
		if prog == t.Prog() {
			return runTool(ctx, env, t, t.Prog(), env.Args[1:])
		}
	}
	if len(env.Args) > 1 {
		for _, t := range tools {
			if env.Args[1] == t.Name {
				return runTool(ctx, env, t, MultiCall+" "+t.Name, env.Args[2:])
			}
		}
	}
	return runMulti(env, tools)
}

// redacted returns env with its output masked by a Redactor for env's
// secrets. Loggers write whole lines, which the Redactor needs.
func redacted(env Env) Env {
	lookup := env.LookupEnv
	if lookup == nil {
		lookup = func(string) (string, bool) { return "", false }
	}
	r := secret.FromEnv(lookup)
	r.AddURLCredentials(env.Args...)
	env.Stdout, env.Stderr = r.Writer(env.Stdout), r.Writer(env.Stderr)
	if v, _ := lookup("AZURE_SDK_GO_LOGGING"); v == "all" {
		// azcore's own listener writes to os.Stderr, past the Redactor,
		// and its messages quote transport errors whole, SAS signature
		// included: keep its format, but write through ours.
		stderr := env.Stderr
		azlog.SetListener(func(ev azlog.Event, msg string) {
			fmt.Fprintf(stderr, "[%s] %s: %s\n", time.Now().Format(time.StampMicro), ev, msg)
		})
	}
	return env
}

// App is the urfave/cli application of a tool, for help, documentation and
// completion generators. helpName is how the usage line names the program.
func (t *Tool) App(helpName string) *cli.App { return t.app(helpName, t.Flags()) }

func (t *Tool) app(helpName string, flags []cli.Flag) *cli.App {
	return &cli.App{
		Name:           t.Prog(),
		HelpName:       helpName,
		Usage:          t.Usage,
		ArgsUsage:      t.ArgsUsage(),
		UsageText:      helpName + " [OPTIONS] " + t.ArgsUsage(),
		Description:    t.Description,
		Flags:          flags,
		HideHelp:       true, // ours has no -h, as Barman's
		HideVersion:    true, // ours is -V, not -v
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usageErrorf("%v", err)
		},
	}
}

func runTool(ctx context.Context, env Env, t *Tool, helpName string, args []string) int {
	var common Common
	cmd := t.Command()
	flags := append(common.flags(), cmd.Flags...)
	app := t.app(helpName, flags)
	app.Writer, app.ErrWriter = env.Stdout, env.Stderr
	specs := newSpecTable(flags)
	if len(args) > 0 && args[len(args)-1] == completionFlag {
		complete(env.Stdout, specs, args[:len(args)-1])
		return exitcode.OK
	}
	exclusive := append([][]string{{"verbose", "quiet"}}, cmd.Exclusive...)
	n, err := normalize(specs, args, exclusive)
	if err != nil {
		return report(env, t.Prog(), nil, err)
	}
	switch {
	case n.version:
		fmt.Fprintf(env.Stdout, "%s %s\n", t.Prog(), env.Version)
		return exitcode.OK
	case n.help:
		return report(env, t.Prog(), nil, WriteHelp(env.Stdout, t, helpName))
	}
	if err := n.setValues(specs); err != nil {
		return report(env, t.Prog(), nil, err)
	}
	positionals, err := checkArgs(t.Args, n.positionals)
	if err != nil {
		return report(env, t.Prog(), nil, err)
	}
	var log *zerolog.Logger
	app.Action = func(c *cli.Context) error {
		common.Verbosity = c.Count("verbose") - c.Count("quiet")
		r := &Run{Ctx: c.Context, Prog: t.Prog(), Args: positionals, Common: common, Stdout: env.Stdout, Stderr: env.Stderr,
			LookupEnv: env.LookupEnv}
		if common.MaxTime > 0 {
			ctx, cancel := retry.WithTimeLimit(r.Ctx, common.MaxTime, "--max-time")
			defer cancel()
			r.Ctx = ctx
		}
		r.Log = NewLogger(env.Stderr, common.Verbosity)
		log = &r.Log
		err := runRecovered(cmd, r)
		if err != nil && errors.Is(r.Ctx.Err(), context.Canceled) && context.Cause(r.Ctx) != context.Canceled {
			// SIGTERM or SIGINT: the error says "context canceled"; say why.
			err = fmt.Errorf("%w (interrupted: %v)", err, context.Cause(r.Ctx))
		}
		return err
	}
	return report(env, t.Prog(), log, app.RunContext(ctx, append([]string{t.Prog()}, n.args...)))
}

// runRecovered runs the tool and turns a panic in its goroutine (a bug: in
// our code, a decoder or an SDK) into an error of exit status 4. Left to
// itself Go exits with status 2 after a panic, which here means "the
// storage could not be reached, try again later", and prints a stack
// trace where PostgreSQL's log expects one line.
func runRecovered(cmd Command, r *Run) (err error) {
	defer func() {
		if p := recover(); p != nil {
			r.Log.Debug().Msgf("panic: %v; %s", p, debug.Stack())
			err = exitcode.Wrap(exitcode.General, fmt.Errorf("internal error, please report it as a bug: %v", p))
		}
	}()
	return cmd.Run(r)
}

// report prints err the way its kind is reported and returns the exit
// status: usage errors as argparse prints them, other errors as one ERROR
// log line, unless the tool has already reported them. The line names
// the cause in an operator's words; with -v, an INFO line after it gives
// the provider's own error (request ids, the operation, the status).
func report(env Env, prog string, log *zerolog.Logger, err error) int {
	if err == nil {
		return exitcode.OK
	}
	var ue *usageError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(env.Stderr, "%s: error: %s\n", prog, oneLine(ue.msg))
		return exitcode.Usage
	case exitcode.IsReported(err):
	default:
		if log == nil {
			l := NewLogger(env.Stderr, 0)
			log = &l
		}
		log.Error().Msg(oneLine(err.Error()))
		if d := storage.Detail(err); d != "" {
			log.Info().Msg("the storage's error: " + oneLine(d))
		}
	}
	return StatusOf(err)
}

// oneLine keeps an error message on one line: provider SDKs put request
// dumps with newlines in theirs.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return strings.Join(strings.Fields(s), " ")
	}
	return s
}

// MultiApp is the urfave/cli application of the multi-call binary itself.
func MultiApp(tools []*Tool) *cli.App {
	app := &cli.App{
		Name:            MultiCall,
		HelpName:        MultiCall,
		Usage:           multiUsage,
		UsageText:       MultiCall + " TOOL [OPTIONS] ARGS...\n" + "barman-cloud-TOOL [OPTIONS] ARGS...   (through a symlink named after the tool)",
		Description:     multiDescription,
		Flags:           []cli.Flag{versionFlag(), helpFlag()},
		HideHelp:        true,
		HideHelpCommand: true,
		HideVersion:     true,
		ExitErrHandler:  func(*cli.Context, error) {},
	}
	for _, t := range tools {
		app.Commands = append(app.Commands, &cli.Command{Name: t.Name, Usage: t.Usage, ArgsUsage: t.ArgsUsage()})
	}
	return app
}

func runMulti(env Env, tools []*Tool) int {
	app := MultiApp(tools)
	app.Writer, app.ErrWriter = env.Stdout, env.Stderr
	args := env.Args[1:]
	if len(args) > 0 && args[len(args)-1] == completionFlag {
		if len(args) == 1 || strings.HasPrefix(args[0], "-") {
			for _, t := range tools {
				fmt.Fprintln(env.Stdout, t.Name)
			}
		}
		return exitcode.OK
	}
	n, err := normalize(newSpecTable(app.Flags), args, nil)
	switch {
	case err != nil:
		return report(env, MultiCall, nil, err)
	case n.version:
		fmt.Fprintf(env.Stdout, "%s %s\n", MultiCall, env.Version)
		return exitcode.OK
	case n.help:
		return report(env, MultiCall, nil, writeMultiHelp(env.Stdout, tools))
	case len(n.positionals) == 0:
		return report(env, MultiCall, nil, usageErrorf("a tool name is required (choose from %s); see --help", toolNames(tools)))
	}
	return report(env, MultiCall, nil, usageErrorf("unknown tool '%s' (choose from %s)", n.positionals[0], toolNames(tools)))
}

func toolNames(tools []*Tool) string {
	q := make([]string, len(tools))
	for i, t := range tools {
		q[i] = "'" + t.Name + "'"
	}
	return strings.Join(q, ", ")
}

// complete answers a shell's completion request (urfave's protocol, as
// its bash script sends it): args are the words typed so far, ending with
// the word being completed only when that one starts with "-". So after an
// option with choices, the answer is its choices; after a partial option,
// the long options it begins.
func complete(w io.Writer, specs *specTable, args []string) {
	last := ""
	if len(args) > 0 {
		last = args[len(args)-1]
	}
	s := specs.long[last]
	if len(last) == 2 && last[0] == '-' {
		s = specs.short[last[1]]
	}
	if s != nil && len(s.choices) > 0 {
		for _, c := range s.choices {
			fmt.Fprintln(w, c)
		}
		return
	}
	if strings.HasPrefix(last, "-") {
		for _, str := range specs.longs {
			if strings.HasPrefix(str, last) {
				fmt.Fprintln(w, str)
			}
		}
	}
}

// multiUsage is the one-line summary of the multi-call binary.
const multiUsage = "Barman's barman-cloud-* PostgreSQL backup and WAL tools in one static binary"

const multiDescription = `One static binary that does what Barman's Python barman-cloud-* tools do, with the same options, exit statuses and object layout, so that a bucket written by either is read by the other.

Run a tool as "barman-cloud TOOL ..." or through a symlink named barman-cloud-TOOL (for example barman-cloud-wal-archive) pointing at this binary; "barman-cloud TOOL --help" shows the tool's options.`
