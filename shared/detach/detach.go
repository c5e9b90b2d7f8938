// Package detach starts a copy of the running process that outlives it:
// the background workers a tool run by PostgreSQL leaves behind
// (wal-archive's uploader, wal-restore's prefetcher), so that the command
// PostgreSQL waits for returns at once.
package detach

import (
	"os"
	"os/exec"
	"syscall"
)

// Self starts this executable again with the same arguments (argv[0]
// included: the binary picks its tool from it) and the same environment
// plus env ("NAME=value", which tells the copy what it is), in a session
// of its own, so that signals to the caller's process group (PostgreSQL's
// to its archiver or startup process) do not reach it. Its stdin and
// stdout are /dev/null; its stderr is the caller's (PostgreSQL's log). It
// is not waited for: whoever adopts it reaps it.
func Self(env string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer devnull.Close()
	cmd := &exec.Cmd{Path: exe, Args: os.Args, Env: append(os.Environ(), env),
		Stdin: devnull, Stdout: devnull, Stderr: os.Stderr,
		SysProcAttr: &syscall.SysProcAttr{Setsid: true}}
	if err := cmd.Start(); err != nil {
		return err
	}
	return cmd.Process.Release()
}
