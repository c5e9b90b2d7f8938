//go:build integration

package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/barmancloud/barman-cloud/test/harness"
)

// hdSecrets are fake but realistic credentials of every kind the tools
// read, and the strings none of the tools may ever print.
type hdSecrets struct {
	awsKeyID, awsSecret, awsToken string
	azureKey, azureConnKey        string
	sasSig, sasToken              string
	clientSecret                  string
	password                      string // in URLs: user:password@
	pemKey                        string // a service account's private key
	saFile                        string // its JSON file
	realS3, realAzure             string // the test servers' real secrets
}

func hdRandomKey(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

func hdNewSecrets(t *testing.T, tokenURI string) *hdSecrets {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	s := &hdSecrets{
		awsKeyID:     "AKIAHDTESTQ7EXAMPLE2",
		awsSecret:    "hdSecretKey/K7MDENG+bPxRfiCYEXAMPLEKEY40c",
		awsToken:     "FwoGZXIvYXdzEJr//////////wEaDHdSessionToken" + strings.ReplaceAll(hdRandomKey(48), "=", ""),
		azureKey:     hdRandomKey(64),
		azureConnKey: hdRandomKey(64),
		sasSig:       hdRandomKey(32),
		clientSecret: "hdQ8~ClientSecret.Example_" + strings.ReplaceAll(hdRandomKey(12), "=", ""),
		password:     "hdEndp0intPassw0rd",
		pemKey:       string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		realS3:       harness.Env(t, "AWS_SECRET_ACCESS_KEY"),
	}
	s.sasToken = "sv=2022-11-02&ss=b&srt=sco&sp=rwdlacx&se=2030-01-01T00:00:00Z&st=2024-01-01T00:00:00Z&spr=https,http&sig=" + url.QueryEscape(s.sasSig)
	for _, part := range strings.Split(harness.Env(t, "AZURE_STORAGE_CONNECTION_STRING"), ";") {
		if v, ok := strings.CutPrefix(part, "AccountKey="); ok {
			s.realAzure = v
		}
	}
	if s.realAzure == "" {
		t.Fatal("AZURE_STORAGE_CONNECTION_STRING has no AccountKey")
	}
	sa, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "hd-project", "private_key_id": "0123456789abcdef0123456789abcdef01234567",
		"private_key": s.pemKey, "client_email": "barman@hd-project.iam.gserviceaccount.com", "client_id": "123456789012345678901",
		"auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": tokenURI,
	})
	s.saFile = filepath.Join(t.TempDir(), "service-account.json")
	if err := os.WriteFile(s.saFile, sa, 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

// leaks returns what of the secrets text shows: a whole secret, the
// percent-encoded SAS signature, or any line of the private key's body.
func (s *hdSecrets) leaks(text string) []string {
	var found []string
	check := func(name, v string) {
		if v != "" && strings.Contains(text, v) {
			found = append(found, name)
		}
	}
	check("AWS_ACCESS_KEY_ID", s.awsKeyID)
	check("AWS_SECRET_ACCESS_KEY", s.awsSecret)
	check("AWS_SESSION_TOKEN", s.awsToken)
	check("AZURE_STORAGE_KEY", s.azureKey)
	check("the connection string's AccountKey", s.azureConnKey)
	check("the SAS signature", s.sasSig)
	check("the SAS signature, encoded", url.QueryEscape(s.sasSig))
	check("AZURE_CLIENT_SECRET", s.clientSecret)
	check("the URL password", s.password)
	check("MinIO's secret key", s.realS3)
	check("Azurite's account key", s.realAzure)
	for _, line := range strings.Split(s.pemKey, "\n") {
		if len(line) > 16 && !strings.HasPrefix(line, "-----") && strings.Contains(text, line) {
			found = append(found, "a line of the private key")
			break
		}
	}
	return found
}

// hdSignatureLeak finds a request signature or credential header whose
// value was not masked, as an SDK's debug output could print one.
var hdSignatureLeak = regexp.MustCompile(`(?i)(authorization["']?:\s*|[?&\s]sig=|signature=|x-amz-signature=|x-amz-credential=|x-amz-security-token[=:]\s*|sharedaccesssignature=|accountkey=|bearer\s+)([^\s&;"',]+)`)

func hdUnmasked(text string) []string {
	var found []string
	for _, m := range hdSignatureLeak.FindAllStringSubmatch(text, -1) {
		if m[2] != "REDACTED" && !strings.HasPrefix(m[2], "REDACTED") {
			found = append(found, strings.TrimSpace(m[0]))
		}
	}
	return found
}

// hdSink is an HTTP proxy on 127.0.0.1 that refuses everything: the
// secrets test points HTTP_PROXY and HTTPS_PROXY at it, so that a tool
// aimed at a real cloud endpoint (an Azure account URL, Google's token
// and storage endpoints, Azure's identity endpoints) talks to it instead.
// Go never proxies loopback addresses, so the test servers are reached
// directly.
type hdSink struct {
	*httptest.Server
	mu    sync.Mutex
	hosts map[string]int
}

func hdNewSink(t *testing.T) *hdSink {
	s := &hdSink{hosts: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hosts[r.Method+" "+r.Host]++
		s.mu.Unlock()
		http.Error(w, "the secrets test reaches no outside host", http.StatusForbidden)
	}))
	t.Cleanup(s.Close)
	return s
}

