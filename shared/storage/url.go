package storage

import (
	"fmt"
	"net/url"
	"strings"
)

// Provider names a storage provider.
type Provider string

// Providers. The first three are --cloud-provider's values; File is chosen
// by a file:// URL.
const (
	S3    Provider = "aws-s3"
	Azure Provider = "azure-blob-storage"
	GCS   Provider = "google-cloud-storage"
	File  Provider = "file"
)

// Location is where a URL points.
type Location struct {
	Provider Provider
	// Bucket is the S3/GCS bucket or Azure container; for File, the
	// directory.
	Bucket string
	// Prefix is the key prefix, kept as Barman keeps it (trailing and inner
	// slashes included, except for GCS, which strips both ends).
	Prefix string
	// AccountURL is the Azure service URL for an account URL
	// ("https://ACCOUNT.blob.core.windows.net"); empty for emulated storage.
	AccountURL string
	// Emulated is true for an Azure URL that is not under
	// blob.core.windows.net: it needs a connection string.
	Emulated bool
	// URL is the URL as given, with any credentials removed, for messages.
	URL string
}

// split divides a URL into scheme, network location, path, as Python's
// urllib.parse.urlsplit does: the scheme is lower-cased, nothing is
// percent-decoded, query and fragment are dropped. Barman builds keys from
// these raw parts, and net/url would decode and validate them.
func split(raw string) (scheme, netloc, path string) {
	rest := raw
	if i := strings.IndexByte(raw, ':'); i > 0 && validScheme(raw[:i]) {
		scheme, rest = strings.ToLower(raw[:i]), raw[i+1:]
	}
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i]
	}
	if strings.HasPrefix(rest, "//") {
		rest = rest[2:]
		i := strings.IndexByte(rest, '/')
		if i < 0 {
			return scheme, rest, ""
		}
		return scheme, rest[:i], rest[i:]
	}
	return scheme, "", rest
}

func validScheme(s string) bool {
	for i, c := range s {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// ParseURL reads a destination or source URL for provider p (one of
// --cloud-provider's values); a file:// URL selects the local directory
// store whatever p is.
func ParseURL(p Provider, raw string) (Location, error) {
	scheme, netloc, path := split(raw)
	loc := Location{Provider: p, URL: Redact(raw)}
	if scheme == "file" {
		loc.Provider = File
		if netloc != "" && netloc != "localhost" {
			return loc, fmt.Errorf("invalid file URL %s: expected file:///ABSOLUTE/PATH", loc.URL)
		}
		if !strings.HasPrefix(path, "/") {
			return loc, fmt.Errorf("invalid file URL %s: expected file:///ABSOLUTE/PATH", loc.URL)
		}
		dir, err := url.PathUnescape(path)
		if err != nil {
			return loc, fmt.Errorf("invalid file URL %s: %v", loc.URL, err)
		}
		loc.Bucket = dir
		return loc, nil
	}
	switch p {
	case S3:
		if scheme != "s3" || netloc == "" {
			return loc, fmt.Errorf("Invalid s3 URL address: %s", loc.URL)
		}
		loc.Bucket, loc.Prefix = netloc, strings.TrimLeft(path, "/")
	case Azure:
		parts := strings.Split(path, "/")
		if strings.HasSuffix(netloc, "blob.core.windows.net") {
			if len(parts) < 2 {
				return loc, fmt.Errorf("azure blob storage URL %s is malformed", loc.URL)
			}
			loc.AccountURL = "https://" + netloc
			loc.Bucket, loc.Prefix = parts[1], strings.Join(parts[2:], "/")
		} else {
			if len(parts) < 3 {
				return loc, fmt.Errorf("emulated storage URL %s is malformed", loc.URL)
			}
			loc.Emulated = true
			loc.Bucket, loc.Prefix = parts[2], strings.Join(parts[3:], "/")
		}
		if loc.Bucket == "" {
			return loc, fmt.Errorf("azure blob storage URL %s is malformed: no container name", loc.URL)
		}
		if strings.HasPrefix(loc.Prefix, "/") {
			// Barman would make every key start with "/" ("cont//p" gives
			// the prefix "/p"), names that neither it nor we can promise
			// to address alike: refuse rather than guess.
			return loc, fmt.Errorf("azure blob storage URL %s is malformed: an empty path segment after the container name", loc.URL)
		}
	case GCS:
		const console = "https://console.cloud.google.com/storage/browser/"
		if !strings.HasPrefix(raw, "gs://") && !strings.HasPrefix(raw, console) {
			return loc, fmt.Errorf("Google cloud storage URL %s is malformed. Expected format are '%sbucket-name/some/path' or 'gs://bucket-name/some/path'", loc.URL, console)
		}
		_, netloc, path = split(strings.ReplaceAll(raw, console, "gs://"))
		if netloc == "" {
			return loc, fmt.Errorf("Google cloud storage URL %s is malformed. Bucket name not found", loc.URL)
		}
		loc.Bucket, loc.Prefix = netloc, strings.Trim(path, "/")
	default:
		return loc, fmt.Errorf("unknown cloud provider %q", p)
	}
	return loc, nil
}

// Redact removes what may be a credential from a URL before it is shown:
// the user information and the query string (an Azure SAS token travels
// there), and any fragment.
func Redact(raw string) string {
	s := raw
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i] + "?REDACTED"
	}
	if i := strings.Index(s, "://"); i >= 0 {
		host := s[i+3:]
		end := strings.IndexByte(host, '/')
		if end < 0 {
			end = len(host)
		}
		if at := strings.LastIndexByte(host[:end], '@'); at >= 0 {
			s = s[:i+3] + "REDACTED@" + host[at+1:]
		}
	}
	return s
}
