package main

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	_ "time/tzdata" // --tz works where the system has no zone database

	"github.com/linewatch/linewatch/feed"
	"github.com/linewatch/linewatch/importer"
	"github.com/linewatch/linewatch/output"
	"github.com/urfave/cli/v2"
)

func init() { register(importCommand) }

const importCategory = "reading CSV or GeoJSON (import, detect --from)"

// importFlags are the flags that say how CSV rows become sightings,
// shared by `import` and `detect --from`.
func importFlags() []cli.Flag {
	col := func(f importer.Field, usage string) cli.Flag {
		return &cli.StringFlag{Name: f.FlagName(), Usage: usage, Category: importCategory}
	}
	return []cli.Flag{
		&cli.StringFlag{Name: "delimiter", Usage: "field delimiter `CHAR`: , ; tab | or any one character (default: sniffed from the header)", Category: importCategory},
		&cli.StringFlag{Name: "encoding", Usage: "`ENCODING` of the CSV files: utf-8, latin-1, windows-1252 or utf-16 (default: utf-8; a UTF-16 byte-order mark is always obeyed)", Category: importCategory},
		col(importer.Lon, "longitude: a `COLUMN` name, or =VALUE for a constant (every field flag takes either); default: a GeoJSON file's Point, else the dialect's column, else guessed (x, lon, lng, long, longitude, or a WKT column)"),
		col(importer.Lat, "latitude `COLUMN` (default: as for --lon)"),
		col(importer.Time, "time `COLUMN`: ISO 8601 / RFC 3339, or as --time-format says"),
		col(importer.TimeEnd, "`COLUMN` of the end of the time's span (the time becomes its middle)"),
		&cli.StringFlag{Name: "time-format", Usage: "Go time `LAYOUTS` separated by | (2006-01-02, 02/01/2006 15:04, 2006/01/02 15:04:05-07, …), or unix, unixms (default: ISO 8601 / RFC 3339, or GDAL's 2014/01/22 00:00:00+00)", Category: importCategory},
		&cli.StringFlag{Name: "tz", Usage: "`ZONE` of times written without one: Europe/Kyiv, UTC, +02:00 (default: such times are rejected; acled, ucdp: UTC)", Category: importCategory},
		col(importer.ID, "sighting id `COLUMN` (default: none, a hash of the sighting)"),
		col(importer.Side, "party `COLUMN` of the force observed or acting"),
		col(importer.Kind, "kind `COLUMN`: ground or fire"),
		col(importer.Track, "track `COLUMN`"),
		col(importer.Strength, "strength `COLUMN`"),
		col(importer.Confidence, "confidence `COLUMN`, in (0, 1]"),
		col(importer.PrecisionM, "`COLUMN` of the position's precision in metres"),
		col(importer.Source, "source (observer) `COLUMN`"),
		col(importer.TimeUncertainty, "`COLUMN` of the time's uncertainty in seconds, either side"),
		&cli.StringFlag{Name: "map", Usage: "YAML `FILE` of value maps: side, kind, precision_m, … (see 'Your own data' in the README)", TakesFile: true, Category: importCategory},
	}
}

