package delivery

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/smtpclient"
	"github.com/carepost/carepost/internal/store"
)

// metrics are delivery's Prometheus series. Labels are bounded sets
// (states, levels, authorizations, results); never domains or addresses.
type metrics struct {
	depth       *depthCollector
	deliveries  *prometheus.CounterVec
	duration    prometheus.Histogram
	connections *prometheus.CounterVec
}

func newMetrics(db *store.DB) *metrics {
	return &metrics{
		depth: &depthCollector{db: db, desc: prometheus.NewDesc("carepost_delivery_queue_depth",
			"Recipients waiting or being delivered, by state (queued, sending, deferred, held).", []string{"state"}, nil)},
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "carepost_deliveries_total",
			Help: "Delivery outcomes by outcome (delivered, bounced, deferred, failed, held, portal), required transport level and what authorized the MX host (portal: none was involved)."},
			[]string{"outcome", "level", "authorized_by"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "carepost_delivery_duration_seconds",
			Help:    "Time from acceptance to delivery of each delivered recipient.",
			Buckets: prometheus.ExponentialBuckets(0.05, 4, 12)}),
		connections: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "carepost_delivery_connections_total",
			Help: "SMTP connections opened to MX hosts, by result (ok, tls_failed, refused, failed)."}, []string{"result"}),
	}
}

func (m *metrics) outcome(w write, now time.Time) {
	state := w.out.State
	switch {
	case w.handoff:
		state = outbox.StatePortal
	case w.event == "":
		return
	}
	m.deliveries.WithLabelValues(state, w.res.r.row.Level, w.by).Inc()
	if w.out.State == outbox.StateDelivered {
		m.duration.Observe(now.Sub(w.res.msg.CreatedAt).Seconds())
	}
}

func (m *metrics) connection(err error) {
	var e *smtpclient.Error
	result := "ok"
	switch {
	case err == nil:
	case errors.As(err, &e) && e.Kind == smtpclient.KindTLS:
		result = "tls_failed"
	case errors.As(err, &e) && e.Code != 0:
		result = "refused"
	default:
		result = "failed"
	}
	m.connections.WithLabelValues(result).Inc()
}

// depthCollector counts the queue when scraped, at most every 10 seconds.
type depthCollector struct {
	db   *store.DB
	desc *prometheus.Desc

	mu    sync.Mutex
	at    time.Time
	depth map[string]int64
}

func (c *depthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *depthCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) > 10*time.Second {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		d, err := store.QueueDepth(ctx, c.db.Reader())
		cancel()
		if err == nil {
			c.depth, c.at = d, time.Now()
		}
	}
	for state, n := range c.depth {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), state)
	}
}
