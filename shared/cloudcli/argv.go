package cloudcli

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/barmancloud/barman-cloud/shared/exitcode"
)

// spec describes one option for the normaliser.
type spec struct {
	name       string   // canonical name (urfave's Name)
	strings    []string // option strings as typed: "-v", "--verbose"
	takesValue bool
	nargs      bool
	choices    []string // the only values accepted, if any
	setter     setter   // converts and stores its values, if it has any
}

type specTable struct {
	all   []*spec
	long  map[string]*spec // "--verbose" -> spec
	short map[byte]*spec   // 'v' -> spec
	// longs are the long option strings in declaration order, the order
	// argparse lists them in an ambiguity error.
	longs []string
}

func newSpecTable(flags []cli.Flag) *specTable {
	t := &specTable{long: map[string]*spec{}, short: map[byte]*spec{}}
	for _, f := range flags {
		o := DescribeFlag(f)
		s := &spec{name: o.Name, strings: o.Strings, choices: o.Choices}
		s.setter, _ = f.(setter)
		if v, ok := f.(cli.DocGenerationFlag); ok {
			s.takesValue = v.TakesValue()
		}
		if _, ok := f.(*NargsFlag); ok {
			s.nargs = true
		}
		for _, str := range o.Strings {
			if strings.HasPrefix(str, "--") {
				t.long[str] = s
				t.longs = append(t.longs, str)
			} else {
				t.short[str[1]] = s
			}
		}
		t.all = append(t.all, s)
	}
	return t
}

// display is the option as argparse names it in messages: "-P/--aws-profile".
func (t *specTable) display(name string) string {
	for _, s := range t.all {
		if s.name == name {
			return strings.Join(s.strings, "/")
		}
	}
	return "--" + name
}

// resolveLong finds a long option by its exact string or a unique prefix,
// as argparse's allow_abbrev does. arg is the argument as typed, for the
// error message.
func (t *specTable) resolveLong(opt, arg string) (*spec, error) {
	if s, ok := t.long[opt]; ok {
		return s, nil
	}
	// argparse counts option strings, not options: two aliases of one
	// option sharing the prefix are still ambiguous.
	var matches []string
	for _, str := range t.longs {
		if strings.HasPrefix(str, opt) {
			matches = append(matches, str)
		}
	}
	switch len(matches) {
	case 0:
		return nil, nil
	case 1:
		return t.long[matches[0]], nil
	}
	return nil, usageErrorf("ambiguous option: %s could match %s", arg, strings.Join(matches, ", "))
}

var negativeNumber = regexp.MustCompile(`^-\d+$|^-\d*\.\d+$`)

// isOption is argparse's test (_parse_optional) for an argument that
// starts an option rather than being a value or a positional: "-x",
// "--x", "--x=v", but not "-", nor a negative number (no option string
// here looks like one), nor an argument with a space in it that names no
// option ("-a b" is a value).
func (t *specTable) isOption(a string) bool {
	if len(a) < 2 || a[0] != '-' {
		return false
	}
	if strings.HasPrefix(a, "--") {
		name, _, _ := strings.Cut(a, "=")
		for _, str := range t.longs {
			if strings.HasPrefix(str, name) {
				return true
			}
		}
	} else if t.short[a[1]] != nil {
		return true
	}
	return !negativeNumber.MatchString(a) && !strings.Contains(a, " ")
}

// normalized is argv after Normalize.
type normalized struct {
	args        []string // for urfave: prog, canonical options, "--", positionals
	positionals []string
	help        bool // --help was given: show help, ignore the rest
	version     bool // -V/--version was given: show the version, ignore the rest
	// values are the option values as typed, in order, for setValues; a
	// nargs option's values follow a groupStart value.
	values []optValue
}

// optValue is one value given to an option.
type optValue struct {
	s *spec
	v string
}

// setValues converts and stores the option values, in the order they were
// typed, as argparse does: its first bad value is the error, worded as
// argparse's "argument -e/--encryption: invalid choice: …". A conversion
// that returns a usage error of its own (Barman's wording for --tags) is
// reported as it is.
func (n *normalized) setValues(t *specTable) error {
	for _, v := range n.values {
		if v.s.setter == nil {
			continue
		}
		if err := v.s.setter.set(v.v); err != nil {
			var ue *usageError
			if errors.As(err, &ue) {
				return err
			}
			return usageErrorf("argument %s: %v", t.display(v.s.name), err)
		}
	}
	return nil
}

