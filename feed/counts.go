package feed

// Counts account for every record read (SPEC §2): Read = Accepted +
// Rejected + Duplicate + Late + Outside. Unattributed and BeyondEnd are
// among the accepted (sightings never judged: no party of the line, or
// beyond a free end); Future, records too far ahead of the wall clock in
// a stream, among the rejected. Outside are the valid sightings outside a
// batch run's time range (detect --since, --until).
//
// Batch and stream count into it, and the summary writes it (SPEC §5).
type Counts struct {
	Read         int64 `json:"read"`
	Accepted     int64 `json:"accepted"`
	Rejected     int64 `json:"rejected"`
	Duplicate    int64 `json:"duplicate"`
	Late         int64 `json:"late"`
	Unattributed int64 `json:"unattributed"`
	BeyondEnd    int64 `json:"beyond_end"`
	Outside      int64 `json:"outside,omitempty"`
	Future       int64 `json:"-"`
}

// Add adds o's counts to c's.
func (c *Counts) Add(o Counts) {
	c.Read += o.Read
	c.Accepted += o.Accepted
	c.Rejected += o.Rejected
	c.Duplicate += o.Duplicate
	c.Late += o.Late
	c.Unattributed += o.Unattributed
	c.BeyondEnd += o.BeyondEnd
	c.Outside += o.Outside
	c.Future += o.Future
}
