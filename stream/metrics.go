package stream

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/feed"
	"github.com/linewatch/linewatch/internal/num"
)

// Counts account for every record the engine read (SPEC §2), and for the
// alerts it wrote.
type Counts struct {
	feed.Counts
	// Alerts by status (index detect.Status).
	Alerts [5]int64
}

// Metrics is the process's live figures, set by the driver, the sources
// and the HTTP ingest, and read by /metrics and /healthz.
type Metrics struct {
	records [5]atomic.Int64 // read, accepted, rejected, duplicate, late
	ingest  [4]atomic.Int64 // requests, accepted, rejected, duplicate
	// ingestBusy counts requests refused for want of memory budget.
	ingestBusy atomic.Int64
	// ingestInFlight is the memory the requests under way are charged.
	ingestInFlight atomic.Int64
	// ingestFailed counts requests JetStream did not store.
	ingestFailed atomic.Int64
	byType       [4]atomic.Int64
	alerts       [5]atomic.Int64
	watermark    atomic.Int64 // µs; math.MinInt64 before the first record
	open         atomic.Int64
	ckpts        atomic.Int64
	ckptAt       atomic.Int64 // unix ns of the last checkpoint
	logSize      atomic.Int64 // entries in the log's latest checkpoint; -1: no log
	started      time.Time

	// mu guards the sequences, read together so that the stream's last
	// sequence is never shown below the consumed one, and the problems.
	mu        sync.Mutex
	consumed  uint64 // stream sequence of the last record processed
	last      uint64 // the stream's last sequence, as last seen
	hasBroker bool
	problems  map[string]string // what keeps the process from working, by part
	role      string            // RoleActive or RoleStandby in a group; "" alone
	probes    []namedProbe
	maxLag    uint64 // /readyz fails past this lag (0: never)
	// closedLatency is, for each closed alert, the processing time from
	// the source handing on the batch that held the record that moved the
	// watermark past the episode, to the alert being written.
	closedLatency prometheus.Histogram
}

// NewMetrics returns empty metrics.
func NewMetrics() *Metrics {
	m := &Metrics{started: time.Now()}
	m.closedLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "linewatch_closed_alert_latency_seconds",
		Help:    "Processing time from reading the record that closed an episode to writing its closed alert.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 14), // 0.1 ms to 0.8 s
	})
	m.watermark.Store(math.MinInt64)
	m.logSize.Store(-1)
	return m
}

func (m *Metrics) setLogSize(n uint64) { m.logSize.Store(int64(n)) }

func (m *Metrics) setEngine(c *Counts, st *detect.Stream, consumed uint64) {
	m.records[0].Store(c.Read)
	m.records[1].Store(c.Accepted)
	m.records[2].Store(c.Rejected)
	m.records[3].Store(c.Duplicate)
	m.records[4].Store(c.Late)
	for i := range m.alerts {
		m.alerts[i].Store(c.Alerts[i])
	}
	for i, n := range st.ByType {
		m.byType[i].Store(int64(n))
	}
	m.watermark.Store(st.Watermark())
	m.open.Store(int64(st.Open()))
	m.mu.Lock()
	m.consumed = consumed
	// What was consumed was in the stream, whether or not the last look
	// at the stream saw it.
	m.last = max(m.last, consumed)
	m.mu.Unlock()
}

func (m *Metrics) addIngest(accepted, rejected, duplicate int64) {
	m.ingest[0].Add(1)
	m.ingest[1].Add(accepted)
	m.ingest[2].Add(rejected)
	m.ingest[3].Add(duplicate)
}

// setStreamLast records the broker stream's last sequence.
func (m *Metrics) setStreamLast(seq uint64) {
	m.mu.Lock()
	m.hasBroker = true
	m.last = max(seq, m.consumed)
	m.mu.Unlock()
}

