package outbox

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/store"
	"github.com/admit-events/admit/internal/store/storetest"
	"github.com/admit-events/admit/internal/testenv"
)

// TestDeliveryRetriesAndDeadLetters: a handler that fails is retried with
// backoff and ends in the dead-letter state; others are delivered once.
func TestDeliveryRetriesAndDeadLetters(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, e testenv.Engine) {
		ctx := context.Background()
		db := storetest.Open(t, e)
		now := time.Now()
		db.Now = func() time.Time { return now }
		placeFreeOrders(t, db, 2)

		calls := map[int64]int{}
		fixed := false
		d := New(db, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Hour, func(ctx context.Context, m store.OutboxMessage) error {
			calls[m.Seq]++
			return nil
		})
		d.Handle("order.paid", func(ctx context.Context, m store.OutboxMessage) error {
			calls[m.Seq]++
			if !fixed && (len(calls) == 1 || calls[m.Seq] > 1) {
				return errors.New("provider down") // the first message never gets through
			}
			return nil
		})
		n, err := d.DeliverDue(ctx)
		if err != nil || n != 1 {
			t.Fatalf("first round delivered %d, %v; want 1 of 2", n, err)
		}
		if n, _ := d.DeliverDue(ctx); n != 0 {
			t.Fatalf("a failed message was retried before its backoff (%d delivered)", n)
		}
		for attempt := 2; attempt <= maxAttempts; attempt++ {
			now = now.Add(time.Hour)
			if n, err := d.DeliverDue(ctx); err != nil || n != 0 {
				t.Fatalf("retry %d: %d delivered, %v; want the failing message tried again and failing", attempt, n, err)
			}
		}
		now = now.Add(time.Hour)
		if n, _ := d.DeliverDue(ctx); n != 0 || len(calls) != 2 {
			t.Fatalf("after the dead letter: %d delivered, %d messages seen", n, len(calls))
		}
		var total time.Duration
		for attempt := 1; attempt < maxAttempts; attempt++ {
			total += backoff(attempt)
		}
		if total < 24*time.Hour {
			t.Fatalf("a failing message is retried for %s only: a refund would be parked during a long outage", total)
		}
		counts := slices.Sorted(maps.Values(calls))
		if !slices.Equal(counts, []int{1, maxAttempts}) {
			t.Fatalf("handled %v times: want one message once, the other %d times and then dead", counts, maxAttempts)
		}

		// The dead letter is visible, in the metrics and to admit outbox.
		wantGauges(t, db, 0, 1)
		dead, err := db.DeadOutbox(ctx, 10)
		if err != nil || len(dead) != 1 || dead[0].LastError != "provider down" || dead[0].Attempts != maxAttempts {
			t.Fatalf("dead letters %+v, %v; want the failing message with its error", dead, err)
		}
		// Revived once its cause is fixed, it is delivered at the next poll.
		fixed = true
		if n, err := db.ReviveOutbox(ctx, dead[0].Seq, dead[0].Seq+1000); err != nil || n != 1 {
			t.Fatalf("revived %d, %v; want the one dead message", n, err)
		}
		wantGauges(t, db, 1, 0)
		if n, err := d.DeliverDue(ctx); err != nil || n != 1 || calls[dead[0].Seq] != maxAttempts+1 {
			t.Fatalf("after revival: %d delivered, %v, handled %d times", n, err, calls[dead[0].Seq])
		}
		wantGauges(t, db, 0, 0)

	})
}

// placeFreeOrders places n free orders; each writes an order.paid message.
func placeFreeOrders(t *testing.T, db *store.DB, n int) {
	t.Helper()
	s := storetest.NewOnsale(t, db, admit.ProviderManual, admit.Money{Currency: "NOK"}, 10)
	for range n {
		_, err := db.CreateOrder(s.Organizer, s.Order(1))
		must(t, err)
	}
}

// wantGauges checks the outbox gauges a scrape of /metrics would show.
func wantGauges(t *testing.T, db *store.DB, pending, dead float64) {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(db, slog.New(slog.NewTextHandler(io.Discard, nil))))
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		got[f.GetName()] = f.GetMetric()[0].GetGauge().GetValue()
	}
	want := map[string]float64{"admit_outbox_pending_messages": pending, "admit_outbox_dead_messages": dead}
	for name, v := range want {
		if got[name] != v {
			t.Errorf("%s = %v, want %v", name, got[name], v)
		}
	}
	if age := got["admit_outbox_oldest_pending_age_seconds"]; (pending == 0) != (age == 0) {
		t.Errorf("oldest pending age %v s with %v pending", age, pending)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
