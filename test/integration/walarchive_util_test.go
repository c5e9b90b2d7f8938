//go:build integration

package integration

// Helpers of the barman-cloud-wal-archive integration tests (archive_test.go,
// archive_attrs_test.go, archive_badinput_test.go, archive_overwrite_test.go,
// compat_barman_test.go). Their names start with "wa" so that they do not
// collide with other tests of this package.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/barmancloud/barman-cloud/test/harness"
	"github.com/barmancloud/barman-cloud/test/oracle"
)

// waTimeout bounds one run of a tool: a hung upload or an endless retry
// loop must fail the test, not stall the suite.
const waTimeout = 2 * time.Minute

// waRun runs a command like harness.Run, killed after waTimeout.
func waRun(t testing.TB, env []string, name string, args ...string) harness.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := harness.Result{Stdout: stdout.String(), Stderr: stderr.String(), Elapsed: time.Since(start)}
	if ctx.Err() != nil {
		t.Fatalf("%s %s: still running after %s\n%s", name, strings.Join(args, " "), waTimeout, r.Stderr)
	}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	case err != nil:
		t.Fatalf("running %s: %v", name, err)
	}
	return r
}

// waArchive runs our barman-cloud-wal-archive against a target:
// the target's options, then args.
func waArchive(t testing.TB, tg oracle.Target, env []string, args ...string) harness.Result {
	t.Helper()
	return waRun(t, env, harness.Tool(t, "barman-cloud-wal-archive"),
		append(append([]string{}, tg.Args...), args...)...)
}

// waMustArchive archives and fails the test unless the exit status is 0
// and nothing was printed (Barman's archiver is silent when it succeeds).
func waMustArchive(t testing.TB, tg oracle.Target, args ...string) {
	t.Helper()
	r := waArchive(t, tg, nil, args...)
	if r.Code != 0 || r.Stderr != "" || r.Stdout != "" {
		t.Fatalf("archive %s: exit %d, stderr:\n%s\nstdout:\n%s", strings.Join(args, " "), r.Code, r.Stderr, r.Stdout)
	}
}

// waWantFailure checks an exit status and that stderr is one line holding
// every one of msgs.
func waWantFailure(t testing.TB, r harness.Result, code int, msgs ...string) {
	t.Helper()
	if r.Code != code {
		t.Errorf("exit %d, want %d; stderr:\n%s", r.Code, code, r.Stderr)
	}
	lines := strings.Split(strings.TrimRight(r.Stderr, "\n"), "\n")
	if len(lines) != 1 || lines[0] == "" {
		t.Errorf("stderr is %d lines, want one:\n%s", len(lines), r.Stderr)
	}
	for _, m := range msgs {
		if !strings.Contains(r.Stderr, m) {
			t.Errorf("stderr lacks %q:\n%s", m, r.Stderr)
		}
	}
	if r.Stdout != "" {
		t.Errorf("stdout: %s", r.Stdout)
	}
}

// waNothingUnder fails the test when prefix holds any object.
func waNothingUnder(t testing.TB, tg oracle.Target, prefix string) {
	t.Helper()
	if keys := tg.Keys(t, prefix); len(keys) > 0 {
		t.Errorf("%s: objects under %s: %v", tg.Name, prefix, keys)
	}
}

// waCopy copies src into dir under the name base and returns its path.
func waCopy(t testing.TB, src, dir, base string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	return waWrite(t, dir, base, b)
}

func waWrite(t testing.TB, dir, base string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, base)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func waRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waPageSize is PostgreSQL's WAL page size: bytes from here on are past the
// segment's first page, which holds the header the archiver checks.
const waPageSize = 8192

// waVariant copies the segment src into dir under its own name, with
// different bytes past the first page: a segment with the same name and a
// valid header, and other content (what another server with the same
// name, or a diverged timeline, would archive).
func waVariant(t testing.TB, src, dir string, seed byte) string {
	t.Helper()
	b := waRead(t, src)
	for i := waPageSize; i < len(b); i += 4093 {
		b[i] ^= 0x5a + seed
	}
	return waWrite(t, dir, filepath.Base(src), b)
}

// waIncompressible copies the segment src into dir with random bytes past
// its first page: compressed, it stays as big as it is, so every
// compression's upload exceeds one part and goes up in several.
func waIncompressible(t testing.TB, src, dir string) string {
	t.Helper()
	b := waRead(t, src)
	if _, err := rand.Read(b[waPageSize:]); err != nil {
		t.Fatal(err)
	}
	return waWrite(t, dir, filepath.Base(src), b)
}

