// Package samefile keeps a command from writing over what it reads: it
// tells when an output names one of the inputs, or another output,
// whatever the spelling of the names — ./a, a, a symbolic link to a, a
// hard link — by comparing the files themselves (os.SameFile), not their
// names.
//
//	err := samefile.Check(
//		[]samefile.File{{Flag: "-o", Name: out}, {Flag: "--rejects", Name: rejects}},
//		[]samefile.File{{Flag: "input", Name: in}, {Flag: "--line", Name: line}})
package samefile

import (
	"fmt"
	"os"
	"path/filepath"
)

// File is a file a command reads or writes, and the flag that names it
// (for the error).
type File struct {
	Flag string // "-o", "--rejects", "input", …
	Name string // "" (not given) and "-" (standard input or output) are left out
}

func (f File) String() string {
	if f.Flag == "" || f.Flag == "input" {
		return "the input " + f.Name
	}
	return f.Flag + " " + f.Name
}

// Check returns an error when an output is the same file as an input or
// as another output. Only regular files and names not yet created count:
// writing to a device (/dev/null, a terminal) or a pipe overwrites nothing.
// An output not yet created is the same as another one when their names
// lead to the same place once made absolute and the symbolic links of
// their folders resolved.
func Check(outputs, inputs []File) error {
	outs := identify(outputs)
	ins := identify(inputs)
	for i, o := range outs {
		for _, in := range ins {
			if o.same(in) {
				return fmt.Errorf("%s is the same file as %s: linewatch would write over what it reads", o.f, in.f)
			}
		}
		for _, o2 := range outs[:i] {
			if o.same(o2) {
				return fmt.Errorf("%s and %s are the same file: one would overwrite the other", o2.f, o.f)
			}
		}
	}
	return nil
}

// id is what is known of a file to tell whether it is another's.
type id struct {
	f    File
	info os.FileInfo // nil when it does not exist (yet)
	path string      // its absolute path, its folder's links resolved
}

func identify(files []File) []id {
	var out []id
	for _, f := range files {
		if f.Name == "" || f.Name == "-" {
			continue
		}
		x := id{f: f}
		if info, err := os.Stat(f.Name); err == nil {
			if !info.Mode().IsRegular() {
				continue
			}
			x.info = info
		}
		if abs, err := filepath.Abs(f.Name); err == nil {
			dir, base := filepath.Split(abs)
			if r, err := filepath.EvalSymlinks(dir); err == nil {
				dir = r
			}
			x.path = filepath.Join(dir, base)
		}
		out = append(out, x)
	}
	return out
}

func (a id) same(b id) bool {
	switch {
	case a.info != nil && b.info != nil:
		return os.SameFile(a.info, b.info)
	case a.info == nil && b.info == nil:
		return a.path != "" && a.path == b.path
	}
	return false
}
