// Package output writes what detection found — episodes and violations —
// as GeoJSON, GeoJSON text sequences or CSV, in the shapes SPEC §5 fixes,
// and as a GeoPackage or KML for GIS tools and Google Earth; byte for
// byte the same for the same result, styled so that map tools colour them
// by class. It also writes the run's summaries and the line's sector
// layout, and defines the shape its episodes are read back in (Episode),
// for the report and for gen's truth.
package output

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"github.com/linewatch/linewatch/internal/jsontext"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/feed"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/internal/num"
	"github.com/paulmach/orb"
)

// Format is an output format.
type Format int

const (
	GeoJSON    Format = iota // one FeatureCollection
	GeoJSONSeq               // one Feature per line
	CSV                      // one row per episode
	GPKG                     // an OGC GeoPackage: episodes, violations and sectors layers
	KML                      // KML for Google Earth
)

// ParseFormat reads a --format value.
func ParseFormat(s string) (Format, error) {
	switch s {
	case "geojson":
		return GeoJSON, nil
	case "geojsonseq":
		return GeoJSONSeq, nil
	case "csv":
		return CSV, nil
	case "gpkg":
		return GPKG, nil
	case "kml":
		return KML, nil
	}
	return 0, fmt.Errorf("unknown format %q (geojson, geojsonseq, csv, gpkg or kml)", s)
}

// Options choose what is written besides the episodes.
type Options struct {
	Format   Format
	Isolated bool // a Point Feature per isolated violation
	Evidence bool // a Point Feature per violation of every episode
}

// Style is the simplestyle colour and width of each class.
var Style = map[detect.Class]struct {
	Color string
	Width int
	Size  string
}{
	detect.SustainedOffensive:   {"#d7191c", 6, "large"},
	detect.SustainedBombardment: {"#f17c0e", 5, "medium"},
	detect.Escalation:           {"#7b3294", 4, "medium"},
	detect.Isolated:             {"#6f6f6f", 2, "small"},
}

// feature is one thing to write, with its sort key.
type feature struct {
	time   int64
	sector int
	party  string
	id     string
	source string // a violation's source; "" (none, first) for an episode
	ep     *detect.Episode
	v      *detect.Violation
	owner  *detect.Episode // a violation's episode, or nil
}

// flushAfter flushes bw after a writer that returned err, and returns
// the first failure: a write error comes back from the flush as well
// (bufio keeps it), and said twice it read as two.
func flushAfter(bw *bufio.Writer, err error) error {
	if ferr := bw.Flush(); err == nil {
		return ferr
	}
	return err
}

// Write writes the result in the chosen format.
func Write(w io.Writer, line *geo.Line, pol detect.Policy, res *detect.Result, opt Options) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	if opt.Format == CSV {
		return flushAfter(bw, writeCSV(bw, line, pol, res))
	}
	var feats []feature
	for _, e := range res.Episodes {
		feats = append(feats, feature{time: e.Start, sector: e.Sectors[0], party: e.Party, id: e.ID, ep: e})
		if opt.Evidence {
			for _, v := range e.Evidence {
				feats = append(feats, feature{time: v.Time, sector: v.Sector, party: v.Party, id: v.ID, source: v.Source, v: v, owner: e})
			}
		}
	}
	if opt.Isolated {
		for _, v := range res.Isolated {
			feats = append(feats, feature{time: v.Time, sector: v.Sector, party: v.Party, id: v.ID, source: v.Source, v: v})
		}
	}
	slices.SortStableFunc(feats, func(a, b feature) int {
		// SPEC §5: start (a violation: its time), lowest sector, party,
		// id, then source, none first.
		c := cmp.Or(cmp.Compare(a.time, b.time), cmp.Compare(a.sector, b.sector),
			strings.Compare(a.party, b.party), strings.Compare(a.id, b.id), strings.Compare(a.source, b.source))
		if c != 0 {
			return c
		}
		// An episode before its violations; violations of one id and
		// source (rare: only across parties' different tracks) by type and
		// place.
		switch {
		case a.ep != nil && b.ep == nil:
			return -1
		case a.ep == nil && b.ep != nil:
			return 1
		case a.v != nil && b.v != nil:
			return cmp.Or(cmp.Compare(a.v.Type, b.v.Type), cmp.Compare(a.v.Lon, b.v.Lon), cmp.Compare(a.v.Lat, b.v.Lat))
		}
		return 0
	})

	switch opt.Format {
	case GPKG:
		return flushAfter(bw, writeGPKG(bw, line, pol, feats))
	case KML:
		return flushAfter(bw, writeKML(bw, line, pol, feats))
	}
	var buf []byte
	if opt.Format == GeoJSON {
		bw.WriteString(`{"type":"FeatureCollection","features":[`)
	}
	for i, f := range feats {
		buf = buf[:0]
		if opt.Format == GeoJSON {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, '\n')
		}
		if f.ep != nil {
			buf = AppendEpisode(buf, line, pol, f.ep)
		} else {
			buf = AppendViolation(buf, line, f.v, f.owner)
		}
		if opt.Format == GeoJSONSeq {
			buf = append(buf, '\n')
		}
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	if opt.Format == GeoJSON {
		bw.WriteString("\n]}\n")
	}
	return bw.Flush()
}

