package stream

import (
	"encoding/json"
	"github.com/linewatch/linewatch/internal/jsontext"
)

// setSource returns a copy of the Feature raw whose properties.source is
// src: every "source" member of its properties object is dropped and
// "source": src is added last. raw must be valid JSON (Decode accepted
// it); ok is false when it has no properties object to change.
func setSource(raw []byte, src string) (out []byte, ok bool) {
	w := &jwalk{b: raw}
	w.ws()
	if !w.is('{') {
		return nil, false
	}
	// The last "properties" member wins, as in Decode.
	pa, pb := -1, -1
	w.members(func(key []byte, va, vb int) {
		if keyIs(key, "properties") {
			pa, pb = va, vb
		}
	})
	if w.bad || pa < 0 || raw[pa] != '{' {
		return nil, false
	}
	out = make([]byte, 0, len(raw)+len(src)+16)
	out = append(out, raw[:pa]...)
	out = append(out, '{')
	n := 0
	pw := &jwalk{b: raw, i: pa}
	pw.is('{')
	pw.members(func(key []byte, va, vb int) {
		if keyIs(key, "source") {
			return
		}
		if n > 0 {
			out = append(out, ',')
		}
		n++
		out = append(out, key...)
		out = append(out, ':')
		out = append(out, raw[va:vb]...)
	})
	if pw.bad {
		return nil, false
	}
	if n > 0 {
		out = append(out, ',')
	}
	out = append(out, `"source":`...)
	out = jsontext.AppendString(out, src)
	out = append(out, '}')
	out = append(out, raw[pb:]...)
	return out, true
}

// keyIs tells whether the JSON string key (quotes included) is name.
func keyIs(key []byte, name string) bool {
	if len(key) == len(name)+2 && string(key[1:len(key)-1]) == name {
		return true
	}
	for _, c := range key {
		if c == '\\' {
			var s string
			return json.Unmarshal(key, &s) == nil && s == name
		}
	}
	return false
}

// jwalk walks JSON text already known to be valid; bad is set if it is not.
type jwalk struct {
	b   []byte
	i   int
	bad bool
}

func (w *jwalk) ws() {
	for w.i < len(w.b) {
		switch w.b[w.i] {
		case ' ', '\t', '\n', '\r':
			w.i++
		default:
			return
		}
	}
}

// is consumes c if it is next.
func (w *jwalk) is(c byte) bool {
	w.ws()
	if w.i < len(w.b) && w.b[w.i] == c {
		w.i++
		return true
	}
	return false
}

// members walks the members of the object whose '{' was just consumed,
// calling f with each key (quotes included) and its value's span.
func (w *jwalk) members(f func(key []byte, va, vb int)) {
	if w.is('}') {
		return
	}
	for !w.bad {
		w.ws()
		ka := w.i
		w.str()
		key := w.b[ka:min(w.i, len(w.b))]
		if !w.is(':') {
			w.bad = true
			return
		}
		w.ws()
		va := w.i
		w.value()
		if w.bad {
			return
		}
		f(key, va, w.i)
		if w.is(',') {
			continue
		}
		if !w.is('}') {
			w.bad = true
		}
		return
	}
}

func (w *jwalk) str() {
	if w.i >= len(w.b) || w.b[w.i] != '"' {
		w.bad = true
		return
	}
	for w.i++; w.i < len(w.b); w.i++ {
		switch w.b[w.i] {
		case '\\':
			w.i++
		case '"':
			w.i++
			return
		}
	}
	w.bad = true
}

func (w *jwalk) value() {
	w.ws()
	if w.i >= len(w.b) {
		w.bad = true
		return
	}
	switch w.b[w.i] {
	case '"':
		w.str()
	case '{':
		w.i++
		w.members(func([]byte, int, int) {})
	case '[':
		w.i++
		if w.is(']') {
			return
		}
		for !w.bad {
			w.value()
			if w.is(',') {
				continue
			}
			if !w.is(']') {
				w.bad = true
			}
			return
		}
	default: // number, true, false, null
		for w.i < len(w.b) {
			switch w.b[w.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return
			}
			w.i++
		}
	}
}
