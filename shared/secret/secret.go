// Package secret keeps credentials out of everything a tool prints. It
// learns the secret values from the environment the providers read them
// from, and also masks the credential-bearing parts of URLs and connection
// strings that provider SDKs may quote in their errors (SAS signatures,
// account keys, presigned-URL signatures).
//
// Every line a barman-cloud tool writes to stdout or stderr passes through
// a Redactor (cloudcli.Execute): that is one place to get right instead of
// every message.
//
// This package is part of the barman-cloud command and has no compatibility
// promise as a library.
package secret

import (
	"bytes"
	"io"
	"net/url"
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
	// libpq's, which barman-cloud-backup's PostgreSQL session reads.
	"PGPASSWORD",
	"PGSSLPASSWORD",
}

// rules mask credential-bearing text whatever its value, applied in order:
// SAS signatures, connection-string keys, presigned S3 URLs and form or
// JSON fields that hold a secret; Authorization headers and bearer
// tokens; the user information of any URL ("scheme://user:password@");
// PEM private keys, whole or cut short (a service-account JSON quotes one).
var rules = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`(?i)((?:^|[?&;\s"'])(?:sig|signature|x-amz-signature|x-amz-security-token|x-amz-credential|accountkey|sharedaccesssignature|access_token|refresh_token|client_secret|password)=)[^&;\s"']+`), "${1}" + Mask},
	{regexp.MustCompile(`(?i)("(?:private_key|client_secret|refresh_token|access_token|password)"\s*:\s*")(?:[^"\\]|\\.)*`), "${1}" + Mask},
	{regexp.MustCompile(`(?i)((?:authorization|x-ms-copy-source-authorization|x-amz-security-token):\s*)[^\r\n"]+`), "${1}" + Mask},
	{regexp.MustCompile(`(?i)((?:bearer|sharedkey)\s+)[A-Za-z0-9+/=._:-]{8,}`), "${1}" + Mask},
	// Up to the last "@" before the path, as net/url reads user information.
	{regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)[^/?#\s"'<>]+@`), "${1}" + Mask + "@"},
	{regexp.MustCompile(`(?s)-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)`), "-----BEGIN ${1}PRIVATE KEY-----" + Mask + "-----END ${1}PRIVATE KEY-----"},
}

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

// AddURLCredentials makes secrets of the user information of every URL
// in args ("scheme://user:password@host"), as typed and percent-decoded:
// an --endpoint-url or a positional URL may carry one, and an SDK may
// quote the password alone.
func (r *Redactor) AddURLCredentials(args ...string) {
	for _, a := range args {
		for rest := a; ; {
			i := strings.Index(rest, "://")
			if i < 0 {
				break
			}
			rest = rest[i+3:]
			authority := rest
			if end := strings.IndexAny(authority, "/?#"); end >= 0 {
				authority = authority[:end]
			}
			at := strings.LastIndexByte(authority, '@')
			if at < 0 {
				continue
			}
			// A user name alone is no secret, and masking it everywhere
			// would garble ordinary words.
			if _, password, ok := strings.Cut(authority[:at], ":"); ok {
				r.Add(authority[:at])
				r.Add(password)
				if p, err := url.PathUnescape(password); err == nil {
					r.Add(p)
				}
			}
		}
	}
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
	for _, rule := range rules {
		s = rule.re.ReplaceAllString(s, rule.with)
	}
	return s
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
