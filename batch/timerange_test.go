package batch_test

import (
	"bytes"
	"math"
	"testing"

	"pgregory.net/rapid"

	"github.com/linewatch/linewatch/batch"
	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/output"
)

// A time range keeps the sightings in it: the result is that of the
// records in the range alone, and the others are counted as outside, so
// that the records still add up.
func TestPropertyTimeRange(t *testing.T) {
	dir := t.TempDir()
	pol := detect.DefaultPolicy()
	line := propLine(t, pol)
	rapid.Check(t, func(t *rapid.T) {
		recs := genFeed(t, 40)
		from := rapid.IntRange(-60, 3*1440).Draw(t, "from")
		to := rapid.IntRange(from+1, 3*1440+60).Draw(t, "to")
		rng := &batch.TimeRange{Since: (baseUnix + int64(from)*60) * 1e6, Until: (baseUnix + int64(to)*60) * 1e6}
		if rapid.Bool().Draw(t, "open") {
			rng.Since = math.MinInt64
		}
		var in []rec
		outside := 0
		for _, r := range recs {
			if r.bad == "" && !rng.Contains((baseUnix+int64(r.minute)*60)*1e6) {
				outside++
				continue
			}
			in = append(in, r)
		}
		got, err := batch.Run(batch.Config{Judge: detect.NewJudge(line, pol), Workers: 2, Range: rng}, writeOne(t, dir, recs))
		if err != nil {
			t.Fatal(err)
		}
		want, wantOut := detectGeoJSON(t, line, pol, 1, writeOne(t, dir, in)...)
		var buf bytes.Buffer
		if err := output.Write(&buf, line, pol, &got.Result, output.Options{Format: output.GeoJSON, Isolated: true, Evidence: true}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Fatalf("with the range:\n%s\nthe records in it alone:\n%s", buf.Bytes(), want)
		}
		k, w := got.Counts, wantOut.Counts
		if k.Outside != int64(outside) || k.Read != int64(len(recs)) || k.Read != k.Accepted+k.Rejected+k.Duplicate+k.Late+k.Outside {
			t.Fatalf("counts %+v: %d outside of %d read", k, outside, len(recs))
		}
		w.Read, w.Outside = k.Read, k.Outside
		if k != w {
			t.Fatalf("counts %+v, of the records in the range alone %+v", k, w)
		}
	})
}

func TestParseTimeRange(t *testing.T) {
	for _, tc := range []struct {
		since, until string
		want         string // String(), or "!" and the error
	}{
		{"", "", ""},
		{"2024-02-01", "", "from 2024-02-01T00:00:00Z"},
		{"", "2024-03-01T06:30:00+02:00", "until 2024-03-01T04:30:00Z"},
		{"2024-02-01", "2024-03-01", "from 2024-02-01T00:00:00Z until 2024-03-01T00:00:00Z"},
		{"2024-03-01", "2024-02-01", "!--since 2024-03-01 is not before --until 2024-02-01"},
		{"yesterday", "", `!--since "yesterday": want an RFC 3339 date-time`},
		{"", "2024-02-01 10:00", `!--until "2024-02-01 10:00": want`},
	} {
		r, err := batch.ParseTimeRange(tc.since, tc.until)
		if len(tc.want) > 0 && tc.want[0] == '!' {
			if err == nil || !bytes.HasPrefix([]byte(err.Error()), []byte(tc.want[1:])) {
				t.Errorf("%q %q: %v, want %q", tc.since, tc.until, err, tc.want[1:])
			}
			continue
		}
		if err != nil || r.String() != tc.want || (tc.want == "") != (r == nil) {
			t.Errorf("%q %q: %v %v, want %q", tc.since, tc.until, r, err, tc.want)
		}
	}
}
