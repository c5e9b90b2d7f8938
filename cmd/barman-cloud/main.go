// Command barman-cloud is Barman's barman-cloud-* tools in one binary. Run
// it as "barman-cloud TOOL ..." or through a symlink named barman-cloud-TOOL.
package main

import (
	"os"
	"runtime/debug"

	"github.com/barmancloud/barman-cloud/shared/cloudcli"
	"github.com/barmancloud/barman-cloud/tools/all"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = ""

// Tools lists every tool of the binary; the list itself is in tools/all,
// which the documentation and packaging generator (cmd/gendocs) reads too.
var Tools = all.Tools

// gcPercent replaces Go's default GOGC of 100. A run's live heap is a few
// buffers that live as long as the run (the compressor's window, the 5 MiB
// upload part) and it allocates little besides, so at 100 the garbage of a
// long upload is let grow to the size of those buffers before one
// collection: a 1 GiB segment with --bzip2 peaked 11 MiB higher than at 25
// (57 against 46 MiB, bench/run.sh's segment), for no measurable time.
const gcPercent = 25

func main() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
	os.Exit(cloudcli.Main(cloudcli.Version(version), Tools...))
}
