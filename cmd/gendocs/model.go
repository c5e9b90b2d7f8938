package main

import (
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/barmancloud/barman-cloud/shared/cloudcli"
)

// command is what the man page and the completions of one program show:
// a tool's program (barman-cloud-wal-archive), or the multi-call binary.
type command struct {
	prog        string         // the program name
	tool        *cloudcli.Tool // nil for the multi-call binary
	usage       string         // the one-line summary
	description string
	groups      []group
	positionals []positional
	exclusive   [][]string // mutually exclusive options, by name
}

// group is an option group of --help: the general options, then one per
// provider category.
type group struct {
	title string // "" for the general options
	opts  []option
}

type positional struct {
	name     string
	optional bool
}

// option is one option as the documentation shows it, read from its urfave
// definition so that the documentation cannot drift from what is parsed.
type option struct {
	name     string   // the first (canonical) name: "aws-profile"
	shorts   []string // one-letter names without the dash: "P"
	longs    []string // the other names without dashes: "aws-profile", "profile"
	metavar  string   // the value placeholder; "" for an option without value
	choices  []string // the only values accepted, from a "{a,b,c}" placeholder
	values   []string // values shell completion offers: the choices or valueHints
	nargs    bool     // takes zero or more values (argparse nargs="*")
	repeat   bool     // may be given more than once
	text     string   // the help text
	category string
}

// valueHints are values shell completion offers for options that accept
// them among others, so they are not choices: --compression-level also
// takes a number.
var valueHints = map[string][]string{
	"compression-level": {"low", "medium", "high"},
}

// strings is how the option is typed, short forms first: "-P",
// "--aws-profile", "--profile".
func (o option) strings() []string {
	var s []string
	for _, n := range o.shorts {
		s = append(s, "-"+n)
	}
	for _, n := range o.longs {
		s = append(s, "--"+n)
	}
	return s
}

// summary is the help text cut to its first clause, for the one-line
// descriptions of completion menus.
func (o option) summary() string {
	s := o.text
	for _, sep := range []string{"; ", " (", ": "} {
		if i := strings.Index(s, sep); i > 0 {
			s = s[:i]
		}
	}
	if !strings.HasSuffix(s, "...") {
		s = strings.TrimSuffix(s, ".")
	}
	return s
}

// describe reads an option as --help does (cloudcli.DescribeFlag), and
// adds what shells complete it with.
func describe(o cloudcli.Option) option {
	d := option{name: o.Name, metavar: o.Metavar, choices: o.Choices, nargs: o.Nargs,
		repeat: o.Repeat, text: o.Text, category: o.Category}
	for _, s := range o.Strings {
		if strings.HasPrefix(s, "--") {
			d.longs = append(d.longs, s[2:])
		} else {
			d.shorts = append(d.shorts, s[1:])
		}
	}
	d.values = d.choices
	if d.values == nil {
		d.values = valueHints[d.name]
	}
	return d
}

// groupOptions sorts options into --help's groups (cloudcli.GroupOptions).
func groupOptions(flags []cli.Flag) []group {
	var groups []group
	for _, g := range cloudcli.GroupOptions(flags) {
		gr := group{title: g.Title}
		for _, o := range g.Options {
			gr.opts = append(gr.opts, describe(o))
		}
		groups = append(groups, gr)
	}
	return groups
}

// positionals are a tool's positional arguments as the synopsis shows them.
func positionals(t *cloudcli.Tool) []positional {
	var ps []positional
	for _, a := range t.Args {
		ps = append(ps, positional{name: a.Metavar(), optional: a.Optional})
	}
	return ps
}

// toolCommand describes a tool as run through its symlink.
func toolCommand(t *cloudcli.Tool) command {
	app := t.App(t.Prog())
	return command{
		prog:        t.Prog(),
		tool:        t,
		usage:       t.Usage,
		description: t.Description,
		groups:      groupOptions(app.Flags),
		positionals: positionals(t),
		exclusive:   t.Command().Exclusive,
	}
}

// multiCommand describes the multi-call binary itself.
func multiCommand(tools []*cloudcli.Tool) command {
	app := cloudcli.MultiApp(tools)
	return command{
		prog:        cloudcli.MultiCall,
		usage:       app.Usage,
		description: app.Description,
		groups:      groupOptions(app.Flags),
	}
}

// options lists a command's options in help order.
func (c command) options() []option {
	var all []option
	for _, g := range c.groups {
		all = append(all, g.opts...)
	}
	return all
}

// exclusiveWith returns the options that cannot be given with o.
func (c command) exclusiveWith(o option) []option {
	var names []string
	for _, g := range c.exclusive {
		for _, n := range g {
			if n == o.name {
				for _, m := range g {
					if m != o.name {
						names = append(names, m)
					}
				}
			}
		}
	}
	var opts []option
	for _, n := range names {
		for _, p := range c.options() {
			if p.name == n {
				opts = append(opts, p)
			}
		}
	}
	return opts
}

// paragraphs splits text at blank lines, joining the lines of each.
func paragraphs(text string) []string {
	var ps []string
	for _, p := range strings.Split(strings.TrimSpace(text), "\n\n") {
		if p = strings.Join(strings.Fields(p), " "); p != "" {
			ps = append(ps, p)
		}
	}
	return ps
}
