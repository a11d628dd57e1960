package batch_test

// Property-based tests of the batch engine (SPEC §2–§5): small random
// feeds on the straight line along 48°N (A north, B south), written as
// files, run through batch.Run and output.Write.

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"pgregory.net/rapid"

	"github.com/linewatch/linewatch/batch"
	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/geo"
)

const straightLine = "../fixtures/lines/straight.geojson"

// pos is a position in units of 0.0001°: lon·10⁴ and the offset of the
// latitude from 48° (positive: north, A's side; never 0, so never within
// ~10 m of the line).
type pos struct{ lon, dlat int }

func (p pos) coords() [2]float64 {
	return [2]float64{float64(p.lon) / 1e4, 48 + float64(p.dlat)/1e4}
}

// rec is one generated record.
type rec struct {
	id         string // the id's JSON text: "\"s3\"" or "17"
	inProps    bool   // id given as properties.id
	minute     int    // minutes after 2024-05-01T00:00:00Z
	side       string // "A", "B", "C" (a third force), "" (absent)
	kind       string // "ground", "fire", "" (absent)
	track      string
	shape      string // Point, LineString, MultiPoint
	pts        []pos
	strength   int     // -1: absent
	confidence float64 // 0: absent
	precision  int     // -1: absent
	note       string  // a carried property, "" for none
	source     string  // the source's JSON text: "\"o1\"" or "7"; "" for none
	bad        string  // when set, the raw text of a record that must be rejected
}

const baseUnix = 1714521600 // 2024-05-01T00:00:00Z

