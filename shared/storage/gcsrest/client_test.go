package gcsrest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
	"google.golang.org/api/googleapi"
)

func TestEmulatorEndpoint(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		wantErr  bool
	}{
		{in: "127.0.0.1:4443", want: "http://127.0.0.1:4443"},
		{in: "localhost:9023", want: "http://localhost:9023"},
		{in: "localhost", want: "http://localhost"},
		{in: "[::1]:4443", want: "http://[::1]:4443"},
		{in: " 127.0.0.1:4443 ", want: "http://127.0.0.1:4443"},
		{in: "http://127.0.0.1:4443", want: "http://127.0.0.1:4443"},
		{in: "http://127.0.0.1:4443/", want: "http://127.0.0.1:4443"},
		{in: "https://gcs.example:8443", want: "https://gcs.example:8443"},
		{in: "http://host/prefix/", wantErr: true},
		{in: "ftp://127.0.0.1:21", wantErr: true},
		{in: "http://", wantErr: true},
		{in: ":4443", wantErr: true},
		{in: "127.0.0.1:port", wantErr: true},
		{in: "http://user:pw@host:1", wantErr: true},
		{in: "http://host:1/?q=1", wantErr: true},
	} {
		got, err := EmulatorEndpoint(tc.in)
		switch {
		case tc.wantErr && err == nil:
			t.Errorf("%q: got %q, want an error", tc.in, got)
		case !tc.wantErr && err != nil:
			t.Errorf("%q: %v", tc.in, err)
		case got != tc.want:
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
		if err != nil && !strings.Contains(err.Error(), "STORAGE_EMULATOR_HOST") {
			t.Errorf("%q: error %q does not name the variable", tc.in, err)
		}
	}
}

