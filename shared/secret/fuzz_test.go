package secret

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzRedactor: a secret learnt from the environment never survives
// masking, whatever text surrounds it, except where its visible part runs
// into a mask ("xREDA" next to a masked value), and the Writer prints
// what String returns.
func FuzzRedactor(f *testing.F) {
	f.Add("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "error: key ", " refused")
	f.Add("Eby8vdM02xNOcqFl==", "AccountKey=", ";BlobEndpoint=http://127.0.0.1:10000/dev;")
	f.Add("abcdefghSIGNATURE%3D", "GET https://a.blob.core.windows.net/c/b?sv=2021&sig=", "&se=x")
	f.Add("p4ssw0rd", "Custom endpoint `http://u:", "@127.0.0.1:bad` was not a valid URI")
	f.Add("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", `"private_key": "-----BEGIN PRIVATE KEY-----\n`, `\n-----END PRIVATE KEY-----\n"`)
	f.Add("secretsecret", "secret", "secret")
	f.Fuzz(func(t *testing.T, value, before, after string) {
		value = strings.TrimSpace(value)
		if len(value) < 6 {
			return
		}
		r := FromEnv(func(k string) (string, bool) { return value, k == "AZURE_STORAGE_KEY" })
		in := before + value + after
		out := r.String(in)
		for i := 0; ; {
			j := strings.Index(out[i:], value)
			if j < 0 {
				break
			}
			if !overlapsMask(out, i+j, len(value)) {
				t.Fatalf("String(%q) = %q: the secret %q is still there", in, out, value)
			}
			i += j + 1
		}
		var b bytes.Buffer
		if _, err := r.Writer(&b).Write([]byte(in)); err != nil || b.String() != out {
			t.Fatalf("Writer wrote %q, %v; String gives %q", b.String(), err, out)
		}
	})
}

// overlapsMask reports whether s[at:at+n] overlaps a Mask in s.
func overlapsMask(s string, at, n int) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], Mask)
		if j < 0 {
			return false
		}
		start := i + j
		if start < at+n && at < start+len(Mask) {
			return true
		}
		i = start + 1
	}
}
