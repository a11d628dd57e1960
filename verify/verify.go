// Package verify checks a linewatch log and the alerts made under it, as
// a party that did not run the engine can: offline, from a copy of the log
// (a directory or a URL), the public keys it trusts, the line, the policy
// and the sources registry.
//
// It checks, in order, and stops at the first thing that does not hold:
//
//  1. the checkpoint's signatures: at least K of the keys given (the
//     log's, witnesses' cosignature keys) signed it;
//  2. the entries: each parses, they hash to the signed root, and their
//     times and broker sequences never go back;
//  3. the sources: each record of a signed body is the record of that
//     body at its place, each body's signature holds under its source's
//     key, every record of a body is in the log, once, in order, and no
//     entry authenticated as a source that signs comes without its body;
//  4. the alerts: each was made under a tree consistent with the
//     checkpoint (its root is the checkpoint tree's at its size), and
//     each evidence leaf is included in that tree and holds the evidence
//     id;
//  5. the replay: the records of the log, through the engine exactly as
//     the stream driver runs it (stream.Driver, logging them again), make
//     the very alerts given, byte for byte, "log" members included.
//
// A failure is a *Mismatch that names what failed: which leaf, which
// body, which signature, which alert.
package verify

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/sources"
	"github.com/linewatch/linewatch/tlog"
)

// Config is what a verification needs.
type Config struct {
	// Log is the log to check: a directory or a URL (tlog.Open).
	Log tlog.Fetcher
	// Keys are the public keys trusted: the log's (type 0x01) and
	// witnesses' cosignature keys (type 0x04). MinSignatures of them must
	// have signed the checkpoint.
	Keys          []note.Verifier
	MinSignatures int
	// Checkpoint, if set, is the checkpoint to check instead of the log's
	// latest (one that was shown, or gathered cosignatures).
	Checkpoint []byte

	Line   *geo.Line
	Policy detect.Policy // with the sources' affiliations
	// Sources is the registry of sources, their keys to check signed
	// bodies with; nil: signed bodies cannot be checked, and are a
	// mismatch.
	Sources *sources.Registry

	// Alerts are the alerts to check, GeoJSONSeq, one a line, each with
	// its "log" member (docs/log.md).
	Alerts []byte
	// Complete asks that Alerts hold every alert the replay makes up to
	// the checkpoint: none withheld.
	Complete bool

	Workers int       // the replay's; 0: one per core
	Out     io.Writer // what was checked, a line per check; nil: nothing
}

// Mismatch is a check that does not hold.
type Mismatch struct{ Msg string }

func (m *Mismatch) Error() string { return m.Msg }

func mismatch(format string, args ...any) error {
	return &Mismatch{Msg: fmt.Sprintf(format, args...)}
}

// Report is what a verification checked.
type Report struct {
	Checkpoint tlog.Checkpoint
	SignedBy   []string
	Entries    uint64
	Bodies     int    // signed bodies checked
	Signed     uint64 // records in them
	Unsigned   uint64 // records of sources that do not sign, or of none
	Alerts     int    // alerts checked
	Evidence   int    // evidence leaves included
	Replayed   int    // alerts the replay made
}

// Run verifies. It returns a *Mismatch when a check fails, another error
// when the verification could not run.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	v := &verifier{cfg: cfg, r: tlog.NewReader(cfg.Log), rep: &Report{}, out: cfg.Out}
	if v.out == nil {
		v.out = io.Discard
	}
	if err := v.checkpoint(ctx); err != nil {
		return v.rep, err
	}
	alerts, err := parseAlerts(cfg.Alerts, v.rep.Checkpoint)
	if err != nil {
		return v.rep, err
	}
	v.alerts = alerts
	v.wanted = map[uint64]*leafInfo{}
	for _, a := range alerts {
		for _, x := range a.log.Evidence {
			v.wanted[x] = &leafInfo{}
		}
	}
	replayed, err := v.replay(ctx)
	if err != nil {
		return v.rep, err
	}
	v.printf("entries: %d, hashing to the signed root; times and sequences never go back", v.rep.Entries)
	if v.rep.Bodies > 0 || v.rep.Unsigned > 0 {
		v.printf("sources: %d records in %d signed bodies, each body's signature holds and every record of it is logged once, in order; %d records of sources that do not sign",
			v.rep.Signed, v.rep.Bodies, v.rep.Unsigned)
	}
	if err := v.checkAlerts(ctx); err != nil {
		return v.rep, err
	}
	if err := v.compare(replayed); err != nil {
		return v.rep, err
	}
	return v.rep, nil
}

