// Command loadgen posts a GeoJSONSeq file to a linewatch stream HTTP ingest
// endpoint in batches, the way a sensor gateway would, and reports the
// rate: records per second through HTTP into JetStream and, with -wait,
// until the engine has processed them all.
//
//	go run ./scripts/loadgen -url http://127.0.0.1:8080 -file sightings.ndjson -batch 1000 -clients 4 -wait
//
// With -clients 1 the batches are stored in file order (the crash test
// relies on it); with -retry a batch that fails (connection refused while
// the server restarts, 503) is sent again until it is answered 202, which
// JetStream's duplicate window makes safe. With -key and -source each body is
// signed as that source (a Linewatch-Signature header, docs/sources.md); the
// records must then name the source as their properties.source, for
// instance: sed -E 's/"source":"[^"]*"/"source":"observer-7"/'.
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/linewatch/linewatch/keys"
	"github.com/linewatch/linewatch/sources"
)

type response struct {
	Accepted  int `json:"accepted"`
	Rejected  int `json:"rejected"`
	Duplicate int `json:"duplicate"`
}

type health struct {
	Read  int64   `json:"records_read"`
	Lag   *uint64 `json:"lag"`
	Seq   *uint64 `json:"consumed_seq"`
	Last  *uint64 `json:"stream_last_seq"`
	Ckpts int64   `json:"checkpoints"`
	// LogSize is the size of the engine's log's latest checkpoint (with
	// --log-key).
	LogSize *int64 `json:"log_size"`
}

