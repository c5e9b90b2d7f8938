package tags

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// csvVectors are spec §2.3's (observed with Barman); they seed FuzzParseCSV.
var csvVectors = []struct {
	in      string
	k, v    string
	wantErr string
}{
	{in: "a,b", k: "a", v: "b"},
	{in: `"c,d",e`, k: "c,d", v: "e"},
	{in: "f, g", k: "f", v: " g"},
	{in: ",b", k: "", v: "b"},
	{in: "a,", k: "a", v: ""},
	{in: `"a""b",c`, k: `a"b`, v: "c"},
	{in: ` "a",b`, k: ` "a"`, v: "b"},
	{in: `a"x,b`, k: `a"x`, v: "b"},
	{in: `a,"b`, k: "a", v: "b"},
	{in: "", wantErr: "Invalid tag format: "},
	{in: "k", wantErr: "Invalid tag format: k"},
	{in: "a,b,c", wantErr: "Invalid tag format: a,b,c"},
	{in: "a,b\nc,d", wantErr: "Error parsing tag a,b\nc,d"},
	{in: "URL", wantErr: "Invalid tag format: URL"},
}

func TestParseCSV(t *testing.T) {
	for _, tt := range csvVectors {
		tag, err := ParseCSV(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("ParseCSV(%q) = %v, %v; want error %q", tt.in, tag, err, tt.wantErr)
			}
			continue
		}
		if err != nil || tag != (Tag{tt.k, tt.v}) {
			t.Errorf("ParseCSV(%q) = %q, %v; want %q/%q", tt.in, tag, err, tt.k, tt.v)
		}
	}
}

// parseVectors are check_tag's cases; they seed FuzzParse.
var parseVectors = []struct {
	in   string
	k, v string
	ok   bool
}{
	{" k , v ", "k", "v", true},
	{"k,v,w", "", "", false},
	{"ké,v", "", "", false},
	{"k,v\tw", "k", "v\tw", true},
	{"k,v\u00a0w", "k", "v\u00a0w", true},
	{"k@:/=+-_. x,v", "k@:/=+-_. x", "v", true},
	{"aws:x,y", "", "", false},
	{"AWS:x,y", "", "", false},
	{"k,", "k", "", true},
	{",baz", "", "", false},
	{"'fo,o',baz", "", "", false},
	{strings.Repeat("k", 128) + ",v", strings.Repeat("k", 128), "v", true},
	{strings.Repeat("k", 129) + ",v", "", "", false},
	{"k," + strings.Repeat("v", 256), "k", strings.Repeat("v", 256), true},
	{"k," + strings.Repeat("v", 257), "", "", false},
	{"", "", "", false},
	{"kv", "", "", false},
	{"k\x1fz,v", "k\x1fz", "v", true},
}

func TestParse(t *testing.T) {
	for _, tt := range parseVectors {
		tag, err := Parse(tt.in)
		if !tt.ok {
			if !errors.Is(err, ErrInvalidTag) {
				t.Errorf("Parse(%q) = %q, %v; want invalid", tt.in, tag, err)
			} else if want := "invalid check_tag value: '" + tt.in + "'"; err.Error() != want {
				t.Errorf("Parse(%q) error %q, want %q", tt.in, err, want)
			}
			continue
		}
		if err != nil || tag != (Tag{tt.k, tt.v}) {
			t.Errorf("Parse(%q) = %q, %v; want %q/%q", tt.in, tag, err, tt.k, tt.v)
		}
	}
}

// s3QueryVectors are spec §8.4's; they seed the fuzz targets too.
var s3QueryVectors = []struct {
	l    List
	want string
}{
	{List{{"foo", "bar"}, {"baz $%", "qux -/"}}, "foo=bar&baz+%24%25=qux+-%2F"},
	{List{{"$+ a", "///"}, {"()", "[]"}}, "%24%2B+a=%2F%2F%2F&%28%29=%5B%5D"},
	{List{{"foo", "bar"}, {"baz +%", "qux %/"}}, "foo=bar&baz+%2B%25=qux+%25%2F"},
	{List{{"k 1", "v/1"}, {"a", "b+c"}}, "k+1=v%2F1&a=b%2Bc"},
	{List{{"k 1", "v/1"}, {"x", "é&="}}, "k+1=v%2F1&x=%C3%A9%26%3D"},
	{List{{"a b", "c d"}, {"x", "y~*'()!"}}, "a+b=c+d&x=y~%2A%27%28%29%21"},
	{List{{"z", "1"}, {"a", "2"}}, "z=1&a=2"},
	{nil, ""},
}

func TestS3Query(t *testing.T) {
	for _, tt := range s3QueryVectors {
		if got := tt.l.S3Query(); got != tt.want {
			t.Errorf("%v.S3Query() = %q, want %q", tt.l, got, tt.want)
		}
	}
}

func TestMapAndFor(t *testing.T) {
	l := List{{"foo", "bar"}, {"baz $%", "qux -/"}, {"foo", "last"}}
	if got, want := l.Map(), map[string]string{"foo": "last", "baz $%": "qux -/"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Map = %v, want %v", got, want)
	}
	wal, hist := List{{"a", "b"}}, List{{"h", "1"}}
	for _, tt := range []struct {
		history bool
		w, h    List
		want    List
	}{
		{true, wal, hist, hist},
		{false, wal, hist, wal},
		{true, wal, nil, wal},
		{true, nil, nil, nil},
	} {
		if got := For(tt.history, tt.w, tt.h); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("For(%v, %v, %v) = %v, want %v", tt.history, tt.w, tt.h, got, tt.want)
		}
	}
}