func importCommand() *cli.Command {
	sub := func(d importer.Dialect, usage, desc string) *cli.Command {
		flags := append(importFlags(),
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the sightings to `FILE` (.gz: gzipped; default: standard output)", TakesFile: true},
			&cli.StringFlag{Name: "rejects", Usage: "write rejected rows to `FILE`, one JSON object per line", TakesFile: true},
			&cli.StringFlag{Name: "summary", Usage: "write the counts as JSON to `FILE` (default: in words on standard error)", TakesFile: true},
			&cli.BoolFlag{Name: "strict", Usage: "exit with status 1 if any row was rejected"},
		)
		return &cli.Command{
			Name:            string(d),
			Usage:           usage,
			UsageText:       "linewatch import " + string(d) + " [options] FILE... [-o OUT]",
			Description:     desc,
			Flags:           flags,
			HideHelpCommand: true,
			OnUsageError: func(c *cli.Context, err error, _ bool) error {
				return importUsage(c, "%v", err)
			},
			Action: func(c *cli.Context) error { return importAction(c, d) },
		}
	}
	return &cli.Command{
		Name:      "import",
		Usage:     "turn CSV or GeoJSON files (your own, ACLED or UCDP GED exports) into GeoJSONSeq sightings",
		UsageText: "linewatch import csv|acled|ucdp [options] FILE... [-o OUT]",
		Description: "Reads CSV files and writes one sighting per row, a GeoJSON Feature per line, that\n" +
			"detect and stream read (detect --from reads the files directly). Rows that cannot be mapped\n" +
			"are rejected with their line and reason (--rejects); every other column is carried as a\n" +
			"property. GeoJSON files (a FeatureCollection, or one Feature per line, as ogr2ogr exports\n" +
			"them) are read too: each Feature is a row, its properties the columns, its Point the position.\n" +
			"Without --lon and --lat, a CSV file's position columns are guessed as QGIS does (the\n" +
			"dialect's own, else x/y, lon/lat, lng/lat, long/lat, or a WKT column wkt or geometry; any\n" +
			"case), and the guess is said on standard error. Times may be written as GDAL writes them\n" +
			"(2014/01/22 00:00:00+00). It exits 1 when rows were read and none imported. Examples:\n\n" +
			"  linewatch import csv --lon x --lat y --time when --tz Europe/Kyiv --side =UA log.csv -o log.geojsonl\n" +
			"  linewatch import acled --map actors.yaml acled-export.csv -o acled.geojsonl\n" +
			"  linewatch import ucdp GEDEvent_v23_1.csv -o ucdp.geojsonl\n" +
			"  linewatch import ucdp fixtures/import/ucdp-gdal.csv -o ucdp.geojsonl   # X, Y and GDAL's dates",
		Subcommands: []*cli.Command{
			sub(importer.CSV, "a CSV or GeoJSON file with the columns the flags name",
				"Every field flag takes a column name or =VALUE. --time, --lon and --lat are guessed when\n"+
					"not given (a time, datetime, timestamp or date column; see linewatch import --help)."),
			sub(importer.ACLED, "an ACLED export",
				"Columns event_id_cnty, event_date, longitude, latitude, actor1 (→ side, through --map;\n"+
					"none where the map has no answer), sub_event_type (→ kind: shelling, air/drone strikes and\n"+
					"remote explosives are fire; armed clashes and territory changes ground; other types ground,\n"+
					"flagged import_flag: unmapped_kind), geo_precision 1/2/3 (→ precision_m 2000/25000/100000),\n"+
					"time_precision 1/2/3 (→ time_uncertainty_s 43200/302400/1339200), source."),
			sub(importer.UCDP, "a UCDP GED export",
				"Columns id, date_start to date_end (→ time, their middle, and time_uncertainty_s),\n"+
					"longitude, latitude, best (→ strength), where_prec 1–7 (→ precision_m 2000, 25000, 30000,\n"+
					"100000, 50000, 500000, 500000). Every event is fire without a side: it is attributed to the\n"+
					"party opposite the side where it happened."),
		},
	}
}

// importerOptions reads the importer's flags.
func importerOptions(c *cli.Context, d importer.Dialect) (*importer.Importer, error) {
	opt := importer.Options{Dialect: d, Columns: map[importer.Field]string{},
		TimeFormat: c.String("time-format"), TZ: c.String("tz")}
	for _, f := range importer.Fields() {
		if c.IsSet(f.FlagName()) {
			opt.Columns[f] = c.String(f.FlagName())
		}
	}
	if s := c.String("delimiter"); c.IsSet("delimiter") {
		switch strings.ToLower(s) {
		case "tab", `\t`:
			opt.Delimiter = '\t'
		case "comma":
			opt.Delimiter = ','
		case "semicolon":
			opt.Delimiter = ';'
		default:
			if len(s) != 1 {
				return nil, importUsage(c, "--delimiter must be one character (or tab), got %q", s)
			}
			opt.Delimiter = s[0]
		}
	}
	var err error
	if opt.Encoding, err = importer.ParseEncoding(c.String("encoding")); err != nil {
		return nil, importUsage(c, "--encoding: %v", err)
	}
	if name := c.String("map"); name != "" {
		if opt.Map, err = importer.LoadMap(name); err != nil {
			return nil, unusable(err)
		}
	}
	im, err := importer.New(opt)
	if err != nil {
		return nil, importUsage(c, "%v", err)
	}
	return im, nil
}

