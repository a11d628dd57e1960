package locate

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/linewatch/linewatch/batch"
	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/feed"
)

// corpus reads the inputs of a Go fuzz corpus directory (each file holds
// one []byte value).
func corpus(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus in %s", dir)
	}
	out := map[string][]byte{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.SplitN(string(data), "\n", 3)
		if len(lines) < 2 || lines[0] != "go test fuzz v1" || !strings.HasPrefix(lines[1], "[]byte(") {
			t.Fatalf("%s: not a []byte corpus entry", f)
		}
		v, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[filepath.Base(f)] = []byte(v)
	}
	return out
}

// hostile are records and files made to break a reader: deep and unclosed
// nesting, bytes that are not text, numbers out of range.
func hostile() map[string][]byte {
	const ok = `{"type":"Feature","geometry":{"type":"Point","coordinates":[30.5,48.01]},"properties":{"time":"2024-05-01T00:00:00Z"}}`
	return map[string][]byte{
		"unclosed arrays":         []byte(strings.Repeat("[", 100000) + "\n" + ok + "\n"),
		"unclosed objects":        []byte(strings.Repeat(`{"a":`, 50000) + "\n" + ok + "\n"),
		"deep but closed":         []byte(strings.Repeat("[", 300) + strings.Repeat("]", 300) + "\n" + ok + "\n"),
		"deep properties":         []byte(`{"type":"Feature","geometry":{"type":"Point","coordinates":[30.5,48.01]},"properties":{"time":0,"x":` + strings.Repeat("[", 255) + strings.Repeat("]", 255) + "}}\n"),
		"deeper properties":       []byte(`{"type":"Feature","geometry":{"type":"Point","coordinates":[30.5,48.01]},"properties":{"time":0,"x":` + strings.Repeat("[", 256) + strings.Repeat("]", 256) + "}}\n"),
		"nul and invalid UTF-8":   []byte("\x00\n\xff\xfe\n" + ok + "\n"),
		"BOM and CRLF":            []byte("\xef\xbb\xbf" + ok + "\r\n" + ok + "\r\n"),
		"no break space":          []byte("\u00a0" + ok + "\n"),
		"RS records":              []byte("\x1e" + ok + "\n\x1e{\"type\":\n\x1e\x1e" + ok + "\n"),
		"lone surrogate":          []byte(`{"type":"Feature","geometry":{"type":"Point","coordinates":[30.5,48.01]},"properties":{"time":0,"s":"\udc00"}}` + "\n"),
		"huge number":             []byte(`{"type":"Feature","geometry":{"type":"Point","coordinates":[30.5,48.01]},"properties":{"time":0,"n":1e999}}` + "\n"),
		"no time":                 []byte(`{"type":"Feature","geometry":{"type":"Point","coordinates":[30.5,48.01]}}` + "\n"),
		"feature collection":      []byte(`{"type":"FeatureCollection","features":[` + ok + `,{"type":"Feature"},` + strings.Repeat("[", 1000) + `]}`),
		"after the collection":    []byte(`{"type":"FeatureCollection","features":[` + ok + `]} trailing`),
		"duplicates":              []byte(ok + "\n" + ok + "\n"),
		"time out of four digits": []byte(strings.Replace(ok, "2024-05-01T00:00:00Z", "9999-12-31T23:59:59Z", 1) + "\n"),
	}
}

// TestAnnotateAsDecoder: every record of the decoder's fuzz corpus (the
// bad-input corpus of feed/testdata) is annotated exactly when
// feed.Decoder accepts it, and rejected for the very reason it gives.
func TestAnnotateAsDecoder(t *testing.T) {
	a := NewAnnotator(mustLine(t, straightLine))
	recs := corpus(t, "../feed/testdata/fuzz/FuzzDecode")
	for name, in := range hostile() {
		for i, rec := range bytes.Split(in, []byte("\n")) {
			recs[name+" #"+strconv.Itoa(i)] = rec
		}
	}
	accepted := 0
	for name, raw := range recs {
		var s detect.Sighting
		want := ""
		if err := feed.Decode(raw, &s); err != nil {
			var rj *feed.Reject
			if !errors.As(err, &rj) {
				t.Fatalf("%s: %v", name, err)
			}
			want = rj.Reason
		}
		out, reason := a.Annotate(nil, raw)
		if reason != want || (reason == "") != (len(out) > 0) {
			t.Errorf("%s (%.60q): locate %q (wrote %d bytes), detect %q", name, raw, reason, len(out), want)
		}
		if want == "" {
			accepted++
		}
	}
	t.Logf("%d records, %d accepted", len(recs), accepted)
}

// TestRunAsDetect: on whole files — the reader's fuzz corpus and hostile
// files — locate rejects the very records detect rejects, with the same
// rejects file, and annotates all the others.
func TestRunAsDetect(t *testing.T) {
	l := mustLine(t, straightLine)
	judge := detect.NewJudge(l, detect.DefaultPolicy())
	files := corpus(t, "../feed/testdata/fuzz/FuzzSource")
	for name, in := range corpus(t, "../feed/testdata/fuzz/FuzzDecode") {
		files["record "+name] = in
	}
	for name, in := range hostile() {
		files[name] = in
	}
	dir := t.TempDir()
	var total Stats
	for name, in := range files {
		path := filepath.Join(dir, "in.geojsonseq")
		if err := os.WriteFile(path, in, 0o644); err != nil {
			t.Fatal(err)
		}
		var detectRejects bytes.Buffer
		rw := feed.NewRejectWriter(&detectRejects)
		res, err := batch.Run(batch.Config{Judge: judge, Workers: 2, Reject: func(r batch.Rejected) error {
			return rw.Write(r.Record, r.Reason)
		}}, []string{path})
		if err != nil {
			t.Fatalf("%s: detect: %v", name, err)
		}
		rw.Flush()
		var out, locateRejects bytes.Buffer
		lrw := feed.NewRejectWriter(&locateRejects)
		st, err := Run(l, []string{path}, &out, lrw, 2)
		if err != nil {
			t.Fatalf("%s: locate: %v", name, err)
		}
		lrw.Flush()
		k := res.Counts
		if int64(st.Read) != k.Read || int64(st.Rejected) != k.Rejected || int64(st.Annotated) != k.Accepted+k.Duplicate+k.Late {
			t.Errorf("%s: locate %+v, detect %+v", name, st, k)
		}
		if locateRejects.String() != detectRejects.String() {
			t.Errorf("%s: rejects differ:\nlocate %s\ndetect %s", name, locateRejects.String(), detectRejects.String())
		}
		if n := bytes.Count(out.Bytes(), []byte("\n")); n != st.Annotated {
			t.Errorf("%s: %d lines out, %d annotated", name, n, st.Annotated)
		}
		total.Read += st.Read
		total.Annotated += st.Annotated
		total.Rejected += st.Rejected
	}
	t.Logf("%d files: %+v", len(files), total)
}
