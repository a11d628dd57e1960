package stream

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/feed"
)

// DefaultMaxBody is the default limit of a POST body, in bytes.
const DefaultMaxBody = 16 << 20

// IngestConfig configures the HTTP ingest.
type IngestConfig struct {
	JS      jetstream.JetStream
	Subject string // the stream's subject pattern (PublishSubject)
	// MaxBody is the largest body taken, in bytes as sent (413 past it);
	// a gzipped body may hold up to 8 times as much once inflated.
	MaxBody int64
	// MaxRecord is the largest record the broker takes (its max payload).
	MaxRecord int
	// Tokens maps bearer tokens to source ids; when not empty, every
	// request needs one, and each record's properties.source is set to
	// its token's source id.
	Tokens    map[string]string
	MaxFuture time.Duration
	Now       func() time.Time // default time.Now
	// AckTimeout bounds the wait for JetStream's acknowledgements (503
	// past it; the client retries, and duplicates are recognised).
	AckTimeout time.Duration
	Metrics    *Metrics
}

// Ingest serves POST /v1/sightings: it validates each record, publishes
// the valid ones to JetStream — many to a message, GeoJSONSeq, with a hash
// of the message as its Nats-Msg-Id — and answers 202 only once JetStream
// has stored them all. A record is a "duplicate" when its id and source
// came earlier in the request (SPEC §2: another source's record is never
// one), or when its message was stored already (the client sent
// the request again); a record sent again in another request is stored
// again, and the engine counts it as a duplicate.
type Ingest struct {
	cfg IngestConfig
}

// NewIngest returns the handler.
func NewIngest(cfg IngestConfig) *Ingest {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.AckTimeout <= 0 {
		cfg.AckTimeout = 30 * time.Second
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	return &Ingest{cfg: cfg}
}

// IngestResult is the outcome of one record of a request.
type IngestResult struct {
	Index  int    `json:"index"`
	Status string `json:"status"` // accepted, rejected or duplicate
	ID     string `json:"id,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// IngestResponse is the body of a 202 answer.
type IngestResponse struct {
	Accepted  int            `json:"accepted"`
	Rejected  int            `json:"rejected"`
	Duplicate int            `json:"duplicate"`
	Results   []IngestResult `json:"results"`
}

// contentTypes are the media types taken, and whether each is a sequence
// (one Feature per line) rather than one GeoJSON document.
var contentTypes = map[string]bool{
	"application/geo+json-seq": true,
	"application/x-ndjson":     true,
	"application/geo+json":     false,
	"application/json":         false,
}

type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func fail(code int, format string, args ...any) error {
	return &httpError{code, fmt.Sprintf(format, args...)}
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg})
	w.Write(append(b, '\n'))
}

func (h *Ingest) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeError(w, http.StatusMethodNotAllowed, "POST sightings here")
		return
	}
	resp, err := h.ingest(r)
	if err != nil {
		var he *httpError
		if !errors.As(err, &he) {
			he = &httpError{http.StatusInternalServerError, err.Error()}
		}
		if he.code == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="linewatch"`)
		}
		if he.code == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1")
		}
		writeError(w, he.code, he.msg)
		return
	}
	h.cfg.Metrics.addIngest(int64(resp.Accepted), int64(resp.Rejected), int64(resp.Duplicate))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	b, _ := json.Marshal(resp)
	w.Write(append(b, '\n'))
}

