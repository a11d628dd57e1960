package samefile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	write := func(name string) {
		if err := os.WriteFile(name, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("in.ndjson.gz")
	write("line.geojson")
	if err := os.Mkdir("sub", 0o755); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Link("in.ndjson.gz", "hard.gz"))
	must(os.Symlink("in.ndjson.gz", "soft.gz"))
	must(os.Symlink(dir, "here"))
	abs := filepath.Join(dir, "in.ndjson.gz")

	in := []File{{"input", "in.ndjson.gz"}, {"--line", "line.geojson"}}
	tests := []struct {
		name string
		outs []File
		want string // part of the error; "" for none
	}{
		{"none", nil, ""},
		{"standard output", []File{{"-o", "-"}, {"--rejects", ""}}, ""},
		{"other files", []File{{"-o", "out.geojson"}, {"--rejects", "rejects.ndjson"}}, ""},
		{"the input", []File{{"-o", "in.ndjson.gz"}}, "-o in.ndjson.gz is the same file as the input in.ndjson.gz"},
		{"the input spelt ./", []File{{"--summary", "./in.ndjson.gz"}}, "--summary ./in.ndjson.gz is the same file as the input"},
		{"the input by its absolute path", []File{{"--report", abs}}, "is the same file as the input"},
		{"the input through a folder", []File{{"-o", "sub/../in.ndjson.gz"}}, "is the same file as the input"},
		{"a hard link to the input", []File{{"-o", "hard.gz"}}, "-o hard.gz is the same file as the input"},
		{"a symbolic link to the input", []File{{"-o", "soft.gz"}}, "-o soft.gz is the same file as the input"},
		{"the line", []File{{"--rejects", "here/line.geojson"}}, "is the same file as --line line.geojson"},
		{"two outputs", []File{{"-o", "out.geojson"}, {"--summary", "./out.geojson"}}, "-o out.geojson and --summary ./out.geojson are the same file"},
		{"two outputs through a link", []File{{"-o", "out.geojson"}, {"--report", "here/out.geojson"}}, "are the same file"},
		{"devices are no files", []File{{"--rejects", os.DevNull}, {"--summary", os.DevNull}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(tc.outs, in)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("error %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one with %q", err, tc.want)
			}
		})
	}
}
