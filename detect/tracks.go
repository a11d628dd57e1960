package detect

import (
	"cmp"
	"slices"
	"strings"
)

// compareTrackPoints orders a track's points in event time, ties broken by
// id compared as strings (SPEC §3): so record order never matters.
func compareTrackPoints(a, b *TrackPoint) int {
	return cmp.Or(strings.Compare(a.Party, b.Party), strings.Compare(a.Track, b.Track),
		cmp.Compare(a.Time, b.Time), strings.Compare(a.ID, b.ID))
}

// PairTracks judges the points of tracks, each against the previous
// judged point of its track, and returns the violations they make. It
// sorts pts.
func (j *Judge) PairTracks(pts []*TrackPoint) []*Violation {
	slices.SortFunc(pts, compareTrackPoints)
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
	v := &Violation{
		ID: p.ID, Time: p.Time, Party: p.Party, Lon: p.Pos[0], Lat: p.Pos[1],
		Sector: p.Sector, Km: p.Km, DepthM: p.DepthM, CertainM: p.CertainM,
		Track: p.Track, Strength: p.Strength, Props: p.Props, key: p.key, fp: p.fp,
	}
	switch {
	case p.CertainM > 0 && prev != nil && prev.DepthM <= 0 && p.Time-prev.Time <= j.pol.MaxTrackGap.Microseconds():
		v.Type = Crossing
		if c, ok := j.line.Cross(prev.Pos, p.Pos); ok {
			v.Lon, v.Lat, v.Sector, v.Km = c.Point[0], c.Point[1], c.Sector, c.Km
		}
	case p.CertainM > 0:
		v.Type = Incursion
	case p.BufferM > 0 && p.CertainM > -p.BufferM:
		v.Type = Buffer
	default:
		return nil
	}
	v.Weight = Weight(j.typeWeight[v.Type], p.Confidence)
	return v
}
