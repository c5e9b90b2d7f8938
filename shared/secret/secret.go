// Package secret keeps credentials out of everything a tool prints. It
// learns the secret values from the environment the providers read them
// from, and also masks the credential-bearing parts of URLs and connection
// strings that provider SDKs may quote in their errors (SAS signatures,
// account keys, presigned-URL signatures).
//
// Every line a barman-cloud tool writes to stderr passes through a
// Redactor: that is one place to get right instead of every message.
//
// This package is part of the barman-cloud command and has no compatibility
// promise as a library.
package secret

import (
	"bytes"
	"io"
	"regexp"
	"sort"
	"strings"
)

// Mask replaces a secret.
const Mask = "REDACTED"

// Variables whose whole value is a secret.
var secretVars = []string{
	"AWS_SECRET_ACCESS_KEY",
	"AWS_SESSION_TOKEN",
	"AZURE_STORAGE_KEY",
	"AZURE_STORAGE_SAS_TOKEN",
	"AZURE_STORAGE_CONNECTION_STRING",
	"AZURE_CLIENT_SECRET",
	"AZURE_CLIENT_CERTIFICATE_PASSWORD",
}

// patterns match credential-bearing parameters whatever their value: SAS
// signatures, connection-string keys, presigned S3 URLs, bearer tokens.
var patterns = regexp.MustCompile(`(?i)((?:^|[?&;\s"'])(?:sig|signature|x-amz-signature|x-amz-security-token|x-amz-credential|accountkey|sharedaccesssignature|access_token|client_secret|password)=)[^&;\s"']+` +
	`|((?:authorization|x-ms-copy-source-authorization):\s*)[^\r\n"]+` +
	`|((?:bearer|sharedkey)\s+)[A-Za-z0-9+/=._:-]{8,}`)

// Redactor masks secrets in text.
type Redactor struct {
	values []string // longest first, so a secret containing another is masked whole
}

// FromEnv collects the secret values of the environment.
func FromEnv(lookup func(string) (string, bool)) *Redactor {
	r := &Redactor{}
	for _, name := range secretVars {
		v, ok := lookup(name)
		if !ok {
			continue
		}
		r.Add(v)
		// Parts of a connection string or SAS token can appear alone.
		for _, part := range strings.FieldsFunc(v, func(c rune) bool { return c == ';' || c == '&' || c == '?' }) {
			if k, val, ok := strings.Cut(part, "="); ok && isSecretKey(k) {
				r.Add(val)
			}
		}
	}
	return r
}

func isSecretKey(k string) bool {
	switch strings.ToLower(k) {
	case "accountkey", "sharedaccesssignature", "sig":
		return true
	}
	return false
}

// Add makes v a secret. Values shorter than 6 characters are ignored: they
// would mask ordinary words, and are no credential worth the name.
func (r *Redactor) Add(v string) {
	v = strings.TrimSpace(v)
	if len(v) < 6 {
		return
	}
	r.values = append(r.values, v)
	sort.Slice(r.values, func(i, j int) bool { return len(r.values[i]) > len(r.values[j]) })
}

// String masks the secrets in s.
func (r *Redactor) String(s string) string {
	if r != nil {
		for _, v := range r.values {
			s = strings.ReplaceAll(s, v, Mask)
		}
	}
	return patterns.ReplaceAllStringFunc(s, func(m string) string {
		sub := patterns.FindStringSubmatch(m)
		for _, p := range sub[1:] {
			if p != "" {
				return p + Mask
			}
		}
		return Mask
	})
}

// Writer returns a writer that masks secrets in what it passes on to w.
// Each Write is masked on its own, so callers must write whole lines, as
// loggers do.
func (r *Redactor) Writer(w io.Writer) io.Writer { return &writer{r: r, w: w} }

type writer struct {
	r *Redactor
	w io.Writer
}

func (w *writer) Write(p []byte) (int, error) {
	masked := w.r.String(string(p))
	if masked == string(p) {
		return w.w.Write(p)
	}
	if _, err := io.Copy(w.w, bytes.NewBufferString(masked)); err != nil {
		return 0, err
	}
	return len(p), nil
}
