package output

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/linewatch/linewatch/importer"
	"github.com/linewatch/linewatch/internal/num"
)

// ImportSummary is the account of an import run (`linewatch import`): its
// rows, in all and file by file, and its time.
type ImportSummary struct {
	Total importer.Counts
	Files []ImportFile
	WallS float64
}

// ImportFile is one file's line in an ImportSummary.
type ImportFile struct {
	File      string `json:"file"`
	Format    string `json:"format"`              // csv or geojson
	Delimiter string `json:"delimiter,omitempty"` // of a CSV file: "," ";" "|" or "tab"
	importer.Counts
}

// rate is the rows read per second.
func (s *ImportSummary) rate() float64 {
	if s.WallS > 0 {
		return float64(s.Total.Rows) / s.WallS
	}
	return 0
}

// AppendJSON appends the summary as JSON, times rounded as SPEC §9 rounds
// a summary's (wall_s to 3 decimals, rows_per_s to 1).
func (s *ImportSummary) AppendJSON(b []byte) []byte {
	k := s.Total
	b = fmt.Appendf(b, `{"rows":{"read":%d,"imported":%d,"rejected":%d},"flagged":%d,"files":`, k.Rows, k.Imported, k.Rejected, k.Flagged)
	files := s.Files
	if files == nil {
		files = []ImportFile{}
	}
	fs, _ := json.Marshal(files) // strings and integers: no error
	b = append(b, fs...)
	b = append(b, `,"wall_s":`...)
	b = num.AppendFormat(b, s.WallS, 3)
	b = append(b, `,"rows_per_s":`...)
	b = num.AppendFormat(b, s.rate(), 1)
	return append(b, "}\n"...)
}

// WriteText writes the summary in words, for standard error.
func (s *ImportSummary) WriteText(w io.Writer) error {
	k := s.Total
	flagged := ""
	if k.Flagged > 0 {
		flagged = fmt.Sprintf(" (%d flagged %s=%s: kind not in the map, taken as ground)", k.Flagged, importer.FlagProperty, importer.FlagKind)
	}
	_, err := fmt.Fprintf(w, "rows: %d read, %d imported%s, %d rejected\ntime: %s s, %s rows/s\n",
		k.Rows, k.Imported, flagged, k.Rejected, num.Format(s.WallS, 3), num.Format(s.rate(), 1))
	return err
}
