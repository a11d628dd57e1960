package detect

import (
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// The binary form of a Prepared, in which a worker process hands what it
// prepared to the engine of another. It is Protocol Buffers' wire format,
// written field by field (no generated code): every field has a number, a
// field equal to its zero value is left out, and a reader skips the
// numbers it does not know, so a field can be added without breaking
// readers. Floats travel as their IEEE 754 bits, so that the engine gets
// the very values Prepare computed. The numbers, which never change
// meaning:
//
//	Prepared:   1 key (fixed64), 2 fp (fixed64), 3 id, 4 source, 5 time (zigzag),
//	            6 outcome, 7 party, 8 violation (message), 9 track (message)
//	Violation:  1 id, 2 time, 3 party, 4 type, 5 lon, 6 lat (fixed64 bits),
//	            7 sector (zigzag), 8 km, 9 depth_m, 10 certain_m (fixed64 bits),
//	            11 weight (zigzag), 12 track, 13 strength (fixed64 bits),
//	            14 source, 15 props, 16 key, 17 fp (fixed64)
//	TrackPoint: 1 party, 2 track, 3 time (zigzag), 4 id, 5 source,
//	            6 lon, 7 lat, 8 depth_m (fixed64 bits), 9 key (fixed64),
//	            10 detail (message)
//	Detail:     1 certain_m, 2 buffer_m (fixed64 bits), 3 sector (zigzag),
//	            4 km, 5 confidence, 6 strength (fixed64 bits), 7 props

// AppendBinary appends the binary form of p to b: everything the engine
// reads of it, the duplicate check's keys included, so that a Prepared
// made in one process is offered to the engine in another exactly as if it
// had been made there (UnmarshalBinary reads it back).
func (p *Prepared) AppendBinary(b []byte) ([]byte, error) {
	b = putFixed(b, 1, p.Key)
	b = putFixed(b, 2, p.FP)
	b = putString(b, 3, p.ID)
	b = putString(b, 4, p.Source)
	b = putInt(b, 5, p.Time)
	b = putUint(b, 6, uint64(p.Outcome))
	b = putString(b, 7, p.Party)
	if v := p.Violation; v != nil {
		b = putMessage(b, 8, func(b []byte) []byte { return v.appendBinary(b) })
	}
	if t := p.Track; t != nil {
		b = putMessage(b, 9, func(b []byte) []byte { return t.appendBinary(b) })
	}
	return b, nil
}

// UnmarshalBinary reads what AppendBinary wrote into p, replacing what p
// held. The strings and byte slices it sets are copies: data may be reused.
func (p *Prepared) UnmarshalBinary(data []byte) error {
	*p = Prepared{}
	return eachField(data, func(num protowire.Number, f field) error {
		switch num {
		case 1:
			p.Key = f.u
		case 2:
			p.FP = f.u
		case 3:
			p.ID = string(f.b)
		case 4:
			p.Source = string(f.b)
		case 5:
			p.Time = f.int()
		case 6:
			if f.u == 0 || f.u > uint64(Judged) {
				return fmt.Errorf("outcome %d", f.u)
			}
			p.Outcome = Outcome(f.u)
		case 7:
			p.Party = string(f.b)
		case 8:
			p.Violation = new(Violation)
			return p.Violation.unmarshalBinary(f.b)
		case 9:
			p.Track = new(TrackPoint)
			return p.Track.unmarshalBinary(f.b)
		}
		return nil
	})
}

func (v *Violation) appendBinary(b []byte) []byte {
	b = putString(b, 1, v.ID)
	b = putInt(b, 2, v.Time)
	b = putString(b, 3, v.Party)
	b = putUint(b, 4, uint64(v.Type))
	b = putFloat(b, 5, v.Lon)
	b = putFloat(b, 6, v.Lat)
	b = putInt(b, 7, int64(v.Sector))
	b = putFloat(b, 8, v.Km)
	b = putFloat(b, 9, v.DepthM)
	b = putFloat(b, 10, v.CertainM)
	b = putInt(b, 11, v.Weight)
	b = putString(b, 12, v.Track)
	b = putFloat(b, 13, v.Strength)
	b = putString(b, 14, v.Source)
	b = putBytes(b, 15, v.Props)
	b = putFixed(b, 16, v.key)
	b = putFixed(b, 17, v.fp)
	return b
}

func (v *Violation) unmarshalBinary(data []byte) error {
	return eachField(data, func(num protowire.Number, f field) error {
		switch num {
		case 1:
			v.ID = string(f.b)
		case 2:
			v.Time = f.int()
		case 3:
			v.Party = string(f.b)
		case 4:
			if f.u >= uint64(numTypes) {
				return fmt.Errorf("violation type %d", f.u)
			}
			v.Type = Type(f.u)
		case 5:
			v.Lon = f.float()
		case 6:
			v.Lat = f.float()
		case 7:
			v.Sector = int(f.int())
		case 8:
			v.Km = f.float()
		case 9:
			v.DepthM = f.float()
		case 10:
			v.CertainM = f.float()
		case 11:
			v.Weight = f.int()
		case 12:
			v.Track = string(f.b)
		case 13:
			v.Strength = f.float()
		case 14:
			v.Source = string(f.b)
		case 15:
			v.Props = clone(f.b)
		case 16:
			v.key = f.u
		case 17:
			v.fp = f.u
		}
		return nil
	})
}

func (t *TrackPoint) appendBinary(b []byte) []byte {
	b = putString(b, 1, t.Party)
	b = putString(b, 2, t.Track)
	b = putInt(b, 3, t.Time)
	b = putString(b, 4, t.ID)
	b = putString(b, 5, t.Source)
	b = putFloat(b, 6, t.Pos[0])
	b = putFloat(b, 7, t.Pos[1])
	b = putFloat(b, 8, t.DepthM)
	b = putFixed(b, 9, t.key)
	if d := t.Detail; d != nil {
		b = putMessage(b, 10, func(b []byte) []byte {
			b = putFloat(b, 1, d.CertainM)
			b = putFloat(b, 2, d.BufferM)
			b = putInt(b, 3, int64(d.Sector))
			b = putFloat(b, 4, d.Km)
			b = putFloat(b, 5, d.Confidence)
			b = putFloat(b, 6, d.Strength)
			b = putBytes(b, 7, d.Props)
			return b
		})
	}
	return b
}

func (t *TrackPoint) unmarshalBinary(data []byte) error {
	return eachField(data, func(num protowire.Number, f field) error {
		switch num {
		case 1:
			t.Party = string(f.b)
		case 2:
			t.Track = string(f.b)
		case 3:
			t.Time = f.int()
		case 4:
			t.ID = string(f.b)
		case 5:
			t.Source = string(f.b)
		case 6:
			t.Pos[0] = f.float()
		case 7:
			t.Pos[1] = f.float()
		case 8:
			t.DepthM = f.float()
		case 9:
			t.key = f.u
		case 10:
			d := new(TrackDetail)
			t.Detail = d
			return eachField(f.b, func(num protowire.Number, f field) error {
				switch num {
				case 1:
					d.CertainM = f.float()
				case 2:
					d.BufferM = f.float()
				case 3:
					d.Sector = int(f.int())
				case 4:
					d.Km = f.float()
				case 5:
					d.Confidence = f.float()
				case 6:
					d.Strength = f.float()
				case 7:
					d.Props = clone(f.b)
				}
				return nil
			})
		}
		return nil
	})
}

// The writing side: each put leaves out a zero value.

func putFixed(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, v)
}

