package cloudcli

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
)

// helpWidth is the width --help wraps its text to.
const helpWidth = 80

// maxHelpPosition is argparse's column where option help text starts when
// some option's invocation is wider than that.
const maxHelpPosition = 24

// Option is what help, completion, validation and the documentation
// generator (cmd/gendocs) know of one option, read from its urfave
// definition so that none of them can drift from what is parsed.
type Option struct {
	Name     string   // the canonical name: "aws-profile"
	Strings  []string // as typed, short ones first: "-P", "--aws-profile", "--profile"
	Metavar  string   // the value's placeholder; "" for an option without value
	Choices  []string // the allowed values, when the placeholder is "{a,b,c}"
	Text     string   // the help text, placeholders unquoted
	Category string   // the help group; "" for the general options
	Nargs    bool     // takes zero or more values (argparse nargs="*")
	Repeat   bool     // may be given more than once (a counter, a list, nargs)
}

// DescribeFlag reads an option from its definition. The value placeholder
// follows urfave's convention, the first `backquoted` word of the usage
// text; without one it is the option's name in capitals, as argparse's
// default metavar. An option with choices (ValueFlag.Choices) shows them
// as its placeholder, "{a,b,c}", as argparse does.
func DescribeFlag(f cli.Flag) Option {
	names := f.Names()
	o := Option{Name: names[0]}
	for _, n := range names {
		if len(n) == 1 {
			o.Strings = append(o.Strings, "-"+n)
		}
	}
	for _, n := range names {
		if len(n) > 1 {
			o.Strings = append(o.Strings, "--"+n)
		}
	}
	switch f := f.(type) {
	case *cli.BoolFlag:
		o.Repeat = f.Count != nil
	case *ListFlag:
		o.Repeat = true
	case *NargsFlag:
		o.Nargs, o.Repeat = true, true
	case *ValueFlag:
		o.Choices = f.Choices
	}
	var usage string
	takesValue := false
	if d, ok := f.(cli.DocGenerationFlag); ok {
		usage = d.GetUsage()
		takesValue = d.TakesValue()
	}
	placeholder, text := unquoteUsage(usage)
	o.Text = text
	if c, ok := f.(cli.CategorizableFlag); ok {
		o.Category = c.GetCategory()
	}
	if !takesValue {
		return o
	}
	o.Metavar = placeholder
	switch {
	case len(o.Choices) > 0:
		o.Metavar = "{" + strings.Join(o.Choices, ",") + "}"
	case o.Metavar == "":
		o.Metavar = strings.ToUpper(strings.ReplaceAll(o.Name, "-", "_"))
	}
	if d, ok := f.(cli.DocGenerationFlag); ok && d.GetDefaultText() != "" {
		o.Text += " (default: " + d.GetDefaultText() + ")"
	}
	return o
}

// OptionGroup is a group of options as --help shows them.
type OptionGroup struct {
	Title   string // the Category; "" for the general options
	Options []Option
}

// GroupOptions sorts the visible options into their help groups, keeping
// declaration order within a group and ordering groups by first
// appearance, the general group first.
func GroupOptions(flags []cli.Flag) []OptionGroup {
	groups := []OptionGroup{{}}
	index := map[string]int{"": 0}
	for _, f := range flags {
		if v, ok := f.(cli.VisibleFlag); ok && !v.IsVisible() {
			continue
		}
		o := DescribeFlag(f)
		i, ok := index[o.Category]
		if !ok {
			i = len(groups)
			index[o.Category] = i
			groups = append(groups, OptionGroup{Title: o.Category})
		}
		groups[i].Options = append(groups[i].Options, o)
	}
	return groups
}

// unquoteUsage is urfave's placeholder convention: the first `word` in
// backquotes names the value; the text keeps the word without quotes.
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

// invocation is how --help shows the option: "-P, --aws-profile AWS_PROFILE",
// with argparse's "[VALUE ...]" for zero or more values.
func (o Option) invocation() string {
	s := strings.Join(o.Strings, ", ")
	switch {
	case o.Nargs:
		s += " [" + o.Metavar + "]"
	case o.Metavar != "":
		s += " " + o.Metavar
	}
	return s
}

