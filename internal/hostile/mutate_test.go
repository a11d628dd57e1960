//go:build linux

package hostile

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// policyText is SPEC §7's policy, every key given.
const policyText = `window: 24h
window_origin: 1970-01-01T00:00:00Z
sector_km: 10
buffer_m: 0
max_track_gap: 6h
min_confidence: 0.5
end_reach_m: 5000
allowed_lateness: 6h
max_future: 1h
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
`

// lineText is a line of two stretches that touch end to end.
const lineText = `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"name":"west","left":"A","right":"B","buffer_m":500},"geometry":{"type":"LineString","coordinates":[[30,48],[30.1,48],[30.2,48.01],[30.3,48]]}},
{"type":"Feature","properties":{"name":"east","left":"A","right":"B"},"geometry":{"type":"MultiLineString","coordinates":[[[30.3,48],[30.4,47.99],[30.5,48]]]}}
]}`

// hostileValues are what a careless or hostile hand puts where a value
// goes: out of range, too large for any type, of the wrong type, YAML's
// and JSON's corners.
var hostileValues = []string{
	"-1", "0", "-0", "1e309", "-1e309", ".nan", ".inf", "-.inf", "NaN", "Infinity", "9223372036854775807", "9223372036854775808",
	"-9223372036854775809", "1000000000", "1000000001", "4294967296", "1e-320", "0.0000001", "0x10", "1_000", "007",
	`"x"`, "[]", "{}", "[1, [2, [3]]]", "null", "~", "true", "false", `""`, "&a 1", "*a", "!!binary aGVsbG8=", "!!float 3",
	"7d7d", "-7d", "106751d", "106752d", "2562047h47m16.854775807s", "2562047h47m16.854775808s", "99999999999999999999d", "1ns", "1.5us",
	"9999-12-31T23:59:59Z", "0000-01-01T00:00:00Z", "10000-01-01T00:00:00Z", "1970-01-01", "180.0000001", "-90.0000001", "1e400",
	strings.Repeat("9", 400), strings.Repeat("[", 1000) + strings.Repeat("]", 1000), strings.Repeat("x", 10000), "\"\\u0000\"", "\t", "\xff\xfe",
}

var number = regexp.MustCompile(`-?\d+(\.\d+)?(e-?\d+)?`)

// mutate returns text changed in one to three hostile ways.
func mutate(rng *rand.Rand, text string, yaml bool) string {
	for n := 1 + rng.IntN(3); n > 0; n-- {
		switch rng.IntN(9) {
		case 0, 1, 2: // a value replaced
			if yaml {
				ls := strings.Split(text, "\n")
				i := rng.IntN(len(ls))
				if k, _, found := strings.Cut(ls[i], ":"); found {
					ls[i] = k + ": " + hostileValues[rng.IntN(len(hostileValues))]
				}
				text = strings.Join(ls, "\n")
			} else {
				locs := number.FindAllStringIndex(text, -1)
				if len(locs) > 0 {
					l := locs[rng.IntN(len(locs))]
					text = text[:l[0]] + hostileValues[rng.IntN(len(hostileValues))] + text[l[1]:]
				}
			}
		case 3: // a span deleted
			if len(text) > 2 {
				i := rng.IntN(len(text) - 1)
				text = text[:i] + text[i+1+rng.IntN(min(40, len(text)-i-1)):]
			}
		case 4: // cut short
			text = text[:rng.IntN(len(text)+1)]
		case 5: // bytes put in
			i := rng.IntN(len(text) + 1)
			text = text[:i] + []string{"\x00", "\t", "\ufeff", "\xff", "\"", "{", "[", ",", ":", "\n", " - ", "\x1e", "}"}[rng.IntN(13)] + text[i:]
		case 6: // a line or a feature repeated (duplicate keys, overlapping stretches)
			ls := strings.Split(text, "\n")
			i := rng.IntN(len(ls))
			ls = append(ls[:i+1], ls[i:]...)
			text = strings.Join(ls, "\n")
		case 7: // a key or a type misspelt or swapped
			words := []string{"LineString", "MultiLineString", "Polygon", "Point", "GeometryCollection", "Feature", "FeatureCollection",
				"left", "right", "buffer_m", "coordinates", "geometry", "window", "weights", "hot_score", "sector_km", "join_sectors"}
			w := words[rng.IntN(len(words))]
			text = strings.Replace(text, w, words[rng.IntN(len(words))], 1+rng.IntN(2))
		case 8: // the party of a stretch changed, or a coordinate doubled
			if yaml {
				text = strings.Replace(text, "\n", "\n  ", 1)
			} else {
				text = strings.Replace(text, `"left":"A"`, []string{`"left":"B"`, `"left":5`, `"left":null`, `"left":""`, `"left":"C"`}[rng.IntN(5)], 1)
				text = strings.Replace(text, "[30.1,48],", "[30.1,48],[30.1,48],", 1)
			}
		}
	}
	return text
}

// A few hundred mutated policies and line files — values out of range or
// of the wrong type, numbers too large for any type, text cut short or
// broken, keys repeated or misspelt, stretches overlapping — each either
// works or is refused with exit 2 and one line that says why: never a
// panic, a stack trace, another exit status, or a run without end. The
// mutations are seeded: a failure names the seed and shows the input.
func TestMutatedPolicyAndLineFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	line := write(t, dir, "line.geojson", []byte(lineText))
	feed := write(t, dir, "feed.ndjson", []byte(incursions(30, time.Hour)))
	const seed = 9
	rng := rand.New(rand.NewPCG(seed, 9))
	var mu sync.Mutex
	outcomes := map[string]int{}
	t.Cleanup(func() { t.Logf("exit statuses: %v", outcomes) })
	for i := 0; i < 100; i++ {
		for _, kind := range []string{"policy", "line"} {
			var text string
			var args []string
			if kind == "policy" {
				text = mutate(rng, policyText, true)
				p := write(t, dir, fmt.Sprintf("policy-%d.yaml", i), []byte(text))
				args = []string{"detect", "--line", line, "--policy", p, "--quiet", feed}
			} else {
				text = mutate(rng, lineText, false)
				l := write(t, dir, fmt.Sprintf("line-%d.geojson", i), []byte(text))
				args = []string{"sectors", "--line", l}
			}
			t.Run(fmt.Sprint(kind, i), func(t *testing.T) {
				t.Parallel()
				r := startAt(t, bounds{wall: 30 * time.Second, mb: 300}, dir, nil, args...).wait(t)
				switch r.code {
				case 0:
					noCrash(t, r)
					if !json.Valid([]byte(r.stdout)) {
						t.Errorf("exit 0 and standard output not JSON")
					}
				case 2:
					oneLineError(t, r, 2, kind)
				default:
					t.Errorf("exit status %d, want 0 or 2; stderr %.500q", r.code, r.stderr)
				}
				mu.Lock()
				outcomes[fmt.Sprint(kind, " ", r.code)]++
				mu.Unlock()
				if t.Failed() {
					t.Logf("seed %d, %s %d:\n%.1500q", seed, kind, i, text)
				}
			})
		}
	}
}
