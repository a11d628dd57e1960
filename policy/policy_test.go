package policy

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/linewatch/linewatch/detect"
)

// specPolicy is the policy of SPEC §7, written out.
const specPolicy = `window: 24h                 # tumbling event-time window (durations: 90m, 24h, 7d)
window_origin: 1970-01-01T00:00:00Z
sector_km: 10
buffer_m: 0                 # used where the line gives none
max_track_gap: 6h
min_confidence: 0.5
end_reach_m: 5000           # how far past a free end of the line positions are still judged
allowed_lateness: 6h        # streaming
max_future: 1h              # streaming: records further ahead of the wall clock are rejected
weights: {crossing: 3, incursion: 2, fire: 1, buffer: 0.5}
hot_score: 4
join_sectors: 1
join_gap_windows: 1
significant_score: 30
significant_depth_m: 3000
significant_strength: 50
deliberate_min_ground: 3
deliberate_min_tracks: 2
sustained_min_hot_windows: 3
corroboration_min_affiliations: 1
`

func TestDefaultPolicyIsSpec(t *testing.T) {
	p, err := Parse([]byte(specPolicy))
	if err != nil {
		t.Fatal(err)
	}
	if p != detect.DefaultPolicy() {
		t.Errorf("SPEC §7 policy = %+v\nwant DefaultPolicy %+v", p, detect.DefaultPolicy())
	}
	if err := detect.DefaultPolicy().Validate(); err != nil {
		t.Errorf("detect.DefaultPolicy().Validate() = %v", err)
	}
	if got, want := Keys(), []string{"window", "window_origin", "sector_km", "buffer_m",
		"max_track_gap", "min_confidence", "end_reach_m", "allowed_lateness", "max_future", "weights",
		"hot_score", "join_sectors", "join_gap_windows", "significant_score", "significant_depth_m",
		"significant_strength", "deliberate_min_ground", "deliberate_min_tracks",
		"sustained_min_hot_windows", "corroboration_min_affiliations"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Keys() = %v", got)
	}
}

func TestParseEmpty(t *testing.T) {
	for _, in := range []string{"", "\n", "# only a comment\n", "~", "null", "---\n", "---\n...\n", "\ufeff"} {
		p, err := Parse([]byte(in))
		if err != nil || p != detect.DefaultPolicy() {
			t.Errorf("Parse(%q) = %+v, %v; want the defaults", in, p, err)
		}
	}
}

func TestParseValues(t *testing.T) {
	in := `
window: 7d
window_origin: 1970-01-05T00:00:00Z   # Mondays
sector_km: 2.5
buffer_m: 500
max_track_gap: 1h30m
min_confidence: 0
end_reach_m: 0
allowed_lateness: 0
max_future: 90m
weights:
  fire: 1.5
hot_score: 0.000001
join_sectors: 0
join_gap_windows: 0
significant_score: 12.3456785
significant_depth_m: 1e3
significant_strength: 0
deliberate_min_ground: 0
deliberate_min_tracks: 0
sustained_min_hot_windows: 1
corroboration_min_affiliations: 2
`
	p, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := detect.Policy{
		Window:                 7 * 24 * time.Hour,
		WindowOrigin:           345600e6,
		SectorKm:               2.5,
		BufferM:                500,
		MaxTrackGap:            90 * time.Minute,
		MinConfidence:          0,
		EndReachM:              0,
		AllowedLateness:        0,
		MaxFuture:              90 * time.Minute,
		Weights:                detect.Weights{Crossing: 3, Incursion: 2, Fire: 1.5, Buffer: 0.5},
		HotScoreMicro:          1,
		SignificantScoreMicro:  12345679, // half away from zero on "12.3456785"
		SignificantDepthM:      1000,
		SustainedMinHotWindows: 1,

		CorroborationMinAffiliations: 2,
	}
	if p != want {
		t.Errorf("got  %+v\nwant %+v", p, want)
	}
	if err := p.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
}

