package backupinfo

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/barmancloud/barman-cloud/shared/backupinfo/backupinfotest"
	"github.com/barmancloud/barman-cloud/shared/pylit"
)

// FuzzParse: parse never panics, and what it reads Marshal writes as a
// file that reads back to the same Info (one write normalises: literals
// re-printed, empty ones as None, unknown fields dropped). Non-finite
// floats in a literal are skipped: Python writes them as inf/nan, which
// neither Barman nor this package can read back.
func FuzzParse(f *testing.F) {
	f.Add(specExample)
	for _, b := range backupinfotest.CatalogC() {
		f.Add(string(b.Info))
		f.Add(string(backupinfotest.WithTablespace(b.Info)))
	}
	f.Add("begin_time=2024-01-02 03:04:05.12+05:30:10\nzzz=1\n#c\n\n")
	f.Add("tablespaces=(['a', 1, '/a'],)\nincluded_files=()\ncopy_stats={'a': (1, 2.5e-07)}\n")
	f.Fuzz(func(t *testing.T, text string) {
		info, err := parse([]byte(text), time.UTC)
		if err != nil {
			return
		}
		out, err := info.Marshal(Fields317)
		if err != nil {
			t.Fatalf("Marshal of parse(%q): %v", text, err)
		}
		if nonFinite(info.CopyStats) || nonFinite(info.SnapshotsInfo) {
			return
		}
		again, err := parse(out, time.UTC)
		if err != nil {
			t.Fatalf("parse(%q) then Marshal gives %q, which does not parse: %v", text, out, err)
		}
		if out2, err := again.Marshal(Fields317); err != nil || string(out2) != string(out) {
			t.Fatalf("parse(%q): Marshal %q, then %q (%v)", text, out, out2, err)
		}
		var je *pylit.JSONError
		if _, err := info.JSON("id", Fields317); err != nil && !errors.As(err, &je) {
			t.Fatalf("JSON of parse(%q): %v", text, err)
		}
	})
}

// nonFinite reports whether the literal v holds an infinite or NaN float.
func nonFinite(v any) bool {
	switch v := v.(type) {
	case float64:
		return math.IsInf(v, 0) || math.IsNaN(v)
	case pylit.List:
		return slices.ContainsFunc(v, nonFinite)
	case pylit.Tuple:
		return slices.ContainsFunc(v, nonFinite)
	case pylit.Set:
		return slices.ContainsFunc(v, nonFinite)
	case pylit.Dict:
		return slices.ContainsFunc(v, func(it pylit.Item) bool { return nonFinite(it.Key) || nonFinite(it.Value) })
	}
	return false
}
