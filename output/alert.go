package output

import (
	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/internal/jsontext"
)

// AppendAlert appends a streaming alert (SPEC §6) as a GeoJSON Feature: the
// episode's Feature, as AppendEpisode writes it, with two more properties
// at the end: "status" (opened, updated, escalated or closed) and, when
// the episode superseded others (a merge or a new id), "replaces", their
// ids. A closed alert is therefore its episode's batch Feature but for
// the status.
func AppendAlert(b []byte, line *geo.Line, pol detect.Policy, a detect.Alert) []byte {
	b = AppendEpisode(b, line, pol, a.Episode)
	// AppendEpisode ends with the close of properties and of the Feature.
	b = b[:len(b)-2]
	b = append(b, `,"status":`...)
	b = jsontext.AppendString(b, a.Status.String())
	if len(a.Replaces) > 0 {
		b = append(b, `,"replaces":[`...)
		for i, id := range a.Replaces {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsontext.AppendString(b, id)
		}
		b = append(b, ']')
	}
	return append(b, "}}"...)
}