// SetProblem records what keeps part of the process from working (the
// store is full, the consumer was deleted, …), or with msg "" that it
// works again. While any problem is recorded /healthz answers 503 and
// lists them.
func (m *Metrics) SetProblem(part, msg string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if msg == "" {
		delete(m.problems, part)
		return
	}
	if m.problems == nil {
		m.problems = map[string]string{}
	}
	m.problems[part] = msg
}

// SetRole records the engine's role in a group (RoleActive, RoleStandby).
func (m *Metrics) SetRole(role string) {
	m.mu.Lock()
	m.role = role
	m.mu.Unlock()
}

// Role is the engine's role in a group ("" when it runs alone).
func (m *Metrics) Role() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.role
}

// Probe is a check GET /readyz makes: it returns why the process cannot do
// its job now, or "" when it can.
type Probe func(ctx context.Context) string

type namedProbe struct {
	name string
	p    Probe
}

// AddProbe adds a check to /readyz.
func (m *Metrics) AddProbe(name string, p Probe) {
	m.mu.Lock()
	m.probes = append(m.probes, namedProbe{name, p})
	m.mu.Unlock()
}

// SetMaxLag makes /readyz fail while more than n records wait in the
// stream (0: never).
func (m *Metrics) SetMaxLag(n uint64) {
	m.mu.Lock()
	m.maxLag = n
	m.mu.Unlock()
}

// Problems is the problems recorded, as "part: message", sorted.
func (m *Metrics) Problems() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.problemsLocked()
}

func (m *Metrics) problemsLocked() []string {
	var out []string
	for part, msg := range m.problems {
		out = append(out, part+": "+msg)
	}
	sort.Strings(out)
	return out
}

// sequences returns the consumed and the stream's last sequence, and
// whether a broker stream is being consumed at all.
func (m *Metrics) sequences() (consumed, last uint64, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.consumed, m.last, m.hasBroker
}

func (m *Metrics) checkpointed() {
	m.ckpts.Add(1)
	m.ckptAt.Store(time.Now().UnixNano())
}

// Lag is the number of records stored in the broker's stream and not yet
// processed.
func (m *Metrics) Lag() uint64 {
	done, last, _ := m.sequences()
	return last - done // setEngine and setStreamLast keep last ≥ done
}

var (
	outcomeNames = [5]string{"read", "accepted", "rejected", "duplicate", "late"}
	typeNames    = [4]string{"crossing", "incursion", "fire", "buffer"}
)