// AppendEpisode appends an episode as a GeoJSON Feature.
func AppendEpisode(b []byte, line *geo.Line, pol detect.Policy, e *detect.Episode) []byte {
	b = append(b, `{"type":"Feature","id":`...)
	b = jsontext.AppendString(b, e.ID)
	b = append(b, `,"geometry":`...)
	b = appendLines(b, EpisodeGeometry(line, e))
	b = append(b, `,"properties":{"id":`...)
	b = jsontext.AppendString(b, e.ID)
	b = append(b, `,"layer":"episode","class":`...)
	b = jsontext.AppendString(b, e.Class.String())
	b = append(b, `,"party":`...)
	b = jsontext.AppendString(b, e.Party)
	b = append(b, `,"start":"`...)
	b = num.AppendTime(b, e.Start)
	b = append(b, `","end":"`...)
	b = num.AppendTime(b, e.End)
	b = append(b, `","sectors":[`...)
	for i, s := range e.Sectors {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsontext.AppendString(b, line.SectorID(s))
	}
	b = append(b, `],"km_from":`...)
	b = num.AppendFormat(b, e.KmFrom, 3)
	b = append(b, `,"km_to":`...)
	b = num.AppendFormat(b, e.KmTo, 3)
	b = appendInt(b, "hot_windows", e.HotWindows)
	b = appendInt(b, "violations", e.Violations)
	b = appendInt(b, "crossings", e.Crossings)
	b = appendInt(b, "incursions", e.Incursions)
	b = appendInt(b, "fire", e.Fire)
	b = appendInt(b, "buffer", e.Buffer)
	b = appendInt(b, "tracks", e.Tracks)
	b = append(b, `,"strength":`...)
	b = num.AppendMicro(b, e.Strength)
	b = append(b, `,"max_depth_m":`...)
	b = num.AppendFormat(b, e.MaxDepthM, 3)
	b = append(b, `,"score":`...)
	b = num.AppendMicro(b, e.Score)
	b = appendSources(b, e)
	b = append(b, `,"criteria":`...)
	b = AppendCriteria(b, pol, e)
	b = append(b, `,"evidence":[`...)
	for i, v := range e.Evidence {
		if i == MaxEvidence {
			break
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = jsontext.AppendString(b, v.ID)
	}
	st := Style[e.Class]
	b = append(b, `],"stroke":`...)
	b = jsontext.AppendString(b, st.Color)
	b = append(b, `,"stroke-width":`...)
	b = fmt.Appendf(b, "%d", st.Width)
	b = append(b, `,"title":`...)
	b = jsontext.AppendString(b, e.ID+" — "+strings.ReplaceAll(e.Class.String(), "_", " "))
	b = append(b, `,"description":`...)
	b = jsontext.AppendString(b, Describe(line, e))
	b = append(b, "}}"...)
	return b
}

// appendSources appends the figures of corroboration: "sources", the
// number of distinct sources, and "affiliations", violations by their
// sources' affiliation.
func appendSources(b []byte, e *detect.Episode) []byte {
	b = appendInt(b, "sources", e.Sources)
	b = append(b, `,"affiliations":{`...)
	for i, a := range e.Affiliations {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsontext.AppendString(b, a.Affiliation)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(a.Violations), 10)
	}
	return append(b, '}')
}

