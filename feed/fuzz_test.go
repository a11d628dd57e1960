package feed

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/linewatch/linewatch/detect"
)

// FuzzDecode checks that no record makes Decode panic, that what it accepts
// is valid JSON whose Canonical form exists, and that it accepts or rejects
// the same record alike twice.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(typical))
	for _, tc := range badRecords {
		f.Add([]byte(tc.in))
	}
	d := NewDecoder()
	f.Fuzz(func(t *testing.T, raw []byte) {
		var s detect.Sighting
		err := d.Decode(raw, &s)
		var again detect.Sighting
		err2 := Decode(raw, &again)
		if (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() {
			t.Fatalf("decoded twice: %v, then %v", err, err2)
		}
		_, cerr := Canonical(raw)
		if err != nil {
			if strings.HasPrefix(err.Error(), "invalid JSON") != (cerr != nil) {
				t.Fatalf("Decode: %v; Canonical: %v", err, cerr)
			}
			return
		}
		if !json.Valid(raw) || cerr != nil {
			t.Fatalf("accepted invalid JSON (Canonical: %v)", cerr)
		}
		if s.ID == "" || len(s.Coords) == 0 || s.Shape == 0 || s.Fingerprint != Fingerprint(raw) {
			t.Fatalf("accepted an incomplete sighting %+v", s)
		}
		for _, p := range s.Coords {
			if !(p[0] >= -180 && p[0] <= 180 && p[1] >= -90 && p[1] <= 90) {
				t.Fatalf("coordinate out of range %v", p)
			}
		}
		if !(s.Confidence > 0 && s.Confidence <= 1) || s.Strength < 0 || s.PrecisionM < 0 ||
			math.IsNaN(s.Strength) || math.IsInf(s.Strength, 0) || math.IsInf(s.PrecisionM, 0) {
			t.Fatalf("number out of range %+v", s)
		}
		if !equalSighting(s, again) || s.ID != again.ID || !bytes.Equal(s.Props, again.Props) {
			t.Fatalf("decoded twice differently: %+v, %+v", s, again)
		}
		// Canonical is idempotent.
		c1, _ := Canonical(raw)
		c2, err := Canonical(c1)
		if err != nil || !bytes.Equal(c1, c2) {
			t.Fatalf("Canonical(Canonical(x)) = %s (%v), want %s", c2, err, c1)
		}
	})
}

// FuzzSource checks that no input makes the splitter panic or loop, that
// its records come in order, and that reading byte by byte cuts the same
// records as reading at once.
func FuzzSource(f *testing.F) {
	for _, tc := range splitTests {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		read := func(r io.Reader) []rec {
			s := NewSource("f", r)
			s.MaxRecord = 1 << 12
			var out []rec
			for n := 0; ; n++ {
				r, err := s.Next()
				if err == io.EOF {
					return out
				}
				if err != nil {
					t.Fatal(err)
				}
				if n > len(in)+1 {
					t.Fatalf("more records than bytes")
				}
				if r.Index >= 0 && r.Index != len(out) || r.Index < 0 && len(out) > 0 && r.Line <= out[len(out)-1].line {
					t.Fatalf("record %d out of order: %+v", len(out), r)
				}
				out = append(out, rec{r.Line, r.Index, string(r.Raw), r.Err})
			}
		}
		whole := read(bytes.NewReader(in))
		bytewise := read(&oneByte{in})
		if len(whole) != len(bytewise) {
			t.Fatalf("%d records at once, %d byte by byte", len(whole), len(bytewise))
		}
		for i := range whole {
			if whole[i] != bytewise[i] {
				t.Fatalf("record %d: %+v at once, %+v byte by byte", i, whole[i], bytewise[i])
			}
		}
	})
}

type oneByte struct{ b []byte }

func (r *oneByte) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = r.b[0]
	r.b = r.b[1:]
	return 1, nil
}

func TestParseFloatExact(t *testing.T) {
	for _, s := range []string{"0", "-0", "1", "0.1", "37.61234", "-179.999999", "123456789012345", "0.00000000000001",
		"1714521600.25", "90.000000000001", "5e-324", "1e21", "12345678901234567", "0.1e1"} {
		want, _ := strconv.ParseFloat(s, 64)
		got, ok := parseFloat([]byte(s))
		if !ok || got != want || math.Signbit(got) != math.Signbit(want) {
			t.Errorf("parseFloat(%s) = %v, want %v", s, got, want)
		}
	}
	// Every 15-digit decimal with any point place reads as strconv does.
	x := uint64(123456789012345)
	for i := 0; i < 100000; i++ {
		x = x*6364136223846793005 + 1442695040888963407
		digits := strconv.FormatUint(x%1e15, 10)
		p := int(x>>60) % (len(digits) + 1)
		s := digits[:p] + "." + digits[p:]
		if p == 0 {
			s = "0" + s
		}
		if p == len(digits) {
			s = digits
		}
		want, _ := strconv.ParseFloat(s, 64)
		if got, _ := parseFloat([]byte(s)); got != want {
			t.Fatalf("parseFloat(%s) = %v, want %v", s, got, want)
		}
	}
}

// FuzzNumber checks the fast paths of number reading and writing against
// strconv: parseFloat reads every JSON number as strconv.ParseFloat does,
// and a number isES6 passes is written as appendES6 writes its value.
func FuzzNumber(f *testing.F) {
	for _, s := range []string{"0", "-0", "1.5", "37.61234", "0.000001", "1e21", "123456789012345", "1234567890123456", "-0.0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !isNumber([]byte(s)) {
			if isES6([]byte(s)) {
				t.Fatalf("isES6(%q) for no JSON number", s)
			}
			return
		}
		want, err := strconv.ParseFloat(s, 64)
		got, ok := parseFloat([]byte(s))
		if ok != (err == nil) || ok && (got != want || math.Signbit(got) != math.Signbit(want)) {
			t.Fatalf("parseFloat(%s) = %v, %v; strconv: %v, %v", s, got, ok, want, err)
		}
		if isES6([]byte(s)) {
			if w := string(appendES6(nil, want)); w != s {
				t.Fatalf("isES6(%s), but appendES6 writes %s", s, w)
			}
		}
	})
}

// isNumber tells whether s is one JSON number.
func isNumber(b []byte) bool {
	if len(b) == 0 || !(b[0] == '-' || b[0] >= '0' && b[0] <= '9') {
		return false
	}
	s := scanner{b: b, lax: true}
	return s.num() == nil && s.i == len(b)
}
