package output

import (
	"encoding/json"
	"testing"
)

func TestAppendString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", `"plain"`},
		{`quote " and \ slash`, `"quote \" and \\ slash"`},
		{"tab\tnew\nline\r", `"tab\tnew\nline\r"`},
		{"bell\x07", `"bell\u0007"`},
		{"Київ", `"Київ"`},
		{"bad \xff byte", `"bad \ufffd byte"`},
	}
	for _, tc := range tests {
		got := string(appendString(nil, tc.in))
		if got != tc.want {
			t.Errorf("appendString(%q) = %s, want %s", tc.in, got, tc.want)
		}
		var back string
		if err := json.Unmarshal([]byte(got), &back); err != nil {
			t.Errorf("%s is not a JSON string: %v", got, err)
		}
	}
}

func TestAppendCSVField(t *testing.T) {
	tests := []struct{ in, want string }{
		{"S001;S002", "S001;S002"},
		{"a,b", `"a,b"`},
		{`say "hi"`, `"say ""hi"""`},
		{"two\nlines", "\"two\nlines\""},
	}
	for _, tc := range tests {
		if got := string(appendCSVField(nil, tc.in)); got != tc.want {
			t.Errorf("appendCSVField(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Carried properties come sorted, compacted, and never override the
// Feature's own keys or repeat the fields linewatch interprets.
func TestAppendCarried(t *testing.T) {
	props := []byte(`{"zeta": [1, 2], "time": "2024-01-01T00:00:00Z", "class": "mine", "side": "B", "alpha": {"b": 1,  "a": 2}}`)
	got := string(appendCarried(nil, props))
	want := `,"alpha":{"a":2,"b":1},"zeta":[1,2]`
	if got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}