// EpisodeGeometry is the line from an episode's km_from to its km_to: one
// part, or, where it crosses the antimeridian, its parts on either side,
// cut there (RFC 7946 §3.1.9: map tools draw a line whose longitudes jump
// from 180 to -180 across the whole map). Every format writes it as a
// LineString when it has one part and as a MultiLineString otherwise.
func EpisodeGeometry(line *geo.Line, e *detect.Episode) orb.MultiLineString {
	return geo.SplitAntimeridian(line.Substring(e.Stretch, e.KmFrom, e.KmTo))
}

// appendLines appends a GeoJSON LineString, or a MultiLineString of
// several parts, coordinates rounded to 6 decimals.
func appendLines(b []byte, parts orb.MultiLineString) []byte {
	if len(parts) == 1 {
		b = append(b, `{"type":"LineString","coordinates":`...)
	} else {
		b = append(b, `{"type":"MultiLineString","coordinates":[`...)
	}
	for k, part := range parts {
		if k > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		for i, p := range part {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			b = num.AppendFormat(b, p[0], 6)
			b = append(b, ',')
			b = num.AppendFormat(b, p[1], 6)
			b = append(b, ']')
		}
		b = append(b, ']')
	}
	if len(parts) > 1 {
		b = append(b, ']')
	}
	return append(b, '}')
}

// Describe is an episode in one sentence, for map popups and reports. An
// episode that is not corroborated says so.
func Describe(line *geo.Line, e *detect.Episode) string {
	if !e.Corroborated {
		return describe(line, e) + fmt.Sprintf("; not corroborated: %s, no neutral source", plural(e.DistinctAffiliations(), "affiliation"))
	}
	return describe(line, e)
}

