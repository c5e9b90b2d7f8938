package secret

import (
	"bytes"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestRedact(t *testing.T) {
	r := FromEnv(env(map[string]string{
		"AWS_SECRET_ACCESS_KEY":           "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AZURE_STORAGE_CONNECTION_STRING": "DefaultEndpointsProtocol=http;AccountName=dev;AccountKey=Eby8vdM02xNOcqFl==;BlobEndpoint=http://127.0.0.1:10000/dev;",
		"AZURE_STORAGE_SAS_TOKEN":         "?sv=2021-06-08&ss=b&sig=abcdefghSIGNATURE%3D",
		"AWS_ACCESS_KEY_ID":               "AKIDEXAMPLE", // an identifier, not a secret
	}))
	tests := []struct{ in, leak string }{
		{"error: key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY refused", "wJalrXUtnFEMI"},
		{"bad connection string DefaultEndpointsProtocol=http;AccountName=dev;AccountKey=Eby8vdM02xNOcqFl==;BlobEndpoint=x", "Eby8vdM02xNOcqFl"},
		{"just the key Eby8vdM02xNOcqFl== alone", "Eby8vdM02xNOcqFl"},
		{"GET https://a.blob.core.windows.net/c/b?sv=2021&sig=abcdefghSIGNATURE%3D&se=x", "abcdefghSIGNATURE"},
		{"GET https://a.blob.core.windows.net/c/b?sig=otherSignatureNotFromEnv&se=x", "otherSignatureNotFromEnv"},
		{"https://b.s3.amazonaws.com/k?X-Amz-Credential=AKID%2F2024&X-Amz-Signature=0123456789abcdef", "0123456789abcdef"},
		{"Authorization: AWS4-HMAC-SHA256 Credential=AKID/2024, Signature=deadbeefcafe", "deadbeefcafe"},
		{"Authorization: SharedKey dev:c2lnbmF0dXJlc2lnbmF0dXJl", "c2lnbmF0dXJlc2lnbmF0dXJl"},
	}
	for _, tt := range tests {
		got := r.String(tt.in)
		if strings.Contains(got, tt.leak) {
			t.Errorf("String(%q) = %q: leaks %q", tt.in, got, tt.leak)
		}
		if !strings.Contains(got, Mask) {
			t.Errorf("String(%q) = %q: nothing masked", tt.in, got)
		}
	}
	if got := r.String("uploaded AKIDEXAMPLE/pg/wals/x"); got != "uploaded AKIDEXAMPLE/pg/wals/x" {
		t.Errorf("ordinary text changed: %q", got)
	}
}

func TestWriter(t *testing.T) {
	r := FromEnv(env(map[string]string{"AZURE_STORAGE_KEY": "supersecretkey=="}))
	var b bytes.Buffer
	w := r.Writer(&b)
	line := "ERROR: auth failed with supersecretkey==\n"
	n, err := w.Write([]byte(line))
	if err != nil || n != len(line) {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if got := b.String(); got != "ERROR: auth failed with REDACTED\n" {
		t.Errorf("wrote %q", got)
	}
}
