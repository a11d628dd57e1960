package feed

import (
	"fmt"
	"math"
	"strconv"
	"testing"
)

// RFC 8785 Appendix B: IEEE 754 doubles and their canonical text.
var es6Numbers = []struct {
	bits uint64
	want string
}{
	{0x0000000000000000, "0"},
	{0x8000000000000000, "0"},
	{0x0000000000000001, "5e-324"},
	{0x8000000000000001, "-5e-324"},
	{0x7fefffffffffffff, "1.7976931348623157e+308"},
	{0xffefffffffffffff, "-1.7976931348623157e+308"},
	{0x4340000000000000, "9007199254740992"},
	{0xc340000000000000, "-9007199254740992"},
	{0x4430000000000000, "295147905179352830000"},
	{0x44b52d02c7e14af5, "9.999999999999997e+22"},
	{0x44b52d02c7e14af6, "1e+23"},
	{0x44b52d02c7e14af7, "1.0000000000000001e+23"},
	{0x444b1ae4d6e2ef4e, "999999999999999700000"},
	{0x444b1ae4d6e2ef4f, "999999999999999900000"},
	{0x444b1ae4d6e2ef50, "1e+21"},
	{0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"},
	{0x3eb0c6f7a0b5ed8d, "0.000001"},
	{0x41b3de4355555553, "333333333.3333332"},
	{0x41b3de4355555554, "333333333.33333325"},
	{0x41b3de4355555555, "333333333.3333333"},
	{0x41b3de4355555556, "333333333.3333334"},
	{0x41b3de4355555557, "333333333.33333343"},
	{0xbecbf647612f3696, "-0.0000033333333333333333"},
	{0x43143ff3c1cb0959, "1424953923781206.2"},
}

func TestES6Numbers(t *testing.T) {
	for _, tc := range es6Numbers {
		if got := string(appendES6(nil, math.Float64frombits(tc.bits))); got != tc.want {
			t.Errorf("%016x: got %s, want %s", tc.bits, got, tc.want)
		}
	}
}

func TestIsES6(t *testing.T) {
	// Every number isES6 passes is written as appendES6 writes its value.
	nums := []string{"0", "-0", "1", "-1", "10", "100", "0.5", "0.50", "1.0", "1.", "0.000001", "0.0000001", "0.0000012",
		"123456789012345", "1234567890123456", "12345678901234.5", "1234567890123.45", "0.123456789012345",
		"0.1234567890123456", "-37.61234", "01", "1e5", "1E5", "-", "", "179.99999999999997", "1714558800.123456"}
	for _, n := range nums {
		ok := isES6([]byte(n))
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(n, 64)
		if err != nil {
			t.Errorf("isES6(%q) but it is no number", n)
			continue
		}
		if want := string(appendES6(nil, f)); want != n {
			t.Errorf("isES6(%q), but it is written %s", n, want)
		}
	}
	for _, n := range []string{"0", "1", "-37.61234", "0.000001", "123456789012345"} {
		if !isES6([]byte(n)) {
			t.Errorf("isES6(%q) = false", n)
		}
	}
	for _, us := range []int64{0, 1, -1, 1714558800250000, 1714558800123456, -1500000, 1e6, 999999} {
		got := string(appendEpochSeconds(nil, us))
		f, _ := strconv.ParseFloat(strconv.FormatInt(us/1e6, 10)+"."+fmt.Sprintf("%06d", abs(us%1e6)), 64)
		if us < 0 {
			f, _ = strconv.ParseFloat("-"+strconv.FormatInt(-us/1e6, 10)+"."+fmt.Sprintf("%06d", -us%1e6), 64)
		}
		if want := string(appendES6(nil, f)); got != want {
			t.Errorf("appendEpochSeconds(%d) = %s, want %s", us, got, want)
		}
	}
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestCanonical(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"RFC 8785 §3.2.2", `{
  "numbers": [333333333.33333329, 1E30, 4.50,
              2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}`, `{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`},
		{"RFC 8785 §3.2.3 sorting", `{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}`, "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\",\"ö\":\"Latin Small Letter O With Diaeresis\"," +
			"\"€\":\"Euro Sign\",\"😀\":\"Emoji: Grinning Face\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}"},
		{"nested and empty", ` { "b" : [ {}, [], {"z":1,"a":[-0, 1.0, 100e-2]} ], "a" : {"y":"\u0000\u001f\u007f"} } `,
			`{"a":{"y":"\u0000\u001f` + "\x7f" + `"},"b":[{},[],{"a":[0,1,1],"z":1}]}`},
		{"repeated key: last wins", `{"a":1,"b":2,"a":3}`, `{"a":3,"b":2}`},
		{"scalars", `"x"`, `"x"`},
		{"html characters stay", `"<&>\u2028"`, "\"<&>\u2028\""},
		{"big integers", `[1e21, 123456789012345678901234567890, 1e-7, 0.0000010]`, `[1e+21,1.2345678901234568e+29,1e-7,0.000001]`},
	}
	for _, tc := range tests {
		got, err := Canonical([]byte(tc.in))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if string(got) != tc.want {
			t.Errorf("%s:\n got  %s\n want %s", tc.name, got, tc.want)
		}
	}
	for _, bad := range []string{`{"a":NaN}`, `1e400`, `{"a":1} x`, `"\udc00"`, "\"\xff\"", ``, `[1,]`} {
		if got, err := Canonical([]byte(bad)); err == nil {
			t.Errorf("Canonical(%q) = %s, want an error", bad, got)
		}
	}
}

func TestFingerprint(t *testing.T) {
	hundred := make([]byte, 100)
	for i := range hundred {
		hundred[i] = byte(i)
	}
	tests := []struct {
		in   string
		want uint64
	}{
		{"", 0xef46db3751d8e999},
		{"a", 0xd24ec4f1a98c6e5b},
		{"abc", 0x44bc2cf5ad770999},
		{"Nobody inspects the spammish repetition", 0xfbcea83c8a378bf1},
		{"The quick brown fox jumps over the lazy dog", 0x0b242d361fda71bc},
		{string(hundred), 0x6ac1e58032166597},
	}
	for _, tc := range tests {
		if got := Fingerprint([]byte(tc.in)); got != tc.want {
			t.Errorf("Fingerprint(%q) = %#x, want %#x", tc.in, got, tc.want)
		}
	}
}

// TestDupKeyValues pins the keys: they are kept in checkpoints, so a
// change of hash would make a restarted stream miss duplicates.
func TestDupKeyValues(t *testing.T) {
	tests := []struct {
		id, source string
		want       uint64
	}{
		{"", "", 0xef46db3751d8e999},
		{"a", "b", 0x33e4dd2efc52227e},
		{"RU-17", "gw1", 0x3143b1d720415c50},
		{"h-0123456789abcdef0123", "observer with a long name, over thirty-two bytes", 0xfe77274b6b7d864},
	}
	for _, tc := range tests {
		if got := DupKey(tc.id, tc.source); got != tc.want {
			t.Errorf("DupKey(%q, %q) = %#x, want %#x", tc.id, tc.source, got, tc.want)
		}
	}
}