// normalize rewrites args (without the program name) into urfave's
// canonical form with argparse's semantics, checking the mutually exclusive
// groups. The help and version options (helpName, versionName) end
// parsing as soon as they are seen, as in argparse.
func normalize(t *specTable, args []string, exclusive [][]string) (*normalized, error) {
	n := &normalized{}
	var opts []string
	nargs := map[string][]string{} // last occurrence of each nargs option
	var nargsOrder []string
	seen := map[string]string{} // canonical name -> option string as typed first
	var unrecognized []string

	use := func(s *spec, typed string) error {
		for _, group := range exclusive {
			if !contains(group, s.name) {
				continue
			}
			for _, other := range group {
				if other != s.name && seen[other] != "" {
					return usageErrorf("argument %s: not allowed with argument %s",
						t.display(s.name), t.display(other))
				}
			}
		}
		if seen[s.name] == "" {
			seen[s.name] = typed
		}
		return nil
	}
	// value takes the value of an option that needs one, from the text
	// attached to it or from the next argument.
	value := func(s *spec, attached string, hasAttached bool, i *int) (string, error) {
		if hasAttached {
			return attached, nil
		}
		if *i+1 < len(args) && !t.isOption(args[*i+1]) {
			*i++
			return args[*i], nil
		}
		return "", usageErrorf("argument %s: expected one argument", t.display(s.name))
	}

	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			n.positionals = append(n.positionals, args[i+1:]...)
			break
		}
		if !t.isOption(a) {
			n.positionals = append(n.positionals, a)
			continue
		}
		var opt []*spec // options in this argument, with their values
		var vals []string
		if strings.HasPrefix(a, "--") {
			name, attached, hasAttached := strings.Cut(a, "=")
			s, err := t.resolveLong(name, a)
			if err != nil {
				return nil, err
			}
			if s == nil {
				unrecognized = append(unrecognized, a)
				continue
			}
			switch {
			case s.nargs:
				var values []string
				if hasAttached {
					values = []string{attached}
				} else {
					for i+1 < len(args) && !t.isOption(args[i+1]) {
						i++
						values = append(values, args[i])
					}
				}
				if err := use(s, name); err != nil {
					return nil, err
				}
				if _, ok := nargs[s.name]; !ok {
					nargsOrder = append(nargsOrder, s.name)
				}
				nargs[s.name] = values
				n.values = append(n.values, optValue{s, groupStart})
				for _, v := range values {
					n.values = append(n.values, optValue{s, v})
				}
				continue
			case s.takesValue:
				v, err := value(s, attached, hasAttached, &i)
				if err != nil {
					return nil, err
				}
				opt, vals = append(opt, s), append(vals, v)
			default:
				if hasAttached {
					return nil, usageErrorf("argument %s: ignored explicit argument '%s'", t.display(s.name), attached)
				}
				opt, vals = append(opt, s), append(vals, "")
			}
		} else {
			// A cluster of short options: "-zvt", "-Pprofile", "-P=profile".
			for j := 1; j < len(a); j++ {
				s, ok := t.short[a[j]]
				if !ok {
					if j == 1 {
						unrecognized = append(unrecognized, a)
					} else {
						return nil, usageErrorf("argument %s: ignored explicit argument '%s'", t.display(opt[len(opt)-1].name), a[j:])
					}
					break
				}
				if s.takesValue || s.nargs {
					rest := strings.TrimPrefix(a[j+1:], "=")
					v, err := value(s, rest, j+1 < len(a), &i)
					if err != nil {
						return nil, err
					}
					opt, vals = append(opt, s), append(vals, v)
					break
				}
				opt, vals = append(opt, s), append(vals, "")
			}
		}
		for k, s := range opt {
			switch s.name {
			case helpName:
				return &normalized{help: true}, nil
			case versionName:
				return &normalized{version: true}, nil
			}
			if err := use(s, a); err != nil {
				return nil, err
			}
			if s.takesValue {
				opts = append(opts, "--"+s.name+"="+vals[k])
				n.values = append(n.values, optValue{s, vals[k]})
			} else {
				opts = append(opts, "--"+s.name)
			}
		}
	}
	if len(unrecognized) > 0 {
		return nil, usageErrorf("unrecognized arguments: %s", strings.Join(unrecognized, " "))
	}
	for _, name := range nargsOrder {
		opts = append(opts, "--"+name+"="+groupStart)
		for _, v := range nargs[name] {
			opts = append(opts, "--"+name+"="+v)
		}
	}
	n.args = append(append(opts, "--"), n.positionals...)
	return n, nil
}

// usageError is a command-line error, reported as argparse reports them:
// "<prog>: error: <message>", exit status 3.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, a ...any) error {
	return &exitcode.Error{Code: exitcode.Usage, Err: &usageError{fmt.Sprintf(format, a...)}}
}

// UsageError returns a command-line error for a tool to return, printed as
// "<prog>: error: <message>" with exit status 3.
func UsageError(format string, a ...any) error { return usageErrorf(format, a...) }
