package main

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"github.com/linewatch/linewatch/batch"
	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/internal/progress"
	"github.com/linewatch/linewatch/output"
	"github.com/linewatch/linewatch/report"
	"github.com/urfave/cli/v2"
)

func init() { register(detectCommand) }

func detectCommand() *cli.Command {
	flags := append(lineFlags(),
		&cli.StringFlag{Name: "format", Value: "geojson", Usage: "output `FORMAT`: geojson, geojsonseq, csv (one row per episode, with its line as WKT), gpkg (a GeoPackage: episodes, violations and sectors layers, styled for QGIS) or kml (Google Earth)"},
		&cli.StringFlag{Name: "rejects", Usage: "write rejected records to `FILE`, one JSON object per line", TakesFile: true},
		&cli.StringFlag{Name: "summary", Usage: "write the run's summary as JSON to `FILE` (default: in words on standard error)", TakesFile: true},
		&cli.BoolFlag{Name: "isolated", Usage: "add a Point Feature per isolated violation"},
		&cli.BoolFlag{Name: "evidence", Usage: "add a Point Feature per violation of every episode"},
		&cli.BoolFlag{Name: "strict", Usage: "exit with status 1 if any record was rejected"},
		&cli.IntFlag{Name: "workers", Usage: "decode and locate on `N` goroutines (default: one per core); the output never depends on it"},
		&cli.StringFlag{Name: "report", Usage: "also write the HTML report (map, timeline, episodes, summary) to `FILE`", TakesFile: true},
		&cli.StringFlag{Name: "title", Usage: "the report's `TITLE` (default: linewatch report)"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress bar and no summary on standard error (--summary FILE is still written)"},
		sourcesFlag("the sources registry, a YAML `FILE`: each source's affiliation, which corroboration counts (docs/sources.md)"),
	)
	flags = append(flags, rangeFlags("sightings", "the others are counted as outside")...)
	flags = append(flags, fromFlags()...) // --from csv|acled|ucdp: see import.go
	return &cli.Command{
		Name:      "detect",
		Usage:     "find violations in sighting files and classify them into episodes",
		UsageText: "linewatch detect --line L.geojson [--policy P.yaml] [-o OUT] [--format geojson|geojsonseq|csv|gpkg|kml]\n  [--rejects FILE] [--summary FILE] [--report FILE [--title TEXT]] [--since TIME] [--until TIME]\n  [--isolated] [--evidence] [--strict] [--quiet] [--sources FILE] SIGHTINGS...",
		Description: "Reads sightings (GeoJSON FeatureCollection or GeoJSON text sequence / NDJSON files, .gz,\n" +
			"or - for standard input), judges each against the agreed line, aggregates violations per\n" +
			"party, sector and window, and writes every episode with its class, figures, criteria and\n" +
			"evidence. --report FILE writes the HTML report of the run as well (see linewatch report).\n" +
			"--since and --until keep the sightings of a time range (the others are counted as outside).\n" +
			"Options may come before or after the files (a file named like an option goes after --).\n" +
			"On a terminal, a run longer than a second shows its progress on standard error. Example:\n\n" +
			"  linewatch detect --line fixtures/lines/front-2024.geojson --isolated -o alerts.geojson \\\n" +
			"    --report report.html fixtures/sightings/front-2024-q1.ndjson.gz",
		Flags:  flags,
		Action: detectAction,
	}
}

// softMemoryLimit is the batch run's soft memory limit (GOMEMLIMIT
// overrides it).
const softMemoryLimit = 420 << 20

func detectAction(c *cli.Context) error {
	inputs := c.Args().Slice()
	if len(inputs) == 0 {
		return usageError(c, "no sighting files given (use - for standard input)")
	}
	format, err := output.ParseFormat(c.String("format"))
	if err != nil {
		return usageError(c, "%v", err)
	}
	if format == output.GPKG && c.String("output") == "" {
		return usageError(c, "--format gpkg writes a file: give it with -o FILE.gpkg")
	}
	rng, err := timeRange(c)
	if err != nil {
		return err
	}
	line, pol, err := loadLine(c)
	if err != nil {
		return err
	}
	if _, err := loadSources(c, line, &pol); err != nil {
		return err
	}
	for _, in := range inputs {
		if in == "-" {
			continue
		}
		if _, err := os.Stat(in); err != nil {
			return unusable(fmt.Errorf("input: %w", err))
		}
	}
	if err := checkOutputs(c, []string{"output", "rejects", "summary", "report"},
		[]string{"line", "policy", "map", "sources"}, inputs); err != nil {
		return err
	}
	from, err := detectFrom(c, inputs) // nil without --from
	if err != nil {
		return err
	}
	var rejects *rejectFile
	if name := c.String("rejects"); name != "" {
		if rejects, err = createRejects(name); err != nil {
			return err
		}
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// Batch runs hold a few words per record (the duplicate check) and
		// per track point; the rest is garbage. A soft limit makes the
		// collector work harder as memory nears it instead of letting the
		// heap double: ten million sightings stay under 512 MB. It is no
		// cap: a bigger input goes past it, more slowly.
		debug.SetMemoryLimit(softMemoryLimit)
	}
	start := time.Now()
	cfg := batch.Config{Judge: detect.NewJudge(line, pol), Workers: c.Int("workers"), Range: rng}
	if rejects != nil {
		cfg.Reject = func(rj batch.Rejected) error {
			if err := rejects.write(&rj.Record, rj.Reason); err != nil {
				return &rejectsError{err}
			}
			return nil
		}
	}
	bar := progress.New(c.App.ErrWriter, inputs, c.Bool("quiet"))
	if bar != nil {
		cfg.Progress = bar.Update
	}
	if from != nil {
		cfg.Open = from
	}
	out, err := batch.Run(cfg, inputs)
	bar.Done()
	if err != nil {
		if rejects != nil {
			rejects.Close()
		}
		// Writing the rejects failed: the run did, not its input.
		var re *rejectsError
		if errors.As(err, &re) {
			return failed(fmt.Errorf("writing rejects: %w", re.err))
		}
		return unusable(err)
	}
	logger(c).Debug("detected", "inputs", len(inputs), "records", out.Counts.Read,
		"episodes", len(out.Result.Episodes), "wall_s", time.Since(start).Seconds())
	w, err := openOutput(c)
	if err != nil {
		return err
	}
	opt := output.Options{Format: format, Isolated: c.Bool("isolated"), Evidence: c.Bool("evidence")}
	if err := w.Done(output.Write(w, line, pol, &out.Result, opt)); err != nil {
		return err
	}
	if rejects != nil {
		if err := rejects.Close(); err != nil {
			return err
		}
	}
	k := out.Counts
	sum := output.Summary{
		Records: k,
		Result:  &out.Result,
		WallS:   time.Since(start).Seconds(),
		Range:   rng.String(),
	}
	if name := c.String("summary"); name != "" {
		if err := os.WriteFile(name, sum.AppendJSON(nil), 0o644); err != nil {
			return failed(fmt.Errorf("summary: %w", err))
		}
	} else if !c.Bool("quiet") {
		if err := sum.WriteText(c.App.ErrWriter); err != nil {
			return failed(err)
		}
	}
	if name := c.String("report"); name != "" {
		d := reportData(line, pol, &out.Result, c.String("policy"), inputs)
		d.Summary = report.SummaryOf(&sum)
		d.Title, d.Range = c.String("title"), rng.String()
		if err := writeReport(name, d); err != nil {
			return err
		}
	}
	if c.Bool("strict") && k.Rejected > 0 {
		return failed(fmt.Errorf("%d records rejected (--strict)", k.Rejected))
	}
	return nil
}

// rejectsError is a failure to write the rejects file, told apart from an
// unusable input when it stops a batch run.
type rejectsError struct{ err error }

func (e *rejectsError) Error() string { return e.err.Error() }
func (e *rejectsError) Unwrap() error { return e.err }
