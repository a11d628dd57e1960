package detect

import (
	"cmp"
	"slices"
	"strings"
)

// compareTrackPoints orders a track's points in event time, ties broken by
// id compared as strings, then by source (SPEC §3): so record order never
// matters.
func compareTrackPoints(a, b *TrackPoint) int {
	return cmp.Or(strings.Compare(a.Party, b.Party), strings.Compare(a.Track, b.Track),
		cmp.Compare(a.Time, b.Time), strings.Compare(a.ID, b.ID), strings.Compare(a.Source, b.Source))
}

// PairTracks judges the points of tracks, each against the previous
// judged point of its track, and returns the violations they make. It
// sorts pts.
func (j *Judge) PairTracks(pts []*TrackPoint) []*Violation {
	// Sort on a hash of the track first, in a flat array: strings are
	// compared only within a track (or tracks whose hashes collide).
	type sortKey struct {
		group uint64
		time  int64
		p     *TrackPoint
	}
	keys := make([]sortKey, len(pts))
	for i, p := range pts {
		keys[i] = sortKey{trackHash(p.Party, p.Track), p.Time, p}
	}
	slices.SortFunc(keys, func(a, b sortKey) int {
		if a.group != b.group {
			return cmp.Compare(a.group, b.group)
		}
		return compareTrackPoints(a.p, b.p)
	})
	for i := range keys {
		pts[i] = keys[i].p
	}
	var out []*Violation
	var prev *TrackPoint
	for _, p := range pts {
		if prev != nil && (prev.Party != p.Party || prev.Track != p.Track) {
			prev = nil
		}
		if v := j.JudgeTrackPoint(prev, p); v != nil {
			out = append(out, v)
		}
		prev = p
	}
	return out
}

// JudgeTrackPoint judges point p of a track given the previous judged
// point of the same track (nil if none): a crossing when the previous one
// stood on the party's own side at most max_track_gap earlier and p is
// certainly over; otherwise an incursion or a buffer violation on p's own.
func (j *Judge) JudgeTrackPoint(prev, p *TrackPoint) *Violation {
	dt := p.Detail
	if dt == nil {
		return nil // neither over the line nor in the buffer
	}
	v := &Violation{
		ID: p.ID, Time: p.Time, Party: p.Party, Lon: p.Pos[0], Lat: p.Pos[1],
		Sector: dt.Sector, Km: dt.Km, DepthM: p.DepthM, CertainM: dt.CertainM,
		Track: p.Track, Strength: dt.Strength, Source: p.Source, Props: dt.Props, Leaf: p.Leaf, key: p.key,
	}
	switch {
	case dt.CertainM > 0 && prev != nil && prev.DepthM <= 0 && p.Time-prev.Time <= j.pol.MaxTrackGap.Microseconds():
		v.Type = Crossing
		if c, ok := j.line.Cross(prev.Pos, p.Pos); ok {
			v.Lon, v.Lat, v.Sector, v.Km = c.Point[0], c.Point[1], c.Sector, c.Km
		}
	case dt.CertainM > 0:
		v.Type = Incursion
	case dt.BufferM > 0 && dt.CertainM > -dt.BufferM:
		v.Type = Buffer
	default:
		return nil
	}
	v.Weight = Weight(j.typeWeight[v.Type], dt.Confidence)
	return v
}

// trackHash is FNV-1a of a track's party and id.
func trackHash(party, track string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(party); i++ {
		h = (h ^ uint64(party[i])) * 1099511628211
	}
	h = (h ^ 0xff) * 1099511628211
	for i := 0; i < len(track); i++ {
		h = (h ^ uint64(track[i])) * 1099511628211
	}
	return h
}