func (h *Ingest) ingest(r *http.Request) (*IngestResponse, error) {
	source := ""
	if len(h.cfg.Tokens) > 0 {
		scheme, tok, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
		if !strings.EqualFold(scheme, "Bearer") {
			return nil, fail(http.StatusUnauthorized, "a bearer token is required (Authorization: Bearer TOKEN)")
		}
		var ok bool
		if source, ok = h.cfg.Tokens[strings.TrimSpace(tok)]; !ok {
			return nil, fail(http.StatusUnauthorized, "invalid bearer token")
		}
	}
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	seq, known := contentTypes[strings.ToLower(mt)]
	if err != nil || !known {
		return nil, fail(http.StatusUnsupportedMediaType,
			"Content-Type %q: send application/geo+json-seq or application/x-ndjson (one Feature a line), or application/geo+json or application/json (a FeatureCollection or a Feature)", ct)
	}
	body, err := h.readBody(r)
	if err != nil {
		return nil, err
	}
	recs, err := splitBody(body, seq)
	if err != nil {
		return nil, err
	}
	resp := &IngestResponse{Results: make([]IngestResult, len(recs))}
	dec := feed.NewDecoder()
	var s detect.Sighting
	now := h.cfg.Now().UnixMicro()
	maxFuture := h.cfg.MaxFuture.Microseconds()
	subject := PublishSubject(h.cfg.Subject, source)
	// The accepted records go to JetStream in messages of many records
	// each, GeoJSONSeq, up to the broker's payload limit: storing a
	// message costs JetStream the same whatever its size, so this is what
	// lets ingest keep up with a busy feed.
	var chunks []chunk
	var cur *chunk
	type idSource struct{ id, source string }
	seen := make(map[idSource]bool, len(recs))
	for i, rec := range recs {
		res := &resp.Results[i]
		res.Index = i
		reason := h.check(dec, &rec, &s, source, now, maxFuture)
		if reason != "" {
			res.Status, res.Reason = "rejected", reason
			resp.Rejected++
			continue
		}
		res.ID = s.ID
		if seen[idSource{s.ID, s.Source}] {
			// The first of an id and source is kept, as the engine does.
			res.Status = "duplicate"
			resp.Duplicate++
			continue
		}
		seen[idSource{s.ID, s.Source}] = true
		if bytes.ContainsAny(rec.Raw, "\r\n") {
			// A Feature written over several lines (in a FeatureCollection,
			// say) goes on one line of the message.
			var c bytes.Buffer
			if err := json.Compact(&c, rec.Raw); err == nil {
				rec.Raw = c.Bytes()
			}
		}
		if cur == nil || len(cur.data)+len(rec.Raw)+1 > h.maxChunk() {
			chunks = append(chunks, chunk{})
			cur = &chunks[len(chunks)-1]
		}
		cur.data = append(cur.data, rec.Raw...)
		cur.data = append(cur.data, '\n')
		cur.index = append(cur.index, i)
	}
	futures := make([]jetstream.PubAckFuture, len(chunks))
	for k := range chunks {
		c := &chunks[k]
		m := &nats.Msg{Subject: subject, Data: c.data, Header: nats.Header{}}
		m.Header.Set(jetstream.MsgIDHeader, chunkID(subject, c.data))
		f, err := h.cfg.JS.PublishMsgAsync(m)
		if err != nil {
			return nil, fail(http.StatusServiceUnavailable, "JetStream: %v; send the request again", err)
		}
		futures[k] = f
	}
	if err := h.await(r.Context(), chunks, futures, resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// chunk is the text of one JetStream message: accepted records, one a
// line, and their indexes in the request.
type chunk struct {
	data  []byte
	index []int
}

// maxChunk is the most bytes of records in one message.
func (h *Ingest) maxChunk() int {
	if h.cfg.MaxRecord > 0 {
		return h.cfg.MaxRecord
	}
	return 512 << 10
}

// chunkID is a message's Nats-Msg-Id: a hash of its subject and text, so
// that the same records sent again (a client retrying a request it got no
// answer to) make the same message, which JetStream drops as a duplicate
// within its duplicate window.
func chunkID(subject string, data []byte) string {
	h := sha256.New()
	h.Write([]byte(subject))
	h.Write([]byte{0})
	h.Write(data)
	return "lw-" + hex.EncodeToString(h.Sum(nil)[:16])
}

// check validates a record (rewriting its source when a token names it)
// and returns why it is rejected, or "".
func (h *Ingest) check(dec *feed.Decoder, rec *feed.Record, s *detect.Sighting, source string, now, maxFuture int64) string {
	if rec.Err != "" {
		return rec.Err
	}
	if err := decodeReason(dec.Decode(rec.Raw, s)); err != "" {
		return err
	}
	if source != "" {
		raw, ok := setSource(rec.Raw, source)
		if !ok {
			return "properties is not an object"
		}
		rec.Raw = raw
		if err := decodeReason(dec.Decode(rec.Raw, s)); err != "" {
			return err
		}
	}
	if s.Time-now > maxFuture {
		return reasonFuture
	}
	if h.cfg.MaxRecord > 0 && len(rec.Raw) > h.cfg.MaxRecord {
		return fmt.Sprintf("record of %d bytes is longer than the broker takes (%d)", len(rec.Raw), h.cfg.MaxRecord)
	}
	return ""
}

func decodeReason(err error) string {
	if err == nil {
		return ""
	}
	var rj *feed.Reject
	if errors.As(err, &rj) {
		return rj.Reason
	}
	return err.Error()
}

// await waits for JetStream's acknowledgement of every message published
// and fills in the results of their records.
func (h *Ingest) await(ctx context.Context, chunks []chunk, futures []jetstream.PubAckFuture, resp *IngestResponse) error {
	if len(futures) == 0 {
		return nil
	}
	timer := time.NewTimer(h.cfg.AckTimeout)
	defer timer.Stop()
	for k, f := range futures {
		status := "accepted"
		select {
		case ack := <-f.Ok():
			if ack.Duplicate {
				status = "duplicate"
			}
		case err := <-f.Err():
			return fail(http.StatusServiceUnavailable, "JetStream did not store the records: %v; send the request again", err)
		case <-timer.C:
			return fail(http.StatusServiceUnavailable, "JetStream did not acknowledge the records in %s; send the request again", h.cfg.AckTimeout)
		case <-ctx.Done():
			return fail(http.StatusServiceUnavailable, "request cancelled")
		}
		for _, i := range chunks[k].index {
			resp.Results[i].Status = status
			if status == "duplicate" {
				resp.Duplicate++
			} else {
				resp.Accepted++
			}
		}
	}
	return nil
}

// readBody reads the body, inflating it if gzipped, within the limits.
func (h *Ingest) readBody(r *http.Request) ([]byte, error) {
	if r.ContentLength > h.cfg.MaxBody {
		return nil, fail(http.StatusRequestEntityTooLarge, "body of %d bytes is over the limit of %d", r.ContentLength, h.cfg.MaxBody)
	}
	var body io.Reader = http.MaxBytesReader(nil, r.Body, h.cfg.MaxBody)
	limit := h.cfg.MaxBody
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bufio.NewReader(body))
		if err != nil {
			return nil, bodyError(err, h.cfg.MaxBody, "gzip")
		}
		defer zr.Close()
		body = zr
		limit = 8 * h.cfg.MaxBody
	default:
		return nil, fail(http.StatusUnsupportedMediaType, "Content-Encoding %q: send gzip or no encoding", enc)
	}
	data, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return nil, bodyError(err, h.cfg.MaxBody, "body")
	}
	if int64(len(data)) > limit {
		return nil, fail(http.StatusRequestEntityTooLarge, "inflated body is over the limit of %d bytes", limit)
	}
	return data, nil
}

