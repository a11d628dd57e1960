package stream

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/policy"
)

// LineConfig is what a line was loaded from: its file's bytes and the
// options given beside it (--left, --right, --buffer-m).
type LineConfig struct {
	File        []byte
	Left, Right string
	BufferM     float64
}

// ConfigID identifies what a state is computed with — the line, the policy
// and the JetStream stream whose sequence numbers it counts — for
// Config.ConfigID: a restart with another line or policy would mix two
// analyses.
func ConfigID(line LineConfig, pol detect.Policy, stream string) string {
	h := sha256.New()
	h.Write(line.File)
	h.Write(policy.JSON(pol))
	fmt.Fprintf(h, "\x00%s\x00%s\x00%v\x00%s", line.Left, line.Right, line.BufferM, stream)
	return hex.EncodeToString(h.Sum(nil)[:16])
}
