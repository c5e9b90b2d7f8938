// Command barman-cloud is Barman's barman-cloud-* tools in one binary. Run
// it as "barman-cloud TOOL ..." or through a symlink named barman-cloud-TOOL.
package main

import (
	"os"

	"github.com/barmancloud/barman-cloud/shared/cloudcli"
	"github.com/barmancloud/barman-cloud/tools/all"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = ""

// Tools lists every tool of the binary; the list itself is in tools/all,
// which the documentation and packaging generator (cmd/gendocs) reads too.
var Tools = all.Tools

func main() {
	os.Exit(cloudcli.Main(cloudcli.Version(version), Tools...))
}
