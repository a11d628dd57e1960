package gen

import (
	"fmt"
	"io"
	"strings"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/feed"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/internal/num"
)

// WriteFound writes, for people, what a detect run on the scenario's
// records found (its counts k and result res) beside what was injected:
// for each injected event, the episodes that hold its violations, or
// "not found" and the class it was expected to come out as.
func (truth *Truth) WriteFound(w io.Writer, line *geo.Line, k feed.Counts, res *detect.Result) error {
	var sb strings.Builder
	fmt.Fprintf(&sb, "records: %d read, %d accepted, %d rejected, %d duplicate\n", k.Read, k.Accepted, k.Rejected, k.Duplicate)
	fmt.Fprintf(&sb, "found: %d sustained offensive, %d sustained bombardment, %d escalation, %d isolated violations\n",
		res.Classes[detect.SustainedOffensive], res.Classes[detect.SustainedBombardment], res.Classes[detect.Escalation], len(res.Isolated))
	byID := map[string]*detect.Episode{}
	for _, e := range res.Episodes {
		byID[e.ID] = e
	}
	sb.WriteString("where each injected event was found:\n")
	for _, ev := range truth.Events {
		fmt.Fprintf(&sb, "  %s %s by %s on %s from %s\n     →", ev.ID, ev.Type, ev.Party, sectorSpan(ev.Sectors), ev.Start[:10])
		found := 0
		for _, id := range ev.Episodes {
			e := byID[id]
			if e == nil {
				continue
			}
			if found > 0 {
				sb.WriteString(";")
			}
			found++
			fmt.Fprintf(&sb, " %s %s: %s, km %s–%s, %s to %s", strings.ReplaceAll(e.Class.String(), "_", " "), e.ID,
				sectorSpan(sectorIDs(line, e.Sectors)), num.Format(e.KmFrom, 1), num.Format(e.KmTo, 1), when(e.Start), when(e.End))
		}
		if found == 0 {
			fmt.Fprintf(&sb, " not found (expected %s)", strings.ReplaceAll(ev.ExpectedClass, "_", " "))
		}
		sb.WriteString("\n")
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

func sectorIDs(line *geo.Line, idx []int) []string {
	ids := make([]string, len(idx))
	for i, s := range idx {
		ids[i] = line.SectorID(s)
	}
	return ids
}

func sectorSpan(ids []string) string {
	if len(ids) == 0 {
		return "no sector"
	}
	if len(ids) == 1 {
		return ids[0]
	}
	return ids[0] + "–" + ids[len(ids)-1]
}

// when is an instant for people: the date alone at midnight UTC.
func when(us int64) string {
	s := num.FormatTime(us)
	if t, ok := strings.CutSuffix(s, "T00:00:00Z"); ok {
		return t
	}
	return s
}
