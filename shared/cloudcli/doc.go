// Package cloudcli is the command-line plumbing every barman-cloud tool
// shares (the Go side of barman/clients/cloud_cli.py): the Tool type, the
// multi-call dispatch on argv[0] or on a subcommand, argparse-compatible
// argument handling on top of urfave/cli, the options common to all tools,
// logging, and the one place where errors become exit statuses.
//
// # Adding a tool
//
// A tool is a package under tools/ that exports a *Tool. Listing it in
// tools/all makes it available both as the symlink
// barman-cloud-<Name> and as the subcommand "barman-cloud <Name>"; the
// docs generator picks it up from the same list.
//
// # Why an argv normaliser
//
// Barman's tools use Python's argparse: options may follow positionals,
// long options may be abbreviated to a unique prefix, short options bundle
// ("-zvt", "-Pprofile"), and --tags takes zero or more values. urfave/cli
// does none of that, so Normalize rewrites argv into a canonical form
// (every option spelled "--name[=value]", then "--", then the positionals)
// before urfave parses it, and reports argparse's errors itself.
//
// This package is part of the barman-cloud command and has no compatibility
// promise as a library.
package cloudcli
