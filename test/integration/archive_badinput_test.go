//go:build integration

package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/barmancloud/barman-cloud/test/harness"
	"github.com/barmancloud/barman-cloud/test/oracle"
)

// waBad is a run of the archiver that must fail: its exit status, words of
// its one-line message, and nothing stored under its prefix afterwards.
type waBad struct {
	name string
	// args are the arguments after the target's options, given the
	// destination URL of the case's prefix.
	args func(url string) []string
	env  []string
	code int
	msgs []string
	// unprivileged runs the archiver without the capabilities that let
	// root read any file.
	unprivileged bool
}

// waRunBad runs each case against tg, in parallel when parallel is set
// (for cases that wait for retries).
func waRunBad(t *testing.T, tg oracle.Target, cases []waBad, parallel bool) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if parallel {
				t.Parallel()
			}
			prefix := harness.UniquePrefix(t)
			args := append(append([]string{}, tg.Args...), tc.args(tg.URL(prefix))...)
			env := tc.env
			tool := harness.Tool(t, "barman-cloud-wal-archive")
			var r harness.Result
			if tc.unprivileged && os.Geteuid() == 0 {
				// Root reads a mode-000 file through CAP_DAC_OVERRIDE and
				// CAP_DAC_READ_SEARCH: drop every capability (uid 0 stays,
				// so the binary in its 0700 directory still runs).
				r = waRun(t, env, "setpriv", append([]string{"--bounding-set=-all", "--inh-caps=-all", tool}, args...)...)
			} else {
				r = waRun(t, env, tool, args...)
			}
			waWantFailure(t, r, tc.code, tc.msgs...)
			waNothingUnder(t, tg, prefix)
		})
	}
}

