package cloudcli

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// List is the value of a repeatable option that keeps every value as
// given. urfave's StringSliceFlag would split values on commas, which tag
// values contain.
type List struct {
	Values []string
	given  bool
}

// groupStart is what Normalize passes to mark the start of the values of
// an occurrence of a nargs option: argparse replaces the earlier list when
// such an option is given again, and "--tags" alone means an empty list.
const groupStart = "\x00"

// Set implements flag.Value.
func (l *List) Set(s string) error {
	if s == groupStart {
		l.Values, l.given = nil, true
		return nil
	}
	l.Values = append(l.Values, s)
	l.given = true
	return nil
}

// String implements flag.Value.
func (l *List) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(l.Values, " ")
}

// ListFlag is a repeatable option: every occurrence adds one value
// (argparse action="append").
type ListFlag struct {
	cli.GenericFlag
}

// NewListFlag returns a repeatable option.
func NewListFlag(name, usage, category string) *ListFlag {
	return &ListFlag{cli.GenericFlag{Name: name, Usage: usage, Value: &List{}, Category: category}}
}

// NargsFlag takes zero or more values, as argparse's nargs="*": it consumes
// the arguments that follow it up to the next option. Given again, it
// replaces the earlier values.
type NargsFlag struct {
	cli.GenericFlag
}

// NewNargsFlag returns an option that takes zero or more values.
func NewNargsFlag(name, usage, category string) *NargsFlag {
	return &NargsFlag{cli.GenericFlag{Name: name, Usage: usage, Value: &List{}, Category: category}}
}

// TakesValue is true for the help text: "--tags value".
func (f *NargsFlag) TakesValue() bool { return true }