var (
	descRecords    = prometheus.NewDesc("linewatch_records_total", "Records the engine read, by outcome (read = accepted + rejected + duplicate + late).", []string{"outcome"}, nil)
	descIngest     = prometheus.NewDesc("linewatch_ingest_records_total", "Records received by the HTTP ingest, by outcome.", []string{"outcome"}, nil)
	descRequests   = prometheus.NewDesc("linewatch_ingest_requests_total", "POST /v1/sightings requests answered 202 (or 422: every record rejected).", nil, nil)
	descFailed     = prometheus.NewDesc("linewatch_ingest_store_failures_total", "POST /v1/sightings requests answered 503 because JetStream did not store their records.", nil, nil)
	descInFlight   = prometheus.NewDesc("linewatch_ingest_inflight_bytes", "Memory charged to the POST /v1/sightings requests under way (bounded by --max-inflight).", nil, nil)
	descBusy       = prometheus.NewDesc("linewatch_ingest_busy_total", "POST /v1/sightings requests answered 503 because the requests under way held the whole memory budget.", nil, nil)
	descViolations = prometheus.NewDesc("linewatch_violations_total", "Violations found, by type.", []string{"type"}, nil)
	descAlerts     = prometheus.NewDesc("linewatch_alerts_total", "Alerts emitted, by status.", []string{"status"}, nil)
	descWatermark  = prometheus.NewDesc("linewatch_watermark_seconds", "The event-time watermark, in seconds since the Unix epoch.", nil, nil)
	descOpen       = prometheus.NewDesc("linewatch_open_episodes", "Episodes open (not yet closed).", nil, nil)
	descLag        = prometheus.NewDesc("linewatch_consumer_lag", "Records stored in the JetStream stream and not yet processed.", nil, nil)
	descConsumed   = prometheus.NewDesc("linewatch_consumed_sequence", "JetStream stream sequence of the last record processed.", nil, nil)
	descCkpts      = prometheus.NewDesc("linewatch_checkpoints_total", "Checkpoints written by this process.", nil, nil)
	descProblems   = prometheus.NewDesc("linewatch_problems", "Problems keeping the process from working (listed by /healthz, which answers 503 while there are any).", nil, nil)
)

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.closedLatency.Describe(ch)
	for _, d := range []*prometheus.Desc{descRecords, descIngest, descRequests, descViolations, descAlerts, descWatermark, descOpen, descLag, descConsumed, descCkpts, descProblems, descBusy, descInFlight, descFailed} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.closedLatency.Collect(ch)
	for i, name := range outcomeNames {
		ch <- prometheus.MustNewConstMetric(descRecords, prometheus.CounterValue, float64(m.records[i].Load()), name)
	}
	ch <- prometheus.MustNewConstMetric(descRequests, prometheus.CounterValue, float64(m.ingest[0].Load()))
	ch <- prometheus.MustNewConstMetric(descBusy, prometheus.CounterValue, float64(m.ingestBusy.Load()))
	ch <- prometheus.MustNewConstMetric(descInFlight, prometheus.GaugeValue, float64(m.ingestInFlight.Load()))
	ch <- prometheus.MustNewConstMetric(descFailed, prometheus.CounterValue, float64(m.ingestFailed.Load()))
	for i, name := range []string{"accepted", "rejected", "duplicate"} {
		ch <- prometheus.MustNewConstMetric(descIngest, prometheus.CounterValue, float64(m.ingest[i+1].Load()), name)
	}
	for i, name := range typeNames {
		ch <- prometheus.MustNewConstMetric(descViolations, prometheus.CounterValue, float64(m.byType[i].Load()), name)
	}
	for s := detect.Opened; s <= detect.Closed; s++ {
		ch <- prometheus.MustNewConstMetric(descAlerts, prometheus.CounterValue, float64(m.alerts[s].Load()), s.String())
	}
	if wm := m.watermark.Load(); wm != math.MinInt64 && wm != math.MaxInt64 {
		ch <- prometheus.MustNewConstMetric(descWatermark, prometheus.GaugeValue, float64(wm)/1e6)
	}
	ch <- prometheus.MustNewConstMetric(descOpen, prometheus.GaugeValue, float64(m.open.Load()))
	if done, last, ok := m.sequences(); ok {
		ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, float64(last-done))
		ch <- prometheus.MustNewConstMetric(descConsumed, prometheus.GaugeValue, float64(done))
	}
	ch <- prometheus.MustNewConstMetric(descProblems, prometheus.GaugeValue, float64(len(m.Problems())))
	ch <- prometheus.MustNewConstMetric(descCkpts, prometheus.CounterValue, float64(m.ckpts.Load()))
}

