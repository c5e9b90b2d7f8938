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

// option is what help, completion and validation know of one option,
// derived from its urfave definition so that they cannot drift from what
// is parsed.
type option struct {
	name     string
	strings  []string // as typed, short ones first: "-P", "--aws-profile", "--profile"
	metavar  string   // the value's placeholder; "" for an option without value
	choices  []string // the allowed values, when the placeholder is "{a,b,c}"
	text     string   // the help text, placeholders unquoted
	category string
}

// describe reads an option from its definition. The value placeholder
// follows urfave's convention, the first `backquoted` word of the usage
// text; without one it is the option's name in capitals, as argparse's
// default metavar. A placeholder written "{a,b,c}" lists the only values
// the option accepts; help shows it in the invocation only.
func describe(f cli.Flag) option {
	names := f.Names()
	o := option{name: names[0]}
	for _, n := range names {
		if len(n) == 1 {
			o.strings = append(o.strings, "-"+n)
		}
	}
	for _, n := range names {
		if len(n) > 1 {
			o.strings = append(o.strings, "--"+n)
		}
	}
	var usage string
	takesValue := false
	if d, ok := f.(cli.DocGenerationFlag); ok {
		usage = d.GetUsage()
		takesValue = d.TakesValue()
	}
	placeholder, text := unquoteUsage(usage)
	o.text = text
	if c, ok := f.(cli.CategorizableFlag); ok {
		o.category = c.GetCategory()
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
		// The invocation shows the choices, as argparse's does; the text
		// need not repeat them.
		i := strings.Index(text, placeholder)
		o.text = strings.TrimRight(text[:i], ": ") + text[i+len(placeholder):]
	}
	if _, ok := f.(*NargsFlag); ok {
		// argparse's rendering of nargs="*".
		o.metavar = "[" + o.metavar + "]"
	}
	if d, ok := f.(cli.DocGenerationFlag); ok && d.GetDefaultText() != "" {
		o.text += " (default: " + d.GetDefaultText() + ")"
	}
	return o
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

func (o option) invocation() string {
	s := strings.Join(o.strings, ", ")
	if o.metavar != "" {
		s += " " + o.metavar
	}
	return s
}

// WriteHelp writes a tool's --help in argparse's layout: usage line,
// description, positional arguments, option groups in declaration order
// (the general "options:" first, then one per Category), and the exit
// statuses. helpName is how the usage line names the program.
func WriteHelp(w io.Writer, t *Tool, helpName string) error {
	var b strings.Builder
	b.WriteString(wrapIndent("usage: "+helpName+" [OPTIONS] "+t.ArgsUsage, helpWidth, len("usage: ")))
	b.WriteString("\n")
	for _, p := range append([]string{t.Usage}, paragraphs(t.Description)...) {
		b.WriteString("\n" + wrap(p, helpWidth) + "\n")
	}

	var rows []row
	var positionals []row
	for _, a := range strings.Fields(t.ArgsUsage) {
		a = strings.TrimSuffix(strings.Trim(a, "[]"), "...")
		positionals = append(positionals, row{left: a})
	}
	groups, order := groupOptions(append(commonFlags(), t.Flags()...))
	for _, g := range order {
		rows = append(rows, groups[g]...)
	}
	col := helpColumn(append(rows, positionals...))
	if len(positionals) > 0 {
		b.WriteString("\npositional arguments:\n")
		writeRows(&b, positionals, col)
	}
	for _, g := range order {
		title := g
		if title == "" {
			title = "options"
		}
		fmt.Fprintf(&b, "\n%s:\n", title)
		writeRows(&b, groups[g], col)
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
	groups, order := groupOptions([]cli.Flag{versionFlag(), helpFlag()})
	var opts []row
	for _, g := range order {
		opts = append(opts, groups[g]...)
	}
	col := helpColumn(append(toolRows, opts...))
	b.WriteString("\ntools:\n")
	writeRows(&b, toolRows, col)
	b.WriteString("\noptions:\n")
	writeRows(&b, opts, col)
	_, err := io.WriteString(w, b.String())
	return err
}

// groupOptions sorts the visible options into their help groups, keeping
// declaration order within a group and ordering groups by first
// appearance, the general group ("") first.
func groupOptions(flags []cli.Flag) (map[string][]row, []string) {
	groups := map[string][]row{}
	order := []string{""}
	for _, f := range flags {
		if v, ok := f.(cli.VisibleFlag); ok && !v.IsVisible() {
			continue
		}
		o := describe(f)
		if _, ok := groups[o.category]; !ok && o.category != "" {
			order = append(order, o.category)
		}
		groups[o.category] = append(groups[o.category], row{left: o.invocation(), text: o.text})
	}
	return groups, order
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
