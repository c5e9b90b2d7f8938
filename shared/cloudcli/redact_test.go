package cloudcli

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	azlog "github.com/Azure/azure-sdk-for-go/sdk/azcore/log"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// TestExecuteRedacts: what a tool prints, on stderr and stdout, passes the
// Redactor, which knows the environment's secrets and the passwords of
// URLs on the command line.
func TestExecuteRedacts(t *testing.T) {
	const key, password = "c2VjcmV0LWFjY291bnQta2V5LWZvci10ZXN0cw==", "hdPassw0rd"
	tool := simpleTool("leaky", []Arg{{Name: "url"}}, func(r *Run) error {
		r.Log.Info().Msgf("using key %s", key)
		r.Stdout.Write([]byte("password " + password + "\n"))
		return errors.New("Custom endpoint `" + r.Common.EndpointURL + "` was not a valid URI")
	})
	env := map[string]string{"AZURE_STORAGE_KEY": key}
	var out, errOut strings.Builder
	code := Execute(t.Context(), Env{Args: []string{"barman-cloud-leaky", "-v", "--endpoint-url", "http://u:" + password + "@h:bad", "x"},
		Stdout: &out, Stderr: &errOut, LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}, tool)
	if code != 4 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, s := range []string{out.String(), errOut.String()} {
		if strings.Contains(s, key) || strings.Contains(s, password) {
			t.Errorf("printed a secret: %q", s)
		}
	}
	if !strings.Contains(errOut.String(), "using key REDACTED") || !strings.Contains(errOut.String(), "http://REDACTED@h:bad") {
		t.Errorf("stderr %q", errOut.String())
	}
}

// TestAzureSDKLogRedacted: with AZURE_SDK_GO_LOGGING=all, azcore's request
// log goes through the Redactor too. Its retry policy quotes transport
// errors whole, and Go's quote the URL, SAS signature included.
func TestAzureSDKLogRedacted(t *testing.T) {
	t.Cleanup(func() { azlog.SetListener(nil) })
	const sig = "g95Gl%2F%2BcNUILH1LMLUYcayjkIMOJm%2FNCqqvdMqO0cNI%3D"
	tool := simpleTool("azure", nil, func(r *Run) error {
		pl := runtime.NewPipeline("test", "v0", runtime.PipelineOptions{}, &policy.ClientOptions{
			Transport: failingTransport{},
			Retry:     policy.RetryOptions{MaxRetries: -1},
		})
		req, err := runtime.NewRequest(r.Ctx, http.MethodGet, "https://acct.blob.core.windows.net/c?comp=list&sig="+sig+"&sv=2022-11-02")
		if err != nil {
			return err
		}
		_, err = pl.Do(req)
		return err
	})
	env := map[string]string{"AZURE_SDK_GO_LOGGING": "all"}
	var out, errOut strings.Builder
	Execute(t.Context(), Env{Args: []string{"barman-cloud-azure"}, Stdout: &out, Stderr: &errOut,
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}, tool)
	if !strings.Contains(errOut.String(), "Retry: error") {
		t.Fatalf("azcore's log did not reach stderr: %q", errOut.String())
	}
	if strings.Contains(errOut.String(), sig) {
		t.Errorf("azcore's log printed the SAS signature: %s", errOut.String())
	}
}

// failingTransport fails every request as a refused proxy does, with
// Go's error text, which quotes the URL.
type failingTransport struct{}

func (failingTransport) Do(req *http.Request) (*http.Response, error) {
	return nil, errors.New("Get \"" + req.URL.String() + "\": Forbidden")
}
