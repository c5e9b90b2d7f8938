package cloudcli

import "runtime/debug"

// Version is the version to print: v when the build stamped one, else the
// module version "go install" recorded, else "devel".
func Version(v string) string {
	if v != "" {
		return v
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
