package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/linewatch/linewatch/batch"
	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/fixtures"
	"github.com/linewatch/linewatch/gen"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/internal/num"
	"github.com/linewatch/linewatch/output"
	"github.com/linewatch/linewatch/report"
	"github.com/urfave/cli/v2"
)

func init() { register(demoCommand) }

// demoEvents are the demo's injected events, as gen's flags take them:
// the scenario of fixtures/sightings/front-2024-q1.ndjson.gz.
var demoEvents = []struct {
	typ  gen.EventType
	spec string
}{
	{gen.Offensive, "RU:S062-S065:2024-01-15:10d"},
	{gen.Offensive, "UA:S042-S043:2024-03-01:6d"},
	{gen.Bombardment, "RU:S008-S009:2024-02-05:6d"},
	{gen.Raid, "UA:S085:2024-02-20"},
	{gen.Raid, "RU:S020-S021:2024-03-12:2d"},
}

const demoSeed = 2024

// The demo's files, in the order it describes them.
var demoFiles = []struct{ name, what string }{
	{"line.geojson", "the agreed line the demo judged against (the bundled 2024 front)"},
	{"sightings.ndjson.gz", "the generated sightings, one GeoJSON Feature per line (gzipped)"},
	{"alerts.geojson", "the episodes and isolated violations: open it in QGIS, kepler.gl or geojson.io"},
	{"summary.json", "the run's account of its records, violations and episodes"},
	{"report.html", "map, timeline and table of the episodes: open it in a browser"},
}

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:      "demo",
		Usage:     "generate 90 days of sightings on the bundled line, detect, and write the alerts and a report",
		UsageText: "linewatch demo [--out DIR]",
		Description: "Runs linewatch end to end on the bundled agreed line (about 966 km of the 2024 front, UA on\n" +
			"one side, RU on the other): generates a 90-day scenario (seed 2024) of background activity,\n" +
			"isolated incidents, two offensives, a bombardment and two raids, with bad and duplicate\n" +
			"records; detects; and writes to DIR the line (line.geojson), the sightings, alerts.geojson\n" +
			"(episodes and isolated violations), summary.json and report.html. It prints what it found —\n" +
			"every class shows up: sustained offensives, a sustained bombardment, escalations, isolated\n" +
			"violations — and where, and a detect command to run next. The same every time. Example:\n\n" +
			"  linewatch demo --out /tmp/linewatch-demo && xdg-open /tmp/linewatch-demo/report.html",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Value: "linewatch-demo", Usage: "write the files to `DIR` (created if missing)", TakesFile: true},
		},
		Action: demoAction,
	}
}

func demoAction(c *cli.Context) error {
	if c.Args().Present() {
		return usageError(c, "demo takes no arguments, got %q", c.Args().First())
	}
	began := time.Now()
	dir := c.String("out")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return unusable(fmt.Errorf("--out: %w", err))
	}
	pol := detect.DefaultPolicy()
	line, err := geo.Load(bytes.NewReader(fixtures.Front2024), pol.LineOptions())
	if err != nil {
		return fmt.Errorf("the bundled line: %w", err) // cannot happen: the tests load it
	}
	path := func(name string) string { return filepath.Join(dir, name) }
	if err := os.WriteFile(path("line.geojson"), fixtures.Front2024, 0o644); err != nil {
		return failed(fmt.Errorf("writing the line: %w", err))
	}

	// 1. Generate.
	sc := gen.DefaultScenario()
	sc.Seed = demoSeed
	sc.Gzip = true
	sc.Format = gen.GeoJSONSeq
	sc.Policy = &pol
	for _, e := range demoEvents {
		ev, err := gen.ParseEvent(e.typ, e.spec)
		if err != nil {
			return fmt.Errorf("demo event %s: %w", e.spec, err)
		}
		sc.Events = append(sc.Events, ev)
	}
	t0 := time.Now()
	truth, err := createFile(path("sightings.ndjson.gz"), func(w io.Writer) (*gen.Truth, error) { return gen.Generate(line, sc, w) })
	if err != nil {
		return err
	}
	genTime := time.Since(t0)

	// 2. Detect, as linewatch detect --isolated --summary --report does.
	t0 = time.Now()
	out, err := batch.Run(batch.Config{Judge: detect.NewJudge(line, pol)}, []string{path("sightings.ndjson.gz")})
	if err != nil {
		return unusable(err)
	}
	k := out.Counts
	sum := output.Summary{
		Records: k,
		Result:  &out.Result,
	}
	if _, err := createFile(path("alerts.geojson"), func(w io.Writer) (any, error) {
		return nil, output.Write(w, line, pol, &out.Result, output.Options{Format: output.GeoJSON, Isolated: true})
	}); err != nil {
		return err
	}
	sum.WallS = time.Since(t0).Seconds()
	if err := os.WriteFile(path("summary.json"), sum.AppendJSON(nil), 0o644); err != nil {
		return failed(fmt.Errorf("summary: %w", err))
	}
	detectTime := time.Since(t0)

	// 3. Report.
	t0 = time.Now()
	d := reportData(line, pol, &out.Result, "", []string{fmt.Sprintf("sightings.ndjson.gz (generated with seed %d)", demoSeed)})
	d.Title = "linewatch demo: 90 days on the 2024 front"
	d.Summary = report.SummaryOf(&sum)
	if err := writeReport(path("report.html"), d); err != nil {
		return err
	}
	reportTime := time.Since(t0)
	logger(c).Debug("demo", "gen_s", genTime.Seconds(), "detect_s", detectTime.Seconds(), "report_s", reportTime.Seconds())

	return demoDescribe(c.App.Writer, dir, line, truth, out, time.Since(began))
}

