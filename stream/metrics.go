package stream

import (
	"encoding/json"
	"math"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/internal/num"
)

// Counts account for every record the engine read (SPEC §2): read =
// accepted + rejected + duplicate + late. Unattributed and BeyondEnd are
// among the accepted; Future among the rejected.
type Counts struct {
	Read, Accepted, Rejected, Duplicate, Late int64
	Unattributed, BeyondEnd, Future           int64
	// Alerts by status (index detect.Status).
	Alerts [5]int64
}

// Metrics is the process's live figures, set by the driver, the sources
// and the HTTP ingest, and read by /metrics and /healthz.
type Metrics struct {
	records   [5]atomic.Int64 // read, accepted, rejected, duplicate, late
	ingest    [4]atomic.Int64 // requests, accepted, rejected, duplicate
	byType    [4]atomic.Int64
	alerts    [5]atomic.Int64
	watermark atomic.Int64 // µs; math.MinInt64 before the first record
	open      atomic.Int64
	consumed  atomic.Uint64 // stream sequence of the last record processed
	last      atomic.Uint64 // the stream's last sequence, as last seen
	hasBroker atomic.Bool
	ckpts     atomic.Int64
	ckptAt    atomic.Int64 // unix ns of the last checkpoint
	started   time.Time
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
	return m
}

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
	m.consumed.Store(consumed)
}

func (m *Metrics) addIngest(accepted, rejected, duplicate int64) {
	m.ingest[0].Add(1)
	m.ingest[1].Add(accepted)
	m.ingest[2].Add(rejected)
	m.ingest[3].Add(duplicate)
}

// setStreamLast records the broker stream's last sequence.
func (m *Metrics) setStreamLast(seq uint64) {
	m.hasBroker.Store(true)
	m.last.Store(seq)
}

func (m *Metrics) checkpointed() {
	m.ckpts.Add(1)
	m.ckptAt.Store(time.Now().UnixNano())
}

// Lag is the number of records stored in the broker's stream and not yet
// processed.
func (m *Metrics) Lag() uint64 {
	last, done := m.last.Load(), m.consumed.Load()
	if last <= done {
		return 0
	}
	return last - done
}

var (
	outcomeNames = [5]string{"read", "accepted", "rejected", "duplicate", "late"}
	typeNames    = [4]string{"crossing", "incursion", "fire", "buffer"}
)

var (
	descRecords    = prometheus.NewDesc("linewatch_records_total", "Records the engine read, by outcome (read = accepted + rejected + duplicate + late).", []string{"outcome"}, nil)
	descIngest     = prometheus.NewDesc("linewatch_ingest_records_total", "Records received by the HTTP ingest, by outcome.", []string{"outcome"}, nil)
	descRequests   = prometheus.NewDesc("linewatch_ingest_requests_total", "POST /v1/sightings requests answered 202.", nil, nil)
	descViolations = prometheus.NewDesc("linewatch_violations_total", "Violations found, by type.", []string{"type"}, nil)
	descAlerts     = prometheus.NewDesc("linewatch_alerts_total", "Alerts emitted, by status.", []string{"status"}, nil)
	descWatermark  = prometheus.NewDesc("linewatch_watermark_seconds", "The event-time watermark, in seconds since the Unix epoch.", nil, nil)
	descOpen       = prometheus.NewDesc("linewatch_open_episodes", "Episodes open (not yet closed).", nil, nil)
	descLag        = prometheus.NewDesc("linewatch_consumer_lag", "Records stored in the JetStream stream and not yet processed.", nil, nil)
	descConsumed   = prometheus.NewDesc("linewatch_consumed_sequence", "JetStream stream sequence of the last record processed.", nil, nil)
	descCkpts      = prometheus.NewDesc("linewatch_checkpoints_total", "Checkpoints written by this process.", nil, nil)
)

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.closedLatency.Describe(ch)
	for _, d := range []*prometheus.Desc{descRecords, descIngest, descRequests, descViolations, descAlerts, descWatermark, descOpen, descLag, descConsumed, descCkpts} {
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
	if m.hasBroker.Load() {
		ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, float64(m.Lag()))
		ch <- prometheus.MustNewConstMetric(descConsumed, prometheus.GaugeValue, float64(m.consumed.Load()))
	}
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
	Status       string  `json:"status"`
	Read         int64   `json:"records_read"`
	Watermark    *string `json:"watermark"`
	OpenEpisodes int64   `json:"open_episodes"`
	Consumed     *uint64 `json:"consumed_seq,omitempty"`
	StreamLast   *uint64 `json:"stream_last_seq,omitempty"`
	Lag          *uint64 `json:"lag,omitempty"`
	Checkpoints  int64   `json:"checkpoints"`
	UptimeS      float64 `json:"uptime_s"`
}

// Health returns the process's state in brief.
func (m *Metrics) Health() Health {
	h := Health{Status: "ok", Read: m.records[0].Load(), OpenEpisodes: m.open.Load(), Checkpoints: m.ckpts.Load(),
		UptimeS: math.Round(time.Since(m.started).Seconds()*1000) / 1000}
	if wm := m.watermark.Load(); wm != math.MinInt64 && wm != math.MaxInt64 {
		s := num.FormatTime(wm)
		h.Watermark = &s
	}
	if m.hasBroker.Load() {
		c, l, lag := m.consumed.Load(), m.last.Load(), m.Lag()
		h.Consumed, h.StreamLast, h.Lag = &c, &l, &lag
	}
	return h
}

// HealthHandler serves GET /healthz: 200 and the Health as JSON.
func (m *Metrics) HealthHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		b, _ := json.Marshal(m.Health())
		w.Write(append(b, '\n'))
	})
}
