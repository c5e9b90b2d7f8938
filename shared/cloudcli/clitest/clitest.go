// Package clitest runs a barman-cloud tool in-process, as its symlink
// would run it, for the tools' unit tests: the real argument parsing,
// logging, redaction and exit-status mapping, with the environment and
// the output in the test's hands.
//
// This package is part of the barman-cloud command and has no compatibility
// promise as a library.
package clitest

import (
	"bytes"
	"context"
	"testing"

	"github.com/barmancloud/barman-cloud/shared/cloudcli"
)

// Result is what a run printed and its exit status.
type Result struct {
	Code           int
	Stdout, Stderr string
}

// Run runs tool as "barman-cloud-<name> args...", with env as its whole
// environment (nil: empty), and version "test".
func Run(t testing.TB, tool *cloudcli.Tool, env map[string]string, args ...string) Result {
	t.Helper()
	var out, errb bytes.Buffer
	code := cloudcli.Execute(context.Background(), cloudcli.Env{
		Args:      append([]string{tool.Prog()}, args...),
		Stdout:    &out,
		Stderr:    &errb,
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Version:   "test",
	}, tool)
	return Result{code, out.String(), errb.String()}
}