// Handler serves the metrics in the Prometheus text format, with the Go
// runtime's and the process's own (resident memory, CPU).
func (m *Metrics) Handler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(m, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// Health is what GET /healthz answers.
type Health struct {
	// Status is "ok", or "failing" while Problems lists what keeps the
	// process from working (the store is full, the consumer was deleted).
	Status       string   `json:"status"`
	Problems     []string `json:"problems,omitempty"`
	Read         int64    `json:"records_read"`
	Watermark    *string  `json:"watermark"`
	OpenEpisodes int64    `json:"open_episodes"`
	Consumed     *uint64  `json:"consumed_seq,omitempty"`
	StreamLast   *uint64  `json:"stream_last_seq,omitempty"`
	Lag          *uint64  `json:"lag,omitempty"`
	Checkpoints  int64    `json:"checkpoints"`
	// LogSize is the size of the log's latest checkpoint (the driver
	// keeps a log).
	LogSize *uint64 `json:"log_size,omitempty"`
	UptimeS float64 `json:"uptime_s"`
	// Role is "active" or "standby" for an engine of a group.
	Role string `json:"role,omitempty"`
}

// Health returns the process's state in brief.
func (m *Metrics) Health() Health {
	h := Health{Status: "ok", Read: m.records[0].Load(), OpenEpisodes: m.open.Load(), Checkpoints: m.ckpts.Load(),
		UptimeS: math.Round(time.Since(m.started).Seconds()*1000) / 1000}
	if wm := m.watermark.Load(); wm != math.MinInt64 && wm != math.MaxInt64 {
		s := num.FormatTime(wm)
		h.Watermark = &s
	}
	if n := m.logSize.Load(); n >= 0 {
		size := uint64(n)
		h.LogSize = &size
	}
	m.mu.Lock()
	if m.hasBroker {
		c, l := m.consumed, m.last
		lag := l - c
		h.Consumed, h.StreamLast, h.Lag = &c, &l, &lag
	}
	if h.Problems = m.problemsLocked(); len(h.Problems) > 0 {
		h.Status = "failing"
	}
	h.Role = m.role
	m.mu.Unlock()
	return h
}

// Readiness is what GET /readyz answers.
type Readiness struct {
	// Status is "ready", or "not ready" while Reasons lists why.
	Status  string   `json:"status"`
	Reasons []string `json:"reasons,omitempty"`
	// Checks holds each check's outcome: "ok" or why not.
	Checks map[string]string `json:"checks"`
	Role   string            `json:"role,omitempty"`
	Lag    *uint64           `json:"lag,omitempty"`
}

// Ready runs the checks: the problems /healthz lists, every probe (the
// NATS connection, JetStream, the consumer, the state), and the lag.
func (m *Metrics) Ready(ctx context.Context) Readiness {
	h := m.Health()
	r := Readiness{Status: "ready", Checks: map[string]string{}, Role: h.Role, Lag: h.Lag}
	r.Reasons = append(r.Reasons, h.Problems...)
	m.mu.Lock()
	probes, maxLag := slices.Clone(m.probes), m.maxLag
	m.mu.Unlock()
	for _, p := range probes {
		why := p.p(ctx)
		if why == "" {
			r.Checks[p.name] = "ok"
			continue
		}
		r.Checks[p.name] = why
		r.Reasons = append(r.Reasons, p.name+": "+why)
	}
	if maxLag > 0 && h.Lag != nil {
		if *h.Lag > maxLag {
			why := fmt.Sprintf("%d records wait in the stream, more than %d", *h.Lag, maxLag)
			r.Checks["lag"] = why
			r.Reasons = append(r.Reasons, "lag: "+why)
		} else {
			r.Checks["lag"] = "ok"
		}
	}
	if len(r.Reasons) > 0 {
		r.Status = "not ready"
	}
	return r
}

// ReadyHandler serves GET /readyz: the Readiness as JSON, with status 200
// when ready and 503 with the reasons when not.
func (m *Metrics) ReadyHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		rd := m.Ready(ctx)
		w.Header().Set("Content-Type", "application/json")
		if rd.Status != "ready" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		b, _ := json.Marshal(rd)
		w.Write(append(b, '\n'))
	})
}

// HealthHandler serves GET /healthz: the Health as JSON, with status 200
// when it is ok and 503 while there is a problem.
func (m *Metrics) HealthHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := m.Health()
		w.Header().Set("Content-Type", "application/json")
		if h.Status != "ok" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		b, _ := json.Marshal(h)
		w.Write(append(b, '\n'))
	})
}