func describe(line *geo.Line, e *detect.Episode) string {
	return fmt.Sprintf("%s by %s, %s to %s, km %s–%s (%s): %s (%s, %s, %d fire, %d buffer) in %s; %s, strength %s, max depth %s m, score %s",
		strings.ReplaceAll(e.Class.String(), "_", " "), e.Party, num.FormatTime(e.Start), num.FormatTime(e.End),
		num.Format(e.KmFrom, 3), num.Format(e.KmTo, 3), sectorRange(line, e.Sectors),
		plural(e.Violations, "violation"), plural(e.Crossings, "crossing"), plural(e.Incursions, "incursion"),
		e.Fire, e.Buffer, plural(e.HotWindows, "hot window"),
		plural(e.Tracks, "track"), num.FormatMicro(e.Strength), num.Format(e.MaxDepthM, 3), num.FormatMicro(e.Score))
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func sectorRange(line *geo.Line, s []int) string {
	if len(s) == 1 {
		return line.SectorID(s[0])
	}
	return line.SectorID(s[0]) + "–" + line.SectorID(s[len(s)-1])
}

// AppendCriteria appends the criteria, each measured value beside its
// threshold (SPEC §5): the three of the class, and corroborated
// (docs/corroboration.md).
func AppendCriteria(b []byte, pol detect.Policy, e *detect.Episode) []byte {
	b = append(b, `{"significant":{"holds":`...)
	b = appendBool(b, e.Significant)
	b = append(b, `,"score":`...)
	b = num.AppendMicro(b, e.Score)
	b = append(b, `,"max_depth_m":`...)
	b = num.AppendFormat(b, e.MaxDepthM, 3)
	b = append(b, `,"strength":`...)
	b = num.AppendMicro(b, e.Strength)
	b = append(b, `,"min_score":`...)
	b = num.AppendMicro(b, pol.SignificantScoreMicro)
	b = append(b, `,"min_depth_m":`...)
	b = num.AppendFormat(b, pol.SignificantDepthM, 3)
	b = append(b, `,"min_strength":`...)
	b = num.AppendFormat(b, pol.SignificantStrength, 6)
	b = append(b, `},"deliberate":{"holds":`...)
	b = appendBool(b, e.Deliberate)
	b = appendInt(b, "ground", e.Crossings+e.Incursions)
	b = appendInt(b, "tracks", e.Tracks)
	b = appendInt(b, "min_ground", pol.DeliberateMinGround)
	b = appendInt(b, "min_tracks", pol.DeliberateMinTracks)
	b = append(b, `},"sustained":{"holds":`...)
	b = appendBool(b, e.Sustained)
	b = appendInt(b, "hot_windows", e.HotWindows)
	b = appendInt(b, "min_hot_windows", pol.SustainedMinHotWindows)
	b = append(b, `},"corroborated":{"holds":`...)
	b = appendBool(b, e.Corroborated)
	b = appendInt(b, "affiliations", e.DistinctAffiliations())
	b = appendInt(b, "neutral", e.NeutralViolations())
	b = appendInt(b, "min_affiliations", pol.CorroborationMinAffiliations)
	b = append(b, "}}"...)
	return b
}

// skipKeys are not carried to a violation Feature (SPEC §9 "Carried
// properties"): the sighting's own fields, which linewatch interprets
// (SPEC §2's table; source and track are written as the Feature's own),
// and the Feature's own properties, whose values linewatch writes.
var skipKeys = map[string]bool{
	"side": true, "kind": true, "confidence": true, "precision_m": true, "source": true,
	"id": true, "layer": true, "class": true, "episode": true, "party": true, "type": true, "time": true,
	"sector": true, "km": true, "depth_m": true, "weight": true, "track": true, "strength": true,
	"marker-color": true, "marker-size": true, "title": true, "description": true,
}

// AppendViolation appends a violation as a Point Feature; ep is its
// episode, nil if it is isolated.
func AppendViolation(b []byte, line *geo.Line, v *detect.Violation, ep *detect.Episode) []byte {
	class := detect.Isolated
	if ep != nil {
		class = ep.Class
	}
	b = append(b, `{"type":"Feature","geometry":{"type":"Point","coordinates":[`...)
	b = num.AppendFormat(b, v.Lon, 6)
	b = append(b, ',')
	b = num.AppendFormat(b, v.Lat, 6)
	b = append(b, `]},"properties":{"id":`...)
	b = jsontext.AppendString(b, v.ID)
	b = append(b, `,"layer":"violation","class":`...)
	b = jsontext.AppendString(b, class.String())
	b = append(b, `,"episode":`...)
	if ep != nil {
		b = jsontext.AppendString(b, ep.ID)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"party":`...)
	b = jsontext.AppendString(b, v.Party)
	b = append(b, `,"type":`...)
	b = jsontext.AppendString(b, v.Type.String())
	b = append(b, `,"time":"`...)
	b = num.AppendTime(b, v.Time)
	b = append(b, `","sector":`...)
	b = jsontext.AppendString(b, line.SectorID(v.Sector))
	b = append(b, `,"km":`...)
	b = num.AppendFormat(b, v.Km, 3)
	b = append(b, `,"depth_m":`...)
	b = num.AppendFormat(b, v.DepthM, 3)
	b = append(b, `,"weight":`...)
	b = num.AppendMicro(b, v.Weight)
	b = append(b, `,"track":`...)
	if v.Track != "" {
		b = jsontext.AppendString(b, v.Track)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"strength":`...)
	b = num.AppendFormat(b, v.Strength, 6)
	b = append(b, `,"source":`...)
	if v.Source != "" {
		b = jsontext.AppendString(b, v.Source)
	} else {
		b = append(b, "null"...)
	}
	st := Style[class]
	b = append(b, `,"marker-color":`...)
	b = jsontext.AppendString(b, st.Color)
	b = append(b, `,"marker-size":`...)
	b = jsontext.AppendString(b, st.Size)
	b = append(b, `,"title":`...)
	b = jsontext.AppendString(b, v.Type.String()+" by "+v.Party+" ("+v.ID+")")
	b = append(b, `,"description":`...)
	b = jsontext.AppendString(b, fmt.Sprintf("%s %s by %s at %s, sector %s km %s, depth %s m, weight %s",
		class, v.Type, v.Party, num.FormatTime(v.Time), line.SectorID(v.Sector), num.Format(v.Km, 3),
		num.Format(v.DepthM, 3), num.FormatMicro(v.Weight)))
	b = appendCarried(b, v.Props)
	b = append(b, "}}"...)
	return b
}

// appendCarried appends the sighting's other properties, sorted by key,
// each value in canonical form.
func appendCarried(b []byte, props []byte) []byte {
	if len(props) == 0 {
		return b
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(props, &m) != nil {
		return b
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		if !skipKeys[k] {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		b = append(b, ',')
		b = jsontext.AppendString(b, k)
		b = append(b, ':')
		// Canonical (RFC 8785): the same value written with other
		// spacing, key order or number notation gives the same bytes.
		c, err := feed.AppendCanonical(b, m[k])
		if err != nil {
			b = append(b, "null"...)
			continue
		}
		b = c
	}
	return b
}

func appendInt(b []byte, key string, v int) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return fmt.Append(b, v)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, "true"...)
	}
	return append(b, "false"...)
}
