package stream

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/feed"
	"github.com/linewatch/linewatch/sources"
)

// DefaultMaxBody is the default limit of a POST body, in bytes.
const DefaultMaxBody = 16 << 20

// DefaultMaxInFlight is the default memory budget of the requests under
// way, in bytes (IngestConfig.MaxInFlight).
const DefaultMaxInFlight = 256 << 20

// perRecord is what a record costs the memory budget on top of its text:
// its place in the request's records and results, and in the answer.
const perRecord = 256

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
	Tokens map[string]string
	// Token, when neither Tokens nor Sources gives tokens, is the one
	// bearer token every request needs; records keep their own
	// properties.source. It is how the ingest is closed by default
	// (IngestTokenFile).
	Token string
	// Sources, when it gives any source a token or a key, authenticates
	// every request instead of Tokens (sources.Registry.Authenticate): a
	// source with a token is treated as Tokens says; a source with a key
	// signs its body, which is stored exactly as signed, whole, in one
	// message with its signature (docs/sources.md).
	Sources   *sources.Registry
	MaxFuture time.Duration
	Now       func() time.Time // default time.Now
	// AckTimeout bounds the wait for JetStream's acknowledgements (503
	// past it; the client retries, and duplicates are recognised).
	AckTimeout time.Duration
	// MaxInFlight is the memory budget, in bytes, of all the requests under
	// way together (DefaultMaxInFlight if 0). A request is charged as it is
	// read and split: its body once (gzipped: inflated), each record three
	// times (its copy, the message it goes into, its source rewritten) and
	// perRecord more; a request with a Content-Length takes six times it
	// ahead, before its body is read. A request that would take the budget
	// past its limit is answered 503 with Retry-After (413 if it needs more
	// than the whole budget alone), so that what clients send cannot take
	// the process's memory past this bound.
	MaxInFlight int64
	// StoreError, if set, tells why JetStream cannot store records now
	// (Broker.StoreError); requests are then refused at once, 503 with
	// the reason, rather than after AckTimeout.
	StoreError func() error
	Metrics    *Metrics
	Log        *slog.Logger // nil: nothing is logged
}

// Ingest serves POST /v1/sightings: it validates each record, publishes
// the valid ones to JetStream — many to a message, GeoJSONSeq, with a hash
// of the message as its Nats-Msg-Id — and answers 202 only once JetStream
// has stored them all. A record is a "duplicate" when its id and source
// came earlier in the request (SPEC §2: another source's record is never
// one), or when its message was stored already (the client sent
// the request again); a record sent again in another request is stored
// again, and the engine counts it as a duplicate. A request none of whose
// records is accepted or a duplicate is answered 422, with the same body.
//
// The memory its requests hold together is bounded by
// IngestConfig.MaxInFlight.
type Ingest struct {
	cfg     IngestConfig
	budget  budget
	failing atomic.Bool // the last attempt to store records failed
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
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Ingest{cfg: cfg, budget: budget{max: cfg.MaxInFlight, used: &cfg.Metrics.ingestInFlight}}
}

// InFlight is the memory, in bytes, the requests under way are charged.
func (h *Ingest) InFlight() int64 { return h.budget.used.Load() }

