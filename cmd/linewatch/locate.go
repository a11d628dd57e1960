package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/linewatch/linewatch/feed"
	"github.com/linewatch/linewatch/locate"
	"github.com/urfave/cli/v2"
)

func init() { register(locateCommand) }

func locateCommand() *cli.Command {
	return &cli.Command{
		Name:      "locate",
		Usage:     "annotate sightings with their side, distance, chainage and sector",
		UsageText: "linewatch locate --line L.geojson [--policy P.yaml] [-o OUT] [--rejects FILE] SIGHTINGS...",
		Description: "Reads GeoJSON Features (GeoJSON text sequences, newline-delimited GeoJSON or a\n" +
			"FeatureCollection; .gz or - for standard input) and writes each one on a line,\n" +
			"unchanged but for added properties lw_side, lw_distance_m, lw_km, lw_sector and\n" +
			"lw_beyond_end, taken at the Point, the last coordinate of a LineString or the\n" +
			"first point of a MultiPoint. Records that detect would reject are counted and\n" +
			"written to --rejects, with detect's reason. Example:\n\n" +
			"  linewatch locate --line fixtures/lines/front-2024.geojson -o located.ndjson \\\n" +
			"    --rejects rejects.ndjson fixtures/sightings/front-2024-q1.ndjson.gz",
		Flags: append(lineFlags(),
			&cli.StringFlag{Name: "rejects", Usage: "write rejected records to `FILE`, one JSON object per line", TakesFile: true},
		),
		Action: locateAction,
	}
}

func locateAction(c *cli.Context) error {
	inputs := c.Args().Slice()
	if len(inputs) == 0 {
		return usageError(c, "no SIGHTINGS: name one or more files, or - for standard input")
	}
	if err := checkOutputs(c, []string{"output", "rejects"}, []string{"line", "policy"}, inputs); err != nil {
		return err
	}
	l, _, err := loadLine(c)
	if err != nil {
		return err
	}
	for _, name := range inputs {
		if name == "-" {
			continue
		}
		if err := checkInput(name); err != nil {
			return err
		}
	}
	var rejects *rejectFile
	if name := c.String("rejects"); name != "" {
		if rejects, err = createRejects(name); err != nil {
			return err
		}
	}
	out, err := openOutput(c)
	if err != nil {
		if rejects != nil {
			rejects.Close()
		}
		return err
	}
	start := time.Now()
	var rw *feed.RejectWriter
	if rejects != nil {
		rw = rejects.w
	}
	st, runErr := locate.Run(l, inputs, out, rw, runtime.GOMAXPROCS(0))
	closeErr := out.Close()
	if rejects != nil {
		closeErr = errors.Join(closeErr, rejects.Close())
	}
	if runErr != nil { // one line: the error, no summary
		var we *locate.WriteError
		if errors.As(runErr, &we) {
			return failed(runErr)
		}
		return unusable(runErr)
	}
	wall := time.Since(start).Seconds()
	fmt.Fprintf(c.App.ErrWriter, "linewatch locate: %d records read, %d annotated, %d rejected in %.3f s (%.0f records/s)\n",
		st.Read, st.Annotated, st.Rejected, wall, float64(st.Read)/max(wall, 1e-9))
	return closeErr
}

// rejectFile is the --rejects file: one JSON object per line for each
// rejected record (SPEC §5), written by feed.RejectWriter.
type rejectFile struct {
	f *os.File
	w *feed.RejectWriter
}

func createRejects(name string) (*rejectFile, error) {
	f, err := os.Create(name)
	if err != nil {
		return nil, unusable(fmt.Errorf("rejects: %w", err))
	}
	return &rejectFile{f: f, w: feed.NewRejectWriter(f)}, nil
}

func (r *rejectFile) write(rec *feed.Record, reason string) error {
	return r.w.Write(*rec, reason)
}

func (r *rejectFile) Close() error {
	err := errors.Join(r.w.Flush(), r.f.Close())
	if err != nil {
		return failed(fmt.Errorf("writing rejects: %w", err))
	}
	return nil
}
