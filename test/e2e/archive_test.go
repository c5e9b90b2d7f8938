//go:build integration

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// call is one run of archive_command or restore_command, as the command
// line itself records it ("%f $?" appended to a file): the WAL file name
// and the tool's exit status.
type call struct {
	wal  string
	code int
}

// logCalls wraps a tool's command line for postgresql.conf so that each
// run appends its WAL name and exit status to file, and exits with the
// tool's status.
func logCalls(cmd, file string) string {
	return fmt.Sprintf(`%s; rc=$?; echo "%%f $rc" >> %s; exit $rc`, cmd, file)
}

// readCalls reads what logCalls recorded.
func readCalls(t *testing.T, file string) []call {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var calls []call
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			t.Fatalf("%s: bad line %q", file, line)
		}
		code, err := strconv.Atoi(f[1])
		if err != nil {
			t.Fatalf("%s: bad line %q", file, line)
		}
		calls = append(calls, call{f[0], code})
	}
	return calls
}

// archive is a listing of a server's WAL archive, taken with boto3 (not
// with the code under test).
type archive struct {
	keys  []string
	names map[string]string // WAL file name (compression suffix removed) -> key
}

// listArchive lists prefix/server/wals/ and checks that every object
// carries the compression suffix ext: every WAL was archived compressed.
func listArchive(t *testing.T, endpoint, bucket, prefix, server, ext string) archive {
	t.Helper()
	py := `import boto3, sys
s3 = boto3.client("s3", endpoint_url=sys.argv[1])
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=sys.argv[2], Prefix=sys.argv[3]):
    for o in page.get("Contents", []):
        print(o["Key"])
`
	dir := prefix + "/" + server + "/wals/"
	out, err := exec.Command("/usr/bin/python3", "-c", py, endpoint, bucket, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("listing s3://%s/%s with boto3: %v\n%s", bucket, dir, err, out)
	}
	a := archive{names: map[string]string{}}
	for _, key := range strings.Fields(string(out)) {
		a.keys = append(a.keys, key)
		base := key[strings.LastIndexByte(key, '/')+1:]
		name, ok := strings.CutSuffix(base, ext)
		if !ok {
			t.Errorf("archived object %s lacks the compression suffix %q", key, ext)
			continue
		}
		a.names[name] = key
	}
	sort.Strings(a.keys)
	return a
}

// has reports whether the archive holds the WAL file name.
func (a archive) has(name string) bool { _, ok := a.names[name]; return ok }

// serves reports whether barman-cloud-wal-restore finds something to
// restore for name: the file, or (as Barman) its .partial.
func (a archive) serves(name string) bool { return a.has(name) || a.has(name+".partial") }

func (a archive) String() string { return strings.Join(a.keys, "\n") }
