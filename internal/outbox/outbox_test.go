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
		// Outbox rows come from state changes: a free order writes order.paid.
		sys := admit.NewContextWithUser(ctx, admit.System)
		u, err := db.CreateUser(sys, admit.NewUser{Email: "o@example.com", Name: "O", Role: admit.RoleOrganizer, Organization: "O"}, "x")
		if err != nil {
			t.Fatal(err)
		}
		org := admit.NewContextWithUser(ctx, u)
		c := &admit.City{Name: "Oslo", Country: "NO", TimeZone: "Europe/Oslo"}
		must(t, db.CreateCity(sys, c))
		l := &admit.Location{CityID: c.ID, Name: "Hall"}
		must(t, db.CreateLocation(org, l))
		ev := &admit.Event{Title: "E", CityID: c.ID, LocationID: l.ID, StartsAt: now.Add(48 * time.Hour), EndsAt: now.Add(50 * time.Hour)}
		must(t, db.CreateEvent(org, ev))
		tt := &admit.TicketType{EventID: ev.ID, Name: "Free", Price: admit.Money{Currency: "NOK"}, Quantity: 10}
		must(t, db.CreateTicketType(org, tt))
		_, err = db.PublishEvent(org, ev.ID)
		must(t, err)
		for range 2 {
			_, err := db.CreateOrder(org, admit.NewOrder{EventID: ev.ID, Items: []admit.NewOrderItem{{TicketTypeID: tt.ID, Quantity: 1}}})
			must(t, err)
		}

		calls := map[int64]int{}
		d := New(db, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Hour, func(ctx context.Context, m store.OutboxMessage) error {
			calls[m.Seq]++
			return nil
		})
		d.Handle("order.paid", func(ctx context.Context, m store.OutboxMessage) error {
			calls[m.Seq]++
			if len(calls) == 1 || calls[m.Seq] > 1 {
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
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
