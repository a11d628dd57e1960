package stream_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/feed"
	"github.com/linewatch/linewatch/sources"
	"github.com/linewatch/linewatch/stream"
)

type ingestFixture struct {
	broker  *stream.Broker
	srv     *httptest.Server
	metrics *stream.Metrics
}

func newIngest(t *testing.T, tokens map[string]string, maxBody int64) *ingestFixture {
	t.Helper()
	return newIngestWith(t, func(cfg *stream.IngestConfig) { cfg.Tokens, cfg.MaxBody = tokens, maxBody })
}

// newIngestWith is newIngest with the configuration set() makes of the
// fixture's.
func newIngestWith(t *testing.T, set func(*stream.IngestConfig)) *ingestFixture {
	t.Helper()
	b := startBroker(t, t.TempDir())
	t.Cleanup(b.Close)
	m := stream.NewMetrics()
	cfg := stream.IngestConfig{
		JS: b.JS, Subject: testSubject, MaxRecord: 1 << 20,
		MaxFuture: detect.DefaultPolicy().MaxFuture, Metrics: m,
	}
	set(&cfg)
	h := stream.NewIngest(cfg)
	srv := httptest.NewServer(stream.Mux(h, m, ""))
	t.Cleanup(srv.Close)
	return &ingestFixture{broker: b, srv: srv, metrics: m}
}

type answer struct {
	code int
	body string
	resp stream.IngestResponse
}

func (f *ingestFixture) post(t *testing.T, contentType, body string, header ...string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+"/v1/sightings", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) answer {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	a := answer{code: res.StatusCode, body: string(b)}
	if a.code == http.StatusAccepted || a.code == http.StatusUnprocessableEntity {
		if err := json.Unmarshal(b, &a.resp); err != nil {
			t.Fatalf("%d body %s: %v", a.code, b, err)
		}
	} else if !json.Valid(b) || !strings.Contains(string(b), `"error"`) {
		t.Errorf("%d answer without a JSON error: %s", a.code, b)
	}
	return a
}

// stored is the records of the stream's messages, in order.
func (f *ingestFixture) stored(t *testing.T) []string {
	t.Helper()
	ctx := context.Background()
	info, err := f.broker.Stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := f.broker.Stream.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, lines(m.Data)...)
	}
	return out
}

func sighting(id string, minute int) string {
	return fmt.Sprintf(`{"type":"Feature","id":%q,"geometry":{"type":"Point","coordinates":[37.5,47.9]},"properties":{"time":"2024-01-01T00:%02d:00Z","side":"RU","source":"someone"}}`, id, minute)
}

const seqType = "application/geo+json-seq"