// TestArchiveBadFile: a WAL path that cannot be archived is refused with
// Barman's exit statuses (spec §1.4, §2.6), before anything is stored.
func TestArchiveBadFile(t *testing.T) {
	wals := harness.WALs(t)
	tg := oracle.S3(t)
	seg := wals.Segments[1]
	base := filepath.Base(seg)
	dir := t.TempDir()
	sub := func(name string) string {
		d := filepath.Join(dir, name)
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	missing := filepath.Join(sub("missing"), base)
	directory := filepath.Join(sub("directory"), base)
	if err := os.Mkdir(directory, 0o755); err != nil {
		t.Fatal(err)
	}
	unreadable := waCopy(t, seg, sub("unreadable"), base)
	if err := os.Chmod(unreadable, 0); err != nil {
		t.Fatal(err)
	}
	badName := waCopy(t, seg, sub("badname"), base+".gz")
	otherSegment := waCopy(t, seg, sub("other"), filepath.Base(wals.Segments[2])) // a real segment, named as another
	truncated := waWrite(t, sub("truncated"), base, waRead(t, seg)[:5<<20])
	binaryHistory := waWrite(t, sub("binhistory"), "00000002.history", []byte("1\t0/3000000\tno recovery target\x00\x01\x02"))
	notLabel := waWrite(t, sub("notlabel"), filepath.Base(wals.Backup), []byte("this is not a backup label\n"))
	plain := func(p string) func(string) []string {
		return func(u string) []string { return []string{u, "pg", p} }
	}
	waRunBad(t, tg, []waBad{
		{name: "missing", args: plain(missing), code: 4, msgs: []string{missing, "does not exist"}},
		{name: "directory", args: plain(directory), code: 4, msgs: []string{directory, "not a regular file"}},
		{name: "unreadable", args: plain(unreadable), code: 4, msgs: []string{unreadable, "permission denied"}, unprivileged: true},
		{name: "invalid-name", args: plain(badName), code: 3, msgs: []string{badName + " is an invalid name for a WAL file"}},
		{name: "invalid-name-text", args: plain("pg_wal/RECOVERYHISTORY"), code: 3, msgs: []string{"pg_wal/RECOVERYHISTORY is an invalid name for a WAL file"}},
		{name: "other-segment", args: plain(otherSegment), code: 1, msgs: []string{"refusing to archive", otherSegment, "another segment"}},
		{name: "truncated-segment", args: plain(truncated), code: 1, msgs: []string{"refusing to archive", "not a WAL segment size"}},
		{name: "binary-history", args: plain(binaryHistory), code: 1, msgs: []string{"refusing to archive", "binary data"}},
		{name: "not-a-backup-label", args: plain(notLabel), code: 1, msgs: []string{"refusing to archive", "START WAL LOCATION"}},
	}, false)
}

// TestArchiveBadOptions: invalid options are usage errors (exit 3), as
// argparse's, before any request.
func TestArchiveBadOptions(t *testing.T) {
	wals := harness.WALs(t)
	seg := wals.Segments[1]
	opts := func(before []string, after ...string) func(string) []string {
		return func(u string) []string {
			return append(append(append([]string{}, before...), u, "pg", seg), after...)
		}
	}
	tg := oracle.S3(t)
	waRunBad(t, tg, []waBad{
		{name: "cloud-provider", args: opts([]string{"--cloud-provider", "azure"}), code: 3, msgs: []string{"argument --cloud-provider: invalid choice: 'azure'"}},
		{name: "tag-aws-prefix", args: opts([]string{"--tag", "aws:x,y"}), code: 3, msgs: []string{"argument --tag: invalid check_tag value: 'aws:x,y'"}},
		{name: "tag-no-comma", args: opts([]string{"--tag", "k"}), code: 3, msgs: []string{"invalid check_tag value: 'k'"}},
		{name: "tag-bad-char", args: opts([]string{"--history-tag", "k,v!"}), code: 3, msgs: []string{"argument --history-tag: invalid check_tag value"}},
		{name: "tag-empty", args: opts([]string{"--tag", ""}), code: 3, msgs: []string{"argument --tag: invalid check_tag value: ''"}},
		{name: "tags-three-fields", args: opts(nil, "--tags", "a,b,c"), code: 3, msgs: []string{"Invalid tag format: a,b,c"}},
		{name: "tags-swallow-positionals", args: func(u string) []string { return []string{"--tags", "a,b", u, "pg", seg} }, code: 3, msgs: []string{"Invalid tag format: s3://" + tg.Bucket + "/"}},
		{name: "tag-and-tags", args: opts([]string{"--tag", "a,b"}, "--tags", "c,d"), code: 3, msgs: []string{"not allowed with"}},
		{name: "max-block-size-zero", args: opts([]string{"--max-block-size", "0"}), code: 3, msgs: []string{"argument --max-block-size: '0' is not a valid size string"}},
		{name: "max-single-put-size-unit", args: opts([]string{"--max-single-put-size", "4K"}), code: 3, msgs: []string{"'4K' is not a valid size string"}},
		{name: "max-concurrency-zero", args: opts([]string{"--max-concurrency", "0"}), code: 3, msgs: []string{"'0' is not a valid positive integer"}},
		{name: "level-plus", args: opts([]string{"--gzip", "--compression-level", "+5"}), code: 3, msgs: []string{"argument --compression-level: invalid parse_compression_level value: '+5'"}},
		{name: "level-double-minus", args: opts([]string{"--zstd", "--compression-level=--5"}), code: 3, msgs: []string{"invalid parse_compression_level value: '--5'"}},
		{name: "level-word", args: opts([]string{"--xz", "--compression-level", "fastest"}), code: 3, msgs: []string{"invalid parse_compression_level value: 'fastest'"}},
		{name: "encryption-case", args: opts([]string{"-e", "aes256"}), code: 3, msgs: []string{"argument -e/--encryption: invalid choice: 'aes256'"}},
		{name: "two-compressions", args: opts([]string{"-z", "-j"}), code: 3, msgs: []string{"not allowed with"}},
	}, false)
}

// TestArchiveBadURL: a destination URL that is malformed for its provider
// fails while the client is built (exit 4).
func TestArchiveBadURL(t *testing.T) {
	wals := harness.WALs(t)
	seg := wals.Segments[1]
	azureAccount := harness.Env(t, "BARMAN_AZURE_URL")
	azureAccount = azureAccount[:strings.LastIndexByte(azureAccount, '/')] // http://HOST:PORT/ACCOUNT
	for _, tc := range []struct {
		name string
		tg   oracle.Target
		url  func(prefix string) string
		msgs []string
	}{
		{"s3-no-bucket", oracle.S3(t), func(p string) string { return "s3:///" + p }, []string{"Invalid s3 URL address: s3:///"}},
		{"s3-scheme", oracle.S3(t), func(p string) string { return "https://barman-test/" + p }, []string{"Invalid s3 URL address: https://barman-test/"}},
		{"azure-emulated-no-container", oracle.Azure(t), func(string) string { return azureAccount }, []string{"emulated storage URL " + azureAccount + " is malformed"}},
		{"azure-no-path", oracle.Azure(t), func(string) string { return "https://acct.blob.core.windows.net" }, []string{"azure blob storage URL https://acct.blob.core.windows.net is malformed"}},
		{"gcs-no-bucket", oracle.GCS(t), func(p string) string { return "gs:///" + p }, []string{"is malformed. Bucket name not found"}},
		{"gcs-scheme", oracle.GCS(t), func(p string) string { return "s3://barman-test/" + p }, []string{"Google cloud storage URL s3://barman-test/", "is malformed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			waRunBad(t, tc.tg, []waBad{{
				name: "url",
				args: func(good string) []string {
					// The bad URL keeps the good one's prefix, whose listing
					// must stay empty.
					prefix := strings.TrimPrefix(good, tc.tg.URL(""))
					return []string{tc.url(prefix), "pg", seg}
				},
				code: 4, msgs: tc.msgs,
			}}, false)
		})
	}
}

