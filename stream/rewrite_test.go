package stream

import (
	"encoding/json"
	"testing"
)

func TestSetSource(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"type":"Feature","properties":{}}`, `{"type":"Feature","properties":{"source":"me"}}`},
		{`{"properties":{"source":"x","a":{"source":"keep"},"b":[{"source":1}]},"id":1}`,
			`{"properties":{"a":{"source":"keep"},"b":[{"source":1}],"source":"me"},"id":1}`},
		{`{ "properties" : { "t" : 1 , "source" : null } }`, `{ "properties" : {"t":1,"source":"me"} }`},
		{`{"properties":{"a":1},"properties":{"b":"}\"{"}}`, `{"properties":{"a":1},"properties":{"b":"}\"{","source":"me"}}`},
		{`{"propert\u0069es":{"sour\u0063e":"x","s":true}}`, `{"propert\u0069es":{"s":true,"source":"me"}}`},
		{`{"properties":null}`, ``},
		{`{"type":"Feature"}`, ``},
		{`[1,2]`, ``},
	} {
		got, ok := setSource([]byte(c.in), "me")
		if c.want == "" {
			if ok {
				t.Errorf("%s: rewritten to %s, want no change", c.in, got)
			}
			continue
		}
		if !ok || string(got) != c.want {
			t.Errorf("%s:\n got %s (%v)\nwant %s", c.in, got, ok, c.want)
		}
		if !json.Valid(got) {
			t.Errorf("%s: invalid JSON %s", c.in, got)
		}
	}
}
