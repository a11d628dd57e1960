package stream

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"

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

// ConfigID identifies what a state is computed with — the line, the
// policy, the sources' affiliations (source id → party code or "neutral")
// and the JetStream stream whose sequence numbers it counts — for
// Config.ConfigID: a restart with another line, policy or registry would
// mix two analyses. signers are the ids of the sources that sign their
// bodies, which decide the records the engine takes (Config.Sources).
func ConfigID(line LineConfig, pol detect.Policy, affiliations map[string]string, stream string, signers ...string) string {
	h := sha256.New()
	h.Write(line.File)
	p := policy.JSON(pol)
	if pol.CorroborationMinAffiliations == 1 {
		// The default, which states begun before corroboration existed
		// had without the key: their id stays what it was.
		p = bytes.Replace(p, []byte(`,"corroboration_min_affiliations":1`), nil, 1)
	}
	h.Write(p)
	fmt.Fprintf(h, "\x00%s\x00%s\x00%v\x00%s", line.Left, line.Right, line.BufferM, stream)
	// Only with affiliations, so that a state begun without them resumes
	// as before.
	for _, id := range slices.Sorted(maps.Keys(affiliations)) {
		fmt.Fprintf(h, "\x00%s=%s", id, affiliations[id])
	}
	// Likewise only when some source signs.
	for _, id := range slices.Sorted(slices.Values(signers)) {
		fmt.Fprintf(h, "\x00signs:%s", id)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