// hdTokenServer stands in for Google's OAuth2 token endpoint: it refuses
// the signed assertion, as Google does for an unknown key.
func hdTokenServer(t *testing.T) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`))
	}))
	t.Cleanup(s.Close)
	return s
}

// hdBaseEnv is the process environment without any credential, provider
// setting or proxy, plus the safety settings that keep every client on
// this machine: no instance metadata service is ever asked (AWS's is
// disabled, Google's points at a dead loopback port, Azure's goes through
// the sink), and any other host goes to the sink.
func hdBaseEnv(sink *hdSink) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "AWS_"), strings.HasPrefix(k, "AZURE_"), strings.HasPrefix(k, "GOOGLE_"),
			strings.HasPrefix(k, "GCE_"), k == "STORAGE_EMULATOR_HOST", strings.HasSuffix(strings.ToUpper(k), "_PROXY"):
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"HTTP_PROXY="+sink.URL, "HTTPS_PROXY="+sink.URL,
		"AWS_EC2_METADATA_DISABLED=true", "AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:1",
		"AWS_REGION=us-east-1", "AWS_MAX_ATTEMPTS=1",
		"GCE_METADATA_HOST=127.0.0.1:1",
		"AZURE_SDK_GO_LOGGING=all", // azcore's own request log, straight to stderr
	)
}

// hdScenario is one way of pointing the tools at a storage.
type hdScenario struct {
	name string
	args []string // provider options
	url  string
	env  []string
	ok   bool // the tools succeed (check, archive, restore, in that order)
}

func hdScenarios(t *testing.T, s *hdSecrets) []hdScenario {
	s3Endpoint := harness.Env(t, "S3_ENDPOINT_URL")
	s3Bucket := harness.Env(t, "S3_BUCKET")
	azureURL := harness.Env(t, "BARMAN_AZURE_URL")
	azureConn := harness.Env(t, "AZURE_STORAGE_CONNECTION_STRING")
	gcsBucket := harness.Env(t, "GCS_BUCKET")
	emulator := harness.Env(t, "STORAGE_EMULATOR_HOST")
	s3Host := strings.TrimPrefix(s3Endpoint, "http://")
	azureAccountURL := azureURL[:strings.LastIndexByte(azureURL, '/')]

	fakeAWS := []string{"AWS_ACCESS_KEY_ID=" + s.awsKeyID, "AWS_SECRET_ACCESS_KEY=" + s.awsSecret, "AWS_SESSION_TOKEN=" + s.awsToken}
	realAWS := []string{"AWS_ACCESS_KEY_ID=" + harness.Env(t, "AWS_ACCESS_KEY_ID"), "AWS_SECRET_ACCESS_KEY=" + s.realS3}
	// Every Azure secret but the connection string, which takes precedence
	// over them all and is set per scenario.
	azureEnv := []string{"AZURE_STORAGE_KEY=" + s.azureKey, "AZURE_STORAGE_SAS_TOKEN=" + s.sasToken,
		"AZURE_TENANT_ID=72f988bf-86f1-41af-91ab-2d7cd011db47", "AZURE_CLIENT_ID=04b07795-8ddb-461a-bbee-02f9e1bf7b46",
		"AZURE_CLIENT_SECRET=" + s.clientSecret, "GOOGLE_APPLICATION_CREDENTIALS=" + s.saFile}
	wrongConn := strings.Replace(azureConn, "AccountKey="+s.realAzure, "AccountKey="+s.azureConnKey, 1)
	deadConn := strings.Replace(azureConn, "BlobEndpoint="+azureAccountURL, "BlobEndpoint=http://127.0.0.1:1/devstoreaccount1", 1)
	all := func(lists ...[]string) []string {
		var out []string
		for _, l := range lists {
			out = append(out, l...)
		}
		return out
	}
	azure := []string{"--cloud-provider", "azure-blob-storage"}
	gcs := []string{"--cloud-provider", "google-cloud-storage"}
	prefix := harness.UniquePrefix(t)
	return []hdScenario{
		// S3 (MinIO).
		{name: "s3, real credentials", args: []string{"--endpoint-url", s3Endpoint}, url: "s3://" + s3Bucket + "/" + prefix + "/s3", env: all(realAWS, azureEnv), ok: true},
		{name: "s3, wrong credentials and session token", args: []string{"--endpoint-url", s3Endpoint}, url: "s3://" + s3Bucket + "/p", env: all(fakeAWS, azureEnv)},
		{name: "s3, endpoint with a password", args: []string{"--endpoint-url", "http://hduser:" + s.password + "@" + s3Host}, url: "s3://" + s3Bucket + "/p", env: all(fakeAWS, azureEnv)},
		{name: "s3, bad endpoint with a password", args: []string{"--endpoint-url", "http://hduser:" + s.password + "@127.0.0.1:bad"}, url: "s3://" + s3Bucket + "/p", env: all(fakeAWS, azureEnv)},
		{name: "s3, unreachable endpoint with a password", args: []string{"--endpoint-url", "http://hduser:" + s.password + "@127.0.0.1:1"}, url: "s3://" + s3Bucket + "/p", env: all(fakeAWS, azureEnv)},
		{name: "s3, missing bucket", args: []string{"--endpoint-url", s3Endpoint}, url: "s3://hd-secrets-missing-bucket/p", env: all(realAWS, azureEnv)},
		{name: "s3, password in the URL", args: []string{"--endpoint-url", s3Endpoint}, url: "s3://hduser:" + s.password + "@" + s3Bucket + "/p", env: all(realAWS, azureEnv)},
		{name: "s3, bad URL with a signature", args: []string{"--endpoint-url", s3Endpoint}, url: "s3:///p?X-Amz-Signature=" + s.sasSig, env: all(fakeAWS, azureEnv)},
		// Azure (Azurite through a connection string).
		{name: "azure, real connection string", args: azure, url: azureURL + "/" + prefix + "/azure", env: all(fakeAWS, azureEnv, []string{"AZURE_STORAGE_CONNECTION_STRING=" + azureConn}), ok: true},
		{name: "azure, SAS in the URL", args: azure, url: azureURL + "/" + prefix + "/azure-sas?" + s.sasToken, env: all(fakeAWS, azureEnv, []string{"AZURE_STORAGE_CONNECTION_STRING=" + azureConn}), ok: true},
		{name: "azure, wrong account key", args: azure, url: azureURL + "/p", env: all(fakeAWS, azureEnv, []string{"AZURE_STORAGE_CONNECTION_STRING=" + wrongConn})},
		{name: "azure, unreachable", args: azure, url: azureURL + "/p", env: all(fakeAWS, azureEnv, []string{"AZURE_STORAGE_CONNECTION_STRING=" + deadConn})},
		{name: "azure, missing container", args: azure, url: azureAccountURL + "/hd-secrets-missing/p", env: all(fakeAWS, azureEnv, []string{"AZURE_STORAGE_CONNECTION_STRING=" + azureConn})},
		{name: "azure, malformed connection string", args: azure, url: azureURL + "/p", env: all(fakeAWS, azureEnv, []string{"AZURE_STORAGE_CONNECTION_STRING=AccountName=hd;AccountKey=" + s.azureConnKey})},
		// Azure's cloud, reached only as far as the sink.
		{name: "azure cloud, SAS token", args: azure, url: "https://hdaccount.blob.core.windows.net/container/p", env: all(fakeAWS, azureEnv)},
		{name: "azure cloud, account key", args: azure, url: "https://hdaccount.blob.core.windows.net/container/p", env: all(fakeAWS, hdWithout(azureEnv, "AZURE_STORAGE_SAS_TOKEN"))},
		{name: "azure cloud, client secret", args: append([]string{"--azure-credential", "default"}, azure...), url: "https://hdaccount.blob.core.windows.net/container/p?" + s.sasToken, env: all(fakeAWS, azureEnv)},
		// GCS: fake-gcs-server, and Google's endpoints through the sink.
		{name: "gcs, emulator", args: gcs, url: "gs://" + gcsBucket + "/" + prefix + "/gcs", env: all(fakeAWS, azureEnv, []string{"STORAGE_EMULATOR_HOST=" + emulator}), ok: true},
		{name: "gcs, emulator URL with a password", args: gcs, url: "gs://" + gcsBucket + "/p", env: all(fakeAWS, azureEnv, []string{"STORAGE_EMULATOR_HOST=http://hduser:" + s.password + "@127.0.0.1:bad"})},
		{name: "gcs, service account refused", args: gcs, url: "gs://" + gcsBucket + "/p", env: all(fakeAWS, azureEnv)},
		{name: "gcs, missing bucket", args: gcs, url: "gs://hd-secrets-missing/p", env: all(fakeAWS, azureEnv, []string{"STORAGE_EMULATOR_HOST=" + emulator})},
		{name: "gcs, password in the URL", args: gcs, url: "gs://hduser:" + s.password + "@" + gcsBucket + "/p", env: all(fakeAWS, azureEnv)},
	}
}

func hdWithout(env []string, name string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// hdRun runs one of our tools with exactly env, killed after a minute. It
// may run in a goroutine of its own.
func hdRun(t *testing.T, env []string, tool string, args ...string) harness.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, harness.Tool(t, tool), args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := harness.Result{Stdout: stdout.String(), Stderr: stderr.String(), Elapsed: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Errorf("%s %v: killed after a minute", tool, args)
		r.Code = -1
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	case err != nil:
		// Errorf, not Fatalf: runs go on in goroutines of their own.
		t.Errorf("running %s: %v", tool, err)
		r.Code = -1
	}
	return r
}

// TestSecretsNeverPrinted runs every tool at -vvv (the AWS SDK's log
// reaches ours at -vv; azcore's own request log is on) with credentials
// of every kind in the environment and in URLs, along failing paths (wrong
// credentials against MinIO and Azurite, unreachable endpoints, bad URLs,
// missing buckets, Azure's and Google's cloud endpoints refused by a
// local sink) and succeeding ones (the servers' real credentials), and
// checks that no secret, SAS signature, line of a private key, request
// signature or Authorization value appears in anything they print.
func TestSecretsNeverPrinted(t *testing.T) {
	wals := harness.WALs(t)
	seg := wals.Segments[0]
	sink := hdNewSink(t)
	tokens := hdTokenServer(t)
	s := hdNewSecrets(t, tokens.URL+"/token")
	base := hdBaseEnv(sink)
	nRuns, nLeaks := 0, 0
	for _, sc := range hdScenarios(t, s) {
		t.Run(sc.name, func(t *testing.T) {
			env := append(append([]string{}, base...), sc.env...)
			dir := t.TempDir()
			argv := map[string][]string{
				"barman-cloud-check-wal-archive": {sc.url, "pg"},
				"barman-cloud-wal-archive":       {sc.url, "pg", seg},
				"barman-cloud-wal-restore":       {sc.url, "pg", filepath.Base(seg), filepath.Join(dir, "RECOVERYXLOG")},
			}
			// The order matters when the tools succeed (check an empty
			// archive, then archive, then restore); failing runs are
			// independent and mostly wait out retries, so they run at once.
			type run struct {
				tool  string
				extra []string
				r     harness.Result
			}
			var runs []*run
			for _, tool := range []string{"barman-cloud-check-wal-archive", "barman-cloud-wal-archive", "barman-cloud-wal-restore"} {
				for _, extra := range [][]string{{"-vvv"}, {"-vvv", "-t"}} {
					runs = append(runs, &run{tool: tool, extra: extra})
				}
			}
			var wg sync.WaitGroup
			for _, x := range runs {
				do := func() {
					x.r = hdRun(t, env, x.tool, append(append(append([]string{}, x.extra...), sc.args...), argv[x.tool]...)...)
				}
				if sc.ok {
					do()
					continue
				}
				wg.Add(1)
				go func() { defer wg.Done(); do() }()
			}
			wg.Wait()
			var codes []string
			failed := false
			for _, x := range runs {
				r := x.r
				nRuns++
				out := r.Stdout + r.Stderr
				codes = append(codes, strings.TrimPrefix(x.tool, "barman-cloud-")+map[bool]string{true: " -t", false: ""}[len(x.extra) == 2]+"="+strconv.Itoa(r.Code))
				if l := s.leaks(out); len(l) > 0 {
					nLeaks++
					t.Errorf("%s %v: prints %s:\n%s", x.tool, x.extra, strings.Join(l, ", "), out)
				}
				if u := hdUnmasked(out); len(u) > 0 {
					nLeaks++
					t.Errorf("%s %v: prints unmasked credentials %q:\n%s", x.tool, x.extra, u, out)
				}
				if strings.Contains(out, "panic:") || strings.Contains(out, "goroutine ") {
					t.Errorf("%s %v: %s", x.tool, x.extra, out)
				}
				if sc.ok && r.Code != 0 {
					t.Errorf("%s %v: exit %d, want 0: %s", x.tool, x.extra, r.Code, r.Stderr)
				}
				failed = failed || r.Code != 0
			}
			if !sc.ok && !failed {
				t.Errorf("every tool succeeded along a path meant to fail")
			}
			t.Logf("exit statuses: %s", strings.Join(codes, " "))
		})
	}
	sink.mu.Lock()
	t.Logf("%d runs, %d leaks; requests refused by the sink: %v", nRuns, nLeaks, sink.hosts)
	sink.mu.Unlock()
}