// TestArchiveUnreachable: a storage that cannot be reached, at a closed
// port or at a name that does not resolve, is exit 2 on every provider,
// for an archive and for -t.
func TestArchiveUnreachable(t *testing.T) {
	wals := harness.WALs(t)
	seg := wals.Segments[1]
	for _, tg := range oracle.Targets(t) {
		t.Run(tg.Name, func(t *testing.T) {
			var cases []waBad
			for _, host := range []struct{ name, hostport string }{
				{"closed-port", oracle.ClosedPort(t)},
				{"unresolvable", oracle.Unresolvable + ":9"},
			} {
				args, env := tg.Via(host.hostport)
				for _, test := range []bool{false, true} {
					name := host.name
					if test {
						name += "/test"
					}
					cases = append(cases, waBad{
						name: name,
						args: func(u string) []string {
							a := append([]string{}, args...)
							if test {
								a = append(a, "-t")
							}
							return append(a, u, "pg", seg)
						},
						env:  env,
						code: 2,
						msgs: []string{"cannot reach the storage"},
					})
				}
			}
			// The cases' options replace the target's: they point at
			// the unreachable endpoint. The listing afterwards is on the
			// real server.
			bare := tg
			bare.Args = nil
			waRunBad(t, bare, cases, true)
		})
	}
}

// TestArchiveMissingBucket: a bucket (container) that does not exist is
// exit 1, for an archive and for -t, and it is not created (Barman 3.4.0
// created it; 3.16 does not).
func TestArchiveMissingBucket(t *testing.T) {
	wals := harness.WALs(t)
	for _, tg := range oracle.Targets(t) {
		t.Run(tg.Name, func(t *testing.T) {
			for _, test := range [][]string{nil, {"-t"}} {
				bucket := strings.ToLower(strings.NewReplacer("/", "-", "_", "-", ".", "-").Replace(harness.UniquePrefix(t)[3:]))
				if len(bucket) > 63 {
					bucket = bucket[len(bucket)-63:]
				}
				bucket = strings.Trim(bucket, "-")
				r := waArchive(t, tg, nil, append(test, tg.BucketURL(bucket, "p"), "pg", wals.Segments[1])...)
				waWantFailure(t, r, 1, "Bucket "+bucket+" does not exist")
				if tg.BucketExists(t, bucket) {
					t.Errorf("%s %v: bucket %s was created", tg.Name, test, bucket)
				}
			}
		})
	}
}

