package output

import "testing"

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