func putFloat(b []byte, num protowire.Number, v float64) []byte {
	return putFixed(b, num, math.Float64bits(v)) // -0 has bits: it is kept
}

func putUint(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func putInt(b []byte, num protowire.Number, v int64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, protowire.EncodeZigZag(v))
}

func putString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func putBytes(b []byte, num protowire.Number, v []byte) []byte {
	if v == nil {
		return b
	}
	// An empty slice is kept apart from nil: both are written, as a
	// record's properties may be either.
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

// putMessage appends field num holding what body appends.
func putMessage(b []byte, num protowire.Number, body func([]byte) []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	// The length goes before the body: write the body after a one-byte
	// length, and move it if the length takes more.
	at := len(b)
	b = append(b, 0)
	b = body(b)
	n := len(b) - at - 1
	if s := protowire.SizeVarint(uint64(n)); s > 1 {
		b = append(b, make([]byte, s-1)...)
		copy(b[at+s:], b[at+1:at+1+n])
	}
	protowire.AppendVarint(b[:at], uint64(n))
	return b
}

// The reading side.

// field is one field's value: u for varints and fixed64, b for bytes.
type field struct {
	u uint64
	b []byte
}

func (f field) int() int64     { return protowire.DecodeZigZag(f.u) }
func (f field) float() float64 { return math.Float64frombits(f.u) }

// errWire is what a malformed binary form is refused with.
var errWire = errors.New("malformed prepared record")

// eachField calls fn on each field of data in turn; a field fn does not
// know is skipped (fn ignores its number). A group (a wire type this form
// never writes) is skipped whole.
func eachField(data []byte, fn func(protowire.Number, field) error) error {
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return fmt.Errorf("%w: %v", errWire, protowire.ParseError(n))
		}
		data = data[n:]
		var f field
		switch typ {
		case protowire.VarintType:
			f.u, n = protowire.ConsumeVarint(data)
		case protowire.Fixed64Type:
			f.u, n = protowire.ConsumeFixed64(data)
		case protowire.BytesType:
			f.b, n = protowire.ConsumeBytes(data)
		default:
			n = protowire.ConsumeFieldValue(num, typ, data)
			if n < 0 {
				return fmt.Errorf("%w: %v", errWire, protowire.ParseError(n))
			}
			data = data[n:]
			continue
		}
		if n < 0 {
			return fmt.Errorf("%w: field %d: %v", errWire, num, protowire.ParseError(n))
		}
		data = data[n:]
		if err := fn(num, f); err != nil {
			return fmt.Errorf("%w: field %d: %v", errWire, num, err)
		}
	}
	return nil
}

// clone copies b, keeping an empty slice apart from nil.
func clone(b []byte) []byte {
	return append(make([]byte, 0, len(b)), b...)
}
