// Package feed reads the sightings feed (SPEC §2, §5, §9): it splits a
// file into records, decodes and validates each record into a
// detect.Sighting, writes the rejects file, and writes JSON in its RFC 8785
// canonical form.
//
//	src, err := feed.Open("sightings.geojsons.gz") // or "-" for stdin
//	dec := feed.NewDecoder()                       // one per goroutine
//	for {
//		r, err := src.Next()                       // io.EOF at the end
//		...
//		if r.Err != "" { rejects.Write(r, r.Err); continue }
//		var s detect.Sighting
//		if err := dec.Decode(r.Raw, &s); err != nil { rejects.Write(r, err.Error()); continue }
//	}
//
// # Files
//
// A file is gunzipped when its name ends in .gz or it starts with the gzip
// magic bytes. After a byte-order mark and white space, a file whose first
// JSON text is an object with "type": "FeatureCollection" is read feature by
// feature in bounded memory; so is an object whose "features" member comes
// before its "type" (writers that sort keys put it there). Its records have
// Index, the 0-based feature index. A syntax error inside it is one rejected
// record (at the index of the feature it is in, or of the next one) and ends
// the file; text after its closing brace is one rejected record, numbered
// after the last feature. Only the structure is checked there: invalid UTF-8
// or a number too large for a double rejects one record in Decode and the
// file goes on, and so does a feature nested deeper than Decode takes (256
// levels): the splitter finds its end at any depth, without recursion. The
// text of a record ended by a syntax error is the feature's from its start
// to where reading stopped, the offending byte included.
//
// A file whose first byte (after a byte-order mark) is RS (0x1E) is split on
// RS (RFC 8142): Line is the record's ordinal, counting every RS, so an
// empty record uses a number as a blank line does. Trailing white space is
// removed. Any other file is split on newlines: Line is the physical line,
// a trailing CR and a leading RS are removed, and a line of white space only
// is blank, no record.
//
// A record longer than Source.MaxRecord (64 MiB by default) is rejected with
// its start kept; in a FeatureCollection it also ends the file.
//
// Memory is bounded whatever the input: leading blank lines and the white
// space between a FeatureCollection's tokens are dropped as they are read,
// and the format is told from a bounded prefix — a FeatureCollection must
// say so within MaxRecord bytes after the leading blank lines, or the file
// is read as lines.
//
// # Decoding
//
// Checks come in SPEC §9's order — JSON, Feature, geometry, coordinates,
// time, kind, confidence, strength, precision_m — and then the types of
// side, track and source; the first fault is the reason. Where SPEC is
// silent, Decode does this:
//
//   - JSON is I-JSON (RFC 7493): invalid UTF-8, a lone surrogate escape or
//     a number too large for a double anywhere in the record make it
//     invalid JSON, so that every accepted record has a canonical form. A
//     number too small for a double is 0. NaN and Infinity are not JSON.
//   - A repeated key is allowed; the last member wins (in Canonical too).
//   - id and properties.id: a string, or a number whose JSON text is the id
//     (17 and "17" are one id; 17.0 is another). null and "" are no id.
//     Another type is rejected ("id must be a string or a number").
//   - side, track and source: a string, or a number as its JSON text; null
//     and "" are none; another type is rejected.
//   - properties that is neither an object nor null is rejected; null or
//     absent properties mean no time, so the record is rejected for that.
//   - time: RFC 3339 §5.6 date-time with a zone; "t" and "z" may be lower
//     case (RFC 3339 allows it), a leap second :60 counts as the first second
//     of the next minute, fraction digits past the sixth are dropped. An epoch
//     number is truncated by its decimal text, towards the past for times
//     before 1970 (as their RFC 3339 form truncates). Times outside the years
//     1000–8999 UTC (detect.MinTime, detect.MaxTime) are rejected, "time out
//     of range" (SPEC §2).
//   - Coordinates: a LineString or MultiPoint whose coordinates are not all
//     arrays is a geometry fault; then each position, in order, must hold 2
//     or 3 numbers, longitude in [-180, 180] and latitude in [-90, 90];
//     "coordinate 1 of position 3" counts from 1. -0 is stored as 0.
//   - A hash id (no id at all) is "h-" and the first 20 hex digits of the
//     SHA-1 of the RFC 8785 JSON of [time, geometry, side, track, kind,
//     source], where time is the parsed time in epoch seconds (the double
//     nearest to it, written as RFC 8785 writes numbers), geometry the
//     geometry object as given (canonicalised, so key order, white space and
//     number notation do not matter), side, track and source their parsed
//     text or null, and kind "ground" or "fire".
//   - Fingerprint is the 64-bit xxHash (seed 0) of the record's raw text,
//     the same on every machine and run.
//
// Decode allocates three times for a typical record: the sighting's
// strings (one allocation shared by id, track, and side and source the
// first time each is seen), Coords and the Props copy.
package feed
