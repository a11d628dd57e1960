package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/report"
	"github.com/urfave/cli/v2"
)

func init() { register(reportCommand) }

func reportCommand() *cli.Command {
	return &cli.Command{
		Name:      "report",
		Usage:     "write an HTML report (map, timeline, episodes) of what detect found",
		UsageText: "linewatch report --line L.geojson [--policy P.yaml] [--summary FILE] [--title TEXT]\n  [--since TIME] [--until TIME] [-o report.html] ALERTS.geojson",
		Description: "Reads the GeoJSON that detect wrote (a FeatureCollection or one Feature per line, .gz or -\n" +
			"for standard input; stream's alerts too, each episode at its latest state) and writes one\n" +
			"self-contained HTML page that opens from disk in any browser and loads nothing from the\n" +
			"network: a map of the line with its sectors coloured by the worst class seen, the episodes\n" +
			"and violations, a timeline of sectors against time shaded by score with the episodes\n" +
			"outlined, a table of the episodes with each criterion beside its threshold, and the run's\n" +
			"summary and policy. Give the line and --policy that detect used. The timeline's cells are\n" +
			"summed from the violations in the file: write the alerts with --isolated --evidence for\n" +
			"all of them (detect --report writes the same page in one go). --since and --until show the\n" +
			"violations of a time range and the episodes that overlap it (the summary stays the run's).\n" +
			"Example:\n\n" +
			"  linewatch detect --line fixtures/lines/front-2024.geojson --isolated --evidence \\\n" +
			"    --summary summary.json -o alerts.geojson fixtures/sightings/front-2024-q1.ndjson.gz\n" +
			"  linewatch report --line fixtures/lines/front-2024.geojson --summary summary.json \\\n" +
			"    -o report.html alerts.geojson",
		Flags: append(append(lineFlags(),
			&cli.StringFlag{Name: "summary", Usage: "include the run's summary from `FILE`, as detect --summary wrote it", TakesFile: true},
			&cli.StringFlag{Name: "title", Usage: "the page's `TITLE` (default: linewatch report)"},
		), rangeFlags("violations, and the episodes that overlap the range,", "the others are left out")...),
		Action: reportAction,
	}
}

func reportAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageError(c, "report takes one ALERTS file (detect's output), got %d", c.NArg())
	}
	name := c.Args().First()
	if err := checkOutputs(c, []string{"output"}, []string{"line", "policy", "summary"}, []string{name}); err != nil {
		return err
	}
	rng, err := timeRange(c)
	if err != nil {
		return err
	}
	line, pol, err := loadLine(c)
	if err != nil {
		return err
	}
	data, err := readAlerts(c, name)
	if err != nil {
		return err
	}
	d, err := report.Parse(data, line, pol)
	if err != nil {
		return unusable(fmt.Errorf("alerts %s: %w", name, err))
	}
	d.Source, d.PolicySource, d.Title = name, c.String("policy"), c.String("title")
	if rng != nil {
		d.Keep(rng.Since, rng.Until, rng.String())
	}
	if s := c.String("summary"); s != "" {
		b, err := os.ReadFile(s)
		if err != nil {
			return unusable(fmt.Errorf("summary: %w", err))
		}
		if d.Summary, err = report.ParseSummary(b); err != nil {
			return unusable(fmt.Errorf("%s: %w", s, err))
		}
	}
	logger(c).Debug("report", "episodes", len(d.Episodes), "violations", len(d.Violations))
	w, err := openOutput(c)
	if err != nil {
		return err
	}
	return w.Done(report.Write(w, d))
}

// readAlerts reads an alerts file whole ("-": standard input).
func readAlerts(c *cli.Context, name string) ([]byte, error) {
	var r io.Reader
	if name == "-" {
		r = c.App.Reader
	} else {
		if err := checkInput(name); err != nil {
			return nil, err
		}
		f, err := os.Open(name)
		if err != nil {
			return nil, unusable(fmt.Errorf("alerts: %w", err))
		}
		defer f.Close()
		r = f
	}
	data, err := report.ReadAll(r)
	if err != nil {
		return nil, unusable(fmt.Errorf("alerts %s: %w", name, err))
	}
	return data, nil
}

// writeReport writes the report of a result held in memory to a file, for
// detect --report and demo.
func writeReport(path string, d *report.Data) error {
	f, err := os.Create(path)
	if err != nil {
		return unusable(fmt.Errorf("report: %w", err))
	}
	var buf bytes.Buffer
	werr := report.Write(&buf, d)
	if werr == nil {
		_, werr = f.Write(buf.Bytes())
	}
	if err := errors.Join(werr, f.Close()); err != nil {
		return failed(fmt.Errorf("writing report %s: %w", path, err))
	}
	return nil
}

// reportData is the report of a run held in memory.
func reportData(line *geo.Line, pol detect.Policy, res *detect.Result, policyFile string, inputs []string) *report.Data {
	d := report.FromResult(line, pol, res)
	d.PolicySource = policyFile
	d.Source = strings.Join(inputs, " ")
	return d
}