// importArgs returns the input files and the output (-o may follow the
// files: see interspersed).
func importArgs(c *cli.Context) (inputs []string, outName string, err error) {
	inputs = c.Args().Slice()
	if len(inputs) == 0 {
		return nil, "", importUsage(c, "no CSV or GeoJSON files given (use - for standard input)")
	}
	return inputs, c.String("output"), nil
}

func importAction(c *cli.Context, d importer.Dialect) error {
	inputs, outName, err := importArgs(c)
	if err != nil {
		return err
	}
	if err := checkOutputs(c, []string{"output", "rejects", "summary"}, []string{"map"}, inputs); err != nil {
		return importUsage(c, "%v", err)
	}
	im, err := importerOptions(c, d)
	if err != nil {
		return err
	}
	stdin := 0
	for _, in := range inputs {
		if in == "-" {
			if stdin++; stdin > 1 {
				return importUsage(c, "standard input (-) can be read only once")
			}
			continue
		}
		// Check every header before writing anything.
		rc, err := importer.OpenFile(in)
		if err != nil {
			return unusable(fmt.Errorf("input: %w", err))
		}
		_, err = im.Rows(in, rc)
		rc.Close()
		if err != nil {
			return unusable(err)
		}
	}
	var rejects *rejectFile
	if name := c.String("rejects"); name != "" {
		if rejects, err = createRejects(name); err != nil {
			return err
		}
	}
	out, err := createImportOutput(c, outName)
	if err != nil {
		if rejects != nil {
			rejects.Close()
		}
		return err
	}
	start := time.Now()
	var sum output.ImportSummary
	runErr := func() error {
		for _, in := range inputs {
			var r io.ReadCloser
			if in == "-" {
				r = io.NopCloser(c.App.Reader)
			} else if r, err = importer.OpenFile(in); err != nil {
				return unusable(fmt.Errorf("input: %w", err))
			}
			fs, err := importFile(c, im, in, r, out, rejects)
			r.Close()
			if err != nil {
				return err
			}
			sum.Total.Add(fs.Counts)
			sum.Files = append(sum.Files, fs)
		}
		return nil
	}()
	closeErr := out.Close()
	if rejects != nil {
		closeErr = errors.Join(closeErr, rejects.Close())
	}
	if runErr != nil {
		return runErr
	}
	if closeErr != nil {
		return failed(closeErr)
	}
	sum.WallS = time.Since(start).Seconds()
	if err := writeSummary(c, sum.AppendJSON, sum.WriteText); err != nil {
		return err
	}
	total := sum.Total
	if total.Rows > 0 && total.Imported == 0 {
		// Nothing came of a file that had rows: a wrong dialect, column
		// or time format, which a pipeline must not take for success.
		return failed(fmt.Errorf("no row imported: all %d rows read were rejected (see --rejects FILE for why)", total.Rows))
	}
	if c.Bool("strict") && total.Rejected > 0 {
		return failed(fmt.Errorf("%d rows rejected (--strict)", total.Rejected))
	}
	return nil
}

// importFile converts one file, saying on standard error where its
// positions come from when the flags did not say.
func importFile(c *cli.Context, im *importer.Importer, name string, r io.Reader, out io.Writer, rejects *rejectFile) (output.ImportFile, error) {
	rows, err := im.Rows(name, r)
	if err != nil {
		return output.ImportFile{}, unusable(err)
	}
	sayGuessed(c, name, rows)
	summary := func() output.ImportFile {
		fs := output.ImportFile{File: name, Format: rows.Format(), Counts: rows.Counts()}
		if d := rows.Delimiter(); d != 0 {
			fs.Delimiter = delimName(d)
		}
		return fs
	}
	for {
		row, err := rows.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return summary(), unusable(fmt.Errorf("read %s: %w", name, err))
		}
		if row.Record != nil {
			if _, err := out.Write(append(row.Record, '\n')); err != nil {
				return summary(), failed(err)
			}
			continue
		}
		if rejects != nil {
			rec := feed.Record{File: name, Line: row.Line, Index: row.Index, Raw: row.Text}
			if err := rejects.write(&rec, row.Reason); err != nil {
				return summary(), failed(fmt.Errorf("writing rejects: %w", err))
			}
		}
	}
	return summary(), nil
}