func bodyError(err error, max int64, what string) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return fail(http.StatusRequestEntityTooLarge, "body is over the limit of %d bytes", max)
	}
	if errors.Is(err, gzip.ErrHeader) || errors.Is(err, gzip.ErrChecksum) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fail(http.StatusBadRequest, "%s: %v", what, err)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fail(http.StatusRequestTimeout, "%s: %v", what, err)
	}
	return fail(http.StatusBadRequest, "%s: %v", what, err)
}

// splitBody cuts a body into records. A sequence is split as a GeoJSONSeq
// file is (a bad line is a rejected record); a GeoJSON document must be a
// FeatureCollection (read feature by feature) or one Feature, and a body
// that is not JSON at all is an error (400), as is a FeatureCollection that
// breaks off.
func splitBody(body []byte, seq bool) ([]feed.Record, error) {
	src := feed.NewSource("http", bytes.NewReader(body))
	format, _ := src.Format()
	if !seq && format != feed.FeatureCollection {
		// One GeoJSON text, which may span lines.
		text := bytes.TrimSpace(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")))
		if len(text) == 0 {
			return nil, fail(http.StatusBadRequest, "empty body: no records")
		}
		if !json.Valid(text) {
			var x any
			err := json.Unmarshal(text, &x)
			return nil, fail(http.StatusBadRequest, "body is not JSON: %v", err)
		}
		return []feed.Record{{File: "http", Index: 0, Raw: text}}, nil
	}
	var recs []feed.Record
	for {
		rec, err := src.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fail(http.StatusBadRequest, "body: %v", err)
		}
		if format == feed.FeatureCollection && rec.Err != "" {
			return nil, fail(http.StatusBadRequest, "body: feature %d: %s", rec.Index, rec.Err)
		}
		recs = append(recs, rec.Clone())
	}
	if len(recs) == 0 {
		return nil, fail(http.StatusBadRequest, "empty body: no records")
	}
	return recs, nil
}
