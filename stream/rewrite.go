package stream

import (
	"github.com/linewatch/linewatch/internal/jsontext"
)

// setSource returns a copy of the Feature raw whose properties.source is
// src: every "source" member of its properties object is dropped and
// "source": src is added last. raw must be valid JSON (Decode accepted
// it); ok is false when it has no properties object to change.
func setSource(raw []byte, src string) (out []byte, ok bool) {
	i := jsontext.SkipSpace(raw, 0)
	// The last "properties" member wins, as in Decode.
	var props jsontext.Member
	found := false
	end := jsontext.Members(raw, i, func(m jsontext.Member) {
		if m.KeyIs(raw, "properties") {
			props, found = m, true
		}
	})
	if end < 0 || !found || raw[props.ValA] != '{' {
		return nil, false
	}
	out = make([]byte, 0, len(raw)+len(src)+16)
	out = append(out, raw[:props.ValA]...)
	out = append(out, '{')
	n := 0
	if jsontext.Members(raw, props.ValA, func(m jsontext.Member) {
		if m.KeyIs(raw, "source") {
			return
		}
		if n > 0 {
			out = append(out, ',')
		}
		n++
		out = append(out, m.Key(raw)...)
		out = append(out, ':')
		out = append(out, m.Value(raw)...)
	}) < 0 {
		return nil, false
	}
	if n > 0 {
		out = append(out, ',')
	}
	out = append(out, `"source":`...)
	out = jsontext.AppendString(out, src)
	out = append(out, '}')
	out = append(out, raw[props.ValB:]...)
	return out, true
}
