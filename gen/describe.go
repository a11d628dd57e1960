package gen

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Describe tells, for people, what was written where (in elapsed time)
// and how each injected event should come out.
func (t *Truth) Describe(w io.Writer, where string, elapsed time.Duration) {
	r := t.Records
	fmt.Fprintf(w, "gen: %d records (%d bad, %d duplicates, %d tracked) from %s to %s written to %s in %.2f s\n",
		r.Total, r.Bad, r.Duplicates, r.Tracked, t.Start, t.End, where, elapsed.Seconds())
	for _, e := range t.Events {
		sectors := e.Sectors[0]
		if len(e.Sectors) > 1 {
			sectors += "–" + e.Sectors[len(e.Sectors)-1]
		}
		fmt.Fprintf(w, "  %s %s %s %s from %s: %d sightings, expected %s", e.ID, e.Type, e.Party, sectors, e.Start, e.Records, e.ExpectedClass)
		if len(e.Episodes) > 0 {
			fmt.Fprintf(w, " (%s)", strings.Join(e.Episodes, ", "))
		}
		if e.ExpectedClass != e.IntendedClass {
			fmt.Fprintf(w, " — not %s under this policy", e.IntendedClass)
		}
		fmt.Fprintln(w)
	}
	x := t.Expected
	fmt.Fprintf(w, "  expected: %d sustained offensive, %d sustained bombardment, %d escalation, %d isolated violations\n",
		x.Episodes.SustainedOffensive, x.Episodes.SustainedBombardment, x.Episodes.Escalation, x.Isolated)
}