func (r *rec) json() string {
	if r.bad != "" {
		return r.bad
	}
	var b strings.Builder
	b.WriteString(`{"type":"Feature",`)
	if !r.inProps {
		b.WriteString(`"id":` + r.id + `,`)
	}
	b.WriteString(`"geometry":{"type":"` + r.shape + `","coordinates":`)
	cs := make([][2]float64, len(r.pts))
	for i, p := range r.pts {
		cs[i] = p.coords()
	}
	var c []byte
	if r.shape == "Point" {
		c, _ = json.Marshal(cs[0])
	} else {
		c, _ = json.Marshal(cs)
	}
	b.Write(c)
	b.WriteString(`},"properties":{`)
	if r.minute%2 == 0 {
		fmt.Fprintf(&b, `"time":%q`, timeText(r.minute))
	} else {
		fmt.Fprintf(&b, `"time":%d`, baseUnix+60*r.minute)
	}
	if r.inProps {
		b.WriteString(`,"id":` + r.id)
	}
	if r.side != "" {
		fmt.Fprintf(&b, `,"side":%q`, r.side)
	}
	if r.kind != "" {
		fmt.Fprintf(&b, `,"kind":%q`, r.kind)
	}
	if r.track != "" {
		fmt.Fprintf(&b, `,"track":%q`, r.track)
	}
	if r.strength >= 0 {
		fmt.Fprintf(&b, `,"strength":%d`, r.strength)
	}
	if r.confidence > 0 {
		fmt.Fprintf(&b, `,"confidence":%s`, strconv.FormatFloat(r.confidence, 'f', -1, 64))
	}
	if r.precision >= 0 {
		fmt.Fprintf(&b, `,"precision_m":%d`, r.precision)
	}
	if r.note != "" {
		fmt.Fprintf(&b, `,"note":%q`, r.note)
	}
	if r.source != "" {
		b.WriteString(`,"source":` + r.source)
	}
	b.WriteString(`}}`)
	return b.String()
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func timeText(minute int) string {
	return fmt.Sprintf("2024-05-%02dT%02d:%02d:00Z", 1+minute/1440, minute/60%24, minute%60)
}

// The generators.

var (
	idPool    = []string{`"s0"`, `"s1"`, `"s2"`, `"s3"`, `"s4"`, `"s5"`, `"s6"`, `"s7"`, `"s8"`, `"s9"`, `17`, `"17"`, `"42"`}
	badTexts  = []string{`{"type":"Feature",`, `{"type":"Feature","geometry":{"type":"Point","coordinates":[30.5,48.01]},"properties":{"side":"B"}}`, `{"type":"Feature","id":"s1","geometry":{"type":"Point","coordinates":[30.5,48.01]},"properties":{"time":"2024-05-01T10:00:00Z","kind":"air"}}`, `[{"type":"Feature"}]`, `{"type":"Feature","id":"s2","geometry":{"type":"Point","coordinates":[30.5,98]},"properties":{"time":"2024-05-01T10:00:00Z"}}`}
	sides     = []string{"A", "B", "A", "B", "", "C"}
	kinds     = []string{"ground", "fire", ""}
	tracks    = []string{"", "", "T1", "T2", "T3"}
	confs     = []float64{0, 0, 1, 0.9, 0.7, 0.5, 0.3, 0.999999}
	shapePool = []string{"Point", "Point", "Point", "LineString", "MultiPoint"}
	// Sources: most records have none; 7 and "7" are one source.
	sourcePool = []string{"", "", "", `"o1"`, `"o2"`, `7`, `"7"`}
)

// scope is where and when a feed's sightings happen: the whole line (and a
// little past its free ends, within end_reach_m or beyond it) over ten
// days, or a few sectors over two days, where cells get hot and episodes
// form.
type scope struct {
	lonMin, lonMax int // 0.0001°
	minutes        int
}

func genScope(t *rapid.T) scope {
	if rapid.Bool().Draw(t, "focused") {
		return scope{301500, 303500, 2 * 1440}
	}
	return scope{299500, 313500, 10 * 1440}
}

func genPos(t *rapid.T, sc scope, label string) pos {
	// Within ~10 km of the line.
	lon := rapid.IntRange(sc.lonMin, sc.lonMax).Draw(t, label+".lon")
	d := rapid.IntRange(1, 900).Draw(t, label+".dlat")
	if rapid.Bool().Draw(t, label+".south") {
		d = -d
	}
	return pos{lon, d}
}

func genRec(t *rapid.T, sc scope, i int) rec {
	l := fmt.Sprintf("r%d", i)
	if rapid.IntRange(0, 14).Draw(t, l+".isbad") == 0 {
		return rec{bad: rapid.SampledFrom(badTexts).Draw(t, l+".bad")}
	}
	r := rec{
		id:         rapid.SampledFrom(idPool).Draw(t, l+".id"),
		inProps:    rapid.IntRange(0, 4).Draw(t, l+".inprops") == 0,
		minute:     rapid.IntRange(0, sc.minutes-1).Draw(t, l+".minute"),
		side:       rapid.SampledFrom(sides).Draw(t, l+".side"),
		kind:       rapid.SampledFrom(kinds).Draw(t, l+".kind"),
		track:      rapid.SampledFrom(tracks).Draw(t, l+".track"),
		shape:      rapid.SampledFrom(shapePool).Draw(t, l+".shape"),
		strength:   rapid.IntRange(-1, 20).Draw(t, l+".strength"),
		confidence: rapid.SampledFrom(confs).Draw(t, l+".confidence"),
		precision:  -1,
		source:     rapid.SampledFrom(sourcePool).Draw(t, l+".source"),
	}
	if rapid.Bool().Draw(t, l+".hasprecision") {
		r.precision = rapid.IntRange(0, 3000).Draw(t, l+".precision")
	}
	if rapid.IntRange(0, 3).Draw(t, l+".hasnote") == 0 {
		r.note = "n" + strconv.Itoa(i)
	}
	n := 1
	switch r.shape {
	case "LineString":
		n = rapid.IntRange(2, 3).Draw(t, l+".n")
	case "MultiPoint":
		n = rapid.IntRange(1, 3).Draw(t, l+".n")
	}
	first := genPos(t, sc, l+".p0")
	r.pts = []pos{first}
	for k := 1; k < n; k++ {
		// Later positions near the first, so movements are short.
		p := pos{first.lon + rapid.IntRange(-200, 200).Draw(t, fmt.Sprintf("%s.p%d.dlon", l, k)),
			rapid.IntRange(1, 900).Draw(t, fmt.Sprintf("%s.p%d.dlat", l, k))}
		if rapid.Bool().Draw(t, fmt.Sprintf("%s.p%d.south", l, k)) {
			p.dlat = -p.dlat
		}
		if p == r.pts[k-1] { // a LineString needs distinct positions
			p.dlat += p.dlat / abs(p.dlat)
		}
		r.pts = append(r.pts, p)
	}
	return r
}

// genFeed draws a feed of up to max records, some of them repeated: byte
// for byte, or with the same id and source and other content. Ids are
// drawn from a small pool, so records of other sources share ids too.
func genFeed(t *rapid.T, max int) []rec {
	sc := genScope(t)
	n := rapid.IntRange(1, max).Draw(t, "n")
	var recs []rec
	for i := range n {
		if len(recs) > 0 && rapid.IntRange(0, 5).Draw(t, fmt.Sprintf("r%d.repeat", i)) == 0 {
			r := recs[rapid.IntRange(0, len(recs)-1).Draw(t, fmt.Sprintf("r%d.of", i))]
			if r.bad == "" && rapid.Bool().Draw(t, fmt.Sprintf("r%d.conflict", i)) {
				other := genRec(t, sc, i)
				if other.bad == "" {
					other.id, other.inProps, other.source = r.id, r.inProps, r.source
					r = other
				}
			}
			recs = append(recs, r)
			continue
		}
		recs = append(recs, genRec(t, sc, i))
	}
	return recs
}

var fileSeq atomic.Int64

// writeFeed writes records to files in dir: one file per part, each a
// newline-delimited sequence or (if it holds no invalid JSON) a
// FeatureCollection, maybe gzipped.
func writeFeed(tb fataler, dir string, parts [][]rec, formats []int) []string {
	helper(tb)
	var names []string
	for i, part := range parts {
		var buf bytes.Buffer
		fc := formats[i]%2 == 1
		for _, r := range part {
			if r.bad != "" && !json.Valid([]byte(r.bad)) {
				fc = false
			}
		}
		if fc {
			buf.WriteString(`{"type":"FeatureCollection","features":[`)
			for k, r := range part {
				if k > 0 {
					buf.WriteString(",\n")
				}
				buf.WriteString(r.json())
			}
			buf.WriteString("]}\n")
		} else {
			for _, r := range part {
				buf.WriteString(r.json())
				buf.WriteByte('\n')
			}
		}
		name := filepath.Join(dir, fmt.Sprintf("feed-%d.ndjson", fileSeq.Add(1)))
		data := buf.Bytes()
		if formats[i] >= 2 {
			name += ".gz"
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			zw.Write(data)
			zw.Close()
			data = z.Bytes()
		}
		if err := os.WriteFile(name, data, 0o644); err != nil {
			tb.Fatal(err)
		}
		names = append(names, name)
	}
	return names
}

func writeOne(tb fataler, dir string, recs []rec) []string {
	return writeFeed(tb, dir, [][]rec{recs}, []int{0})
}

// propLine loads the straight line under a policy.
func propLine(t fataler, pol detect.Policy) *geo.Line {
	line, _ := loadLine(t, straightLine, pol)
	return line
}

func runBatch(t fataler, line *geo.Line, pol detect.Policy, workers int, inputs []string) *batch.Outcome {
	helper(t)
	out, err := batch.Run(batch.Config{Judge: detect.NewJudge(line, pol), Workers: workers}, inputs)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// allViolations are the violations of a result: those of its episodes and
// the isolated ones.
func allViolations(res *detect.Result) []*detect.Violation {
	vs := slices.Clone(res.Isolated)
	for _, e := range res.Episodes {
		vs = append(vs, e.Evidence...)
	}
	return vs
}

// idKey is the id and source a record is known by (SPEC §2: records of
// other sources never duplicate each other): a number's JSON text is the
// same id or source as the string holding it.
func idKey(r rec) string {
	return jsonText(r.id) + "\x00" + jsonText(r.source)
}

func jsonText(t string) string {
	if s, err := strconv.Unquote(t); err == nil {
		return s
	}
	return t
}

// (a) Every record read ends accepted, rejected or duplicate (late is 0 in
// batch), and the accepted are exactly the distinct ids of the valid
// records.
func TestPropertyCountsAddUp(t *testing.T) {
	dir := t.TempDir()
	pol := detect.DefaultPolicy()
	line := propLine(t, pol)
	rapid.Check(t, func(t *rapid.T) {
		recs := genFeed(t, 30)
		out := runBatch(t, line, pol, 2, writeOne(t, dir, recs))
		k := out.Counts
		if k.Read != int64(len(recs)) {
			t.Fatalf("read %d records, wrote %d", k.Read, len(recs))
		}
		if k.Read != k.Accepted+k.Rejected+k.Duplicate+k.Late || k.Late != 0 {
			t.Fatalf("counts do not add up: %+v", k)
		}
		ids := map[string]bool{}
		bad := 0
		for _, r := range recs {
			if r.bad != "" {
				bad++
				continue
			}
			ids[idKey(r)] = true
		}
		if k.Rejected != int64(bad) || k.Accepted != int64(len(ids)) {
			t.Fatalf("rejected %d, accepted %d; want %d rejected, %d accepted (distinct ids)", k.Rejected, k.Accepted, bad, len(ids))
		}
		if k.Unattributed+k.BeyondEnd > k.Accepted {
			t.Fatalf("unattributed %d + beyond end %d > accepted %d", k.Unattributed, k.BeyondEnd, k.Accepted)
		}
		res := &out.Result
		vs := allViolations(res)
		sum := 0
		for _, n := range res.ByType {
			sum += n
		}
		if sum != len(vs) {
			t.Fatalf("violations by type add up to %d, episodes and isolated hold %d", sum, len(vs))
		}
		seen := map[string]bool{}
		for _, v := range vs {
			k := v.ID + "\x00" + v.Source
			if seen[k] {
				t.Fatalf("sighting %s of source %q made two violations", v.ID, v.Source)
			}
			seen[k] = true
		}
		if len(vs) > int(k.Accepted-k.Unattributed-k.BeyondEnd) {
			t.Fatalf("%d violations from %d judged sightings", len(vs), k.Accepted-k.Unattributed-k.BeyondEnd)
		}
	})
}

// (b) Shuffling the records, splitting them across files (sequences,
// FeatureCollections, gzipped or not), changing the number of workers and
// settling duplicates within a batch or not changes no byte of the
// output.
func TestPropertyOrderAndSplitChangeNothing(t *testing.T) {
	dir := t.TempDir()
	line := propLine(t, detect.DefaultPolicy())
	rapid.Check(t, func(t *rapid.T) {
		pol := detect.DefaultPolicy()
		pol.HotScoreMicro = detect.RoundMicro(rapid.SampledFrom([]float64{1, 2, 4}).Draw(t, "hot_score")) // low: more episodes
		recs := genFeed(t, 40)
		want, wantOut := detectGeoJSON(t, line, pol, 1, writeOne(t, dir, recs)...)
		perm := rapid.Permutation(recs).Draw(t, "perm")
		nfiles := rapid.IntRange(1, min(4, len(perm))).Draw(t, "nfiles")
		cuts := []int{0}
		for i := 1; i < nfiles; i++ {
			cuts = append(cuts, rapid.IntRange(cuts[i-1]+1, len(perm)-(nfiles-i)).Draw(t, fmt.Sprintf("cut%d", i)))
		}
		cuts = append(cuts, len(perm))
		var parts [][]rec
		var formats []int
		for i := range nfiles {
			parts = append(parts, perm[cuts[i]:cuts[i+1]])
			formats = append(formats, rapid.IntRange(0, 3).Draw(t, fmt.Sprintf("format%d", i)))
		}
		workers := rapid.SampledFrom([]int{1, 2, 4}).Draw(t, "workers")
		// Duplicates settled where they meet in a batch or read again at
		// the end: the same records kept.
		restore := batch.SameBatch(rapid.Bool().Draw(t, "same batch"))
		got, gotOut := detectGeoJSON(t, line, pol, workers, writeFeed(t, dir, parts, formats)...)
		restore()
		if gotOut.Counts != wantOut.Counts {
			t.Fatalf("counts %+v, in file order %+v", gotOut.Counts, wantOut.Counts)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("output differs from the output in file order:\n%s", lineDiff(want, got))
		}
	})
}

// attributedParty is the party a record is attributed to (SPEC §2), by
// the latitudes of its positions: "" when it is not attributed.
func attributedParty(r rec) string {
	switch {
	case r.side == "A" || r.side == "B":
		return r.side
	case r.side != "" || r.kind != "fire":
		return ""
	case r.shape == "LineString":
		return sideOf(r.pts[0])
	}
	if sideOf(r.pts[0]) == "A" {
		return "B"
	}
	return "A"
}

func sideOf(p pos) string {
	if p.dlat > 0 {
		return "A"
	}
	return "B"
}

// (c) Moving every sighting to its own party's side (mirroring the
// latitude of each position across 48°N where it is on the other side)
// leaves no crossing, incursion or fire. A sideless fire Point or
// MultiPoint is by definition fired from across the line, so it is given
// its party as side first.
func TestPropertyOwnSideMakesNoViolation(t *testing.T) {
	dir := t.TempDir()
	pol := detect.DefaultPolicy()
	line := propLine(t, pol)
	rapid.Check(t, func(t *rapid.T) {
		recs := genFeed(t, 30)
		for i := range recs {
			r := &recs[i]
			if r.bad != "" {
				continue
			}
			party := attributedParty(*r)
			if party == "" {
				continue
			}
			if r.side == "" {
				r.side = party
			}
			pts := slices.Clone(r.pts)
			for k := range pts {
				if sideOf(pts[k]) != party {
					pts[k].dlat = -pts[k].dlat
				}
			}
			r.pts = pts
		}
		out := runBatch(t, line, pol, 2, writeOne(t, dir, recs))
		for _, v := range allViolations(&out.Result) {
			if v.Type != detect.Buffer {
				t.Fatalf("sighting %s on its own party's side made a %s by %s at %v,%v (depth %v)", v.ID, v.Type, v.Party, v.Lon, v.Lat, v.DepthM)
			}
		}
	})
}

// (d) Raising hot_score never adds an episode: every episode under the
// higher threshold lies within an episode under the lower one (its
// violations are all in that one). The number of episodes may still grow:
// taking a cell out of an episode can split it (see
// TestRaisingHotScoreCanSplitAnEpisode).
func TestPropertyHigherHotScoreAddsNoEpisode(t *testing.T) {
	dir := t.TempDir()
	scores := []float64{0.5, 1, 1.5, 2, 3, 4, 5, 6, 8}
	rapid.Check(t, func(t *rapid.T) {
		recs := genFeed(t, 30)
		i := rapid.IntRange(0, len(scores)-2).Draw(t, "low")
		j := rapid.IntRange(i+1, len(scores)-1).Draw(t, "high")
		low, high := detect.DefaultPolicy(), detect.DefaultPolicy()
		low.HotScoreMicro = detect.RoundMicro(scores[i])
		high.HotScoreMicro = detect.RoundMicro(scores[j])
		files := writeOne(t, dir, recs)
		lo := runBatch(t, propLine(t, low), low, 2, files)
		hi := runBatch(t, propLine(t, high), high, 2, files)
		episodeOf := map[string]string{} // violation id and source → episode id, at the low threshold
		for _, e := range lo.Result.Episodes {
			for _, v := range e.Evidence {
				episodeOf[v.ID+"\x00"+v.Source] = e.ID
			}
		}
		for _, e := range hi.Result.Episodes {
			within := ""
			for _, v := range e.Evidence {
				le, ok := episodeOf[v.ID+"\x00"+v.Source]
				if !ok {
					t.Fatalf("violation %s is in episode %s at hot_score %v but isolated at %v", v.ID, e.ID, scores[j], scores[i])
				}
				if within != "" && le != within {
					t.Fatalf("episode %s at hot_score %v spans episodes %s and %s at %v", e.ID, scores[j], within, le, scores[i])
				}
				within = le
			}
		}
	})
}

// (e) Raising precision_m of every sighting never adds a violation: the
// set of sightings that make one shrinks or stays. With and without a
// buffer.
func TestPropertyHigherPrecisionAddsNoViolation(t *testing.T) {
	dir := t.TempDir()
	rapid.Check(t, func(t *rapid.T) {
		recs := genFeed(t, 30)
		pol := detect.DefaultPolicy()
		pol.BufferM = float64(rapid.SampledFrom([]int{0, 500, 2000}).Draw(t, "buffer_m"))
		line := propLine(t, pol)
		raised := slices.Clone(recs)
		for i := range raised {
			if raised[i].bad != "" {
				continue
			}
			raised[i].precision = max(raised[i].precision, 0) + rapid.IntRange(0, 3000).Draw(t, fmt.Sprintf("r%d.more", i))
		}
		before := runBatch(t, line, pol, 2, writeOne(t, dir, recs))
		after := runBatch(t, line, pol, 2, writeOne(t, dir, raised))
		violating := map[string]bool{}
		for _, v := range allViolations(&before.Result) {
			violating[v.ID+"\x00"+v.Source] = true
		}
		for _, v := range allViolations(&after.Result) {
			if !violating[v.ID+"\x00"+v.Source] {
				t.Fatalf("sighting %s makes a %s (depth %v) only after its precision_m was raised", v.ID, v.Type, v.DepthM)
			}
		}
	})
}

// Raising hot_score can split an episode in two: three hot days with one
// quiet day between each are one episode (join_gap_windows 1); when the
// middle day's cell cools, the other two are three windows apart. Each of
// the two still lies within the episode of the lower threshold.
func TestRaisingHotScoreCanSplitAnEpisode(t *testing.T) {
	dir := t.TempDir()
	var recs []rec
	add := func(id string, day int) {
		recs = append(recs, rec{id: strconv.Quote(id), minute: (day-1)*1440 + 600, side: "B", kind: "ground",
			shape: "Point", pts: []pos{{302000, 100}}, strength: -1, precision: -1})
	}
	add("a1", 1)
	add("a2", 1)
	add("a3", 1)
	add("b1", 3) // the middle day: score 2
	add("c1", 5)
	add("c2", 5)
	add("c3", 5)
	files := writeOne(t, dir, recs)
	episodes := func(hot float64) []string {
		pol := detect.DefaultPolicy()
		pol.HotScoreMicro = detect.RoundMicro(hot)
		out := runBatch(t, propLine(t, pol), pol, 1, files)
		var ids []string
		for _, e := range out.Result.Episodes {
			ids = append(ids, fmt.Sprintf("%s%v", e.ID, evidenceIDs(e)))
		}
		return ids
	}
	low, high := episodes(2), episodes(4)
	if want := []string{"B-S001-20240501T000000Z[a1 a2 a3 b1 c1 c2 c3]"}; !slices.Equal(low, want) {
		t.Errorf("hot_score 2: episodes %v, want %v", low, want)
	}
	if want := []string{"B-S001-20240501T000000Z[a1 a2 a3]", "B-S001-20240505T000000Z[c1 c2 c3]"}; !slices.Equal(high, want) {
		t.Errorf("hot_score 4: episodes %v, want %v", high, want)
	}
}

func evidenceIDs(e *detect.Episode) []string {
	var ids []string
	for _, v := range e.Evidence {
		ids = append(ids, v.ID)
	}
	return ids
}