// TestNewClientEmulator: with STORAGE_EMULATOR_HOST, JSON API calls go to
// /storage/v1 and uploads to /upload/storage/v1 on that host, without
// authentication.
func TestNewClientEmulator(t *testing.T) {
	f := newFakeGCS(t)
	var auth []string
	f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		auth = append(auth, r.Header.Get("Authorization"))
		return false
	})
	c, err := NewClient(context.Background(), strings.TrimPrefix(f.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Endpoint() != f.srv.URL {
		t.Errorf("endpoint %q, want %q", c.Endpoint(), f.srv.URL)
	}
	b := c.OpenBucket(fakeBucket)
	defer b.Close()
	ctx := context.Background()
	if err := b.Upload(ctx, "a/b", strings.NewReader("x"), &blob.WriterOptions{ContentType: "application/octet-stream"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Attributes(ctx, "a/b"); err != nil {
		t.Fatal(err)
	}
	want := []string{"POST /upload/storage/v1/b/bkt/o", "GET /storage/v1/b/bkt/o/a%2Fb"}
	var got []string
	for _, r := range f.requestLog() {
		got = append(got, strings.Split(r, "?")[0])
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("requests %q, want %q", got, want)
	}
	for _, a := range auth {
		if a != "" {
			t.Errorf("Authorization %q sent to the emulator", a)
		}
	}
	if _, err := NewClient(context.Background(), "ftp://x"); err == nil {
		t.Error("a bad emulator host was accepted")
	}
}

func TestErrorCode(t *testing.T) {
	api := func(code int) error { return &googleapi.Error{Code: code} }
	for _, tc := range []struct {
		err  error
		want gcerrors.ErrorCode
	}{
		{api(404), gcerrors.NotFound},
		{api(412), gcerrors.FailedPrecondition},
		{api(401), gcerrors.PermissionDenied},
		{api(403), gcerrors.PermissionDenied},
		{api(429), gcerrors.ResourceExhausted},
		{api(400), gcerrors.Unknown},
		{api(500), gcerrors.Unknown},
		{api(503), gcerrors.Unknown},
		{fmt.Errorf("context: %w", api(404)), gcerrors.NotFound},
		{errorf(gcerrors.Unimplemented, "no"), gcerrors.Unimplemented},
		{errors.New("plain"), gcerrors.Unknown},
		{&net.OpError{Op: "dial", Err: errors.New("refused")}, gcerrors.Unknown},
	} {
		if got := ErrorCode(tc.err); got != tc.want {
			t.Errorf("ErrorCode(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// TestNetworkErrorStaysVisible: a refused connection must still be found
// with errors.As through gocloud's wrapping (storage.IsNetwork relies on it).
func TestNetworkErrorStaysVisible(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c, err := NewClient(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	b := c.OpenBucket("bkt")
	defer b.Close()
	ctx := context.Background()
	_, errAttr := b.Attributes(ctx, "k")
	errUp := b.Upload(ctx, "k", strings.NewReader("x"), &blob.WriterOptions{ContentType: "application/octet-stream"})
	_, errExists := c.BucketExists(ctx, "bkt")
	for name, err := range map[string]error{"attributes": errAttr, "upload": errUp, "bucket exists": errExists} {
		var op *net.OpError
		if !errors.As(err, &op) {
			t.Errorf("%s: %v (%T) hides its *net.OpError", name, err, err)
		}
	}
}

// tokenServer is an OAuth2 token endpoint and a JSON API that checks the
// bearer token it issued.
type tokenServer struct {
	srv *httptest.Server

	mu         sync.Mutex
	tokenForms []url.Values
	apiAuth    []string
	userProj   []string
	metaHeader []string
}

func newTokenServer(t *testing.T) *tokenServer {
	ts := &tokenServer{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		ts.mu.Lock()
		ts.tokenForms = append(ts.tokenForms, r.PostForm)
		ts.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"tok-123","token_type":"Bearer","expires_in":3600}`)
	})
	// The GCE metadata server.
	mux.HandleFunc("GET /computeMetadata/v1/", func(w http.ResponseWriter, r *http.Request) {
		ts.mu.Lock()
		ts.metaHeader = append(ts.metaHeader, r.Header.Get("Metadata-Flavor")+" "+r.URL.Path+"?"+r.URL.RawQuery)
		ts.mu.Unlock()
		w.Header().Set("Metadata-Flavor", "Google")
		switch r.URL.Path {
		case "/computeMetadata/v1/project/project-id":
			fmt.Fprint(w, "test-project")
		case "/computeMetadata/v1/instance/service-accounts/default/token":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"access_token":"tok-123","token_type":"Bearer","expires_in":3600}`)
		default:
			http.NotFound(w, r)
		}
	})
	mux.HandleFunc("GET /storage/v1/b/{bucket}", func(w http.ResponseWriter, r *http.Request) {
		ts.mu.Lock()
		ts.apiAuth = append(ts.apiAuth, r.Header.Get("Authorization"))
		ts.userProj = append(ts.userProj, r.Header.Get("X-Goog-User-Project"))
		ts.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer tok-123" {
			jsonError(w, http.StatusUnauthorized, "bad token")
			return
		}
		fmt.Fprintf(w, `{"name":%q}`, r.PathValue("bucket"))
	})
	ts.srv = httptest.NewServer(mux)
	t.Cleanup(ts.srv.Close)
	return ts
}

// isolateADC points every ADC source somewhere harmless: no credentials
// variable, an empty home (no gcloud file) and, so that discovery never
// probes the real metadata address, a metadata host given by the test.
func isolateADC(t *testing.T, metadataHost string) string {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	os.Unsetenv("GOOGLE_APPLICATION_CREDENTIALS")
	t.Setenv("GCE_METADATA_HOST", metadataHost)
	return home
}

func serviceAccountJSON(t *testing.T, tokenURI string) []byte {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]string{
		"type":           "service_account",
		"project_id":     "test-project",
		"private_key_id": "kid",
		"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":   "sa@test-project.iam.gserviceaccount.com",
		"client_id":      "1",
		"token_uri":      tokenURI,
	})
	return b
}

// captureStdout runs f and returns what it wrote to stdout.
func captureStdout(t *testing.T, f func()) string {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	out := make(chan string)
	go func() { b, _ := io.ReadAll(r); out <- string(b) }()
	defer func() { os.Stdout = old }()
	f()
	os.Stdout = old
	w.Close()
	return <-out
}

func TestApplicationDefaultCredentials(t *testing.T) {
	ts := newTokenServer(t)
	host := strings.TrimPrefix(ts.srv.URL, "http://")
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, home string)
		// jwt: a service account's signed assertion reaches the token
		// endpoint; metadata: the token comes from the metadata server.
		source string
	}{
		{"GOOGLE_APPLICATION_CREDENTIALS service account", func(t *testing.T, home string) {
			p := filepath.Join(home, "sa.json")
			os.WriteFile(p, serviceAccountJSON(t, ts.srv.URL+"/token"), 0o600)
			t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", p)
		}, "jwt"},
		{"gcloud ADC file", func(t *testing.T, home string) {
			dir := filepath.Join(home, ".config", "gcloud")
			os.MkdirAll(dir, 0o700)
			b, _ := json.Marshal(map[string]string{
				"type": "authorized_user", "client_id": "cid", "client_secret": "cs",
				"refresh_token": "rt", "quota_project_id": "quota-proj", "token_uri": ts.srv.URL + "/token",
			})
			os.WriteFile(filepath.Join(dir, "application_default_credentials.json"), b, 0o600)
		}, "refresh"},
		{"metadata server", func(t *testing.T, home string) {}, "metadata"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := isolateADC(t, host)
			tc.setup(t, home)
			ts.mu.Lock()
			ts.tokenForms, ts.apiAuth, ts.userProj, ts.metaHeader = nil, nil, nil, nil
			ts.mu.Unlock()
			var (
				ok  bool
				err error
			)
			stdout := captureStdout(t, func() {
				var c *Client
				c, err = newADCClient(context.Background(), newTransport(), ts.srv.URL)
				if err == nil {
					ok, err = c.BucketExists(context.Background(), "bkt")
				}
			})
			if err != nil || !ok {
				t.Fatalf("bucket check: %v, %v", ok, err)
			}
			if stdout != "" {
				t.Errorf("credential discovery printed %q", stdout)
			}
			ts.mu.Lock()
			defer ts.mu.Unlock()
			if len(ts.apiAuth) != 1 || ts.apiAuth[0] != "Bearer tok-123" {
				t.Errorf("API requests carried %q", ts.apiAuth)
			}
			switch tc.source {
			case "jwt":
				if len(ts.tokenForms) != 1 {
					t.Fatalf("token requests %v", ts.tokenForms)
				}
				claims := jwtClaims(t, ts.tokenForms[0]["assertion"][0])
				if claims["scope"] != ScopeReadWrite {
					t.Errorf("scope %v, want %s", claims["scope"], ScopeReadWrite)
				}
			case "refresh":
				if len(ts.tokenForms) != 1 || ts.tokenForms[0].Get("refresh_token") != "rt" {
					t.Fatalf("token requests %v", ts.tokenForms)
				}
				if ts.userProj[0] != "quota-proj" {
					t.Errorf("X-Goog-User-Project %q, want the file's quota project", ts.userProj[0])
				}
			case "metadata":
				var found bool
				for _, m := range ts.metaHeader {
					if strings.HasPrefix(m, "Google /computeMetadata/v1/instance/service-accounts/default/token?") && strings.Contains(m, "devstorage.read_write") {
						found = true
					}
				}
				if !found {
					t.Errorf("no scoped token request to the metadata server: %v", ts.metaHeader)
				}
			}
		})
	}
}

func jwtClaims(t *testing.T, jwt string) map[string]any {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("assertion %q is not a JWT", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestApplicationDefaultCredentialsErrors(t *testing.T) {
	home := isolateADC(t, "127.0.0.1:1")
	p := filepath.Join(home, "broken.json")
	os.WriteFile(p, []byte("{not json"), 0o600)
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", p)
	_, err := NewClient(context.Background(), "")
	if err == nil || !strings.Contains(err.Error(), "GOOGLE_APPLICATION_CREDENTIALS") {
		t.Errorf("broken credentials file: %v", err)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", filepath.Join(home, "missing.json"))
	if _, err := NewClient(context.Background(), ""); err == nil {
		t.Error("a missing credentials file was accepted")
	}
}
