package main

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"os"

	"github.com/linewatch/linewatch/batch"
	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/gpkg"
	"github.com/linewatch/linewatch/internal/samefile"
	"github.com/linewatch/linewatch/policy"
	"github.com/urfave/cli/v2"
)

// lineFlags are the flags of every command that reads the agreed line.
func lineFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "line", Usage: "the agreed line, a GeoJSON or GeoPackage `FILE` (required)", TakesFile: true},
		&cli.StringFlag{Name: "line-layer", Usage: "the `LAYER` of a GeoPackage --line to read (default: its only line layer)"},
		&cli.StringFlag{Name: "policy", Usage: "policy YAML `FILE` (sector_km, buffer_m, end_reach_m, …); default: the built-in policy", TakesFile: true},
		&cli.StringSliceFlag{Name: "line-where", Usage: "of a line file of several features, keep those whose property KEY is VALUE (`KEY=VALUE`; repeat: all must hold, as ogr2ogr -where a AND b)"},
		&cli.StringSliceFlag{Name: "line-feature", Usage: "of a line file of several features, keep the one of this 0-based `INDEX` or ID (index:N, id:ID when they clash; repeat for several)"},
		&cli.StringFlag{Name: "left", Usage: "`PARTY` on the left (walking in coordinate order) of a bare geometry and of every line feature without a left property"},
		&cli.StringFlag{Name: "right", Usage: "`PARTY` on the right of a bare geometry and of every line feature without a right property"},
		&cli.Float64Flag{Name: "buffer-m", Usage: "buffer half-width in `METRES` where the line gives none (default: the policy's buffer_m)"},
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to `FILE` (default: standard output)", TakesFile: true},
	}
}

// loadLine loads the policy and the agreed line the flags name.
func loadLine(c *cli.Context) (*geo.Line, detect.Policy, error) {
	path := c.String("line")
	if path == "" {
		return nil, detect.Policy{}, usageError(c, "--line FILE is required: the agreed line")
	}
	pol := detect.DefaultPolicy()
	if p := c.String("policy"); p != "" {
		var err error
		if pol, err = policy.Load(p); err != nil {
			return nil, pol, unusable(err)
		}
	}
	opt := pol.LineOptions()
	opt.Left, opt.Right = c.String("left"), c.String("right")
	if c.IsSet("buffer-m") {
		b := c.Float64("buffer-m")
		if !(b >= 0) || math.IsInf(b, 0) {
			return nil, pol, usageError(c, "--buffer-m must be a number ≥ 0, got %v", b)
		}
		opt.BufferM = b
	}
	for _, w := range c.StringSlice("line-where") {
		cond, err := geo.ParseCondition(w)
		if err != nil {
			return nil, pol, usageError(c, "%v", err)
		}
		opt.Select.Where = append(opt.Select.Where, cond)
	}
	for _, f := range c.StringSlice("line-feature") {
		ref, err := geo.ParseFeatureRef(f)
		if err != nil {
			return nil, pol, usageError(c, "%v", err)
		}
		opt.Select.Features = append(opt.Select.Features, ref)
	}
	l, err := gpkg.LoadLine(path, c.String("line-layer"), opt)
	if err != nil {
		return nil, pol, unusable(err)
	}
	return l, pol, nil
}

// outFile is where a command writes its result: a file or standard output,
// buffered.
type outFile struct {
	*bufio.Writer
	f    *os.File // nil for standard output
	name string
}

// openOutput opens the -o file (standard output when absent or "-").
// Open it after the inputs have been checked, so that a bad line or policy
// leaves an existing output file alone.
func openOutput(c *cli.Context) (*outFile, error) {
	name := c.String("output")
	if name == "" || name == "-" {
		return &outFile{Writer: bufio.NewWriterSize(c.App.Writer, 1<<16), name: "standard output"}, nil
	}
	f, err := os.Create(name)
	if err != nil {
		return nil, unusable(fmt.Errorf("output: %w", err))
	}
	return &outFile{Writer: bufio.NewWriterSize(f, 1<<16), f: f, name: name}, nil
}

// Close flushes and closes the output; a failure is a failed run.
func (o *outFile) Close() error {
	err := o.Flush()
	if o.f != nil {
		err = errors.Join(err, o.f.Close())
	}
	if err != nil {
		return failed(fmt.Errorf("writing output: %w", err))
	}
	return nil
}

// Done closes the output once a writer is done with it, werr what the
// writer returned. A failure is reported once, as a failed run: a write
// error comes back from the flush too (bufio keeps it), and said twice
// it read as two failures.
func (o *outFile) Done(werr error) error {
	cerr := o.Close()
	if werr != nil {
		return failed(fmt.Errorf("writing output: %w", werr))
	}
	return cerr
}

// checkInput checks that the input file name can be read, so that a
// misspelt name stops a run before it writes anything.
func checkInput(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return unusable(fmt.Errorf("input: %w", err))
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return unusable(fmt.Errorf("input: %s is a directory", name))
	}
	return nil
}

// checkOutputs refuses, as a usage error, an output flag that names one of
// the inputs (the files named by the input flags, and the positional
// inputs) or another output, however the names are spelt: a run must
// never write over what it reads. Call it before any output is opened.
func checkOutputs(c *cli.Context, outFlags, inFlags, inputs []string) error {
	var outs, ins []samefile.File
	for _, f := range outFlags {
		if c.IsSet(f) {
			outs = append(outs, samefile.File{Flag: flagName(f), Name: c.String(f)})
		}
	}
	for _, f := range inFlags {
		if c.IsSet(f) {
			ins = append(ins, samefile.File{Flag: flagName(f), Name: c.String(f)})
		}
	}
	for _, in := range inputs {
		ins = append(ins, samefile.File{Flag: "input", Name: in})
	}
	if err := samefile.Check(outs, ins); err != nil {
		return usageError(c, "%v", err)
	}
	return nil
}

// flagName is a flag as the command line spells it: -o, --rejects.
func flagName(f string) string {
	if f == "output" {
		return "-o"
	}
	return "--" + f
}

// rangeFlags are --since and --until, of detect (what: "sightings") and
// report ("violations").
func rangeFlags(what, others string) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "since", Usage: "keep only " + what + " from `TIME` on: an RFC 3339 date-time or a date (2024-02-01, midnight UTC); " + others},
		&cli.StringFlag{Name: "until", Usage: "keep only " + what + " before `TIME` (as --since)"},
	}
}

// timeRange reads --since and --until; nil when neither is given.
func timeRange(c *cli.Context) (*batch.TimeRange, error) {
	r, err := batch.ParseTimeRange(c.String("since"), c.String("until"))
	if err != nil {
		return nil, usageError(c, "%v", err)
	}
	return r, nil
}