func main() {
	url := flag.String("url", "http://127.0.0.1:8080", "base `URL` of the linewatch stream HTTP ingest")
	file := flag.String("file", "", "GeoJSONSeq `FILE` to post (- for standard input)")
	batch := flag.Int("batch", 1000, "records per POST")
	clients := flag.Int("clients", 4, "concurrent HTTP clients (1 keeps the file's order)")
	token := flag.String("token", "", "bearer `TOKEN`")
	metricsToken := flag.String("metrics-token", "", "bearer token `FILE` for /healthz (linewatch stream --metrics-token)")
	gz := flag.Bool("gzip", false, "gzip each body")
	retry := flag.Bool("retry", false, "send a failed batch again until it is answered 202")
	wait := flag.Bool("wait", false, "after posting, wait until the engine has processed every record stored (and, keeping a log, published a checkpoint of them all), and report the rate end to end")
	quiet := flag.Bool("q", false, "print only the figures")
	rate := flag.Float64("rate", 0, "send at most `N` records per second (0: as fast as the server answers)")
	keyFile := flag.String("key", "", "sign each body with the source's private key `FILE` (with -source)")
	source := flag.String("source", "", "the `ID` of the source signing (with -key); its records must name it")
	flag.Parse()
	var signer note.Signer
	if (*keyFile == "") != (*source == "") {
		fatal(errors.New("-key and -source go together"))
	}
	if *keyFile != "" {
		var err error
		if signer, err = keys.Signer(*keyFile); err != nil {
			fatal(err)
		}
	}
	if *file == "" || *batch < 1 || *clients < 1 {
		flag.Usage()
		os.Exit(2)
	}
	in := os.Stdin
	if *file != "-" {
		f, err := os.Open(*file)
		if err != nil {
			fatal(err)
		}
		defer f.Close()
		in = f
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *clients, DisableCompression: true}, Timeout: 120 * time.Second}
	if *metricsToken != "" {
		b, err := os.ReadFile(*metricsToken)
		if err != nil {
			fatal(err)
		}
		healthToken, _, _ = strings.Cut(string(b), "\n")
		healthToken = strings.TrimSpace(healthToken)
	}
	endpoint := strings.TrimSuffix(*url, "/") + "/v1/sightings"
	var base health
	if *wait {
		var err error
		if base, err = getHealth(client, *url); err != nil {
			fatal(err)
		}
	}

	bodies := make(chan []byte, *clients*2)
	var sent, accepted, rejected, duplicate, retries atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	for range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for body := range bodies {
				sig := ""
				if signer != nil {
					var err error
					if sig, err = sources.SignBody(signer, *source, body); err != nil {
						failed.Store(err)
						continue
					}
				}
				for {
					r, err := post(client, endpoint, body, *token, sig, *gz)
					if err == nil {
						accepted.Add(int64(r.Accepted))
						rejected.Add(int64(r.Rejected))
						duplicate.Add(int64(r.Duplicate))
						break
					}
					if !*retry {
						failed.Store(err)
						break
					}
					retries.Add(1)
					time.Sleep(100 * time.Millisecond)
				}
			}
		}()
	}
	start := time.Now()
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var buf bytes.Buffer
	n := 0
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		buf.Write(sc.Bytes())
		buf.WriteByte('\n')
		n++
		if n == *batch {
			if *rate > 0 {
				due := start.Add(time.Duration(float64(sent.Load()) / *rate * float64(time.Second)))
				time.Sleep(time.Until(due))
			}
			bodies <- bytes.Clone(buf.Bytes())
			sent.Add(int64(n))
			buf.Reset()
			n = 0
		}
	}
	if err := sc.Err(); err != nil {
		fatal(err)
	}
	if n > 0 {
		bodies <- bytes.Clone(buf.Bytes())
		sent.Add(int64(n))
	}
	close(bodies)
	wg.Wait()
	ingestWall := time.Since(start)
	if err, _ := failed.Load().(error); err != nil {
		fatal(err)
	}
	total := sent.Load()
	if !*quiet {
		fmt.Printf("posted %d records in batches of %d with %d clients: %d accepted, %d rejected, %d duplicate (%d retries)\n",
			total, *batch, *clients, accepted.Load(), rejected.Load(), duplicate.Load(), retries.Load())
	}
	fmt.Printf("ingest:     %8.2f s, %9.0f records/s (HTTP → JetStream, acknowledged)\n", ingestWall.Seconds(), float64(total)/ingestWall.Seconds())
	if !*wait {
		return
	}
	// Wait for the engine to process every record stored.
	for {
		h, err := getHealth(client, *url)
		if err == nil && h.Lag != nil && *h.Lag == 0 && h.Last != nil && h.Seq != nil && *h.Seq == *h.Last &&
			h.Read-base.Read >= accepted.Load() && (h.LogSize == nil || *h.LogSize >= h.Read) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	wall := time.Since(start)
	fmt.Printf("end to end: %8.2f s, %9.0f records/s (HTTP → JetStream → engine, all processed)\n", wall.Seconds(), float64(total)/wall.Seconds())
}

func post(c *http.Client, url string, body []byte, token, sig string, gz bool) (*response, error) {
	var rd io.Reader = bytes.NewReader(body)
	if gz {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(body)
		zw.Close()
		rd = &b
	}
	req, err := http.NewRequest(http.MethodPost, url, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/geo+json-seq")
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if sig != "" {
		req.Header.Set(sources.SignatureHeader, sig)
	}
	res, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	// 422: every record of the batch was rejected; the answer says why.
	if res.StatusCode != http.StatusAccepted && res.StatusCode != http.StatusUnprocessableEntity {
		return nil, fmt.Errorf("POST %s: %s: %s", url, res.Status, bytes.TrimSpace(data))
	}
	var r response
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("POST %s: %w", url, err)
	}
	return &r, nil
}

// healthToken is the bearer token /healthz asks for, if any.
var healthToken string

func getHealth(c *http.Client, url string) (health, error) {
	var h health
	req, err := http.NewRequest(http.MethodGet, strings.TrimSuffix(url, "/")+"/healthz", nil)
	if err != nil {
		return h, err
	}
	if healthToken != "" {
		req.Header.Set("Authorization", "Bearer "+healthToken)
	}
	res, err := c.Do(req)
	if err != nil {
		return h, err
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		return h, errors.New("healthz: " + res.Status)
	}
	return h, json.NewDecoder(res.Body).Decode(&h)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "loadgen:", err)
	os.Exit(1)
}
