package progress

import (
	"bytes"
	"testing"
	"time"
)

func TestProgress(t *testing.T) {
	var buf bytes.Buffer
	if New(&buf, nil, false) != nil {
		t.Error("a progress line on a buffer, which is no terminal")
	}
	var nilBar *Bar
	nilBar.Update(1, 2) // no-ops
	nilBar.Done()

	now := time.Unix(0, 0)
	p := &Bar{w: &buf, start: now, now: func() time.Time { return now }, delay: time.Second, total: 1000}
	p.Update(10, 100)
	if buf.Len() != 0 {
		t.Errorf("drawn within the first second: %q", buf.String())
	}
	now = now.Add(2 * time.Second)
	p.Update(2000000, 500)
	p.Update(2000001, 501) // within 200 ms of the last: skipped
	p.Done()
	want := "\rdetect: [========>       ]  50% 2.0M records, 1.0M/s; 500 B, 250 B/s\x1b[K\r\x1b[K"
	if buf.String() != want {
		t.Errorf("progress\n%q\nwant\n%q", buf.String(), want)
	}
	p.total = 0
	if got := p.line(15000, 3<<20, 2*time.Second); got != "detect: 15k records, 7500/s; 3.0 MB, 1.5 MB/s" {
		t.Errorf("line without a total: %q", got)
	}
}
