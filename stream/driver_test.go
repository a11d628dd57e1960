package stream_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/linewatch/linewatch/detect"
)

// Standard input in time order: the closed alerts are detect's episodes,
// byte for byte but for the status, and the counts are detect's.
func TestReaderEqualsBatch(t *testing.T) {
	line := loadLine(t, "front-2024")
	pol := detect.DefaultPolicy()
	for _, seed := range []uint64{1, 2} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			data := generate(t, line, scenario(t, 20_000, seed))
			want, counts := detectEpisodes(t, line, pol, data)
			if len(want) < 3 {
				t.Fatalf("the scenario gives %d episodes; want at least 3", len(want))
			}
			alerts, d := runReader(t, line, pol, data, true, "")
			got := closedEpisodes(t, alerts)
			if !slices.Equal(sorted(got), sorted(want)) {
				t.Fatalf("closed alerts differ from detect's episodes:\ngot:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			c := d.Counts()
			if c.Read != counts.Read || c.Accepted != counts.Accepted || c.Rejected != counts.Rejected ||
				c.Duplicate != counts.Duplicate || c.Late != 0 || c.Unattributed != counts.Unattributed || c.BeyondEnd != counts.BeyondEnd {
				t.Errorf("counts %+v, detect's %+v", c, counts)
			}
			if c.Read != c.Accepted+c.Rejected+c.Duplicate+c.Late {
				t.Errorf("counts do not add up: %+v", c)
			}
			if d.Engine().Open() != 0 {
				t.Errorf("%d episodes open at the end of the input", d.Engine().Open())
			}
			// Every episode is announced before it closes.
			opened := map[string]bool{}
			for _, l := range strings.Split(strings.TrimSpace(string(alerts)), "\n") {
				var f struct {
					ID         string
					Properties struct {
						Status   string
						Replaces []string
					}
				}
				if err := json.Unmarshal([]byte(l), &f); err != nil {
					t.Fatal(err)
				}
				switch f.Properties.Status {
				case "opened":
					opened[f.ID] = true
				case "updated", "escalated":
					opened[f.ID] = true
				case "closed":
					if !opened[f.ID] {
						t.Errorf("%s closed before any other alert", f.ID)
					}
				default:
					t.Errorf("status %q", f.Properties.Status)
				}
			}
		})
	}
}

// Records shuffled within allowed_lateness still give detect's episodes;
// records later than that are late, written to the rejects with reason
// "late", and the rest equals detect on the records that were on time.
func TestReaderLateRecords(t *testing.T) {
	line := loadLine(t, "front-2024")
	pol := detect.DefaultPolicy()
	sc := scenario(t, 10_000, 3)
	sc.Bad, sc.Duplicates = 0, 0
	data := generate(t, line, sc)
	recs := lines(data)
	// Hold back every 50th record by 2 × allowed_lateness of event time.
	type held struct {
		at  time.Time
		rec string
	}
	var out []string
	var queue []held
	for i, r := range recs {
		var f struct{ Properties struct{ Time time.Time } }
		if err := json.Unmarshal([]byte(r), &f); err != nil {
			t.Fatal(err)
		}
		for len(queue) > 0 && !queue[0].at.After(f.Properties.Time) {
			out = append(out, queue[0].rec)
			queue = queue[1:]
		}
		if i%50 == 7 {
			queue = append(queue, held{f.Properties.Time.Add(2 * pol.AllowedLateness), r})
			continue
		}
		out = append(out, r)
	}
	for _, h := range queue {
		out = append(out, h.rec)
	}
	rejects := filepath.Join(t.TempDir(), "rejects.ndjson")
	alerts, d := runReader(t, line, pol, []byte(strings.Join(out, "\n")+"\n"), true, rejects)
	c := d.Counts()
	if c.Late == 0 {
		t.Fatal("no record late")
	}
	rj, err := os.ReadFile(rejects)
	if err != nil {
		t.Fatal(err)
	}
	late := map[string]bool{}
	for _, l := range lines(rj) {
		var r struct {
			Reason, Record string
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if r.Reason != "late" {
			t.Fatalf("reject reason %q, want late", r.Reason)
		}
		late[r.Record] = true
	}
	if int64(len(late)) != c.Late {
		t.Fatalf("%d late records in the rejects file, %d counted", len(late), c.Late)
	}
	var onTime []string
	for _, r := range recs {
		if !late[r] {
			onTime = append(onTime, r)
		}
	}
	want, _ := detectEpisodes(t, line, pol, []byte(strings.Join(onTime, "\n")+"\n"))
	if got := closedEpisodes(t, alerts); !slices.Equal(sorted(got), sorted(want)) {
		t.Fatalf("closed alerts differ from detect on the on-time records:\ngot:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A record more than max_future ahead of the clock is rejected as
// "future" and moves nothing.
func TestReaderFuture(t *testing.T) {
	line := loadLine(t, "straight")
	pol := detect.DefaultPolicy()
	future := time.Now().Add(3 * time.Hour).UTC().Format(time.RFC3339)
	near := time.Now().Add(30 * time.Minute).UTC().Format(time.RFC3339)
	data := fmt.Sprintf(`{"type":"Feature","id":"a","geometry":{"type":"Point","coordinates":[0.5,0.01]},"properties":{"time":%q,"side":"A"}}
{"type":"Feature","id":"b","geometry":{"type":"Point","coordinates":[0.5,0.01]},"properties":{"time":%q,"side":"A"}}
`, future, near)
	rejects := filepath.Join(t.TempDir(), "rejects.ndjson")
	_, d := runReader(t, line, pol, []byte(data), true, rejects)
	c := d.Counts()
	if c.Rejected != 1 || c.Future != 1 || c.Accepted != 1 {
		t.Fatalf("counts %+v; want one future reject and one accepted", c)
	}
	rj, _ := os.ReadFile(rejects)
	if !bytes.Contains(rj, []byte(`"line":1,"reason":"future"`)) {
		t.Fatalf("rejects: %s", rj)
	}
}

// The driver's output does not depend on the number of workers or on how
// the input is cut into reads.
func TestReaderWorkersAndReads(t *testing.T) {
	line := loadLine(t, "front-2024")
	pol := detect.DefaultPolicy()
	sc := scenario(t, 5_000, 4)
	sc.Conflicting = 0.5 // the first accepted is kept: still deterministic
	data := generate(t, line, sc)
	want, _ := runReader(t, line, pol, data, true, "")
	for _, workers := range []int{1, 3} {
		got := runWith(t, line, pol, &slowReader{data: data, n: 997}, workers)
		if !bytes.Equal(got, want) {
			t.Fatalf("%d workers, reads of 997 bytes: the alerts differ", workers)
		}
	}
}