func TestIngestMixedBatchAndRetry(t *testing.T) {
	f := newIngest(t, nil, 0)
	body := strings.Join([]string{
		sighting("a", 1),
		`{"type":"Feature","id":"b","geometry":{"type":"Point","coordinates":[37.5,47.9]},"properties":{"side":"RU"}}`,
		sighting("c", 2),
		`{not json`,
		sighting("a", 1), // the same record twice in one batch
	}, "\n") + "\n"
	a := f.post(t, seqType, body)
	if a.code != http.StatusAccepted {
		t.Fatalf("status %d: %s", a.code, a.body)
	}
	r := a.resp
	if r.Accepted != 2 || r.Rejected != 2 || r.Duplicate != 1 || len(r.Results) != 5 {
		t.Fatalf("answer %s", a.body)
	}
	want := []stream.IngestResult{
		{Index: 0, Status: "accepted", ID: "a"},
		{Index: 1, Status: "rejected", Reason: "time is missing"},
		{Index: 2, Status: "accepted", ID: "c"},
		{Index: 3, Status: "rejected"},
		{Index: 4, Status: "duplicate", ID: "a"},
	}
	for i, w := range want {
		g := r.Results[i]
		if g.Index != w.Index || g.Status != w.Status || g.ID != w.ID || (w.Reason != "" && g.Reason != w.Reason) {
			t.Errorf("result %d: %+v, want %+v", i, g, w)
		}
	}
	if !strings.HasPrefix(r.Results[3].Reason, "invalid JSON") {
		t.Errorf("bad JSON record's reason %q", r.Results[3].Reason)
	}
	if got := f.stored(t); len(got) != 2 || got[0] != sighting("a", 1) || got[1] != sighting("c", 2) {
		t.Fatalf("stored %q", got)
	}
	// The client did not hear the answer and sends the batch again.
	a = f.post(t, seqType, body)
	if a.code != http.StatusAccepted || a.resp.Accepted != 0 || a.resp.Duplicate != 3 || a.resp.Rejected != 2 {
		t.Fatalf("retry: %d %s", a.code, a.body)
	}
	if got := f.stored(t); len(got) != 2 {
		t.Fatalf("after the retry the stream holds %d records, want 2", len(got))
	}
	// Counted in the metrics.
	res, err := http.Get(f.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, w := range []string{
		`linewatch_ingest_records_total{outcome="accepted"} 2`,
		`linewatch_ingest_records_total{outcome="duplicate"} 4`,
		`linewatch_ingest_records_total{outcome="rejected"} 4`,
		`linewatch_records_total{outcome="read"} 0`,
		`process_resident_memory_bytes`,
	} {
		if !strings.Contains(string(m), w) {
			t.Errorf("metrics lack %s", w)
		}
	}
}

func TestIngestFormats(t *testing.T) {
	f := newIngest(t, nil, 0)
	// A FeatureCollection, pretty-printed, as application/geo+json.
	fc := "{\n \"type\": \"FeatureCollection\",\n \"features\": [\n  " + sighting("fc1", 1) + ",\n  " + sighting("fc2", 2) + "\n ]\n}\n"
	if a := f.post(t, "application/geo+json", fc); a.code != 202 || a.resp.Accepted != 2 {
		t.Fatalf("FeatureCollection: %d %s", a.code, a.body)
	}
	// One Feature over several lines, as application/json; charset.
	one := strings.ReplaceAll(sighting("one", 3), ",", ",\n  ")
	if a := f.post(t, "application/json; charset=utf-8", one); a.code != 202 || a.resp.Accepted != 1 {
		t.Fatalf("one Feature: %d %s", a.code, a.body)
	}
	// NDJSON, gzipped, with an RS before each record and CRLF.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	fmt.Fprintf(zw, "\x1e%s\r\n\x1e%s\r\n", sighting("nd1", 4), sighting("nd2", 5))
	zw.Close()
	if a := f.post(t, "application/x-ndjson", gz.String(), "Content-Encoding", "gzip"); a.code != 202 || a.resp.Accepted != 2 {
		t.Fatalf("gzipped NDJSON: %d %s", a.code, a.body)
	}
	if got := len(f.stored(t)); got != 5 {
		t.Fatalf("stored %d records, want 5", got)
	}
}

func TestIngestErrors(t *testing.T) {
	f := newIngest(t, nil, 4096)
	cases := []struct {
		name, ctype, body string
		header            []string
		code              int
		says              string
	}{
		{"bad JSON", "application/geo+json", `{"type":"FeatureCollection","features":[` + sighting("x", 1) + `,{"type":`, nil, 400, "feature 1"},
		{"not JSON", "application/json", `{not json at all`, nil, 400, "not JSON"},
		{"empty", seqType, "\n\n", nil, 400, "no records"},
		{"wrong content type", "text/plain", sighting("x", 1), nil, 415, "Content-Type"},
		{"no content type", "", sighting("x", 1), nil, 415, "Content-Type"},
		{"unknown encoding", seqType, sighting("x", 1), []string{"Content-Encoding", "br"}, 415, "Content-Encoding"},
		{"broken gzip", seqType, "\x1f\x8b\x08garbage", []string{"Content-Encoding", "gzip"}, 400, "gzip"},
		{"oversized", seqType, strings.Repeat(sighting("x", 1)+"\n", 40), nil, 413, "limit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := f.post(t, c.ctype, c.body, c.header...)
			if a.code != c.code || !strings.Contains(a.body, c.says) {
				t.Fatalf("status %d %s; want %d saying %q", a.code, a.body, c.code, c.says)
			}
		})
	}
	// Oversized without a Content-Length (chunked): still 413.
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/v1/sightings", io.MultiReader(strings.NewReader(strings.Repeat(sighting("x", 1)+"\n", 40))))
	req.Header.Set("Content-Type", seqType)
	req.ContentLength = -1
	if a := do(t, req); a.code != 413 {
		t.Fatalf("chunked oversized body: %d %s", a.code, a.body)
	}
	// Other methods.
	res, err := http.Get(f.srv.URL + "/v1/sightings")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 405 {
		t.Fatalf("GET: %d", res.StatusCode)
	}
	if got := len(f.stored(t)); got != 0 {
		t.Fatalf("%d records stored from failed requests", got)
	}
}

