package storage

import (
	"strings"
	"testing"
)

// urlSeeds are spec §3.1's vectors and the shapes of URL the tools are
// given, with credentials where a URL can carry them.
var urlSeeds = []string{
	"s3://bucket", "s3://bucket/", "s3://bucket/a/b", "s3://bucket/a/b/", "s3://bucket//a//b//",
	"s3://bucket/a?x=1#f", "S3://bucket/p", "http://b/a", "s3:///a", "gs://b/a", "s3://user:pw@bucket/p",
	"https://acct.blob.core.windows.net/cont", "https://acct.blob.core.windows.net/cont/",
	"https://acct.blob.core.windows.net/cont/a/b/", "https://acct.blob.core.windows.net/",
	"https://acct.blob.core.windows.net", "https://acct.blob.core.windows.net/cont//p",
	"https://acct.blob.core.windows.net/cont/p?sv=2021&sig=c2lnbmF0dXJl%3D",
	"http://127.0.0.1:10000/devstoreaccount1/cont/p/q", "http://127.0.0.1:10000/devstoreaccount1/cont",
	"http://127.0.0.1:10000/devstoreaccount1", "https://acct.blob.core.windows.net:443/cont/p",
	"gs://some-bucket/useful/path", "https://console.cloud.google.com/storage/browser/some-bucket/useful/path",
	"gs://", "https://console.cloud.google.com/storage/browser/", "https://console.cloud.google.com/storage/container",
	"gs://b//p//", "file:///tmp/archive", "file://localhost/tmp/a%20b", "file://host/x", "file:relative", "file:///%zz",
	"", "::", "//", "?#", "s3://u:p@b?sig=x#frag",
}

// FuzzParseURL: ParseURL never panics for any provider; a Location it
// returns has a bucket, a prefix that does not start with "/" (keys are
// joined onto it: a leading "/" would put them outside the prefix the user
// named), and a URL with neither user information nor query left in it.
func FuzzParseURL(f *testing.F) {
	for _, s := range urlSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		for _, p := range []Provider{S3, Azure, GCS, "bogus"} {
			loc, err := ParseURL(p, raw)
			checkRedacted(t, raw, loc.URL)
			if err != nil {
				if raw != loc.URL && strings.Contains(strings.ReplaceAll(err.Error(), loc.URL, ""), raw) {
					t.Fatalf("ParseURL(%s, %q): the error quotes the URL unredacted: %v", p, raw, err)
				}
				continue
			}
			if loc.Bucket == "" {
				t.Fatalf("ParseURL(%s, %q): empty bucket", p, raw)
			}
			if strings.HasPrefix(loc.Prefix, "/") {
				t.Fatalf("ParseURL(%s, %q): prefix %q starts with /", p, raw, loc.Prefix)
			}
			switch loc.Provider {
			case File:
				if !strings.HasPrefix(loc.Bucket, "/") || loc.Prefix != "" {
					t.Fatalf("ParseURL(%s, %q): file store %q, prefix %q", p, raw, loc.Bucket, loc.Prefix)
				}
			case S3, GCS:
				if strings.Contains(loc.Bucket, "/") {
					t.Fatalf("ParseURL(%s, %q): bucket %q", p, raw, loc.Bucket)
				}
			case Azure:
				if strings.Contains(loc.Bucket, "/") || loc.Emulated == (loc.AccountURL != "") {
					t.Fatalf("ParseURL(%s, %q): %+v", p, raw, loc)
				}
			default:
				t.Fatalf("ParseURL(%s, %q): provider %q", p, raw, loc.Provider)
			}
		}
	})
}

// checkRedacted fails when shown, the printable form of raw, still holds
// a query, a fragment or a URL's user information.
func checkRedacted(t *testing.T, raw, shown string) {
	t.Helper()
	if shown != Redact(raw) {
		t.Fatalf("Location.URL %q, want Redact(%q) = %q", shown, raw, Redact(raw))
	}
	if i := strings.IndexAny(raw, "?#"); i >= 0 && !strings.HasSuffix(shown, "?REDACTED") {
		t.Fatalf("Redact(%q) = %q keeps the query", raw, shown)
	}
	base, _, _ := strings.Cut(raw, "?")
	base, _, _ = strings.Cut(base, "#")
	if i := strings.Index(base, "://"); i >= 0 {
		authority, _, _ := strings.Cut(base[i+3:], "/")
		if strings.Contains(authority, "@") && !strings.Contains(shown, "://REDACTED@") {
			t.Fatalf("Redact(%q) = %q keeps the user information", raw, shown)
		}
	}
}
