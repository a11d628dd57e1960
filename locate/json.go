package locate

import (
	"encoding/json"
)

// The helpers below walk JSON text that is already known to be valid.

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// skipSpace returns the index of the first non-space byte at or after i.
func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// skipString returns the index just past the string starting at b[i] == '"'.
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(b)
}

// skipValue returns the index just past the value starting at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = skipString(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && !isSpace(b[j]) {
		j++
	}
	return j
}

// member is one member of an object: the key's text with its quotes and
// the value's text.
type member struct {
	keyA, keyB int // the key, quotes included
	valA, valB int
}

// keyIs tells whether the member's key is want, escapes decoded.
func (m member) keyIs(b []byte, want string) bool {
	k := b[m.keyA+1 : m.keyB-1]
	for _, c := range k {
		if c == '\\' {
			var s string
			return json.Unmarshal(b[m.keyA:m.keyB], &s) == nil && s == want
		}
	}
	return string(k) == want
}

// members calls f for each member of the object starting at b[i] == '{'
// and returns the index of its closing brace.
func members(b []byte, i int, f func(m member)) int {
	i = skipSpace(b, i+1)
	for i < len(b) && b[i] != '}' {
		var m member
		m.keyA = i
		m.keyB = skipString(b, i)
		i = skipSpace(b, m.keyB)
		i = skipSpace(b, i+1) // ':'
		m.valA = i
		m.valB = skipValue(b, i)
		f(m)
		i = skipSpace(b, m.valB)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return i
}

// lastNonSpace is the index of the last non-space byte before end.
func lastNonSpace(b []byte, end int) int {
	for end > 0 && isSpace(b[end-1]) {
		end--
	}
	return end - 1
}
