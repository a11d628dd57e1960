package pipeline

import (
	"bytes"
	"errors"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/feed"
)

// Preparer is a worker's share of detection, the same in batch and
// stream: it decodes a record and prepares its sighting for the engine
// (detect.Judge.Prepare). One Preparer serves one goroutine; the judge is
// shared.
type Preparer struct {
	judge *detect.Judge
	dec   *feed.Decoder
	s     detect.Sighting
}

// NewPreparer returns a Preparer for the judge.
func NewPreparer(j *detect.Judge) *Preparer {
	dec := feed.NewDecoder()
	// The sighting borrows the record's text; Prepare copies what the
	// engine keeps of it, which is seldom all.
	dec.Borrow = true
	// Duplicates are found by id and source (feed.DupKey), and settled
	// by reading their records again.
	dec.NoFingerprint = true
	return &Preparer{judge: j, dec: dec}
}

// Decode decodes a record. It returns the sighting, valid until the next
// call, or why the record is rejected (SPEC §2): the splitter's reason or
// the decoder's.
func (p *Preparer) Decode(rec *feed.Record) (*detect.Sighting, string) {
	if rec.Err != "" {
		return nil, rec.Err
	}
	if err := p.dec.Decode(rec.Raw, &p.s); err != nil {
		var rj *feed.Reject
		if errors.As(err, &rj) {
			return nil, rj.Reason
		}
		return nil, err.Error()
	}
	return &p.s, ""
}

// Prepare prepares the sighting of the last Decode. What it returns owns
// its memory: it outlives the record's text.
func (p *Preparer) Prepare() detect.Prepared { return p.PrepareWith(nil) }

// PrepareWith is Prepare with the track point, if any, written into *tp
// (detect.Judge.PrepareWith): it then lives only as long as the caller
// leaves tp alone. nil: one of its own.
func (p *Preparer) PrepareWith(tp *detect.TrackPoint) detect.Prepared {
	pr := p.judge.PrepareWith(&p.s, feed.DupKey(p.s.ID, p.s.Source), tp)
	if v := pr.Violation; v != nil && v.Props != nil {
		v.Props = bytes.Clone(v.Props)
	}
	if t := pr.Track; t != nil && t.Detail != nil && t.Detail.Props != nil {
		t.Detail.Props = bytes.Clone(t.Detail.Props)
	}
	return pr
}
