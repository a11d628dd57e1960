package jsontext

import (
	"encoding/json"
	"testing"
)

func TestAppendString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", `"plain"`},
		{`quote " and \ slash /`, `"quote \" and \\ slash /"`},
		{"tab\tnew\nline\r", `"tab\tnew\nline\r"`},
		{"\b\f\x07\x1f", `"\b\f\u0007\u001f"`},
		{"Київ 🛰", `"Київ 🛰"`},
		{"bad \xff byte", "\"bad \ufffd byte\""},
		{"", `""`},
	}
	for _, tc := range tests {
		for _, got := range []string{string(AppendString(nil, tc.in)), string(AppendString(nil, []byte(tc.in)))} {
			if got != tc.want {
				t.Errorf("AppendString(%q) = %s, want %s", tc.in, got, tc.want)
			}
			var back string
			if err := json.Unmarshal([]byte(got), &back); err != nil {
				t.Errorf("%s is not a JSON string: %v", got, err)
			}
		}
	}
}