// WriteHelp writes a tool's --help in argparse's layout: usage line,
// description, positional arguments, option groups in declaration order
// (the general "options:" first, then one per Category), and the exit
// statuses. helpName is how the usage line names the program.
func WriteHelp(w io.Writer, t *Tool, helpName string) error {
	var b strings.Builder
	b.WriteString(wrapIndent("usage: "+helpName+" [OPTIONS] "+t.ArgsUsage(), helpWidth, len("usage: ")))
	b.WriteString("\n")
	for _, p := range append([]string{t.Usage}, paragraphs(t.Description)...) {
		b.WriteString("\n" + wrap(p, helpWidth) + "\n")
	}

	var rows []row
	var positionals []row
	for _, a := range t.Args {
		positionals = append(positionals, row{left: a.Metavar()})
	}
	groups := GroupOptions(t.Flags())
	for _, g := range groups {
		rows = append(rows, optionRows(g.Options)...)
	}
	col := helpColumn(append(rows, positionals...))
	if len(positionals) > 0 {
		b.WriteString("\npositional arguments:\n")
		writeRows(&b, positionals, col)
	}
	for _, g := range groups {
		title := g.Title
		if title == "" {
			title = "options"
		}
		fmt.Fprintf(&b, "\n%s:\n", title)
		writeRows(&b, optionRows(g.Options), col)
	}
	if len(t.ExitStatus) > 0 {
		b.WriteString("\nexit status:\n")
		var codes []row
		for _, e := range t.ExitStatus {
			codes = append(codes, row{left: strconv.Itoa(e.Code), text: e.Meaning})
		}
		writeRows(&b, codes, helpColumn(codes))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeMultiHelp writes the --help of the multi-call binary.
func writeMultiHelp(w io.Writer, tools []*Tool) error {
	var b strings.Builder
	b.WriteString("usage: " + MultiCall + " TOOL [OPTIONS] ARGS...\n")
	b.WriteString("       " + MultiCall + "-TOOL [OPTIONS] ARGS...\n")
	for _, p := range append([]string{multiUsage}, paragraphs(multiDescription)...) {
		b.WriteString("\n" + wrap(p, helpWidth) + "\n")
	}
	var toolRows []row
	for _, t := range tools {
		toolRows = append(toolRows, row{left: t.Name, text: t.Usage})
	}
	var opts []row
	for _, g := range GroupOptions([]cli.Flag{versionFlag(), helpFlag()}) {
		opts = append(opts, optionRows(g.Options)...)
	}
	col := helpColumn(append(toolRows, opts...))
	b.WriteString("\ntools:\n")
	writeRows(&b, toolRows, col)
	b.WriteString("\noptions:\n")
	writeRows(&b, opts, col)
	_, err := io.WriteString(w, b.String())
	return err
}

func optionRows(opts []Option) []row {
	rows := make([]row, len(opts))
	for i, o := range opts {
		rows[i] = row{left: o.invocation(), text: o.Text}
	}
	return rows
}

// row is one entry of a help list: what is typed, and what it does.
type row struct{ left, text string }

// helpColumn is argparse's help position: two columns after the widest
// entry, but no further right than maxHelpPosition.
func helpColumn(rows []row) int {
	widest := 0
	for _, r := range rows {
		widest = max(widest, len(r.left))
	}
	return min(2+widest+2, maxHelpPosition)
}

// writeRows writes entries indented by two, their text starting at column
// col, or on the next line when the entry is too wide for that.
func writeRows(b *strings.Builder, rows []row, col int) {
	for _, r := range rows {
		text := wrap(r.text, helpWidth-col)
		lines := strings.Split(text, "\n")
		switch {
		case r.text == "":
			fmt.Fprintf(b, "  %s\n", r.left)
			continue
		case len(r.left) <= col-4:
			fmt.Fprintf(b, "  %-*s  %s\n", col-4, r.left, lines[0])
			lines = lines[1:]
		default:
			fmt.Fprintf(b, "  %s\n", r.left)
		}
		for _, l := range lines {
			fmt.Fprintf(b, "%*s%s\n", col, "", l)
		}
	}
}

// paragraphs splits text at blank lines.
func paragraphs(text string) []string {
	var ps []string
	for _, p := range strings.Split(strings.TrimSpace(text), "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			ps = append(ps, p)
		}
	}
	return ps
}

// wrap fills text into lines of at most width characters, breaking at
// spaces only: a longer word (a URL) gets a line of its own.
func wrap(text string, width int) string { return wrapIndent(text, width, 0) }

// wrapIndent is wrap with continuation lines indented by indent spaces.
func wrapIndent(text string, width, indent int) string {
	var b strings.Builder
	line := 0
	for i, word := range strings.Fields(text) {
		switch {
		case i == 0:
		case line+1+len(word) > width:
			b.WriteString("\n" + strings.Repeat(" ", indent))
			line = indent
		default:
			b.WriteString(" ")
			line++
		}
		b.WriteString(word)
		line += len(word)
	}
	return b.String()
}
