package main

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/sys/unix"

	"github.com/barmancloud/barman-cloud/shared/cloudcli"
	"github.com/barmancloud/barman-cloud/shared/wal"
)

var update = flag.Bool("update", false, "update the golden files in testdata/script")

// TestMain makes the test binary the barman-cloud binary when it is run
// under the name of the binary or of a tool (testscript copies it under
// each name into the scripts' PATH), so that scripts go through the real
// main, the real argv[0] dispatch and the real exit statuses.
func TestMain(m *testing.M) {
	cmds := map[string]func(){
		cloudcli.MultiCall: main,
		"as-nobody":        asNobody,
	}
	for _, t := range Tools {
		cmds[t.Prog()] = main
	}
	testscript.Main(m, cmds)
}

// asNobody runs the command line after it (a tool and its arguments) as
// main does, without root's privileges: as root, it first becomes user and
// group 65534. It runs in-process, as exec'ing the copied binary would
// need the test's private directories to be open to that user. It lets
// scripts assert what a non-root user sees (a chmod 000 file is readable
// by root) even when the tests run as root, as in CI.
func asNobody() {
	if os.Geteuid() == 0 {
		for _, err := range []error{syscall.Setgroups(nil), syscall.Setgid(65534), syscall.Setuid(65534)} {
			if err != nil {
				fmt.Fprintln(os.Stderr, "as-nobody: dropping privileges:", err)
				os.Exit(125)
			}
		}
	}
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: as-nobody COMMAND [ARGS...]")
		os.Exit(125)
	}
	os.Args = os.Args[1:]
	main()
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:           "testdata/script",
		UpdateScripts: *update,
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"exitcode": cmdExitcode,
			"lines":    cmdLines,
			"mkwal":    cmdMkwal,
			"meta":     cmdMeta,
		},
		Setup: func(env *testscript.Env) error {
			// Control characters for arguments, which a script cannot write.
			env.Setenv("TAB", "\t")
			return nil
		},
	})
}

// cmdExitcode runs a command and checks its exact exit status:
//
//	exitcode N command [args...]
//
// (testscript's "! exec" only checks that it is not zero). Its stdout and
// stderr are then checked with the stdout and stderr commands.
func cmdExitcode(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! exitcode")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: exitcode N command [args...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		got = ee.ExitCode()
	default:
		ts.Fatalf("%s: %v", args[1], err)
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}

// cmdLines checks the number of lines of the last command's stdout or
// stderr, or of a file:
//
//	lines stdout|stderr|FILE N
func cmdLines(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: lines stdout|stderr|FILE N")
	}
	want, err := strconv.Atoi(args[1])
	ts.Check(err)
	text := ts.ReadFile(args[0])
	got := strings.Count(text, "\n")
	if text != "" && !strings.HasSuffix(text, "\n") {
		got++
	}
	if got != want {
		ts.Fatalf("%s has %d lines, want %d:\n%s", args[0], got, want, text)
	}
}

// cmdMkwal writes a WAL segment file that passes the archiver's check: a
// 1 MiB segment whose long page header matches its name.
//
//	mkwal [-fill BYTE] PATH
//
// -fill sets the byte the rest of the segment is filled with, to make
// segments of the same name with different content.
func cmdMkwal(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("mkwal", flag.ContinueOnError)
	fill := fs.Uint("fill", 0, "filler byte")
	if neg || fs.Parse(args) != nil || fs.NArg() != 1 {
		ts.Fatalf("usage: mkwal [-fill BYTE] PATH")
	}
	ts.Check(writeSegment(ts.MkAbs(fs.Arg(0)), byte(*fill)))
}

// writeSegment writes a 1 MiB WAL segment at path whose long page header
// matches its name, the rest filled with fill.
func writeSegment(path string, fill byte) error {
	n, err := wal.Parse(path)
	if err != nil {
		return err
	}
	const size = 1 << 20
	buf := make([]byte, size)
	for i := range buf {
		buf[i] = fill
	}
	// XLogLongPageHeaderData, PostgreSQL 15, little-endian.
	le := binary.LittleEndian
	clear(buf[:wal.LongHeaderSize])
	le.PutUint16(buf[0:], 0xD110)
	le.PutUint16(buf[2:], 0x0002) // XLP_LONG_HEADER
	le.PutUint32(buf[4:], n.Timeline)
	le.PutUint64(buf[8:], (uint64(n.Log)*(1<<32/size)+uint64(n.Seg))*size)
	le.PutUint32(buf[32:], size)
	le.PutUint32(buf[36:], 8192)
	if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
		return err
	}
	return os.WriteFile(path, buf, 0o666)
}