// waRelocate copies the segment src into dir as the segment base (a
// 24-character name), rewriting the page address in its long header
// (xlp_pageaddr, little-endian at offset 8; the test WALs come from this
// machine) so that the archiver's header check accepts the new name.
func waRelocate(t testing.TB, src, dir, base string) string {
	t.Helper()
	b := waRead(t, src)
	if len(base) != 24 {
		t.Fatalf("%s is not a segment name", base)
	}
	var tli, log, seg uint32
	for i, p := range []*uint32{&tli, &log, &seg} {
		v, err := hex.DecodeString(base[8*i : 8*i+8])
		if err != nil {
			t.Fatal(err)
		}
		*p = binary.BigEndian.Uint32(v)
	}
	size := uint64(len(b))
	binary.LittleEndian.PutUint64(b[8:], (uint64(log)*(1<<32/size)+uint64(seg))*size)
	return waWrite(t, dir, base, b)
}

func waSHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// waHashDir is Barman's hash_dir of a WAL file name: the timeline and log
// of a segment, partial or backup label, upper-cased; "" for a history file.
func waHashDir(base string) string {
	if strings.HasSuffix(base, ".history") {
		return ""
	}
	return strings.ToUpper(base[:16]) + "/"
}

// waKey is the key Barman gives the WAL file base archived under prefix
// for server pg (spec §3.4), with the compression's suffix.
func waKey(prefix, base, suffix string) string {
	return prefix + "/pg/wals/" + waHashDir(base) + base + suffix
}

// waChecksumKey is the name under which a server reports our metadata key
// barman-cloud-sha256. Azure metadata names must be C# identifiers, so
// gocloud's azureblob driver hex-escapes the dashes.
func waChecksumKey(tg oracle.Target) string {
	if tg.Name == "azure" {
		return "barman__0x2d__cloud__0x2d__sha256"
	}
	return "barman-cloud-sha256"
}

// waWriterKey is the name under which a server reports our metadata key
// barman-cloud-writer (see waChecksumKey).
func waWriterKey(tg oracle.Target) string {
	if tg.Name == "azure" {
		return "barman__0x2d__cloud__0x2d__writer"
	}
	return "barman-cloud-writer"
}

// waIncarnation identifies one upload of an object, unchanged by metadata
// writes: the S3 ETag (the MD5 of the content, so it cannot tell an upload
// of the same bytes), Azure's creation time, the GCS generation.
func waIncarnation(tg oracle.Target, o oracle.Object) string {
	switch tg.Name {
	case "azure":
		return o.Created
	case "gcs":
		_, gen, _ := strings.Cut(o.ETag, "/")
		return gen
	}
	return o.ETag
}

// waCheckObject checks that o holds want, compressed with c, with our
// checksum metadata, and no Content-Encoding (GCS would transcode it).
func waCheckObject(t testing.TB, tg oracle.Target, o oracle.Object, c oracle.Compression, want []byte) {
	t.Helper()
	if got := c.Decode(t, o.Data(t)); !bytes.Equal(got, want) {
		t.Errorf("%s: decoded %d bytes that differ from the %d bytes archived", o.Key, len(got), len(want))
	}
	if got, want := o.Metadata[waChecksumKey(tg)], waSHA256(want); got != want {
		t.Errorf("%s: checksum metadata %q, want %q (metadata %v)", o.Key, got, want, o.Metadata)
	}
	if o.ContentEncoding != "" {
		t.Errorf("%s: Content-Encoding %q", o.Key, o.ContentEncoding)
	}
}

// waObjects lists prefix with bodies and checks it holds exactly the keys
// of want; it returns the objects by key.
func waObjects(t testing.TB, tg oracle.Target, prefix string, want ...string) map[string]oracle.Object {
	t.Helper()
	objs := tg.Objects(t, prefix, true)
	got := map[string]oracle.Object{}
	var keys []string
	for _, o := range objs {
		got[o.Key] = o
		keys = append(keys, o.Key)
	}
	if strings.Join(keys, "\n") != strings.Join(slices.Sorted(slices.Values(want)), "\n") {
		t.Fatalf("%s: objects under %s:\n  %s\nwant:\n  %s", tg.Name, prefix, strings.Join(keys, "\n  "), strings.Join(slices.Sorted(slices.Values(want)), "\n  "))
	}
	return got
}
