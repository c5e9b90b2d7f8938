package cloudcli

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/barmancloud/barman-cloud/shared/argval"
)

// An option's values are checked, converted and stored by cloudcli as it
// parses the command line, in the order they were typed, before the tool
// runs: a tool reads typed fields, never option values by name. The flag
// types below carry that conversion; urfave/cli only needs to know the
// options exist.

// setter is a flag whose values cloudcli converts and stores.
type setter interface {
	set(value string) error
}

// ValueFlag is an option that takes one value.
type ValueFlag struct {
	cli.StringFlag
	// Choices, when set, are the only values accepted; --help shows them
	// as "{a,b,c}" and shell completion offers them.
	Choices []string
	// Set converts and stores a value given to the option (the last one
	// given wins); its error is reported as argparse reports a bad value:
	// "argument -e/--encryption: <error>", exit status 3.
	Set func(string) error
}

func (f *ValueFlag) set(v string) error {
	if len(f.Choices) > 0 && !contains(f.Choices, v) {
		return invalidChoice(v, f.Choices)
	}
	if f.Set == nil {
		return nil
	}
	return f.Set(v)
}

// ListFlag is a repeatable option: every occurrence adds one value
// (argparse action="append").
type ListFlag struct {
	cli.GenericFlag
	// Set converts and stores one value.
	Set func(string) error
}

func (f *ListFlag) set(v string) error {
	if f.Set == nil {
		return nil
	}
	return f.Set(v)
}

// NewListFlag returns a repeatable option whose values set stores.
func NewListFlag(name, usage, category string, set func(string) error) *ListFlag {
	return &ListFlag{GenericFlag: cli.GenericFlag{Name: name, Usage: usage, Value: &list{}, Category: category}, Set: set}
}

// NargsFlag takes zero or more values, as argparse's nargs="*": it consumes
// the arguments that follow it up to the next option. Given again, it
// replaces the earlier values.
type NargsFlag struct {
	cli.GenericFlag
	// Reset forgets the values of an earlier occurrence; Set stores one
	// value of this one.
	Reset func()
	Set   func(string) error
}

// NewNargsFlag returns an option that takes zero or more values.
func NewNargsFlag(name, usage, category string, reset func(), set func(string) error) *NargsFlag {
	return &NargsFlag{GenericFlag: cli.GenericFlag{Name: name, Usage: usage, Value: &list{}, Category: category}, Reset: reset, Set: set}
}

// TakesValue is true for the help text: "--tags value".
func (f *NargsFlag) TakesValue() bool { return true }

func (f *NargsFlag) set(v string) error {
	if v == groupStart {
		if f.Reset != nil {
			f.Reset()
		}
		return nil
	}
	if f.Set == nil {
		return nil
	}
	return f.Set(v)
}

// list is the urfave value of ListFlag and NargsFlag: urfave's
// StringSliceFlag would split values on commas, which tag values contain.
// The typed values live where the flags' Set functions store them.
type list struct{ values []string }

// groupStart is what normalize passes to mark the start of the values of
// an occurrence of a nargs option: argparse replaces the earlier list when
// such an option is given again, and "--tags" alone means an empty list.
const groupStart = "\x00"

func (l *list) Set(s string) error {
	if s == groupStart {
		l.values = nil
		return nil
	}
	l.values = append(l.values, s)
	return nil
}

func (l *list) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(l.values, " ")
}

// Conversions for ValueFlag.Set.

// SetString stores the value as given.
func SetString(dst *string) func(string) error {
	return func(v string) error { *dst = v; return nil }
}

// SetSize stores a size with Barman's parser ("4MB", "1 GiB", bytes).
func SetSize(dst *int64) func(string) error {
	return func(v string) error {
		n, err := argval.Size(v)
		if err == nil {
			*dst = n
		}
		return err
	}
}

// SetPositive stores a positive integer.
func SetPositive(dst *int64) func(string) error {
	return func(v string) error {
		n, err := argval.Positive(v)
		if err == nil {
			*dst = n
		}
		return err
	}
}

// SetNonNegative stores an integer that is 0 or more, as Barman's
// check_non_negative.
func SetNonNegative(dst *int64) func(string) error {
	return func(v string) error {
		n, err := argval.Int(v)
		if err != nil || n < 0 {
			return fmt.Errorf("'%s' is not a valid non negative integer", v)
		}
		*dst = n
		return nil
	}
}

// invalidChoice is argparse's error for a value outside a set of choices.
func invalidChoice(v string, choices []string) error {
	q := make([]string, len(choices))
	for i, c := range choices {
		q[i] = "'" + c + "'"
	}
	return fmt.Errorf("invalid choice: '%s' (choose from %s)", v, strings.Join(q, ", "))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