// sayGuessed says on standard error where a file's positions come from,
// when the flags did not name the columns: a GeoJSON file's Point
// geometry, or the columns guessed from a CSV header.
func sayGuessed(c *cli.Context, name string, rows *importer.Rows) {
	if g := rows.Guessed(); g != "" {
		fmt.Fprintf(c.App.ErrWriter, "%s: %s\n", name, g)
	}
}

func delimName(d byte) string {
	if d == '\t' {
		return "tab"
	}
	return string(rune(d))
}

// importOutput is import's output: a file (gzipped for .gz) or standard
// output, buffered.
type importOutput struct {
	*bufio.Writer
	zw   *gzip.Writer
	f    *os.File
	name string
}

func createImportOutput(c *cli.Context, name string) (*importOutput, error) {
	if name == "" || name == "-" {
		return &importOutput{Writer: bufio.NewWriterSize(c.App.Writer, 256<<10), name: "standard output"}, nil
	}
	f, err := os.Create(name)
	if err != nil {
		return nil, unusable(fmt.Errorf("output: %w", err))
	}
	o := &importOutput{f: f, name: name}
	if strings.HasSuffix(name, ".gz") {
		o.zw = gzip.NewWriter(f)
		o.Writer = bufio.NewWriterSize(o.zw, 256<<10)
	} else {
		o.Writer = bufio.NewWriterSize(f, 256<<10)
	}
	return o, nil
}

func (o *importOutput) Close() error {
	err := o.Flush()
	if o.zw != nil {
		err = errors.Join(err, o.zw.Close())
	}
	if o.f != nil {
		err = errors.Join(err, o.f.Close())
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", o.name, err)
	}
	return nil
}

// writeSummary writes a run's summary as JSON to --summary FILE, or else
// in words on standard error.
func writeSummary(c *cli.Context, appendJSON func([]byte) []byte, writeText func(io.Writer) error) error {
	if name := c.String("summary"); name != "" {
		if err := os.WriteFile(name, appendJSON(nil), 0o644); err != nil {
			return failed(fmt.Errorf("summary: %w", err))
		}
		return nil
	}
	if err := writeText(c.App.ErrWriter); err != nil {
		return failed(err)
	}
	return nil
}

// fromFlags are the flags `detect --from` adds: --from and the importer's.
func fromFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{Name: "from", Usage: "read the inputs as CSV or GeoJSON of `DIALECT` csv, acled or ucdp (as 'linewatch import' does, same flags)", Category: importCategory},
	}, importFlags()...)
}

// detectFrom reads --from and the importer's flags: the opener through
// which the batch driver reads the inputs, nil without --from. Every
// file's header is checked here (standard input's when it is read).
func detectFrom(c *cli.Context, inputs []string) (*importer.Opener, error) {
	if !c.IsSet("from") {
		for _, f := range importFlags() {
			if c.IsSet(f.Names()[0]) {
				return nil, importUsage(c, "--%s reads CSV: give --from csv, acled or ucdp", f.Names()[0])
			}
		}
		return nil, nil
	}
	d, err := importer.ParseDialect(c.String("from"))
	if err != nil {
		return nil, importUsage(c, "--from: %v", err)
	}
	im, err := importerOptions(c, d)
	if err != nil {
		return nil, err
	}
	for _, in := range inputs {
		if in == "-" {
			continue
		}
		rc, err := importer.OpenFile(in)
		if err != nil {
			return nil, unusable(fmt.Errorf("input: %w", err))
		}
		rows, err := im.Rows(in, rc)
		rc.Close()
		if err != nil {
			return nil, unusable(err)
		}
		if !c.Bool("quiet") {
			sayGuessed(c, in, rows)
		}
	}
	return importer.NewOpener(im), nil
}

// importUsage is usageError with the help hint of an import subcommand
// ("linewatch import csv --help") where it is one.
func importUsage(c *cli.Context, format string, args ...any) error {
	err := usageError(c, format, args...)
	if ee, ok := err.(*exitError); ok && c != nil && c.Command != nil {
		for _, p := range c.Lineage()[1:] {
			if p.Command != nil && p.Command.Name == "import" {
				ee.hint = "see 'linewatch import " + c.Command.Name + " --help'"
				break
			}
		}
	}
	return err
}
