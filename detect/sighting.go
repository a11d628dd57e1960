package detect

import "github.com/paulmach/orb"

// Kind is what a sighting observed: forces on the ground or fire.
type Kind uint8

const (
	Ground Kind = iota // personnel, vehicles: presence or movement
	Fire               // artillery, mortar, rocket, drone, air strike
)

func (k Kind) String() string {
	if k == Fire {
		return "fire"
	}
	return "ground"
}

// Shape is the geometry type of a sighting.
type Shape uint8

const (
	Point      Shape = iota + 1 // a position (ground) or an impact (fire)
	LineString                  // a movement (ground) or origin → impact (fire), in time order
	MultiPoint                  // several positions seen at once
)

// Sighting is one accepted record of the feed (SPEC §2), decoded and
// validated. Defaults are already applied: Strength 1, Confidence 1, Kind
// Ground. Absent, null and "" Side and Track are "".
type Sighting struct {
	ID         string // Feature id, else properties.id, else a hash id ("h-…")
	Time       int64  // microseconds since the Unix epoch, UTC (truncated when read)
	Side       string
	Kind       Kind
	Track      string
	Strength   float64
	Confidence float64
	PrecisionM float64
	Source     string
	Shape      Shape
	Coords     []orb.Point // lon, lat; altitude dropped. Point: 1, MultiPoint: ≥ 1, LineString: ≥ 2
	// Props is the raw JSON "properties" object as read (nil if absent or
	// null); the properties linewatch does not interpret are carried from it
	// to violation Features.
	Props []byte
	// Fingerprint is a 64-bit hash of the record's raw text: equal
	// fingerprints mean byte-identical records, so most duplicates are
	// settled without canonicalising anything.
	Fingerprint uint64
}

// The range of a sighting's time (SPEC §2): the years 1000 to 8999 UTC.
// A sighting outside it is rejected ("time out of range"), which keeps
// every time linewatch writes — windows, episodes, their ids — a
// four-digit year: a window is at most 106,751 days long (the longest
// time.Duration), so the window of any time in range starts after the
// year 0700 and ends before 9300.
const (
	MinTime int64 = -30610224000 * 1e6   // 1000-01-01T00:00:00Z
	MaxTime int64 = 221845392000*1e6 - 1 // 8999-12-31T23:59:59.999999Z
)
