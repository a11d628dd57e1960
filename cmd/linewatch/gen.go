package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/linewatch/linewatch/gen"
	"github.com/urfave/cli/v2"
)

func init() { register(genCommand) }

func genCommand() *cli.Command {
	d := gen.DefaultScenario()
	flags := append(lineFlags(),
		&cli.Uint64Flag{Name: "seed", Value: d.Seed, Usage: "random `SEED`: the same seed writes the same bytes"},
		&cli.StringFlag{Name: "start", Value: d.Start.Format("2006-01-02"), Usage: "first `DAY` (a date, midnight UTC, or an RFC 3339 time)"},
		&cli.IntFlag{Name: "days", Value: d.Days, Usage: "length of the scenario in `DAYS`"},
		&cli.IntFlag{Name: "records", Usage: "approximate total number of `N` records to write (sets --background)"},
		&cli.Float64Flag{Name: "background", Value: d.Background, Usage: "own-side activity: `N` sightings per km of line per day"},
		&cli.Float64Flag{Name: "incidents", Value: d.Incidents, Usage: "isolated incidents (a single incursion or shell across the line) per day: `N`"},
		&cli.StringSliceFlag{Name: "offensive", Usage: "inject an offensive; `SPEC` is PARTY:SECTORS:START[:DURATION], as in RU:S040-S043:2024-01-05:6d (6 days if no duration; repeatable)"},
		&cli.StringSliceFlag{Name: "bombardment", Usage: "inject a bombardment, sustained fire without ground movement; `SPEC` as for --offensive (4 days if no duration)"},
		&cli.StringSliceFlag{Name: "raid", Usage: "inject a raid, a short incursion by a couple of units; `SPEC` as for --offensive (1 day if no duration)"},
		&cli.StringFlag{Name: "scenario", Usage: "read the scenario from a YAML `FILE` (flags given as well override it; events add up)", TakesFile: true},
		&cli.Float64Flag{Name: "bad", Value: d.Bad, Usage: "`SHARE` of records that are bad (invalid JSON, no time, out-of-range coordinate, unknown kind, …)"},
		&cli.Float64Flag{Name: "duplicates", Value: d.Duplicates, Usage: "`SHARE` of records that duplicate another"},
		&cli.Float64Flag{Name: "conflicting", Value: d.Conflicting, Usage: "`SHARE` of the duplicates that conflict (same id, other content)"},
		&cli.Float64Flag{Name: "tracked", Value: d.Tracked, Usage: "`SHARE` of background sightings that belong to a patrol track"},
		&cli.Float64Flag{Name: "fire", Value: d.Fire, Usage: "`SHARE` of background sightings that are fire on the firer's own side (at most 1 − tracked)"},
		&cli.Float64Flag{Name: "sideless-fire", Value: d.SidelessFire, Usage: "`SHARE` of fire without side (origin → impact LineString, or impact Point)"},
		&cli.Float64Flag{Name: "imprecise", Value: d.Imprecise, Usage: "`SHARE` of positions with precision_m 500–3000 instead of a GPS fix"},
		&cli.Float64Flag{Name: "unattributed", Value: d.Unattributed, Usage: "`SHARE` of background ground sightings without side"},
		&cli.BoolFlag{Name: "shuffle", Usage: "write records in random order (default: time order)"},
		&cli.StringFlag{Name: "format", Usage: "`FORMAT`: geojsonseq (one Feature per line) or geojson (a FeatureCollection); default: geojson for a .geojson or .json output, else geojsonseq"},
		&cli.BoolFlag{Name: "gzip", Usage: "gzip the output (the default for an output ending in .gz)"},
		&cli.StringFlag{Name: "truth", Usage: "write what was injected, and what detect should find, as JSON to `FILE`", TakesFile: true},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "do not describe the scenario on standard error"},
	)
	return &cli.Command{
		Name:  "gen",
		Usage: "write a deterministic scenario of sightings on a line, and its truth",
		UsageText: "linewatch gen --line L.geojson [--seed N] [--start 2024-01-01] [--days 90] [--records N]\n" +
			"  [--offensive P:S040-S043:2024-01-05:6d]... [--bombardment …]... [--raid …]... [--scenario F.yaml]\n" +
			"  [--bad 0.01] [--duplicates 0.01] [--shuffle] [--format geojsonseq|geojson] [-o OUT[.gz]] [--truth FILE]",
		Description: "Writes background own-side activity (positions and patrol tracks behind each party's side,\n" +
			"fire landing on the firer's own side), isolated incidents, and the offensives, bombardments and\n" +
			"raids asked for, with bad records, duplicates, fire without side and imprecise fixes. The same\n" +
			"seed gives the same bytes. --truth writes what was injected and the summary and episodes a\n" +
			"detect run with the same policy should report. Events are numbered E1, E2, … as the scenario\n" +
			"file lists them, then the --offensive, --bombardment and --raid flags, in that order. Example:\n\n" +
			"  linewatch gen --line fixtures/lines/front-2024.geojson --days 60 \\\n" +
			"    --offensive RU:S040-S043:2024-01-05:6d --bombardment UA:S012-S013:2024-02-01:5d \\\n" +
			"    --raid RU:S070:2024-02-10 -o sightings.ndjson.gz --truth truth.json",
		Flags:  flags,
		Action: genAction,
	}
}

