package feed

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
)

func TestAppendReject(t *testing.T) {
	tests := []struct {
		name   string
		r      Record
		reason string
		want   string
	}{
		{"line", Record{File: "a.geojsons", Line: 3, Index: -1, Raw: []byte(`{"type":"Feature"}`)}, "time is missing",
			`{"file":"a.geojsons","line":3,"reason":"time is missing","record":"{\"type\":\"Feature\"}"}` + "\n"},
		{"index", Record{File: "fc.json", Index: 0, Raw: []byte("{\"a\":\"\t<é>\"}")}, `kind must be ground or fire, got "air"`,
			`{"file":"fc.json","index":0,"reason":"kind must be ground or fire, got \"air\"","record":"{\"a\":\"\t<é>\"}"}` + "\n"},
		{"invalid UTF-8 and control bytes", Record{File: "-", Line: 1, Index: -1, Raw: []byte("x\xff\x01")}, "invalid JSON: …",
			`{"file":"-","line":1,"reason":"invalid JSON: …","record":"x` + "\ufffd" + `\u0001"}` + "\n"},
	}
	for _, tc := range tests {
		got := string(AppendReject(nil, tc.r, tc.reason))
		want := strings.Replace(tc.want, "\t", `\t`, 1)
		if got != want {
			t.Errorf("%s:\n got  %s want %s", tc.name, got, want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("%s: not JSON: %s", tc.name, got)
		}
	}
}

func TestRejectCut(t *testing.T) {
	// 4095 bytes of ASCII then "é" (2 bytes): the cut may not split it.
	raw := []byte(strings.Repeat("a", 4095) + "é" + strings.Repeat("b", 100))
	var m struct{ Record string }
	line := AppendReject(nil, Record{File: "f", Line: 1, Index: -1, Raw: raw}, "r")
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatal(err)
	}
	if m.Record != strings.Repeat("a", 4095) {
		t.Errorf("cut at %d bytes, want 4095", len(m.Record))
	}
	raw = []byte(strings.Repeat("a", 4094) + "é" + "b")
	json.Unmarshal(AppendReject(nil, Record{File: "f", Line: 1, Index: -1, Raw: raw}, "r"), &m)
	if m.Record != strings.Repeat("a", 4094)+"é" {
		t.Errorf("cut at %d bytes, want 4096", len(m.Record))
	}
}

func TestRejectWriterConcurrent(t *testing.T) {
	var out bytes.Buffer
	w := NewRejectWriter(&out)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				w.Write(Record{File: "f", Line: i + 1, Index: -1, Raw: []byte(typical)}, "late")
			}
		}()
	}
	wg.Wait()
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 800 {
		t.Fatalf("%d lines, want 800", len(lines))
	}
	for _, l := range lines {
		if !json.Valid([]byte(l)) || !strings.HasPrefix(l, `{"file":"f","line":`) {
			t.Fatalf("bad line %s", l)
		}
	}
}
