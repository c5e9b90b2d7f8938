// Package all lists every tool of the barman-cloud binary. It is the one
// list that the binary (cmd/barman-cloud) dispatches on and that the
// documentation, completion and packaging generator (cmd/gendocs) writes
// man pages, completions and package symlinks for, so that a tool added
// here gets all of them.
//
// This package is part of the barman-cloud command and has no compatibility
// promise as a library.
package all

import (
	"github.com/barmancloud/barman-cloud/shared/cloudcli"
	"github.com/barmancloud/barman-cloud/tools/backup"
	"github.com/barmancloud/barman-cloud/tools/backupdelete"
	"github.com/barmancloud/barman-cloud/tools/backupkeep"
	"github.com/barmancloud/barman-cloud/tools/backuplist"
	"github.com/barmancloud/barman-cloud/tools/backupshow"
	"github.com/barmancloud/barman-cloud/tools/checkwalarchive"
	"github.com/barmancloud/barman-cloud/tools/restore"
	"github.com/barmancloud/barman-cloud/tools/walarchive"
	"github.com/barmancloud/barman-cloud/tools/walrestore"
)

// Tools lists every tool, in the order --help and the documentation show
// them.
var Tools = []*cloudcli.Tool{
	walarchive.Tool,
	walrestore.Tool,
	checkwalarchive.Tool,
	backup.Tool,
	backuplist.Tool,
	backupshow.Tool,
	backupdelete.Tool,
	backupkeep.Tool,
	restore.Tool,
}
