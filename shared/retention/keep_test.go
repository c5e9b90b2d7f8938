package retention

import "testing"

func TestAnnotationKey(t *testing.T) {
	tests := []struct{ prefix, server, id, key, dir string }{
		// spec §11.7: s3://bucket/pfx and s3://bucket/pfx/
		{"pfx", "srv", "20240122T000000", "pfx/srv/base/20240122T000000/annotations/keep", "pfx/srv/base/"},
		{"pfx/", "srv", "20240101T000000", "pfx//srv/base/20240101T000000/annotations/keep", "pfx//srv/base/"},
		{"", "srv", "20240101T000000", "srv/base/20240101T000000/annotations/keep", "srv/base/"},
		{"a/b", "main", "X", "a/b/main/base/X/annotations/keep", "a/b/main/base/"},
	}
	for _, tt := range tests {
		if got := AnnotationKey(tt.prefix, tt.server, tt.id); got != tt.key {
			t.Errorf("AnnotationKey(%q, %q, %q) = %q, want %q", tt.prefix, tt.server, tt.id, got, tt.key)
		}
		if got := AnnotationsDir(tt.prefix, tt.server); got != tt.dir {
			t.Errorf("AnnotationsDir(%q, %q) = %q, want %q", tt.prefix, tt.server, got, tt.dir)
		}
		id, name, ok := ParseAnnotationKey(tt.key)
		if !ok || id != tt.id || name != "keep" {
			t.Errorf("ParseAnnotationKey(%q) = %q, %q, %v", tt.key, id, name, ok)
		}
	}
	for _, k := range []string{
		"pfx/srv/base/ID/backup.info",
		"base/ID/annotations/keep" + "/x",
		"ID/annotations/keep", // three parts: not enough
	} {
		if id, name, ok := ParseAnnotationKey(k); ok {
			t.Errorf("ParseAnnotationKey(%q) = %q, %q, true", k, id, name)
		}
	}
}

func TestParseKeep(t *testing.T) {
	tests := []struct {
		content string
		want    Keep
		status  string
	}{
		{"full", KeepFull, "full"},
		{"standalone", KeepStandalone, "standalone"},
		{"standalone\n", KeepFull, "full"},     // readline keeps the newline
		{"standalone\nmore", KeepFull, "full"}, // idem
		{"STANDALONE", KeepFull, "full"},       // case matters
		{"weird", KeepFull, "full"},            // "treated as KEEP_FULL for safety"
		{"", KeepFull, "full"},                 // Barman: keep for -b, none for -r
		{"full\nstandalone", KeepFull, "full"}, // first line only
		{"standalone\r\n", KeepFull, "full"},   // no newline translation
		{"standalone ", KeepFull, "full"},      // no stripping
		{"\xffstandalone", KeepFull, "full"},   // not UTF-8: Barman crashes decoding (exit 4)
		{"standalone\x00", KeepFull, "full"},   // a NUL is part of the line
	}
	for _, tt := range tests {
		got := ParseKeep([]byte(tt.content))
		if got != tt.want || got.String() != tt.status {
			t.Errorf("ParseKeep(%q) = %v (%s), want %v (%s)", tt.content, got, got, tt.want, tt.status)
		}
	}
	if NoKeep.String() != "nokeep" {
		t.Errorf("NoKeep.String() = %q", NoKeep.String())
	}
}
