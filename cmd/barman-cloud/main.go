// Command barman-cloud is Barman's barman-cloud-* tools in one binary. Run
// it as "barman-cloud TOOL ..." or through a symlink named barman-cloud-TOOL.
package main

import (
	"os"

	"github.com/barmancloud/barman-cloud/shared/cloudcli"
	"github.com/barmancloud/barman-cloud/tools/checkwalarchive"
	"github.com/barmancloud/barman-cloud/tools/walarchive"
	"github.com/barmancloud/barman-cloud/tools/walrestore"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = ""

// Tools lists every tool of the binary, in the order --help shows them.
var Tools = []*cloudcli.Tool{
	walarchive.Tool,
	walrestore.Tool,
	checkwalarchive.Tool,
}

func main() {
	os.Exit(cloudcli.Main(cloudcli.Version(version), Tools...))
}