func TestParseForms(t *testing.T) {
	tests := []struct {
		in   string
		get  func(detect.Policy) any
		want any
	}{
		// Durations.
		{"window: 90m", func(p detect.Policy) any { return p.Window }, 90 * time.Minute},
		{"window: 1h30m", func(p detect.Policy) any { return p.Window }, 90 * time.Minute},
		{"window: 1.5d", func(p detect.Policy) any { return p.Window }, 36 * time.Hour},
		{"window: 1d12h", func(p detect.Policy) any { return p.Window }, 36 * time.Hour},
		{"window: '24h'", func(p detect.Policy) any { return p.Window }, 24 * time.Hour},
		{"window: 500ms", func(p detect.Policy) any { return p.Window }, 500 * time.Millisecond},
		{"window: 1us", func(p detect.Policy) any { return p.Window }, time.Microsecond},
		{"max_track_gap: 0", func(p detect.Policy) any { return p.MaxTrackGap }, time.Duration(0)},
		{"allowed_lateness: 0s", func(p detect.Policy) any { return p.AllowedLateness }, time.Duration(0)},
		{"max_future: 0d", func(p detect.Policy) any { return p.MaxFuture }, time.Duration(0)},
		// window_origin like a sighting's time.
		{"window_origin: 1970-01-05T00:00:00Z", func(p detect.Policy) any { return p.WindowOrigin }, int64(345600e6)},
		{`window_origin: "1970-01-05T02:00:00+02:00"`, func(p detect.Policy) any { return p.WindowOrigin }, int64(345600e6)},
		{"window_origin: 1970-01-05T00:00:00.5Z", func(p detect.Policy) any { return p.WindowOrigin }, int64(345600500000)},
		{"window_origin: 345600", func(p detect.Policy) any { return p.WindowOrigin }, int64(345600e6)},
		{"window_origin: 345600.1", func(p detect.Policy) any { return p.WindowOrigin }, int64(345600100000)},
		{"window_origin: 1.7145216e9", func(p detect.Policy) any { return p.WindowOrigin }, int64(1714521600e6)},
		{"window_origin: -86400", func(p detect.Policy) any { return p.WindowOrigin }, int64(-86400e6)},
		// A leap second reads as the next second, as in a sighting (SPEC §9).
		{"window_origin: 2016-12-31T23:59:60Z", func(p detect.Policy) any { return p.WindowOrigin }, int64(1483228800e6)},
		{"window: 106751d", func(p detect.Policy) any { return p.Window }, 106751 * 24 * time.Hour},
		// Numbers: ints and floats alike; whole floats as counts.
		{"sector_km: 5", func(p detect.Policy) any { return p.SectorKm }, 5.0},
		{"buffer_m: 2.5e2", func(p detect.Policy) any { return p.BufferM }, 250.0},
		{"min_confidence: 1", func(p detect.Policy) any { return p.MinConfidence }, 1.0},
		{"join_sectors: 2.0", func(p detect.Policy) any { return p.JoinSectors }, 2},
		{"join_sectors: 0x10", func(p detect.Policy) any { return p.JoinSectors }, 16},
		// A partial weights map keeps the other defaults; null keeps a default.
		{"weights: {buffer: 0}", func(p detect.Policy) any { return p.Weights }, detect.Weights{Crossing: 3, Incursion: 2, Fire: 1, Buffer: 0}},
		{"weights:\n  crossing: 10\n  fire: ~\n", func(p detect.Policy) any { return p.Weights }, detect.Weights{Crossing: 10, Incursion: 2, Fire: 1, Buffer: 0.5}},
		{"weights: {}", func(p detect.Policy) any { return p.Weights }, detect.Weights{Crossing: 3, Incursion: 2, Fire: 1, Buffer: 0.5}},
		{"weights:", func(p detect.Policy) any { return p.Weights }, detect.Weights{Crossing: 3, Incursion: 2, Fire: 1, Buffer: 0.5}},
		{"window:\nhot_score: ~", func(p detect.Policy) any { return p }, detect.DefaultPolicy()},
		// Scores in micro-units.
		{"hot_score: 4.0000005", func(p detect.Policy) any { return p.HotScoreMicro }, int64(4000001)},
		{"significant_score: 0", func(p detect.Policy) any { return p.SignificantScoreMicro }, int64(0)},
		// Aliases, JSON.
		{"hot_score: &h 5\nsignificant_score: *h", func(p detect.Policy) any { return p.SignificantScoreMicro }, int64(5e6)},
		{`{"window": "12h", "weights": {"fire": 4}}`, func(p detect.Policy) any { return p.Weights.Fire }, 4.0},
	}
	for _, tc := range tests {
		p, err := Parse([]byte(tc.in))
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if got := tc.get(p); got != tc.want {
			t.Errorf("Parse(%q): got %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		// Ranges.
		{"window: 0", "policy line 1: window: must be > 0, got 0s"},
		{"window: 0s", "policy line 1: window: must be > 0, got 0s"},
		{"window: -1h", "policy line 1: window: must be > 0, got -1h"},
		{"window: 1500ns", "policy line 1: window: must be a whole number of microseconds, got 1.5µs"},
		{"max_track_gap: -1h", "policy line 1: max_track_gap: must be ≥ 0, got -1h"},
		{"allowed_lateness: -1d", "policy line 1: allowed_lateness: must be ≥ 0, got -24h"},
		{"max_future: -5m", "policy line 1: max_future: must be ≥ 0, got -5m"},
		{"sector_km: 0", "policy line 1: sector_km: must be a number ≥ 0.001 (1 m), got 0"},
		{"buffer_m: -1", "policy line 1: buffer_m: must be a number ≥ 0, got -1"},
		{"min_confidence: 1.5", "policy line 1: min_confidence: must be a number in [0, 1], got 1.5"},
		{"min_confidence: -0.1", "policy line 1: min_confidence: must be a number in [0, 1], got -0.1"},
		{"end_reach_m: .nan", "policy line 1: end_reach_m: must be a number ≥ 0, got NaN"},
		{"significant_depth_m: .inf", "policy line 1: significant_depth_m: must be a number ≥ 0, got +Inf"},
		{"weights: {fire: -1}", "policy line 1: weights.fire: must be a number ≥ 0, got -1"},
		{"weights: {fire: 2e6}", "policy line 1: weights.fire: must be at most 1000000, got 2000000"},
		{"hot_score: 0", "policy line 1: hot_score: must be a number ≥ 0.000001 (scores are kept to 6 decimals), got 0"},
		{"hot_score: 0.0000001", "policy line 1: hot_score: must be a number ≥ 0.000001 (scores are kept to 6 decimals), got 1e-07"},
		{"hot_score: -4", "policy line 1: hot_score: must be a number ≥ 0.000001 (scores are kept to 6 decimals), got -4"},
		{"significant_score: -1", "policy line 1: significant_score: must be a number ≥ 0, got -1"},
		{"significant_score: 1e13", "policy line 1: significant_score: must be at most 1000000000000, got 10000000000000"},
		{"join_sectors: -1", "policy line 1: join_sectors: must be an integer ≥ 0, got -1"},
		{"join_gap_windows: -2", "policy line 1: join_gap_windows: must be an integer ≥ 0, got -2"},
		{"deliberate_min_ground: 2000000000", "policy line 1: deliberate_min_ground: must be at most 1000000000, got 2000000000"},
		{"sustained_min_hot_windows: 0", "policy line 1: sustained_min_hot_windows: must be an integer ≥ 1, got 0"},
		{"corroboration_min_affiliations: 0", "policy line 1: corroboration_min_affiliations: must be an integer ≥ 1, got 0"},
		{"corroboration_min_affiliation: 2", `policy line 1: unknown key "corroboration_min_affiliation" (did you mean "corroboration_min_affiliations"?)`},
		{"window_origin: 1e12", "policy line 1: window_origin: out of range (years 0000 to 9999), got 1e12"},
		{"window_origin: 10000-01-01T00:00:00Z", `policy line 1: window_origin: must be an RFC 3339 date-time with a zone (1970-01-05T00:00:00Z) or a number of seconds since the epoch, got "10000-01-01T00:00:00Z"`},
		// Types.
		{"window: 3600", "policy line 1: window: must be a duration such as 90m, 24h or 7d, got 3600"},
		{"window: 24", "policy line 1: window: must be a duration such as 90m, 24h or 7d, got 24"},
		{"window: 1w", `policy line 1: window: must be a duration such as 90m, 24h or 7d, got "1w"`},
		{"window: 1d2d", `policy line 1: window: must be a duration such as 90m, 24h or 7d, got "1d2d"`},
		{"window: 1d-2h", `policy line 1: window: must be a duration such as 90m, 24h or 7d, got "1d-2h"`},
		{"window: [24h]", "policy line 1: window: must be a duration such as 90m, 24h or 7d, got a list"},
		{"window: true", "policy line 1: window: must be a duration such as 90m, 24h or 7d, got true"},
		// Too long for a duration: the message says so (every window of a
		// sighting in range then stays within years 0000–9999, SPEC §2).
		{"window: 99999999d", `policy line 1: window: must be at most 106751d (about 292 years, the longest duration), got "99999999d"`},
		{"window: 365242d", `policy line 1: window: must be at most 106751d (about 292 years, the longest duration), got "365242d"`},
		{"max_track_gap: 3000000h", `policy line 1: max_track_gap: must be at most 106751d (about 292 years, the longest duration), got "3000000h"`},
		{"weights: {fire: x}", `policy line 1: weights.fire: must be a number ≥ 0, got "x"`},
		{"weights: {fire: '1'}", `policy line 1: weights.fire: must be a number ≥ 0, got "1"`},
		{"weights: 3", "policy line 1: weights: must be a mapping of violation type to weight, such as {crossing: 3, fire: 1}, got 3"},
		{"weights: [3, 2]", "policy line 1: weights: must be a mapping of violation type to weight, such as {crossing: 3, fire: 1}, got a list"},
		{"weights: {rocket: 1}", `policy line 1: weights: unknown violation type "rocket" (the types are crossing, incursion, fire, buffer)`},
		{"min_confidence: '0.5'", `policy line 1: min_confidence: must be a number in [0, 1], got "0.5"`},
		{"sector_km: {a: 1}", "policy line 1: sector_km: must be a number ≥ 0.001 (1 m), got a mapping"},
		{"join_sectors: 1.5", "policy line 1: join_sectors: must be an integer ≥ 0, got 1.5"},
		{"join_sectors: yes", `policy line 1: join_sectors: must be an integer ≥ 0, got "yes"`},
		{"deliberate_min_ground: 99999999999999999999", "policy line 1: deliberate_min_ground: must be an integer ≥ 0, got 99999999999999999999"},
		{"window_origin: 1970-01-05", "policy line 1: window_origin: must be an RFC 3339 date-time with a zone (1970-01-05T00:00:00Z) or a number of seconds since the epoch, got 1970-01-05"},
		{"window_origin: 1970-01-05T00:00:00", `policy line 1: window_origin: must be an RFC 3339 date-time with a zone (1970-01-05T00:00:00Z) or a number of seconds since the epoch, got "1970-01-05T00:00:00"`},
		{"window_origin: true", "policy line 1: window_origin: must be an RFC 3339 date-time with a zone (1970-01-05T00:00:00Z) or a number of seconds since the epoch, got true"},
		{"window_origin: +5", "policy line 1: window_origin: must be an RFC 3339 date-time with a zone (1970-01-05T00:00:00Z) or a number of seconds since the epoch, got +5"},
		// Keys.
		{"windw: 24h", `policy line 1: unknown key "windw" (did you mean "window"?)`},
		{"window-origin: 0", `policy line 1: unknown key "window-origin" (did you mean "window_origin"?)`},
		{"Hot_Score: 4", `policy line 1: unknown key "Hot_Score" (did you mean "hot_score"?)`},
		{"colour: red", `policy line 1: unknown key "colour"`},
		{"window: 24h\n\nwindw: 12h", `policy line 3: unknown key "windw" (did you mean "window"?)`},
		{"1: 2", `policy line 1: unknown key "1"`},
		{"window: 24h\nwindow: 12h", `policy line 2: duplicate key "window" (first on line 1)`},
		{"weights:\n  fire: 1\n  fire: 2", `policy line 3: weights: duplicate key "fire" (first on line 2)`},
		{"<<: {window: 1h}", `policy line 1: merge keys ("<<") are not supported`},
		{"? [a]\n: 1", "policy line 1: a key must be a name, got a list"},
		// Documents.
		{"- window: 24h", "policy line 1: must be a mapping of keys to values, got a list"},
		{"24h", `policy line 1: must be a mapping of keys to values, got "24h"`},
		{"window: 24h\n---\nwindow: 12h", "policy line 2: more than one YAML document (a policy is one mapping)"},
		{"window: 24h\n---\n", "policy line 2: more than one YAML document (a policy is one mapping)"},
		{"window: [24h", "policy line 1: invalid YAML: did not find expected ',' or ']'"},
		{"window: 24h\n\thot_score: 4", "policy line 2: invalid YAML: found a tab character that violates indentation"},
		{"window: *nowhere", "policy: invalid YAML: unknown anchor 'nowhere' referenced"},
	}
	for _, tc := range tests {
		p, err := Parse([]byte(tc.in))
		if err == nil {
			t.Errorf("Parse(%q) = %+v, want error %q", tc.in, p, tc.want)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("Parse(%q)\n got error %q\nwant error %q", tc.in, err, tc.want)
		}
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q): error %T is not a *Error", tc.in, err)
		}
		if p != (detect.Policy{}) {
			t.Errorf("Parse(%q): with an error, got a non-zero policy", tc.in)
		}
	}
}