// With no tokens per source, the ingest takes its one token (generated
// once, mode 0600, the same on the next start): every request needs it,
// and records keep their own source.
func TestIngestOneToken(t *testing.T) {
	path := filepath.Join(t.TempDir(), stream.IngestTokenFile)
	tok, created, err := stream.EnsureToken(path)
	if err != nil || !created || len(tok) != 64 {
		t.Fatalf("EnsureToken = %q, %v, %v", tok, created, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v, want mode 0600", fi.Mode(), err)
	}
	if again, created, err := stream.EnsureToken(path); again != tok || created || err != nil {
		t.Fatalf("EnsureToken again = %q, %v, %v: want the same token, read", again, created, err)
	}
	f := newIngestWith(t, func(cfg *stream.IngestConfig) { cfg.Token = tok })
	rec := `{"type":"Feature","id":"o1","geometry":{"type":"Point","coordinates":[37.5,47.9]},"properties":{"time":"2024-01-01T00:01:00Z","side":"RU","source":"obs-a"}}`
	for _, h := range [][]string{nil, {"Authorization", "Bearer " + tok[:63]}, {"Authorization", "Basic " + tok}} {
		if a := f.post(t, seqType, rec+"\n", h...); a.code != 401 {
			t.Fatalf("%v: status %d", h, a.code)
		}
	}
	if a := f.post(t, seqType, rec+"\n", "Authorization", "Bearer "+tok); a.code != 202 || a.resp.Accepted != 1 {
		t.Fatalf("status %d %s", a.code, a.body)
	}
	if got := f.stored(t); len(got) != 1 || got[0] != rec {
		t.Fatalf("stored %q, want the record as sent", got)
	}
}

func TestIngestTokens(t *testing.T) {
	dir := t.TempDir()
	tf := filepath.Join(dir, "tokens")
	os.WriteFile(tf, []byte("# token source\ns3cret observer-7\nother   drone.12\n"), 0o600)
	reg, err := sources.LoadTokens(tf)
	if err != nil {
		t.Fatal(err)
	}
	f := newIngest(t, reg.Tokens(), 0)
	body := sighting("t1", 1) + "\n"
	for _, h := range [][]string{nil, {"Authorization", "Bearer wrong"}, {"Authorization", "Basic czNjcmV0"}} {
		a := f.post(t, seqType, body, h...)
		if a.code != 401 {
			t.Fatalf("%v: status %d", h, a.code)
		}
	}
	// A record claiming another source (twice, and escaped) is stored
	// under the token's.
	rec := `{"type":"Feature","id":"t2","geometry":{"type":"Point","coordinates":[37.5,47.9]},"properties":{"sour\u0063e":"x","time":"2024-01-01T00:02:00Z","source":"someone","side":"RU"}}`
	a := f.post(t, seqType, body+rec+"\n", "Authorization", "Bearer s3cret")
	if a.code != 202 || a.resp.Accepted != 2 {
		t.Fatalf("status %d %s", a.code, a.body)
	}
	a = f.post(t, seqType, sighting("t3", 3)+"\n", "Authorization", "Bearer other")
	if a.code != 202 || a.resp.Accepted != 1 {
		t.Fatalf("status %d %s", a.code, a.body)
	}
	got := f.stored(t)
	want := []string{
		`{"type":"Feature","id":"t1","geometry":{"type":"Point","coordinates":[37.5,47.9]},"properties":{"time":"2024-01-01T00:01:00Z","side":"RU","source":"observer-7"}}`,
		`{"type":"Feature","id":"t2","geometry":{"type":"Point","coordinates":[37.5,47.9]},"properties":{"time":"2024-01-01T00:02:00Z","side":"RU","source":"observer-7"}}`,
		`{"type":"Feature","id":"t3","geometry":{"type":"Point","coordinates":[37.5,47.9]},"properties":{"time":"2024-01-01T00:03:00Z","side":"RU","source":"drone.12"}}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("stored:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Each source publishes on its own subject.
	m, err := f.broker.Stream.GetMsg(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "linewatch.sightings.drone_12" {
		t.Errorf("subject %q", m.Subject)
	}

	// A record without an id is answered with the hash id of the record
	// as stored, the token's source in it, and of no other; one with an
	// id, with its id, and a duplicate of it as one.
	noID := `{"type":"Feature","geometry":{"type":"Point","coordinates":[37.5,47.9]},"properties":{"time":"2024-01-01T00:04:00Z","side":"RU","source":"someone"}}`
	a = f.post(t, seqType, noID+"\n"+sighting("t4", 4)+"\n"+sighting("t4", 5)+"\n", "Authorization", "Bearer s3cret")
	if a.code != 202 || a.resp.Accepted != 2 || a.resp.Duplicate != 1 || a.resp.Results[1].ID != "t4" {
		t.Fatalf("status %d %s", a.code, a.body)
	}
	got = f.stored(t)
	var asStored, asSent detect.Sighting
	if err := feed.Decode([]byte(got[3]), &asStored); err != nil || asStored.Source != "observer-7" {
		t.Fatalf("stored %s: %v", got[3], err)
	}
	if err := feed.Decode([]byte(noID), &asSent); err != nil || asSent.ID == asStored.ID {
		t.Fatalf("the hash id does not depend on the source: %v", err)
	}
	if a.resp.Results[0].ID != asStored.ID {
		t.Errorf("answered id %q, the record stored has %q", a.resp.Results[0].ID, asStored.ID)
	}
}

// A record too far ahead of the clock is rejected before it is stored (and
// the request, with nothing accepted, is answered 422).
func TestIngestFuture(t *testing.T) {
	f := newIngest(t, nil, 0)
	rec := fmt.Sprintf(`{"type":"Feature","id":"f","geometry":{"type":"Point","coordinates":[37.5,47.9]},"properties":{"time":%q,"side":"RU"}}`,
		time.Now().Add(2*time.Hour).UTC().Format(time.RFC3339))
	a := f.post(t, seqType, rec)
	if a.code != 422 || a.resp.Rejected != 1 || a.resp.Results[0].Reason != "future" {
		t.Fatalf("status %d %s", a.code, a.body)
	}
}

func TestHealthz(t *testing.T) {
	f := newIngest(t, nil, 0)
	res, err := http.Get(f.srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var h stream.Health
	if err := json.NewDecoder(res.Body).Decode(&h); err != nil || res.StatusCode != 200 || h.Status != "ok" {
		t.Fatalf("healthz: %d %+v %v", res.StatusCode, h, err)
	}
}

// A gzipped body sent without Content-Encoding is recognised by its magic
// number, as the command line recognises a gzipped file.
func TestIngestGzipWithoutEncoding(t *testing.T) {
	f := newIngest(t, nil, 0)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	fmt.Fprintf(zw, "%s\n%s\n", sighting("z1", 1), sighting("z2", 2))
	zw.Close()
	if a := f.post(t, seqType, gz.String()); a.code != 202 || a.resp.Accepted != 2 {
		t.Fatalf("gzip without Content-Encoding: %d %s", a.code, a.body)
	}
	if got := f.stored(t); len(got) != 2 || got[0] != sighting("z1", 1) {
		t.Fatalf("stored %q", got)
	}
}

// A request none of whose records could be taken is answered 422, with the
// reason of each; one with any record accepted (or stored before: a retry)
// is answered 202.
func TestIngestAllRejected(t *testing.T) {
	f := newIngest(t, nil, 0)
	bad := `{"type":"Feature","id":"b","geometry":{"type":"Point","coordinates":[37.5,47.9]},"properties":{"side":"RU"}}`
	a := f.post(t, seqType, bad+"\n{not json\n")
	if a.code != http.StatusUnprocessableEntity {
		t.Fatalf("all rejected: %d %s", a.code, a.body)
	}
	var r stream.IngestResponse
	if err := json.Unmarshal([]byte(a.body), &r); err != nil || r.Rejected != 2 || len(r.Results) != 2 || r.Results[0].Reason != "time is missing" {
		t.Fatalf("all rejected: body %s (%v)", a.body, err)
	}
	if got := f.stored(t); len(got) != 0 {
		t.Fatalf("stored %q", got)
	}
	if a := f.post(t, seqType, bad+"\n"+sighting("ok", 1)+"\n"); a.code != 202 || a.resp.Accepted != 1 || a.resp.Rejected != 1 {
		t.Fatalf("one of two accepted: %d %s", a.code, a.body)
	}
	if a := f.post(t, seqType, bad+"\n"+sighting("ok", 1)+"\n"); a.code != 202 || a.resp.Duplicate != 1 || a.resp.Rejected != 1 {
		t.Fatalf("the same again: %d %s", a.code, a.body)
	}
}

// With a token, /metrics and /healthz answer only requests that carry it;
// the ingest keeps its own tokens.
func TestMetricsToken(t *testing.T) {
	m := stream.NewMetrics()
	srv := httptest.NewServer(stream.Mux(nil, m, "m3trics"))
	defer srv.Close()
	for _, path := range []string{"/metrics", "/healthz"} {
		for _, c := range []struct {
			auth string
			code int
		}{{"", 401}, {"Bearer wrong", 401}, {"Basic bTN0cmljcw==", 401}, {"Bearer m3trics", 200}, {"bearer  m3trics ", 200}} {
			req, _ := http.NewRequest("GET", srv.URL+path, nil)
			if c.auth != "" {
				req.Header.Set("Authorization", c.auth)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != c.code {
				t.Fatalf("GET %s with %q: %d %s", path, c.auth, res.StatusCode, b)
			}
			if c.code == 401 && (res.Header.Get("WWW-Authenticate") == "" || bytes.Contains(b, []byte("linewatch_"))) {
				t.Fatalf("GET %s with %q: %v %s", path, c.auth, res.Header, b)
			}
		}
	}
	tf := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tf, []byte("  m3trics \nignored\n"), 0o600)
	if tok, err := stream.LoadToken(tf); err != nil || tok != "m3trics" {
		t.Fatalf("LoadToken: %q %v", tok, err)
	}
	os.WriteFile(tf, []byte("\n"), 0o600)
	if _, err := stream.LoadToken(tf); err == nil {
		t.Fatal("LoadToken took an empty first line")
	}
}

// The requests under way hold at most MaxInFlight bytes together: one
// that would take more waits for none, it is answered 503 with Retry-After
// (413 when it needs more than the whole budget alone), and everything
// charged is given back.
func TestIngestMemoryBudget(t *testing.T) {
	b := startBroker(t, t.TempDir())
	t.Cleanup(b.Close)
	m := stream.NewMetrics()
	h := stream.NewIngest(stream.IngestConfig{
		JS: b.JS, Subject: testSubject, MaxBody: 8 << 20, MaxRecord: 1 << 20, MaxInFlight: 8 << 20,
		MaxFuture: detect.DefaultPolicy().MaxFuture, Metrics: m,
	})
	srv := httptest.NewServer(stream.Mux(h, m, ""))
	defer srv.Close()
	f := &ingestFixture{broker: b, srv: srv, metrics: m}

	// 1.2 MB of short records: charged about 7 MB.
	var body strings.Builder
	for i := 0; body.Len() < 1_200_000; i++ {
		body.WriteString(sighting(fmt.Sprintf("r%05d", i), i%60) + "\n")
	}
	// Alone, within the budget.
	if a := f.post(t, seqType, body.String()); a.code != 202 {
		t.Fatalf("alone: %d %s", a.code, a.body)
	}
	// A request that is still being sent holds part of the budget.
	pr, pw := io.Pipe()
	slow := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/sightings", pr)
		req.Header.Set("Content-Type", seqType)
		slow <- do(t, req)
	}()
	// Six long records, 600 KB: charged 2 MB while they are read.
	long := `{"type":"Feature","id":"slow%d","geometry":{"type":"Point","coordinates":[37.5,47.9]},"properties":{"time":"2024-01-01T00:03:00Z","side":"RU","note":"` + strings.Repeat("n", 100_000) + `"}}` + "\n"
	for i := range 6 {
		if _, err := fmt.Fprintf(pw, long, i); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the slow request to be charged", 10*time.Second, func() bool { return h.InFlight() >= 1<<20 })
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/sightings", strings.NewReader(body.String()))
	req.Header.Set("Content-Type", seqType)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 503 || res.Header.Get("Retry-After") == "" || !strings.Contains(string(msg), "memory budget") {
		t.Fatalf("beyond the budget: %d %v %s", res.StatusCode, res.Header, msg)
	}
	pw.Close()
	if a := <-slow; a.code != 202 || a.resp.Accepted != 6 {
		t.Fatalf("the slow request: %d %.200s", a.code, a.body)
	}
	if a := f.post(t, seqType, body.String()); a.code != 202 || a.resp.Duplicate == 0 {
		t.Fatalf("sent again: %d %.200s", a.code, a.body)
	}
	// More than the whole budget, even alone.
	var huge strings.Builder
	for huge.Len() < 3_000_000 {
		huge.WriteString(sighting("h", 1) + "\n")
	}
	if a := f.post(t, seqType, huge.String()); a.code != 413 || !strings.Contains(a.body, "fewer or smaller") {
		t.Fatalf("over the budget alone: %d %.300s", a.code, a.body)
	}
	if n := h.InFlight(); n != 0 {
		t.Fatalf("%d bytes still charged after the requests ended", n)
	}
	met := scrape(t, srv.URL)
	if !strings.Contains(met, "linewatch_ingest_busy_total 1") || !strings.Contains(met, "linewatch_ingest_inflight_bytes 0") {
		t.Fatalf("metrics:\n%s", met)
	}
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// A source with a key signs its body: an unsigned or badly signed request
// is 401, a body with a record naming another source 422, one larger than
// a message 413, and nothing of them is stored; a good one is stored
// whole, exactly as signed, in one message with the signature and the
// source in its headers (which a token's records get too).
func TestIngestSignedBodies(t *testing.T) {
	b := startBroker(t, t.TempDir())
	t.Cleanup(b.Close)
	skey, vkey, _ := note.GenerateKey(rand.Reader, "obs-a")
	signer, _ := note.NewSigner(skey)
	ver, _ := note.NewVerifier(vkey)
	reg, err := sources.New(&sources.Source{ID: "obs-a", Key: vkey, Verifier: ver},
		&sources.Source{ID: "drone", Token: "t0k"})
	if err != nil {
		t.Fatal(err)
	}
	m := stream.NewMetrics()
	h := stream.NewIngest(stream.IngestConfig{
		JS: b.JS, Subject: testSubject, MaxRecord: 2000, Sources: reg,
		MaxFuture: detect.DefaultPolicy().MaxFuture, Metrics: m,
	})
	srv := httptest.NewServer(stream.Mux(h, m, ""))
	t.Cleanup(srv.Close)
	f := &ingestFixture{broker: b, srv: srv, metrics: m}
	sign := func(body string) string {
		s, err := sources.SignBody(signer, "obs-a", []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	of := func(id, source string) string {
		return strings.Replace(sighting(id, 1), `"someone"`, `"`+source+`"`, 1)
	}
	good := of("a1", "obs-a") + "\n" + `{"broken` + "\n" + of("a2", "obs-a") + "\n"
	for _, tc := range []struct {
		name   string
		body   string
		header []string
		code   int
		msg    string
	}{
		{"unsigned", good, nil, 401, "a bearer token"},
		{"another body's signature", good, []string{sources.SignatureHeader, sign("other")}, 401, "does not verify"},
		{"the drone's token with obs-a's signature", good, []string{sources.SignatureHeader, sign(good), "Authorization", "Bearer t0k"}, 401, `the bearer token is source "drone"'s`},
		{"a record of another source", of("x", "drone") + "\n", []string{sources.SignatureHeader, sign(of("x", "drone") + "\n")}, 422, `names source "drone", but the body is signed by "obs-a"`},
		{"a record without a source", sighting("y", 1) + "\n", []string{sources.SignatureHeader, sign(sighting("y", 1) + "\n")}, 422, `names source "someone"`},
		{"larger than a message", strings.Repeat(of("z", "obs-a")+"\n", 20), []string{sources.SignatureHeader, sign(strings.Repeat(of("z", "obs-a")+"\n", 20))}, 413, "sign and post fewer records"},
	} {
		a := f.post(t, seqType, tc.body, tc.header...)
		var e struct{ Error string }
		json.Unmarshal([]byte(a.body), &e)
		if a.code != tc.code || !strings.Contains(e.Error, tc.msg) {
			t.Errorf("%s: %d %s, want %d %q", tc.name, a.code, a.body, tc.code, tc.msg)
		}
	}
	if got := f.stored(t); len(got) != 0 {
		t.Fatalf("refused requests stored %q", got)
	}

	a := f.post(t, seqType, good, sources.SignatureHeader, sign(good))
	if a.code != 202 || a.resp.Accepted != 2 || a.resp.Rejected != 1 || a.resp.Results[1].Status != "rejected" {
		t.Fatalf("%d %s", a.code, a.body)
	}
	a = f.post(t, seqType, good, sources.SignatureHeader, sign(good)) // sent again
	if a.code != 202 || a.resp.Duplicate != 2 {
		t.Fatalf("sent again: %d %s", a.code, a.body)
	}
	a = f.post(t, seqType, sighting("d1", 2)+"\n", "Authorization", "Bearer t0k")
	if a.code != 202 || a.resp.Accepted != 1 {
		t.Fatalf("the drone: %d %s", a.code, a.body)
	}
	ctx := context.Background()
	msg, err := b.Stream.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if string(msg.Data) != good || msg.Header.Get(stream.SourceHeader) != "obs-a" || msg.Header.Get(sources.SignatureHeader) != sign(good) {
		t.Fatalf("stored %q with headers %v", msg.Data, msg.Header)
	}
	msg, err = b.Stream.GetMsg(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(msg.Data), `"source":"drone"`) || msg.Header.Get(stream.SourceHeader) != "drone" || msg.Header.Get(sources.SignatureHeader) != "" {
		t.Fatalf("the drone's message %q with headers %v", msg.Data, msg.Header)
	}
}

// TestIngestSignedManyRecords posts signed bodies large enough that their
// records are checked on several cores: the answer is the one a pass in
// order gives, record by record, and the first record naming another
// source refuses the body, however far into it.
func TestIngestSignedManyRecords(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	b := startBroker(t, t.TempDir())
	t.Cleanup(b.Close)
	skey, vkey, _ := note.GenerateKey(rand.Reader, "obs-a")
	signer, _ := note.NewSigner(skey)
	ver, _ := note.NewVerifier(vkey)
	reg, err := sources.New(&sources.Source{ID: "obs-a", Key: vkey, Verifier: ver})
	if err != nil {
		t.Fatal(err)
	}
	m := stream.NewMetrics()
	h := stream.NewIngest(stream.IngestConfig{JS: b.JS, Subject: testSubject, Sources: reg, MaxFuture: detect.DefaultPolicy().MaxFuture, Metrics: m})
	srv := httptest.NewServer(stream.Mux(h, m, ""))
	t.Cleanup(srv.Close)
	f := &ingestFixture{broker: b, srv: srv, metrics: m}
	const n = 1500
	body := func(others ...int) string {
		var sb strings.Builder
		for i := range n {
			switch {
			case slices.Contains(others, i):
				sb.WriteString(strings.Replace(sighting(fmt.Sprintf("r%d", i), 1), `"someone"`, `"drone"`, 1))
			case i%97 == 5:
				sb.WriteString(`{"type":"Feature","broken`)
			case i%101 == 7:
				sb.WriteString(strings.Replace(sighting(fmt.Sprintf("r%d", i-1), 1), `"someone"`, `"obs-a"`, 1)) // the id before's
			default:
				sb.WriteString(strings.Replace(sighting(fmt.Sprintf("r%d", i), 1), `"someone"`, `"obs-a"`, 1))
			}
			sb.WriteByte('\n')
		}
		return sb.String()
	}
	post := func(text string) answer {
		sig, err := sources.SignBody(signer, "obs-a", []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		return f.post(t, seqType, text, sources.SignatureHeader, sig)
	}
	for _, other := range []int{1, 1200, n - 1} {
		a := post(body(other, n-1)) // the first of them is named
		if a.code != 422 || !strings.Contains(a.body, fmt.Sprintf(`record %d (id \"r%d\") names source \"drone\"`, other, other)) {
			t.Fatalf("record %d of another source: %d %s", other, a.code, a.body)
		}
	}
	a := post(body())
	if a.code != 202 || len(a.resp.Results) != n {
		t.Fatalf("%d %.300s", a.code, a.body)
	}
	var acc, rej, dup int
	for i, r := range a.resp.Results {
		want := "accepted"
		switch {
		case i%97 == 5:
			want = "rejected"
			rej++
		case i%101 == 7 && (i-1)%97 != 5:
			want = "duplicate"
			dup++
		default:
			acc++
		}
		if r.Index != i || r.Status != want {
			t.Fatalf("result %d: %+v, want index %d %s", i, r, i, want)
		}
	}
	if a.resp.Accepted != acc || a.resp.Rejected != rej || a.resp.Duplicate != dup {
		t.Fatalf("counts %d/%d/%d, want %d/%d/%d", a.resp.Accepted, a.resp.Rejected, a.resp.Duplicate, acc, rej, dup)
	}
	// A signed body is stored whole, as signed: the engine rejects again
	// what the answer rejected.
	if got := f.stored(t); len(got) != n {
		t.Fatalf("%d records stored, want the body's %d", len(got), n)
	}
}

// Records that grow when they are given the token's source, over more
// than one message, are stored whole, however many: the room a message is
// given must not be worked out from the records as they came.
func TestIngestTokenRecordsGrowAcrossMessages(t *testing.T) {
	const source = "an-observer-with-a-long-name-0123456789"
	f := newIngestWith(t, func(cfg *stream.IngestConfig) {
		cfg.Tokens = map[string]string{"s3cret": source}
		cfg.MaxRecord = 4096
	})
	total := 0
	for n := 15; n <= 35; n++ {
		var body strings.Builder
		for i := range n {
			fmt.Fprintf(&body, `{"type":"Feature","id":"g%02d-%02d","geometry":{"type":"Point","coordinates":[37.5,47.9]},"properties":{"time":"2024-01-01T00:%02d:00Z","side":"RU","source":"x"}}`+"\n", n, i, i)
		}
		a := f.post(t, seqType, body.String(), "Authorization", "Bearer s3cret")
		if a.code != 202 || a.resp.Accepted != n {
			t.Fatalf("%d records: status %d, %d accepted: %s", n, a.code, a.resp.Accepted, a.body)
		}
		total += n
	}
	got := f.stored(t)
	if len(got) != total {
		t.Fatalf("%d records stored, want %d", len(got), total)
	}
	for _, rec := range got {
		if !strings.Contains(rec, `"source":"`+source+`"`) {
			t.Fatalf("stored %s", rec)
		}
	}
}
