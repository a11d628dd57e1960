package locate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/linewatch/linewatch/feed"
)

// writeSeq writes n Point Features near the straight line, numbered; bad(i)
// makes record i one that is rejected.
func writeSeq(n int, bad func(i int) bool) []byte {
	r := rand.New(rand.NewPCG(3, 4))
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		if bad != nil && bad(i) {
			fmt.Fprintf(&b, `{"type":"Feature","id":"%d","geometry":{"type":"Point","coordinates":[30.5]},"properties":{"time":0}}`+"\n", i)
			continue
		}
		fmt.Fprintf(&b, `{"type":"Feature","id":"%d","geometry":{"type":"Point","coordinates":[%.6f,%.6f]},"properties":{"n":%d,"time":%d}}`+"\n",
			i, 30+r.Float64()*1.3, 47.8+r.Float64()*0.4, i, 1714521600+i)
	}
	return b.Bytes()
}

func TestRunOrderAndRejects(t *testing.T) {
	// Many batches, many workers, some rejects: output in input order.
	dir := t.TempDir()
	const n = 5000
	bad := func(i int) bool { return i%997 == 3 }
	in := filepath.Join(dir, "in.geojsonseq")
	if err := os.WriteFile(in, writeSeq(n, bad), 0o644); err != nil {
		t.Fatal(err)
	}
	l := mustLine(t, straightLine)
	nbad := 0
	for i := 0; i < n; i++ {
		if bad(i) {
			nbad++
		}
	}
	for _, workers := range []int{1, 3, 8} {
		var out, rej bytes.Buffer
		rw := feed.NewRejectWriter(&rej)
		st, err := Run(l, []string{in, in}, &out, rw, workers)
		if err != nil {
			t.Fatal(err)
		}
		if err := rw.Flush(); err != nil {
			t.Fatal(err)
		}
		if st.Read != 2*n || st.Rejected != 2*nbad || st.Annotated != 2*(n-nbad) {
			t.Errorf("workers %d: stats %+v", workers, st)
		}
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		k := 0
		for pass := 0; pass < 2; pass++ {
			for i := 0; i < n; i++ {
				if bad(i) {
					continue
				}
				var f struct{ ID string }
				if err := json.Unmarshal([]byte(lines[k]), &f); err != nil || f.ID != strconv.Itoa(i) {
					t.Fatalf("workers %d: output %d is %s, want id %d", workers, k, lines[k], i)
				}
				k++
			}
		}
		rejects := strings.Split(strings.TrimSpace(rej.String()), "\n")
		if len(rejects) != 2*nbad {
			t.Fatalf("workers %d: %d rejects, want %d", workers, len(rejects), 2*nbad)
		}
		var first struct {
			File   string `json:"file"`
			Line   int    `json:"line"`
			Reason string `json:"reason"`
			Record string `json:"record"`
		}
		if err := json.Unmarshal([]byte(rejects[0]), &first); err != nil {
			t.Fatal(err)
		}
		if first.File != in || first.Line != 4 || first.Reason != "position 1 has 1 numbers, want 2 or 3" ||
			first.Record != `{"type":"Feature","id":"3","geometry":{"type":"Point","coordinates":[30.5]},"properties":{"time":0}}` {
			t.Errorf("first reject %+v", first)
		}
	}
}

// failWriter fails after n bytes.
type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		return 0, fmt.Errorf("disk full")
	}
	w.n -= len(p)
	return len(p), nil
}

// A failure to write ends the run as a *WriteError; a missing input is
// another error.
func TestRunErrors(t *testing.T) {
	l := mustLine(t, straightLine)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.geojsonseq")
	if err := os.WriteFile(in, writeSeq(5000, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Run(l, []string{in}, &failWriter{n: 1000}, nil, 2)
	if we, ok := err.(*WriteError); !ok || !strings.Contains(we.Error(), "disk full") {
		t.Errorf("write failure: %v", err)
	}
	_, err = Run(l, []string{filepath.Join(dir, "none")}, &bytes.Buffer{}, nil, 2)
	if _, ok := err.(*WriteError); err == nil || ok {
		t.Errorf("missing input: %v", err)
	}
}
