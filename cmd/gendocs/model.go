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

// describe reads an option from its definition. The value placeholder is
// urfave's convention, the first `backquoted` word of the usage text, or
// else the option's name in capitals (argparse's default metavar); a
// placeholder written "{a,b,c}" lists the only values the option accepts.
func describe(f cli.Flag) option {
	names := f.Names()
	o := option{name: names[0]}
	for _, n := range names {
		if len(n) == 1 {
			o.shorts = append(o.shorts, n)
		} else {
			o.longs = append(o.longs, n)
		}
	}
	var usage string
	takesValue := false
	if d, ok := f.(cli.DocGenerationFlag); ok {
		usage = d.GetUsage()
		takesValue = d.TakesValue()
	}
	if c, ok := f.(cli.CategorizableFlag); ok {
		o.category = c.GetCategory()
	}
	placeholder, text := unquoteUsage(usage)
	o.text = text
	switch f := f.(type) {
	case *cli.BoolFlag:
		o.repeat = f.Count != nil
	case *cloudcli.ListFlag:
		o.repeat = true
	case *cloudcli.NargsFlag:
		o.nargs, o.repeat = true, true
	}
	if !takesValue {
		return o
	}
	o.metavar = placeholder
	if o.metavar == "" {
		o.metavar = strings.ToUpper(strings.ReplaceAll(o.name, "-", "_"))
	}
	if strings.HasPrefix(o.metavar, "{") && strings.HasSuffix(o.metavar, "}") {
		o.choices = strings.Split(o.metavar[1:len(o.metavar)-1], ",")
		// The invocation shows the choices; the text need not repeat them.
		i := strings.Index(text, placeholder)
		o.text = strings.TrimRight(text[:i], ": ") + text[i+len(placeholder):]
	}
	o.values = o.choices
	if o.values == nil {
		o.values = valueHints[o.name]
	}
	if d, ok := f.(cli.DocGenerationFlag); ok && d.GetDefaultText() != "" {
		o.text += " (default: " + d.GetDefaultText() + ")"
	}
	return o
}

// unquoteUsage splits urfave's usage text into the placeholder (the first
// `word` in backquotes) and the text without the quotes.
func unquoteUsage(usage string) (placeholder, text string) {
	i := strings.IndexByte(usage, '`')
	if i < 0 {
		return "", usage
	}
	j := strings.IndexByte(usage[i+1:], '`')
	if j < 0 {
		return "", usage
	}
	placeholder = usage[i+1 : i+1+j]
	return placeholder, usage[:i] + placeholder + usage[i+1+j+1:]
}

// groupOptions sorts visible options into --help's groups: the general
// one first, then the categories in order of first appearance.
func groupOptions(flags []cli.Flag) []group {
	var groups []group
	index := map[string]int{}
	add := func(title string) {
		index[title] = len(groups)
		groups = append(groups, group{title: title})
	}
	add("")
	for _, f := range flags {
		if v, ok := f.(cli.VisibleFlag); ok && !v.IsVisible() {
			continue
		}
		o := describe(f)
		if _, ok := index[o.category]; !ok {
			add(o.category)
		}
		g := &groups[index[o.category]]
		g.opts = append(g.opts, o)
	}
	return groups
}

// parsePositionals reads a tool's ArgsUsage: "SRC DEST [WAL_PATH]".
func parsePositionals(argsUsage string) []positional {
	var ps []positional
	for _, a := range strings.Fields(argsUsage) {
		p := positional{name: strings.TrimSuffix(strings.Trim(a, "[]"), "..."), optional: strings.HasPrefix(a, "[")}
		ps = append(ps, p)
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
		positionals: parsePositionals(t.ArgsUsage),
		exclusive:   t.Exclusive,
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
