package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestWriteFileReplacesWhole(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "rec")
	for _, content := range []string{"first\n", "second, longer\n", "3\n"} {
		if err := WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(p)
		if err != nil || string(got) != content {
			t.Fatalf("read %q, %v; want %q", got, err, content)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("left %d files, want only rec", len(entries))
	}
}

func TestWriteFileMissingDir(t *testing.T) {
	if err := WriteFile(filepath.Join(t.TempDir(), "no", "rec"), []byte("x"), 0o600); err == nil {
		t.Fatal("no error writing into a missing directory")
	}
}

func TestRemoveStaleTemps(t *testing.T) {
	dir := t.TempDir()
	f, old, err := CreateTemp(dir, "000000010000000000000001", 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	f, young, err := CreateTemp(dir, "000000010000000000000002", 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	other := filepath.Join(dir, ".000000010000000000000003.atomic-tmp-XYZ")
	os.WriteFile(other, nil, 0o600)
	past := time.Now().Add(-time.Hour)
	os.Chtimes(old, past, past)
	os.Chtimes(other, past, past)
	removed := RemoveStaleTemps(dir, time.Minute)
	if len(removed) != 1 || removed[0] != filepath.Base(old) {
		t.Fatalf("removed %v, want only %s", removed, filepath.Base(old))
	}
	for _, p := range []string{young, other} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed: %v", p, err)
		}
	}
}

func TestIsTemp(t *testing.T) {
	for name, want := range map[string]bool{
		".a.atomic-tmp-0123456789ab":  true,
		"a.atomic-tmp-0123456789ab":   false,
		".a.atomic-tmp-0123456789aB":  false,
		".a.atomic-tmp-0123456789abc": false,
		".atomic-tmp-0123456789ab":    false,
	} {
		if IsTemp(name) != want {
			t.Errorf("IsTemp(%q) = %v, want %v", name, !want, want)
		}
	}
}