type verifier struct {
	cfg    Config
	r      *tlog.Reader
	rep    *Report
	out    io.Writer
	alerts []*alert
	// wanted are the leaves alerts name as evidence: their record's id
	// and source and their leaf hash, taken as the entries are read.
	wanted map[uint64]*leafInfo
}

type leafInfo struct {
	seen       bool
	id, source string
	hash       tlog.Hash
}

func (v *verifier) printf(format string, args ...any) {
	fmt.Fprintf(v.out, format+"\n", args...)
}

func (v *verifier) checkpoint(ctx context.Context) error {
	msg := v.cfg.Checkpoint
	if msg == nil {
		var err error
		if msg, err = v.r.Checkpoint(ctx); err != nil {
			return mismatch("%v", err)
		}
	}
	min := v.cfg.MinSignatures
	if min <= 0 {
		min = len(v.cfg.Keys)
	}
	sigs, err := tlog.OpenCheckpoint(msg, v.cfg.Keys, min)
	if err != nil {
		return mismatch("%v", err)
	}
	v.rep.Checkpoint, v.rep.SignedBy = sigs.Checkpoint, sigs.Signed
	c := sigs.Checkpoint
	v.printf("checkpoint: %s, size %d, root %s: signed by %d of the %d keys given (%s), %d required",
		c.Origin, c.Size, b64(c.Root), len(sigs.Signed), len(sigs.Signed)+len(sigs.Missing), strings.Join(sigs.Signed, ", "), min)
	return nil
}

func b64(h tlog.Hash) string { return base64.StdEncoding.EncodeToString(h[:]) }

func short(sum [32]byte) string { return hex.EncodeToString(sum[:]) }

// errStop ends the replay's reading early when a check failed; the
// failure itself is in verifier.failure.
var errStop = errors.New("verification stopped")

// alert is one alert given, its "log" member apart.
type alert struct {
	n      int    // its line in the alerts file, from 1
	bytes  []byte // without the log member
	log    *tlog.AlertLog
	id     string
	status string
	ids    []string // its evidence ids
}

func (a *alert) name() string {
	return fmt.Sprintf("alert %d (episode %s, %s)", a.n, a.id, a.status)
}

func parseAlerts(data []byte, c tlog.Checkpoint) ([]*alert, error) {
	var out []*alert
	n := 0
	for line := range bytes.Lines(data) {
		n++
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		body, l, err := tlog.CutAlertLog(line)
		a := &alert{n: n}
		if err != nil {
			return nil, mismatch("alert %d: %v", n, err)
		}
		var f struct {
			Properties struct {
				ID       string   `json:"id"`
				Status   string   `json:"status"`
				Evidence []string `json:"evidence"`
			} `json:"properties"`
		}
		if err := jsonUnmarshal(body, &f); err != nil {
			return nil, mismatch("alert %d: not a GeoJSON Feature: %v", n, err)
		}
		a.bytes, a.log, a.id, a.status, a.ids = body, l, f.Properties.ID, f.Properties.Status, f.Properties.Evidence
		if l == nil {
			return nil, mismatch("%s has no \"log\" member: it does not say which tree it was made under, so the log cannot vouch for it", a.name())
		}
		if l.Origin != c.Origin {
			return nil, mismatch("%s was made under log %q, not %q", a.name(), l.Origin, c.Origin)
		}
		if len(l.Evidence) != len(a.ids) {
			return nil, mismatch("%s lists %d evidence ids but %d evidence leaves", a.name(), len(a.ids), len(l.Evidence))
		}
		for j, x := range l.Evidence {
			if x >= l.Size {
				return nil, mismatch("%s: evidence %d (id %q) is leaf %d, outside its tree of %d entries", a.name(), j, a.ids[j], x, l.Size)
			}
		}
		out = append(out, a)
	}
	return out, nil
}
