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
		"PGPASSWORD":                      "pg-Sekr3t word",
		"PGSSLPASSWORD":                   "keyPassphrase9",
	}))
	tests := []struct{ in, leak string }{
		// The AWS SDK quotes a bad --endpoint-url whole.
		{"resolve endpoint: Custom endpoint `http://u:p4ssw0rd@127.0.0.1:bad` was not a valid URI", "p4ssw0rd"},
		{"Get \"https://user:s3cr3t%40x@host/b\": dial tcp", "s3cr3t"},
		{"endpoint http://user:p@ssw0rd-with-at@host:9000/ refused", "ssw0rd-with-at"},
		{`{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n", "client_email": "x"}`, "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"},
		{"key: -----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAsecretbody\n-----END RSA PRIVATE KEY-----", "MIIEowIBAAKCAQEAsecretbody"},
		{"cut: -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"},
		{`{"client_secret": "d-FL95Q19q7MQmFpd7hHD0Ty", "refresh_token": "1//0gLmRefresh"}`, "d-FL95Q19q7MQmFpd7hHD0Ty"},
		{`{"client_secret": "d-FL95Q19q7MQmFpd7hHD0Ty", "refresh_token": "1//0gLmRefresh"}`, "1//0gLmRefresh"},
		{"X-Amz-Security-Token: FwoGZXIvYXdzEBYaDH", "FwoGZXIvYXdzEBYaDH"},
		{"error: key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY refused", "wJalrXUtnFEMI"},
		{"bad connection string DefaultEndpointsProtocol=http;AccountName=dev;AccountKey=Eby8vdM02xNOcqFl==;BlobEndpoint=x", "Eby8vdM02xNOcqFl"},
		{"just the key Eby8vdM02xNOcqFl== alone", "Eby8vdM02xNOcqFl"},
		{"GET https://a.blob.core.windows.net/c/b?sv=2021&sig=abcdefghSIGNATURE%3D&se=x", "abcdefghSIGNATURE"},
		{"GET https://a.blob.core.windows.net/c/b?sig=otherSignatureNotFromEnv&se=x", "otherSignatureNotFromEnv"},
		{"https://b.s3.amazonaws.com/k?X-Amz-Credential=AKID%2F2024&X-Amz-Signature=0123456789abcdef", "0123456789abcdef"},
		{"Authorization: AWS4-HMAC-SHA256 Credential=AKID/2024, Signature=deadbeefcafe", "deadbeefcafe"},
		{"Authorization: SharedKey dev:c2lnbmF0dXJlc2lnbmF0dXJl", "c2lnbmF0dXJlc2lnbmF0dXJl"},
		{`Cannot connect to postgres: "host=h password='pg-Sekr3t word'" is not a valid connection string`, "Sekr3t"},
		{"could not read key: passphrase keyPassphrase9 rejected", "keyPassphrase9"},
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

func TestURLCredentials(t *testing.T) {
	r := FromEnv(env(nil))
	r.AddURLCredentials("--endpoint-url", "https://minio:pa%2Fss%40word@s3.example:9000/x", "s3://bucket/p", "gs://u@b/p")
	for in, leak := range map[string]string{
		"signing with pa%2Fss%40word": "pa%2Fss%40word",
		"password pa/ss@word refused": "pa/ss@word",
		"user minio:pa%2Fss%40word":   "pa%2Fss%40word",
	} {
		if got := r.String(in); strings.Contains(got, leak) {
			t.Errorf("String(%q) = %q: leaks %q", in, got, leak)
		}
	}
	// A user name alone is not a secret, nor a URL without credentials.
	for _, in := range []string{"user minio", "gs://b/p", "s3://bucket/p", "pg/wals/0000000100000000/000000010000000000000001.gz"} {
		if got := r.String(in); got != in {
			t.Errorf("String(%q) = %q, want it unchanged", in, got)
		}
	}
}