// createFile creates name and has write fill it, buffered.
func createFile[T any](name string, write func(io.Writer) (T, error)) (T, error) {
	var zero T
	f, err := os.Create(name)
	if err != nil {
		return zero, unusable(fmt.Errorf("output: %w", err))
	}
	bw := bufio.NewWriterSize(f, 1<<16)
	v, werr := write(bw)
	if werr == nil {
		werr = bw.Flush()
	}
	if err := errors.Join(werr, f.Close()); err != nil {
		return zero, failed(fmt.Errorf("writing %s: %w", name, err))
	}
	return v, nil
}

// demoDescribe prints what the demo did and found, and where the files are.
func demoDescribe(w io.Writer, dir string, line *geo.Line, truth *gen.Truth, out *batch.Outcome, took time.Duration) error {
	var sb strings.Builder
	p := line.Parties()
	fmt.Fprintf(&sb, "linewatch demo: %d days from %s on the bundled line, %s km of the 2024 front in %d sectors, %s/%s\n",
		truth.Days, truth.Start[:10], num.Format(line.LengthKm(), 1), len(line.Sectors()), p[0], p[1])
	if err := truth.WriteFound(&sb, line, out.Counts, &out.Result); err != nil {
		return err
	}
	fmt.Fprintf(&sb, "took %.2f s. Files in %s:\n", took.Seconds(), dir)
	for _, f := range demoFiles {
		fmt.Fprintf(&sb, "  %-20s %s\n", f.name, f.what)
	}
	self, goRun := selfCommand()
	fmt.Fprintf(&sb, "Next, the same on your own sightings (GeoJSON, one Feature per line or a FeatureCollection;\n"+
		"CSV and GeoJSON exports through 'import'). As it stands, this command runs on the demo's:\n"+
		"  %s detect --line %s --isolated -o %s --report %s %s\n",
		self, shellQuote(filepath.Join(dir, "line.geojson")), shellQuote(filepath.Join(dir, "alerts.geojson")),
		shellQuote(filepath.Join(dir, "report.html")), shellQuote(filepath.Join(dir, "sightings.ndjson.gz")))
	if goRun {
		sb.WriteString("(from the repository's root, as go run was; or install linewatch first:\n" +
			"  go install github.com/linewatch/linewatch/cmd/linewatch@latest\n" +
			"and run linewatch detect … from anywhere)\n")
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

// selfCommand is how to run this linewatch again from the shell: "go
// run ./cmd/linewatch" when go run built it into a temporary directory,
// its name when the PATH finds it under that name, else its path.
func selfCommand() (cmd string, goRun bool) {
	exe, err := os.Executable()
	if err != nil {
		return "linewatch", false
	}
	if strings.Contains(filepath.ToSlash(exe), "/go-build") {
		return "go run ./cmd/linewatch", true
	}
	name := filepath.Base(exe)
	if p, err := exec.LookPath(name); err == nil {
		if a, err1 := os.Stat(p); err1 == nil {
			if b, err2 := os.Stat(exe); err2 == nil && os.SameFile(a, b) {
				return name, false
			}
		}
	}
	return shellQuote(exe), false
}

// shellQuote quotes s for a POSIX shell where it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./+=:,@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
