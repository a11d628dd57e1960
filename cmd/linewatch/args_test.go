package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestInterspersed(t *testing.T) {
	app := newApp(nil, nil, nil)
	for _, tc := range []struct{ in, want string }{
		{"detect IN --line L", "detect --line L IN"},
		{"detect --line L IN", "detect --line L IN"},
		{"detect A.ndjson --line L -o OUT B.ndjson --isolated", "detect --line L -o OUT --isolated A.ndjson B.ndjson"},
		{"detect IN -q --line=L", "detect -q --line=L IN"},
		{"detect - --line L", "detect --line L -"},
		{"detect --line L -o - IN", "detect --line L -o - IN"},
		{"detect IN --buffer-m -3", "detect --buffer-m -3 IN"},
		{"detect --line L -- -odd.ndjson --isolated", "detect --line L -- -odd.ndjson --isolated"},
		{"detect IN --line L -- -odd.ndjson", "detect --line L -- IN -odd.ndjson"},
		{"detect IN --line-where a=b --line-where c=d", "detect --line-where a=b --line-where c=d IN"},
		{"--log-format json detect IN --line L", "--log-format json detect --line L IN"},
		{"import ucdp IN.csv -o OUT --strict", "import ucdp -o OUT --strict IN.csv"},
		{"import csv --lon x IN --lat y", "import csv --lon x --lat y IN"},
		{"report ALERTS --line L --title T", "report --line L --title T ALERTS"},
		{"nosuch IN --line L", "nosuch IN --line L"},
		{"detect IN --line", "detect --line IN"}, // the parser says the value is missing
		{"detect IN --line L --generate-bash-completion", "detect IN --line L --generate-bash-completion"},
	} {
		args := append([]string{"linewatch"}, strings.Fields(tc.in)...)
		got := strings.Join(interspersed(app, args)[1:], " ")
		if got != tc.want {
			t.Errorf("%s: %s, want %s", tc.in, got, tc.want)
		}
	}
}

// Flags after the file names work as before them, the way analysts write
// ogr2ogr commands.
func TestFlagsAfterFiles(t *testing.T) {
	in := writeTemp(t, "s.ndjson", offensiveFeed())
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.geojson"), filepath.Join(dir, "b.geojson")
	ra := runIn(t, "detect", "--line", straightLine, "--isolated", "-o", a, "--quiet", in)
	rb := runIn(t, "detect", in, "--line", straightLine, "-o", b, "--isolated", "--quiet")
	if ra.code != 0 || rb.code != 0 {
		t.Fatalf("exit %d %s / %d %s", ra.code, ra.stderr, rb.code, rb.stderr)
	}
	da, _ := os.ReadFile(a)
	db, _ := os.ReadFile(b)
	if len(da) == 0 || !slices.Equal(da, db) {
		t.Fatalf("outputs differ:\n%s\n%s", da, db)
	}
	// A file whose name starts with a dash, after --.
	odd := filepath.Join(dir, "-odd.ndjson")
	if err := os.WriteFile(odd, []byte(offensiveFeed()), 0o644); err != nil {
		t.Fatal(err)
	}
	line := mustAbs(t, straightLine)
	t.Chdir(dir)
	rc := runIn(t, "detect", "--line", line, "--isolated", "--quiet", "--", "-odd.ndjson")
	if rc.code != 0 || rc.stdout != string(da) {
		t.Fatalf("-- -odd.ndjson: exit %d %s", rc.code, rc.stderr)
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
