// Package outbox delivers the rows of the transactional outbox to handlers,
// at least once: in process by default, several processes sharing the work
// through leases on the rows.
package outbox

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/admit-events/admit/internal/store"
)

// Handler handles one message; it must be idempotent (keyed by Seq), since
// a message may be delivered again after a crash.
type Handler func(ctx context.Context, m store.OutboxMessage) error

// Delivery limits. A message is tried maxAttempts times before it is
// parked dead: with backoff's 10-minute cap that is about a day, so that
// refunds and settlements outlast a provider's outage of some hours.
const (
	lease       = 30 * time.Second
	maxAttempts = 160
	batch       = 100
)

// Dispatcher polls the outbox and hands messages to the handler of their topic.
type Dispatcher struct {
	db       *store.DB
	log      *slog.Logger
	interval time.Duration
	handlers map[string]Handler
	fallback Handler
	wg       sync.WaitGroup
	stop     context.CancelFunc
}

// New returns a dispatcher polling every interval. Topics without a handler
// go to fallback.
func New(db *store.DB, log *slog.Logger, interval time.Duration, fallback Handler) *Dispatcher {
	return &Dispatcher{db: db, log: log, interval: interval, handlers: map[string]Handler{}, fallback: fallback}
}

// Handle routes a topic to h.
func (d *Dispatcher) Handle(topic string, h Handler) { d.handlers[topic] = h }

// Start delivers in the background until Close.
func (d *Dispatcher) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	d.stop = cancel
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		t := time.NewTicker(d.interval)
		defer t.Stop()
		for {
			// A full batch means more are waiting: go on without pausing.
			for n := batch; n == batch && ctx.Err() == nil; {
				var err error
				if n, err = d.DeliverDue(ctx); err != nil && ctx.Err() == nil {
					d.log.Error("outbox", "err", err)
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// Close stops the loop and waits for the batch in hand.
func (d *Dispatcher) Close() {
	if d.stop != nil {
		d.stop()
		d.wg.Wait()
	}
}

// DeliverDue delivers the messages due now and returns how many it handled.
func (d *Dispatcher) DeliverDue(ctx context.Context) (int, error) {
	msgs, err := d.db.ClaimOutbox(ctx, batch, lease)
	if err != nil {
		return 0, err
	}
	var done []int64
	defer func() {
		// Marked together: an onsale writes a message per order.
		if err := d.db.DeliveredOutbox(context.WithoutCancel(ctx), done...); err != nil {
			d.log.Error("outbox: mark delivered", "err", err) // delivered again later: handlers are idempotent
		}
	}()
	for _, m := range msgs {
		h := d.handlers[m.Topic]
		if h == nil {
			h = d.fallback
		}
		if err := h(ctx, m); err != nil {
			dead := m.Attempts >= maxAttempts
			retry := d.db.Now().Add(backoff(m.Attempts))
			level := slog.LevelWarn
			if dead {
				level = slog.LevelError // nothing retries it any more: a person must look
			}
			d.log.Log(ctx, level, "outbox delivery failed", "seq", m.Seq, "topic", m.Topic, "attempt", m.Attempts, "dead", dead, "err", err)
			if err := d.db.RetryOutbox(ctx, m.Seq, err.Error(), retry, dead); err != nil {
				return len(done), fmt.Errorf("outbox: retry %d: %w", m.Seq, err)
			}
			continue
		}
		done = append(done, m.Seq)
	}
	return len(done), nil
}

// backoff doubles from 2 s, capped at 10 minutes.
func backoff(attempt int) time.Duration {
	return min(time.Duration(1<<min(attempt, 10))*time.Second, 10*time.Minute)
}
