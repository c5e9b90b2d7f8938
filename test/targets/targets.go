//go:build integration

// Package targets connects the integration tests to the servers of the
// test environment (oracle.Target): our own store opened on a target's
// bucket as the tools open it, directly or through a fault proxy, and the
// tools run against a target. The checks of what the servers hold go
// through test/oracle, which shares no code with us; this package is for
// driving, not for checking.
package targets

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/barmancloud/barman-cloud/shared/storage"
	"github.com/barmancloud/barman-cloud/test/faultproxy"
	"github.com/barmancloud/barman-cloud/test/harness"
	"github.com/barmancloud/barman-cloud/test/oracle"
)

// Kind is the target's provider in shared/storage's terms.
func Kind(tg oracle.Target) storage.Provider {
	switch tg.Name {
	case "s3":
		return storage.S3
	case "azure":
		return storage.Azure
	}
	return storage.GCS
}

// Flavor is the target's protocol for a fault proxy.
func Flavor(tg oracle.Target) faultproxy.Flavor {
	switch tg.Name {
	case "s3":
		return faultproxy.S3
	case "azure":
		return faultproxy.Azure
	}
	return faultproxy.GCS
}

// Upstream is the target server's scheme://host:port, what a fault proxy
// forwards to.
func Upstream(t testing.TB, tg oracle.Target) string {
	switch tg.Name {
	case "s3":
		return harness.Env(t, "S3_ENDPOINT_URL")
	case "azure":
		u := harness.Env(t, "BARMAN_AZURE_URL")
		return u[:strings.Index(u[len("http://"):], "/")+len("http://")]
	}
	return harness.Env(t, "GCS_ENDPOINT_URL")
}

// Proxy starts a fault proxy in front of the target's server, closed when
// the test ends.
func Proxy(t testing.TB, tg oracle.Target) *faultproxy.Proxy {
	t.Helper()
	px, err := faultproxy.New(Upstream(t, tg), Flavor(tg))
	if err != nil {
		t.Fatal(err)
	}
	px.Logf = t.Logf
	t.Cleanup(func() { px.Close() })
	return px
}

// Store opens prefix in the target's bucket with shared/storage, as the
// tools open it, through hostport (a fault proxy) when it is not empty
// (opts.EndpointURL, when set, points S3 elsewhere). It is closed when the
// test ends.
func Store(t testing.TB, tg oracle.Target, prefix, hostport string, opts storage.Options) *storage.Store {
	t.Helper()
	loc, err := storage.ParseURL(Kind(tg), tg.URL(prefix))
	if err != nil {
		t.Fatal(err)
	}
	args, env := tg.Args, []string(nil)
	if hostport != "" {
		args, env = tg.Via(hostport)
	}
	for i, a := range args {
		if a == "--endpoint-url" && opts.EndpointURL == "" {
			opts.EndpointURL = args[i+1]
		}
	}
	opts.LookupEnv = func(name string) (string, bool) {
		for _, kv := range env {
			if k, v, _ := strings.Cut(kv, "="); k == name {
				return v, true
			}
		}
		return os.LookupEnv(name)
	}
	s, err := storage.Open(context.Background(), loc, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Run runs one of our tools ("barman-cloud-wal-archive") with the target's
// options first.
func Run(t testing.TB, tg oracle.Target, tool string, args ...string) harness.Result {
	t.Helper()
	return harness.Run(t, nil, harness.Tool(t, tool), append(append([]string{}, tg.Args...), args...)...)
}

// RunVia runs one of our tools pointed at hostport (a fault proxy, or a
// port where nothing listens) instead of the target's server, plus env;
// it is killed, and the test fails, when it has not ended after limit: a
// tool must give up by itself.
func RunVia(t testing.TB, tg oracle.Target, hostport string, env []string, limit time.Duration, tool string, args ...string) harness.Result {
	t.Helper()
	via, viaEnv := tg.Via(hostport)
	cmd := exec.Command(harness.Tool(t, tool), append(append([]string{}, via...), args...)...)
	cmd.Env = append(append(os.Environ(), viaEnv...), env...)
	return harness.Wait(t, cmd, limit)
}
