package walobject

import (
	"strings"
	"testing"
	"time"

	"github.com/barmancloud/barman-cloud/shared/compress"
	"github.com/barmancloud/barman-cloud/shared/storage"
)

func TestCopies(t *testing.T) {
	const x = "p/srv/wals/0000000100000000/000000010000000000000001"
	objs := []storage.Object{{Key: x}, {Key: x + ".gz"}, {Key: x + ".partial"}, {Key: x + ".partial.gz"}, {Key: x + ".zst", Version: "v"}, {Key: x + ".gz.gz"}}
	var got []string
	for _, c := range Copies(objs, x) {
		got = append(got, strings.TrimPrefix(c.Key, x)+"|"+c.Version)
	}
	if strings.Join(got, ",") != "|,.gz|,.zst|v" {
		t.Errorf("copies of X: %v", got)
	}
	got = nil
	for _, c := range Copies(objs, x+".partial") {
		got = append(got, strings.TrimPrefix(c.Key, x))
		if c.Key == x+".partial.gz" && c.Compression != compress.Gzip {
			t.Errorf("%s: compression %v", c.Key, c.Compression)
		}
	}
	if strings.Join(got, ",") != ".partial,.partial.gz" {
		t.Errorf("copies of X.partial: %v", got)
	}
}

func TestArbitrate(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d1, d2 := []byte{1}, []byte{2}
	c := func(key string, sec int) Candidate {
		return Candidate{Key: key, ModTime: t0.Add(time.Duration(sec) * time.Second)}
	}
	tests := []struct {
		name    string
		copies  []Candidate
		digests [][]byte
		chosen  int
		want    int
		ignored []string // key: reason prefix
	}{
		{"one content: the choice stands", []Candidate{c("a", 5), c("b", 1)}, [][]byte{d1, d1}, 0, 0, nil},
		{"different: first recorded", []Candidate{c("a", 5), c("b", 1)}, [][]byte{d1, d2}, 0, 1, []string{"a: different content"}},
		{"different: a tie goes to the first key", []Candidate{c("b", 1), c("a", 1)}, [][]byte{d1, d2}, 0, 1, []string{"b: different content"}},
		{"no digest: first recorded", []Candidate{c("a", 5), c("b", 1)}, [][]byte{d1, nil}, 0, 1, []string{"a: sha256 01, which cannot be compared"}},
		{"no digest on the other", []Candidate{c("a", 1), c("b", 5)}, [][]byte{d1, nil}, 1, 0, []string{"b: it has no recorded sha256"}},
		{"identical copies are not reported", []Candidate{c("a", 3), c("b", 1), c("c", 2)}, [][]byte{d1, d2, d2}, 0, 1, []string{"a: different content"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ignored := Arbitrate(tc.copies, tc.digests, tc.chosen)
			if got != tc.want {
				t.Errorf("chose %d, want %d", got, tc.want)
			}
			if len(ignored) != len(tc.ignored) {
				t.Fatalf("ignored %v, want %v", ignored, tc.ignored)
			}
			for i, ig := range ignored {
				key, reason, _ := strings.Cut(tc.ignored[i], ": ")
				if ig.Key != key || !strings.HasPrefix(ig.Reason, reason) {
					t.Errorf("ignored %s: %q, want %s: %q", ig.Key, ig.Reason, key, reason)
				}
			}
		})
	}
}