func TestParseErrorLine(t *testing.T) {
	in := "window: 24h\nweights:\n  crossing: 3\n  fire: -2\nhot_score: 4\n"
	_, err := Parse([]byte(in))
	var pe *Error
	if !errors.As(err, &pe) || pe.Line != 4 || pe.Key != "weights.fire" {
		t.Fatalf("got %#v, want line 4, key weights.fire", err)
	}
	if got, want := err.Error(), "policy line 4: weights.fire: must be a number ≥ 0, got -2"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestParseTooLarge(t *testing.T) {
	big := []byte("# " + strings.Repeat("x", maxPolicyBytes) + "\n")
	if _, err := Parse(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("Parse(1 MiB of comment) = %v, want a size error", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("window: 7d\nwindow_origin: 1970-01-05T00:00:00Z\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Load(good)
	if err != nil || p.Window != 7*24*time.Hour || p.WindowOrigin != 345600e6 {
		t.Errorf("Load(good) = %+v, %v", p, err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("# weekly\nwindow: 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); err == nil || err.Error() != "policy "+bad+" line 2: window: must be > 0, got 0s" {
		t.Errorf("Load(bad) error = %v", err)
	}
	missing := filepath.Join(dir, "missing.yaml")
	if _, err := Load(missing); err == nil || !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "policy: open ") {
		t.Errorf("Load(missing) error = %v", err)
	}
}

func TestJSON(t *testing.T) {
	b := JSON(detect.DefaultPolicy())
	want := `{"window":"24h","window_origin":"1970-01-01T00:00:00Z","sector_km":10,"buffer_m":0,` +
		`"max_track_gap":"6h","min_confidence":0.5,"end_reach_m":5000,"allowed_lateness":"6h",` +
		`"max_future":"1h","weights":{"crossing":3,"incursion":2,"fire":1,"buffer":0.5},"hot_score":4,` +
		`"join_sectors":1,"join_gap_windows":1,"significant_score":30,"significant_depth_m":3000,` +
		`"significant_strength":50,"deliberate_min_ground":3,"deliberate_min_tracks":2,` +
		`"sustained_min_hot_windows":3,"corroboration_min_affiliations":1}`
	if string(b) != want {
		t.Errorf("JSON(DefaultPolicy()) =\n%s\nwant\n%s", b, want)
	}

	p, err := Parse([]byte("window: 90m\nwindow_origin: 1970-01-05T00:00:00.25Z\nhot_score: 4.0000005\nweights: {fire: 0.1234567}\nmax_future: 1500ms\n"))
	if err != nil {
		t.Fatal(err)
	}
	b = JSON(p)
	for _, frag := range []string{`"window":"1h30m"`, `"window_origin":"1970-01-05T00:00:00.25Z"`,
		`"hot_score":4.000001`, `"fire":0.123457`, `"max_future":"1.5s"`} {
		if !strings.Contains(string(b), frag) {
			t.Errorf("JSON = %s, missing %s", b, frag)
		}
	}
	// What it writes is a policy, read back to the same effect.
	q, err := Parse(b)
	if err != nil {
		t.Fatalf("Parse(JSON) = %v", err)
	}
	if !sameEffect(p, q) {
		t.Errorf("round trip: %+v\nbecame %+v", p, q)
	}

	m := Map(detect.DefaultPolicy())
	if len(m) != len(Keys()) || m["window"] != "24h" || m["hot_score"] != 4.0 ||
		m["weights"].(map[string]any)["buffer"] != 0.5 || m["join_sectors"] != 1 {
		t.Errorf("Map() = %v", m)
	}
	if _, err := json.Marshal(m); err != nil {
		t.Errorf("json.Marshal(Map()) = %v", err)
	}
}

// sameEffect compares two policies as the engine uses them: weights and
// scores in micro-units.
func sameEffect(a, b detect.Policy) bool {
	for _, typ := range detect.WeightTypes {
		x, _ := a.Weights.Get(typ)
		y, _ := b.Weights.Get(typ)
		if detect.RoundMicro(x) != detect.RoundMicro(y) {
			return false
		}
	}
	a.Weights, b.Weights = detect.Weights{}, detect.Weights{}
	return a == b
}

// FuzzPolicy: no input panics Parse; an accepted policy validates and
// survives JSON and a second Parse with the same effect; an
// error is a *PolicyError.
func FuzzPolicy(f *testing.F) {
	for _, s := range []string{
		specPolicy,
		"",
		"window: 7d\nwindow_origin: 1970-01-05T00:00:00Z\n",
		"weights: {fire: 2}\nhot_score: 0.5\n",
		"window: 1.5d\nmax_track_gap: 0\nallowed_lateness: 90m\n",
		"window_origin: 1714521600.25\n",
		"hot_score: &h 5\nsignificant_score: *h\n",
		"- 1\n- 2\n",
		"a: 1\n---\nb: 2\n",
		"window: [24h",
		"<<: {window: 1h}",
		"&a {weights: *a}",
		"weights: &w {crossing: *w}",
		`{"window":"1d","weights":{"crossing":3}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %v is not a *Error", err, err)
			}
			if !strings.HasPrefix(err.Error(), "policy") {
				t.Fatalf("error %q does not start with \"policy\"", err)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("accepted policy fails Validate: %v\n%+v", err, p)
		}
		b := JSON(p)
		q, err := Parse(b)
		if err != nil {
			t.Fatalf("Parse(JSON) = %v\n%s", err, b)
		}
		if !sameEffect(p, q) {
			t.Fatalf("round trip changed the policy:\n%+v\n%+v\n%s", p, q, b)
		}
	})
}

func TestPolicyErrorsStayShort(t *testing.T) {
	long := strings.Repeat("k", 5000)
	for _, in := range []string{long + ": 1", "weights: {" + long + ": 1}", "window: " + long} {
		_, err := Parse([]byte(in))
		if err == nil || len(err.Error()) > 200 {
			t.Errorf("Parse(long %q…) error = %.300v", in[:20], err)
		}
	}
}
