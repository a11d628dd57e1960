package batch_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/linewatch/linewatch/batch"
	"github.com/linewatch/linewatch/detect"
)

// Every record ends accepted, rejected, duplicate or late (SPEC §2): a
// feature nested too deep in a FeatureCollection is one rejected record,
// and the 1,000 features after it are read and counted.
func TestDeepFeatureIsOneReject(t *testing.T) {
	feature := func(i int) string {
		return `{"type":"Feature","id":"f` + string(rune('a'+i%26)) + strings.Repeat("x", i/26) +
			`","geometry":{"type":"Point","coordinates":[30.5,48.01]},"properties":{"time":"2024-05-01T10:00:00Z","side":"B"}}`
	}
	deep := `{"type":"Feature","properties":{"x":` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `}}`
	var b strings.Builder
	b.WriteString(`{"type":"FeatureCollection","features":[` + feature(0) + ",\n" + deep)
	for i := 1; i <= 1000; i++ {
		b.WriteString(",\n" + feature(i))
	}
	b.WriteString("]}\n")
	in := filepath.Join(t.TempDir(), "deep.geojson")
	if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	pol := detect.DefaultPolicy()
	line, _ := loadLine(t, straightLine, pol)
	var reasons []string
	out, err := batch.Run(batch.Config{Judge: detect.NewJudge(line, pol), Workers: 2,
		Reject: func(r batch.Rejected) error { reasons = append(reasons, r.Reason); return nil }}, []string{in})
	if err != nil {
		t.Fatal(err)
	}
	k := out.Counts
	if k.Read != 1002 || k.Rejected != 1 || k.Accepted != 1001 {
		t.Fatalf("counts %+v, want 1002 read = 1001 accepted + 1 rejected", k)
	}
	if len(reasons) != 1 || !strings.HasPrefix(reasons[0], "invalid JSON: nesting too deep") {
		t.Errorf("rejects %q, want one for nesting too deep", reasons)
	}
}