func genAction(c *cli.Context) error {
	if c.Args().Present() {
		return usageError(c, "gen takes no arguments, got %q", c.Args().First())
	}
	if err := checkOutputs(c, []string{"output", "truth"}, []string{"line", "policy", "scenario"}, nil); err != nil {
		return err
	}
	line, pol, err := loadLine(c)
	if err != nil {
		return err
	}
	sc := gen.DefaultScenario()
	if p := c.String("scenario"); p != "" {
		if err := gen.LoadScenario(p, &sc); err != nil {
			return unusable(err)
		}
	}
	if err := genFlags(c, &sc); err != nil {
		return err
	}
	sc.Policy = &pol
	out := c.String("output")
	if !c.IsSet("gzip") && strings.HasSuffix(out, ".gz") {
		sc.Gzip = true
	}
	if c.IsSet("format") {
		if sc.Format, err = gen.ParseFormat(c.String("format")); err != nil {
			return usageError(c, "--format: %v", err)
		}
	} else {
		switch name := strings.TrimSuffix(out, ".gz"); {
		case strings.HasSuffix(name, ".geojson") || strings.HasSuffix(name, ".json"):
			sc.Format = gen.GeoJSON
		case strings.HasSuffix(name, ".ndjson") || strings.HasSuffix(name, ".geojsonl") ||
			strings.HasSuffix(name, ".geojsons") || strings.HasSuffix(name, ".jsonl"):
			sc.Format = gen.GeoJSONSeq
		}
	}
	if err := gen.Check(line, sc); err != nil {
		return usageError(c, "%v", err)
	}
	// Check the truth file can be written before writing anything big.
	var truthFile *os.File
	if p := c.String("truth"); p != "" {
		if truthFile, err = os.Create(p); err != nil {
			return unusable(fmt.Errorf("truth: %w", err))
		}
		defer truthFile.Close()
	}
	w, err := openOutput(c)
	if err != nil {
		return err
	}
	began := time.Now()
	truth, err := gen.Generate(line, sc, w)
	if err != nil {
		w.Close()
		var we *gen.WriteError
		if errors.As(err, &we) {
			return failed(err)
		}
		return usageError(c, "%v", err)
	}
	if err := w.Close(); err != nil {
		return err
	}
	elapsed := time.Since(began)
	if truthFile != nil {
		b, err := json.MarshalIndent(truth, "", "  ")
		if err == nil {
			_, err = truthFile.Write(append(b, '\n'))
		}
		if err == nil {
			err = truthFile.Close()
		}
		if err != nil {
			return failed(fmt.Errorf("writing truth %s: %w", c.String("truth"), err))
		}
	}
	if !c.Bool("quiet") {
		truth.Describe(c.App.ErrWriter, w.name, elapsed)
	}
	return nil
}

// genFlags applies the flags given on the command line over sc (defaults
// or a scenario file).
func genFlags(c *cli.Context, sc *gen.Scenario) error {
	fromFile := c.String("scenario") != ""
	set := func(name string) bool { return c.IsSet(name) || !fromFile }
	if set("seed") {
		sc.Seed = c.Uint64("seed")
	}
	if set("start") {
		t, err := gen.ParseStart(c.String("start"))
		if err != nil {
			return usageError(c, "--start: %v", err)
		}
		sc.Start = t
	}
	if set("days") {
		sc.Days = c.Int("days")
	}
	if set("records") {
		sc.Records = c.Int("records")
	}
	for _, f := range []struct {
		name string
		dst  *float64
	}{
		{"background", &sc.Background}, {"incidents", &sc.Incidents}, {"bad", &sc.Bad},
		{"duplicates", &sc.Duplicates}, {"conflicting", &sc.Conflicting}, {"tracked", &sc.Tracked},
		{"fire", &sc.Fire}, {"sideless-fire", &sc.SidelessFire}, {"imprecise", &sc.Imprecise}, {"unattributed", &sc.Unattributed},
	} {
		if set(f.name) {
			*f.dst = c.Float64(f.name)
		}
	}
	if set("shuffle") {
		sc.Shuffle = c.Bool("shuffle")
	}
	if c.IsSet("gzip") {
		sc.Gzip = c.Bool("gzip")
	}
	for _, typ := range []gen.EventType{gen.Offensive, gen.Bombardment, gen.Raid} {
		for _, spec := range c.StringSlice(string(typ)) {
			ev, err := gen.ParseEvent(typ, spec)
			if err != nil {
				return usageError(c, "--%s: %v", typ, err)
			}
			sc.Events = append(sc.Events, ev)
		}
	}
	return nil
}
