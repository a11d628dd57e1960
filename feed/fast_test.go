package feed

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// sameParse fails t when parseFast reads raw and parse does not, or finds
// other values.
func sameParse(t testing.TB, raw []byte) bool {
	var fast, slow Decoder
	fast.raw, slow.raw = raw, raw
	if !fast.parseFast(raw) {
		return false
	}
	if err := slow.parse(raw); err != nil {
		t.Fatalf("%q: parseFast reads it, parse says %v", raw, err)
	}
	if fast.f != slow.f {
		t.Fatalf("%q:\nparseFast %+v\nparse     %+v", raw, fast.f, slow.f)
	}
	return true
}

// TestParseFastAsParse: on the decoder's and the splitter's fuzz corpora,
// the bad records, a generated feed and many mutations of its records,
// what parseFast reads, parse reads alike.
func TestParseFastAsParse(t *testing.T) {
	var recs [][]byte
	for _, dir := range []string{"testdata/fuzz/FuzzDecode", "testdata/fuzz/FuzzSource"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.SplitN(string(data), "\n", 3)
			if len(lines) < 2 || !strings.HasPrefix(lines[1], "[]byte(") {
				continue
			}
			v, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, bytes.Split([]byte(v), []byte("\n"))...)
		}
	}
	for _, tc := range badRecords {
		recs = append(recs, []byte(tc.in))
	}
	data, err := os.ReadFile("testdata/generated.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	generated := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	recs = append(recs, []byte(typical))
	recs = append(recs, generated...)
	read := 0
	for _, raw := range recs {
		if sameParse(t, raw) {
			read++
		}
	}
	if read < len(generated) {
		t.Fatalf("parseFast read %d of %d records, fewer than the generated ones", read, len(recs))
	}
	// Mutations: a few bytes replaced, inserted or removed.
	r := rand.New(rand.NewPCG(5, 6))
	mutated, readMutated := 0, 0
	for range 100000 {
		raw := mutate(r, generated[r.IntN(len(generated))])
		mutated++
		if sameParse(t, raw) {
			readMutated++
		}
	}
	t.Logf("parseFast read %d of %d records, %d of %d mutations", read, len(recs), readMutated, mutated)
}

// mutate returns a copy of raw with one to three bytes replaced, inserted
// or removed, drawn from JSON's punctuation and a few bytes that trip a
// scanner.
func mutate(r *rand.Rand, raw []byte) []byte {
	const alphabet = " \t\n\"\\{}[],:-+.0159eEtrufalsn\x01\x7f\xc3\xa9é"
	raw = bytes.Clone(raw)
	for range 1 + r.IntN(3) {
		if len(raw) == 0 {
			break
		}
		at := r.IntN(len(raw))
		c := alphabet[r.IntN(len(alphabet))]
		switch r.IntN(3) {
		case 0:
			raw[at] = c
		case 1:
			raw = append(raw[:at], append([]byte{c}, raw[at:]...)...)
		default:
			raw = append(raw[:at], raw[at+1:]...)
		}
	}
	return raw
}

// FuzzParseFast: what parseFast reads, parse reads alike.
func FuzzParseFast(f *testing.F) {
	f.Add([]byte(typical))
	data, err := os.ReadFile("testdata/generated.ndjson")
	if err != nil {
		f.Fatal(err)
	}
	for _, raw := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) { sameParse(t, raw) })
}

// TestFastFloatAsParseFloat: fastFloat reads what parseFloatExact reads,
// to the same bit, and refuses the rest.
func TestFastFloatAsParseFloat(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	digits := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteByte(byte('0' + r.IntN(10)))
		}
		return b.String()
	}
	for range 200000 {
		var s string
		if r.IntN(2) == 0 {
			s = "-"
		}
		if r.IntN(4) == 0 {
			s += "0"
		} else {
			s += strconv.Itoa(1+r.IntN(9)) + digits(r.IntN(10))
		}
		if r.IntN(3) > 0 {
			s += "." + digits(r.IntN(12))
		}
		if r.IntN(10) == 0 {
			s += "e" + strconv.Itoa(r.IntN(30))
		}
		tail := []string{"", ",", "]", " "}[r.IntN(4)]
		end, got, ok := fastFloat([]byte(s+tail), 0)
		want, wantOK := parseFloatExact([]byte(s))
		if strings.HasSuffix(s, ".") || strings.Contains(s, "e") {
			wantOK = false // not a number it reads, or one with an exponent
		}
		if ok != wantOK || ok && (end != len(s) || got != want || (got == 0 && (1/got > 0) != (1/want > 0))) {
			t.Fatalf("%q: fastFloat %v %v at %d; parseFloatExact %v %v", s+tail, got, ok, end, want, wantOK)
		}
	}
}
