package jsontext

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSkipValue(t *testing.T) {
	tests := []struct {
		in   string
		want int // index past the value, -1 for not JSON
	}{
		{`"a"`, 3},
		{`"a\"b" `, 6},
		{`"open`, -1},
		{`17,`, 2},
		{`-1.5e3]`, 6},
		{`true}`, 4},
		{`null`, 4},
		{`{}`, 2},
		{`[]`, 2},
		{`{ "a" : [1, {"b": "}"}] , "c":null } tail`, 36},
		{`[1,[2,[3]]]`, 11},
		{`[1 2]`, 5}, // the syntax within is the checker's
		{`{"a":1`, -1},
		{`["]"`, -1},
		{`["a\\"]`, 7},
		{`["a\"]`, -1},
		{`[`, -1},
		{`{"a":`, -1},
		{``, -1},
		{`,`, -1},
	}
	for _, tc := range tests {
		if got := SkipValue([]byte(tc.in), 0); got != tc.want {
			t.Errorf("SkipValue(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// TestSkipValueDeep: nesting deeper than any stack would take is walked.
func TestSkipValueDeep(t *testing.T) {
	const n = 1 << 20
	b := []byte(strings.Repeat(`{"a":[`, n) + "0" + strings.Repeat("]}", n))
	if got := SkipValue(b, 0); got != len(b) {
		t.Errorf("SkipValue of %d levels = %d, want %d", 2*n, got, len(b))
	}
	if got := SkipValue(b[:len(b)-1], 0); got != -1 {
		t.Errorf("SkipValue of an unclosed object = %d, want -1", got)
	}
}

func TestMembers(t *testing.T) {
	b := []byte(` {"type": "Feature", "prop\u0065rties" : {"x": [1, 2]}, "id":7 } `)
	var keys, vals []string
	end := Members(b, 1, func(m Member) {
		keys = append(keys, string(m.Key(b)))
		vals = append(vals, string(m.Value(b)))
	})
	if end != len(b)-1 {
		t.Errorf("end %d, want %d", end, len(b)-1)
	}
	if got := strings.Join(keys, "|"); got != `"type"|"prop\u0065rties"|"id"` {
		t.Errorf("keys %s", got)
	}
	if got := strings.Join(vals, "|"); got != `"Feature"|{"x": [1, 2]}|7` {
		t.Errorf("values %s", got)
	}
	n := 0
	Members(b, 1, func(m Member) {
		if m.KeyIs(b, "properties") {
			n++
		}
	})
	if n != 1 {
		t.Errorf("KeyIs found properties %d times", n)
	}
	for _, bad := range []string{`{"a":1`, `{"a":1 "b":2}`, `[1]`, `{"a":}`} {
		if got := Members([]byte(bad), 0, func(Member) {}); got != -1 {
			t.Errorf("Members(%q) = %d, want -1", bad, got)
		}
	}
	if got := Members([]byte(`{ }`), 0, func(Member) { t.Error("a member in {}") }); got != 3 {
		t.Errorf("Members({ }) = %d", got)
	}
}

func TestElements(t *testing.T) {
	b := []byte(`[ 1, "two" ,[3], {"4":4} ]`)
	var got []string
	end := Elements(b, 0, func(a, z int) { got = append(got, string(b[a:z])) })
	if end != len(b) || strings.Join(got, "|") != `1|"two"|[3]|{"4":4}` {
		t.Errorf("Elements = %d %q", end, got)
	}
	if Elements([]byte(`[1,2`), 0, func(int, int) {}) != -1 || Elements([]byte(`{}`), 0, func(int, int) {}) != -1 {
		t.Error("Elements took a broken array")
	}
}

func TestUnescape(t *testing.T) {
	for _, in := range []string{`plain`, `a\"b\\c\/d`, `\b\f\n\r\t`, `\u00e9t\u00E9`, `\ud83d\udef0 sat`, `\ud83d alone`, `\udef0`, `Київ`} {
		var want string
		if err := json.Unmarshal([]byte(`"`+in+`"`), &want); err != nil {
			t.Fatal(err)
		}
		if got := string(Unescape(nil, []byte(in))); got != want {
			t.Errorf("Unescape(%q) = %q, want %q", in, got, want)
		}
	}
	// Text that is not a JSON string's content does not panic.
	for _, in := range []string{`\`, `\u12`, `\uzzzz`} {
		Unescape(nil, []byte(in))
	}
}

func TestClip(t *testing.T) {
	if got := Clip([]byte("short")); got != "short" {
		t.Errorf("Clip(short) = %q", got)
	}
	long := strings.Repeat("ж", 40) // 80 bytes
	got := Clip([]byte(long))
	if !strings.HasSuffix(got, "…") || len(got) > 64+len("…") || !strings.HasPrefix(long, strings.TrimSuffix(got, "…")) {
		t.Errorf("Clip(80 bytes) = %q", got)
	}
}

func TestGetValuesString(t *testing.T) {
	obj := []byte(`{"type":"Point","coordinates":[30.5, 48],"type":"Last","n":"a\u00e9"}`)
	if got := string(Get(obj, "type")); got != `"Last"` {
		t.Errorf("Get(type) = %s, want the last member's", got)
	}
	if Get(obj, "none") != nil || Get([]byte(`[1]`), "type") != nil {
		t.Error("Get found what is not there")
	}
	vs := Values(Get(obj, "coordinates"))
	if len(vs) != 2 || string(vs[0]) != "30.5" || string(vs[1]) != "48" {
		t.Errorf("Values = %q", vs)
	}
	if s, ok := String(Get(obj, "n")); !ok || s != "aé" {
		t.Errorf("String = %q, %v", s, ok)
	}
	if _, ok := String([]byte("48")); ok {
		t.Error("String took a number")
	}
}