// TestArchiveWrongCredentials: credentials the server rejects are exit 4.
// fake-gcs-server does not authenticate (the client talks to an emulator
// without credentials), so on GCS the credentials are wrong in the one
// way that fails without a server: an unreadable credentials file.
func TestArchiveWrongCredentials(t *testing.T) {
	wals := harness.WALs(t)
	seg := wals.Segments[1]
	az := oracle.Azure(t)
	badCreds := waWrite(t, t.TempDir(), "creds.json", []byte(`{"type": "service_account", `))
	azureEndpoint := harness.Env(t, "AZURE_STORAGE_CONNECTION_STRING")
	azureEndpoint = azureEndpoint[strings.Index(azureEndpoint, "BlobEndpoint=")+len("BlobEndpoint="):]
	azureEndpoint = strings.TrimSuffix(azureEndpoint[:strings.IndexByte(azureEndpoint+";", ';')], ";")
	plain := func(u string) []string { return []string{u, "pg", seg} }
	// -t too: Barman's probe calls a rejected Azure key "cannot connect"
	// (exit 2); here 2 is kept for what retrying later may cure.
	probe := func(u string) []string { return []string{"-t", u, "pg", seg} }
	waRunBad(t, oracle.S3(t), []waBad{
		{name: "s3-secret", args: plain, env: []string{"AWS_SECRET_ACCESS_KEY=wrong-secret"}, code: 4, msgs: []string{"SignatureDoesNotMatch"}},
		{name: "s3-access-key", args: plain, env: []string{"AWS_ACCESS_KEY_ID=nobody"}, code: 4, msgs: []string{"InvalidAccessKeyId"}},
		{name: "s3-secret-t", args: probe, env: []string{"AWS_SECRET_ACCESS_KEY=wrong-secret"}, code: 4, msgs: []string{"the storage denied access (HTTP 403"}},
	}, false)
	azureBadKey := []string{"AZURE_STORAGE_CONNECTION_STRING=" + oracle.AzureConnectionString(azureEndpoint, "d3Jvbmcta2V5")}
	waRunBad(t, az, []waBad{
		{name: "azure-key", args: plain, code: 4, msgs: []string{"AuthorizationFailure"}, env: azureBadKey},
		{name: "azure-key-t", args: probe, code: 4, msgs: []string{"AuthorizationFailure"}, env: azureBadKey},
	}, false)
	gcs := oracle.GCS(t)
	waRunBad(t, gcs, []waBad{
		{name: "gcs-credentials-file", args: plain, code: 4, msgs: []string{"GOOGLE_APPLICATION_CREDENTIALS"},
			env: []string{"STORAGE_EMULATOR_HOST=", "GOOGLE_APPLICATION_CREDENTIALS=" + badCreds}},
	}, false)
}

// TestArchiveTestFlag: -t checks the storage answers and the bucket
// exists (Barman ≥ 3.16, spec §4.4): 0, 1 when it is missing (2 when the
// storage cannot be reached: see TestArchiveUnreachable); it archives
// nothing.
func TestArchiveTestFlag(t *testing.T) {
	wals := harness.WALs(t)
	for _, tg := range oracle.Targets(t) {
		t.Run(tg.Name, func(t *testing.T) {
			prefix := harness.UniquePrefix(t)
			r := waArchive(t, tg, nil, "-t", tg.URL(prefix), "pg", wals.Segments[1])
			if r.Code != 0 || r.Stderr != "" {
				t.Errorf("-t on an existing bucket: exit %d, stderr:\n%s", r.Code, r.Stderr)
			}
			waNothingUnder(t, tg, prefix)
			r = waArchive(t, tg, nil, "-t", tg.BucketURL("no-such-bucket-itarchive", "p"), "pg", wals.Segments[1])
			waWantFailure(t, r, 1, "Bucket no-such-bucket-itarchive does not exist")
			// Unreachable (exit 2): TestArchiveUnreachable's "/test" cases.
		})
	}
}