// IngestResult is the outcome of one record of a request.
type IngestResult struct {
	Index  int    `json:"index"`
	Status string `json:"status"` // accepted, rejected or duplicate
	ID     string `json:"id,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// IngestResponse is the body of a 202 (or 422: nothing accepted) answer.
type IngestResponse struct {
	Accepted  int            `json:"accepted"`
	Rejected  int            `json:"rejected"`
	Duplicate int            `json:"duplicate"`
	Results   []IngestResult `json:"results"`
}

// idSource is a record's key among a request's records: records are
// duplicates when they share their id and their source (SPEC §2).
type idSource struct{ id, source string }

// tally notes the outcome of a request's record res: rejected for reason
// (when it is not ""), a duplicate of an earlier record of the request,
// or kept, which it returns true for. The first of an id and source is
// kept, as the engine does.
func (resp *IngestResponse) tally(res *IngestResult, reason, id, source string, seen map[idSource]bool) bool {
	if reason != "" {
		res.Status, res.Reason = "rejected", reason
		resp.Rejected++
		return false
	}
	res.ID = id
	if seen[idSource{id, source}] {
		res.Status = "duplicate"
		resp.Duplicate++
		return false
	}
	seen[idSource{id, source}] = true
	return true
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
	code       int
	msg        string
	retryAfter string // seconds, for a 503
	busy       bool   // refused for want of memory budget
}

func (e *httpError) Error() string { return e.msg }

func fail(code int, format string, args ...any) error {
	return &httpError{code: code, msg: fmt.Sprintf(format, args...), retryAfter: "1"}
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
	ch := h.budget.open()
	defer ch.close()
	resp, err := h.ingest(r, ch)
	if err != nil {
		var he *httpError
		if !errors.As(err, &he) {
			he = &httpError{code: http.StatusInternalServerError, msg: err.Error()}
		}
		if he.code == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="linewatch"`)
		}
		if he.code == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", he.retryAfter)
		}
		if he.busy {
			h.cfg.Metrics.ingestBusy.Add(1)
			// Read what the client is still sending (not keeping it), so
			// that it hears the 503 rather than a connection reset.
			ch.close()
			io.Copy(io.Discard, io.LimitReader(r.Body, h.cfg.MaxBody))
		}
		writeError(w, he.code, he.msg)
		return
	}
	h.cfg.Metrics.addIngest(int64(resp.Accepted), int64(resp.Rejected), int64(resp.Duplicate))
	code := http.StatusAccepted
	if resp.Accepted == 0 && resp.Duplicate == 0 {
		// Nothing was taken: the client must not believe otherwise.
		code = http.StatusUnprocessableEntity
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	b, _ := json.Marshal(resp)
	w.Write(append(b, '\n'))
}

