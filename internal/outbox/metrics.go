package outbox

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/admit-events/admit/internal/store"
)

// Collector exports the outbox's backlog as Prometheus gauges, read from the
// database at each scrape so that every process reports the same shared
// truth. Alert on admit_outbox_dead_messages > 0: a dead message is a refund
// or a notice nobody will retry until a person runs "admit outbox retry".
type Collector struct {
	db  *store.DB
	log *slog.Logger
}

// NewCollector returns the collector of db's outbox.
func NewCollector(db *store.DB, log *slog.Logger) *Collector { return &Collector{db: db, log: log} }

var (
	pendingDesc = prometheus.NewDesc("admit_outbox_pending_messages",
		"Outbox messages not yet delivered and still being tried.", nil, nil)
	deadDesc = prometheus.NewDesc("admit_outbox_dead_messages",
		"Outbox messages parked after their last failed attempt: a person must look (admit outbox list).", nil, nil)
	ageDesc = prometheus.NewDesc("admit_outbox_oldest_pending_age_seconds",
		"Age of the oldest pending outbox message (0 when none): how far delivery lags.", nil, nil)
)

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- pendingDesc
	ch <- deadDesc
	ch <- ageDesc
}

// Collect implements prometheus.Collector. A scrape that cannot read the
// database reports none of these gauges rather than zeros that would hide a
// backlog (alert on their absence too), and the rest of /metrics still.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := c.db.OutboxStats(ctx)
	if err != nil {
		c.log.Warn("metrics: outbox stats", "err", err)
		return
	}
	var age float64
	if !s.OldestPending.IsZero() {
		age = max(c.db.Now().Sub(s.OldestPending).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(s.Pending))
	ch <- prometheus.MustNewConstMetric(deadDesc, prometheus.GaugeValue, float64(s.Dead))
	ch <- prometheus.MustNewConstMetric(ageDesc, prometheus.GaugeValue, age)
}