// TestEveryTool checks what every tool of Tools must do, through the real
// argv[0] dispatch of the test binary (see TestMain), so that a new tool
// is covered by being listed.
func TestEveryTool(t *testing.T) {
	if len(Tools) == 0 {
		t.Fatal("no tools")
	}
	run := func(t *testing.T, argv ...string) (stdout, stderr string, code int) {
		t.Helper()
		self, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(self)
		cmd.Args = argv
		cmd.Env = append(os.Environ(), "HOME=/nonexistent")
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err = cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
	}

	multi, _, code := run(t, cloudcli.MultiCall, "--help")
	if code != 0 {
		t.Fatalf("barman-cloud --help: exit %d", code)
	}
	for _, tool := range Tools {
		t.Run(tool.Name, func(t *testing.T) {
			if !strings.Contains(multi, "\n  "+tool.Name+" ") {
				t.Errorf("barman-cloud --help does not list %s:\n%s", tool.Name, multi)
			}
			for _, argv := range [][]string{{tool.Prog()}, {cloudcli.MultiCall, tool.Name}} {
				name := strings.Join(argv, " ")
				for _, v := range []string{"-V", "--version", "--vers"} {
					out, errOut, code := run(t, append(argv, v)...)
					if code != 0 || !strings.HasPrefix(out, tool.Prog()+" ") || strings.Count(out, "\n") != 1 || errOut != "" {
						t.Errorf("%s %s: exit %d, stdout %q, stderr %q; want 0 and %q", name, v, code, out, errOut, tool.Prog()+" VERSION\n")
					}
				}
				out, errOut, code := run(t, append(argv, "--help")...)
				usage, _, _ := strings.Cut(out, "\n\n")
				if want := "usage: " + name + " [OPTIONS] " + tool.ArgsUsage(); code != 0 || strings.Join(strings.Fields(usage), " ") != want || errOut != "" {
					t.Errorf("%s --help: exit %d, stderr %q, want usage %q, stdout:\n%s", name, code, errOut, want, out)
				}
				if !strings.Contains(out, "\noptions:\n") || strings.Contains(out, "(default: false)") {
					t.Errorf("%s --help is not in the argparse layout:\n%s", name, out)
				}
				if !strings.Contains(out, "\nexit status:\n") {
					t.Errorf("%s --help has no \"exit status:\" section: document the tool's ExitStatus", name)
				}
				for _, f := range tool.Flags() {
					if !strings.Contains(out, "--"+f.Names()[0]) {
						t.Errorf("%s --help does not show --%s", name, f.Names()[0])
					}
				}
				bads := [][]string{{"--no-such-option"}}
				if !usesShortH(tool) { // barman-cloud-backup's -h is --host
					bads = append(bads, []string{"-h"})
				}
				for _, bad := range bads {
					out, errOut, code := run(t, append(argv, bad...)...)
					if code != 3 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, tool.Prog()+": error: unrecognized arguments: "+bad[0]) {
						t.Errorf("%s %s: exit %d, stdout %q, stderr %q; want 3 and one usage error line", name, bad[0], code, out, errOut)
					}
				}
			}
		})
	}
}

func usesShortH(t *cloudcli.Tool) bool {
	for _, f := range t.Flags() {
		for _, n := range f.Names() {
			if n == "h" {
				return true
			}
		}
	}
	return false
}

// cmdMeta prints the user metadata a file store keeps for an object (in
// extended attributes, see shared/storage/localfs) as sorted KEY=VALUE
// lines on stdout:
//
//	meta FILE
func cmdMeta(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: meta FILE")
	}
	const prefix = "user.barman-cloud."
	path := ts.MkAbs(args[0])
	buf := make([]byte, 64<<10)
	n, err := unix.Listxattr(path, buf)
	ts.Check(err)
	var lines []string
	for _, name := range strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00") {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		v := make([]byte, 64<<10)
		m, err := unix.Getxattr(path, name, v)
		ts.Check(err)
		lines = append(lines, strings.TrimPrefix(name, prefix)+"="+string(v[:m]))
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Fprintln(ts.Stdout(), l)
	}
}