func (h *Ingest) ingest(r *http.Request, ch *charge) (*IngestResponse, error) {
	source := ""
	signature := strings.TrimSpace(r.Header.Get(sources.SignatureHeader))
	if reg := h.cfg.Sources; reg.Authenticates() {
		if signature == "" {
			// A token alone: checked before the body is read.
			src, _, err := reg.Authenticate(r.Header.Get("Authorization"), "", nil)
			if err != nil {
				return nil, fail(http.StatusUnauthorized, "%v", err)
			}
			source = src.ID
		}
	} else if signature != "" {
		return nil, fail(http.StatusUnauthorized, "%s: no source of this engine signs its bodies (no sources registry with keys)", sources.SignatureHeader)
	} else if len(h.cfg.Tokens) > 0 || h.cfg.Token != "" {
		tok, ok := bearer(r)
		if !ok {
			return nil, fail(http.StatusUnauthorized, "a bearer token is required (Authorization: Bearer TOKEN)")
		}
		if len(h.cfg.Tokens) > 0 {
			source, ok = h.cfg.Tokens[tok]
		} else {
			ok = subtle.ConstantTimeCompare([]byte(tok), []byte(h.cfg.Token)) == 1
		}
		if !ok {
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
	if err := h.storeError(); err != nil {
		return nil, err
	}
	if n := r.ContentLength; n > 0 && n <= h.cfg.MaxBody {
		// What a body of short records costs, taken before anything is
		// read: a request the budget cannot take now is refused before
		// its body is sent (the client waits for 100 Continue) or read.
		if err := ch.reserve(min(6*n, h.cfg.MaxInFlight)); err != nil {
			return nil, err
		}
	}
	body, err := h.readBody(r, ch)
	if err != nil {
		return nil, err
	}
	if signature != "" {
		src, signed, err := h.cfg.Sources.Authenticate(r.Header.Get("Authorization"), signature, body)
		if err != nil {
			return nil, fail(http.StatusUnauthorized, "%v", err)
		}
		return h.ingestSigned(r, ch, src, signature, body, signed.Sum)
	}
	recs, err := splitBody(body, seq, ch)
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
	seen := seenMap()
	defer putSeen(seen)
	// rest is the length of the records not yet taken, with their
	// newlines, as they came: about what the last message will hold. (As
	// stored, they may be longer: the token's source goes into each.)
	rest := len(recs)
	for _, rec := range recs {
		rest += len(rec.Raw)
	}
	for i, rec := range recs {
		rest -= len(rec.Raw) + 1
		res := &resp.Results[i]
		res.Index = i
		reason := h.check(dec, &rec, &s, source, now, maxFuture)
		if !resp.tally(res, reason, s.ID, s.Source, seen) {
			continue
		}
		if bytes.ContainsAny(rec.Raw, "\r\n") {
			// A Feature written over several lines (in a FeatureCollection,
			// say) goes on one line of the message.
			var c bytes.Buffer
			if err := json.Compact(&c, rec.Raw); err == nil {
				rec.Raw = c.Bytes()
			}
		}
		if cur == nil || len(cur.data)+len(rec.Raw)+1 > h.maxChunk() {
			chunks = append(chunks, chunk{data: make([]byte, 0, min(len(rec.Raw)+1+rest, h.maxChunk()))})
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
		if source != "" {
			m.Header.Set(SourceHeader, source)
		}
		f, err := h.cfg.JS.PublishMsgAsync(m)
		if err != nil {
			h.stored(err)
			return nil, fail(http.StatusServiceUnavailable, "JetStream: %v; send the request again", err)
		}
		futures[k] = f
	}
	if err := h.await(r.Context(), chunks, futures, resp); err != nil {
		return nil, err
	}
	if len(futures) > 0 {
		h.stored(nil)
	}
	return resp, nil
}

// ingestSigned stores a body its source signed: whole, exactly as signed,
// in one message with the signature, so that the engine logs each record
// with the body and the note that prove who said it. Its records are
// checked as the engine will judge them, for the answer; those the engine
// will reject are stored all the same (the body is signed whole), and the
// engine rejects them again, for the same reasons. A body that has a
// record naming another source than the signer's is refused (422): it
// would make the source speak for another.
func (h *Ingest) ingestSigned(r *http.Request, ch *charge, src *sources.Source, signature string, body []byte, sum [32]byte) (*IngestResponse, error) {
	if len(body) > h.maxChunk() {
		return nil, fail(http.StatusRequestEntityTooLarge,
			"a signed body is stored whole, in one message: it may hold %d bytes, this one has %d; sign and post fewer records at a time", h.maxChunk(), len(body))
	}
	// The records as the engine splits the body (sources.Records), each
	// decoded once: for the answer, and to check it names the signer
	// (sources.CheckRecordSources). They are decoded on all cores: a
	// client waits for its answer before it sends the next body.
	fs := feed.NewBytesSource("body", body)
	var recs []feed.Record
	var cut error // what ended the split early, after recs
	for {
		rec, err := fs.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			cut = fail(http.StatusBadRequest, "body: %v", err)
			break
		}
		if err := ch.take(perRecord); err != nil {
			cut = err
			break
		}
		recs = append(recs, rec)
	}
	checked := make([]signedRecord, len(recs))
	now := h.cfg.Now().UnixMicro()
	parallel(len(recs), 256, func(lo, hi int) {
		dec := feed.NewDecoder()
		dec.NoFingerprint = true
		var s detect.Sighting
		for i := lo; i < hi; i++ {
			c := &checked[i]
			if c.reason = recs[i].Err; c.reason == "" {
				c.reason = decodeReason(dec.Decode(recs[i].Raw, &s))
			}
			if c.reason == "" {
				c.id, c.source, c.time = s.ID, s.Source, s.Time
			}
		}
	})
	// In the records' order, as one pass would: the first record naming
	// another source refuses the body, even when a later one is cut off.
	resp := &IngestResponse{Results: make([]IngestResult, len(recs))}
	seen := seenMap()
	defer putSeen(seen)
	maxFuture := h.cfg.MaxFuture.Microseconds()
	c := chunk{data: body}
	for i := range checked {
		k := &checked[i]
		if k.reason == "" && k.source != src.ID {
			if k.source == "" {
				return nil, fail(http.StatusUnprocessableEntity, "record %d (id %q) has no properties.source; a signed body's records name their source, %q: nothing was stored", i, k.id, src.ID)
			}
			return nil, fail(http.StatusUnprocessableEntity, "record %d (id %q) names source %q, but the body is signed by %q: nothing was stored", i, k.id, k.source, src.ID)
		}
		if k.reason == "" && k.time-now > maxFuture {
			k.reason = reasonFuture
		}
		res := &resp.Results[i]
		res.Index = i
		if !resp.tally(res, k.reason, k.id, k.source, seen) {
			continue
		}
		c.index = append(c.index, i)
	}
	if cut != nil {
		return nil, cut
	}
	if len(resp.Results) == 0 {
		return nil, fail(http.StatusBadRequest, "empty body: no records")
	}
	if len(c.index) == 0 {
		return resp, nil // nothing to store: 422
	}
	subject := PublishSubject(h.cfg.Subject, src.ID)
	m := &nats.Msg{Subject: subject, Data: body, Header: nats.Header{}}
	// The body's SHA-256, which its signature was checked against, names
	// it: hashing it again for its message id would cost as much again.
	m.Header.Set(jetstream.MsgIDHeader, chunkID(subject, sum[:]))
	m.Header.Set(SourceHeader, src.ID)
	m.Header.Set(sources.SignatureHeader, signature)
	f, err := h.cfg.JS.PublishMsgAsync(m)
	if err != nil {
		h.stored(err)
		return nil, fail(http.StatusServiceUnavailable, "JetStream: %v; send the request again", err)
	}
	if err := h.await(r.Context(), []chunk{c}, []jetstream.PubAckFuture{f}, resp); err != nil {
		return nil, err
	}
	h.stored(nil)
	return resp, nil
}

// seenMaps keeps the maps of a request's ids for the next requests: a map
// of a thousand keys is most of what a request allocates.
var seenMaps = sync.Pool{New: func() any { return map[idSource]bool{} }}

func seenMap() map[idSource]bool { return seenMaps.Get().(map[idSource]bool) }

// putSeen gives a map back, unless a request of many records grew it: it
// would hold memory no request's budget counts.
func putSeen(m map[idSource]bool) {
	if len(m) <= 4096 {
		clear(m)
		seenMaps.Put(m)
	}
}

// signedRecord is what the ingest learns of a record of a signed body: why
// it is rejected, or its id, source and time.
type signedRecord struct {
	reason, id, source string
	time               int64
}

// parallel calls fn on the ranges of [0, n), at least grain long, that
// split it among the cores, and returns when all calls have.
func parallel(n, grain int, fn func(lo, hi int)) {
	parts := max(1, min(runtime.GOMAXPROCS(0), n/grain))
	if parts == 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := p*n/parts, (p+1)*n/parts
		if p == parts-1 {
			fn(lo, hi) // on this goroutine
			break
		}
		wg.Go(func() { fn(lo, hi) })
	}
	wg.Wait()
}

// storeError refuses a request at once while JetStream cannot store.
func (h *Ingest) storeError() error {
	if h.cfg.StoreError == nil {
		return nil
	}
	if err := h.cfg.StoreError(); err != nil {
		return &httpError{code: http.StatusServiceUnavailable, retryAfter: "5",
			msg: fmt.Sprintf("JetStream cannot store records now (%v); send the request again later", err)}
	}
	return nil
}

// stored records whether the last attempt to store records worked (err
// nil), counts the failures, and logs when that changes. It is not a
// problem for /healthz: one failure says nothing of the next request, and
// a load balancer that stopped sending requests on a 503 would never let
// a success clear it. (What lasts — a full disk, a lost connection — is
// reported by the broker.)
func (h *Ingest) stored(err error) {
	if err == nil {
		if h.failing.CompareAndSwap(true, false) {
			h.cfg.Log.Info("JetStream stores the HTTP ingest's records again")
		}
		return
	}
	h.cfg.Metrics.ingestFailed.Add(1)
	if h.failing.CompareAndSwap(false, true) {
		h.cfg.Log.Warn("JetStream did not store the records of an HTTP request: it was answered 503", "error", err.Error())
	}
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
		// The record as stored names the token's source. Decoding it
		// again would find what the first decoding found, but for that
		// source, and for the id a record without one has: a hash of its
		// content, source included.
		if !dec.HashedID() {
			s.Source = source
		} else if err := decodeReason(dec.Decode(rec.Raw, s)); err != "" {
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
	// JetStream does not answer a write its store failed; when the broker
	// reports such a failure, stop waiting.
	var look <-chan time.Time
	if h.cfg.StoreError != nil {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		look = t.C
	}
	for k, f := range futures {
		status := "accepted"
	wait:
		for {
			select {
			case ack := <-f.Ok():
				if ack.Duplicate {
					status = "duplicate"
				}
				break wait
			case err := <-f.Err():
				h.stored(err)
				return fail(http.StatusServiceUnavailable, "JetStream did not store the records: %v; send the request again", err)
			case <-timer.C:
				h.stored(fmt.Errorf("no acknowledgement in %s", h.cfg.AckTimeout))
				return fail(http.StatusServiceUnavailable, "JetStream did not acknowledge the records in %s; send the request again", h.cfg.AckTimeout)
			case <-look:
				if err := h.storeError(); err != nil {
					return err
				}
			case <-ctx.Done():
				return fail(http.StatusServiceUnavailable, "request cancelled")
			}
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

// readBody reads the body, inflating it if gzipped, within the limits and
// the memory budget. A gzipped body is recognised by its magic number
// whether or not Content-Encoding says gzip, as a gzipped file is.
func (h *Ingest) readBody(r *http.Request, ch *charge) ([]byte, error) {
	if r.ContentLength > h.cfg.MaxBody {
		return nil, fail(http.StatusRequestEntityTooLarge, "body of %d bytes is over the limit of %d", r.ContentLength, h.cfg.MaxBody)
	}
	br := bufio.NewReader(http.MaxBytesReader(nil, r.Body, h.cfg.MaxBody))
	gz := false
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
		magic, _ := br.Peek(2)
		gz = len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b
	case "gzip", "x-gzip":
		gz = true
	default:
		return nil, fail(http.StatusUnsupportedMediaType, "Content-Encoding %q: send gzip or no encoding", enc)
	}
	var body io.Reader = br
	limit, size := h.cfg.MaxBody, r.ContentLength
	if gz {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, bodyError(err, h.cfg.MaxBody, "gzip")
		}
		defer zr.Close()
		body, limit, size = zr, 8*h.cfg.MaxBody, -1
	}
	data, err := readAll(body, size, limit, ch)
	if err != nil {
		var he *httpError
		if errors.As(err, &he) {
			return nil, err
		}
		return nil, bodyError(err, h.cfg.MaxBody, "body")
	}
	return data, nil
}

// readAll reads r to its end, up to limit bytes (413 past it), charging
// every buffer it allocates. size, if not negative, is the length to
// expect.
func readAll(r io.Reader, size, limit int64, ch *charge) ([]byte, error) {
	n := int64(64 << 10)
	if size >= 0 {
		n = size + 1 // one more, to see the end without growing
	}
	if err := ch.take(n); err != nil {
		return nil, err
	}
	buf := make([]byte, 0, n)
	for {
		if len(buf) == cap(buf) {
			// The old buffer stays charged: it is garbage, but memory
			// until it is collected.
			grown := 2 * int64(cap(buf))
			if err := ch.take(grown); err != nil {
				return nil, err
			}
			buf = append(make([]byte, 0, grown), buf...)
		}
		k, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+k]
		if int64(len(buf)) > limit {
			return nil, fail(http.StatusRequestEntityTooLarge, "inflated body is over the limit of %d bytes", limit)
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// budget is the memory the requests under way may hold together.
type budget struct {
	max  int64
	used *atomic.Int64
}

// charge is what one request holds of the budget.
type charge struct {
	b       *budget
	held    int64
	prepaid int64 // held but not yet used
}

func (b *budget) open() *charge { return &charge{b: b} }

// reserve takes n bytes of the budget for the request's use ahead.
func (c *charge) reserve(n int64) error {
	if err := c.take(n); err != nil {
		return err
	}
	c.prepaid += n
	return nil
}

// take charges n more bytes to the request (from what it reserved first):
// 413 if the request would need more than the whole budget, 503 if the
// budget cannot take it now.
func (c *charge) take(n int64) error {
	if c.prepaid > 0 {
		k := min(n, c.prepaid)
		c.prepaid -= k
		if n -= k; n == 0 {
			return nil
		}
	}
	if c.held+n > c.b.max {
		return fail(http.StatusRequestEntityTooLarge,
			"the request needs more than the %d bytes of memory the ingest gives all requests together: send fewer or smaller records at a time", c.b.max)
	}
	if c.b.used.Add(n) > c.b.max {
		c.b.used.Add(-n)
		return &httpError{code: http.StatusServiceUnavailable, retryAfter: "1", busy: true,
			msg: "the ingest holds as many requests as its memory budget allows: send this one again in a moment"}
	}
	c.held += n
	return nil
}

// close gives back what the request held.
func (c *charge) close() {
	c.b.used.Add(-c.held)
	c.held, c.prepaid = 0, 0
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
func splitBody(body []byte, seq bool, ch *charge) ([]feed.Record, error) {
	src := feed.NewBytesSource("http", body)
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
		if err := ch.take(3*int64(len(text)) + perRecord); err != nil {
			return nil, err
		}
		return []feed.Record{{File: "http", Index: 0, Raw: text}}, nil
	}
	// The records are read where they lie in the body: their texts are
	// slices of it, and nothing is copied. Their slice grows as they are
	// charged, not sized ahead by the body's newlines: a body of blank
	// lines would claim memory the budget never charged.
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
		if err := ch.take(3*int64(len(rec.Raw)) + perRecord); err != nil {
			return nil, err
		}
		recs = append(recs, rec)
	}
	if len(recs) == 0 {
		return nil, fail(http.StatusBadRequest, "empty body: no records")
	}
	return recs, nil
}
