// Package storetest opens migrated stores, and builds onsales in them, for
// the tests of the packages built on internal/store.
package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/store"
	"github.com/admit-events/admit/internal/testenv"
)

// Open opens the engine's database, applies the migrations and closes it
// when t ends.
func Open(t testing.TB, e testenv.Engine) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{URL: e.URL, DataDir: e.DataDir})
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return db
}

// Onsale is a published event with one ticket type, and its organizer.
type Onsale struct {
	Organizer     context.Context // the organizer's context
	EventID, TTID string
}

// NewOnsale publishes an event paid through provider with one ticket type
// of quantity seats at price, organized by a new organizer (always the same
// email: once per database).
func NewOnsale(t testing.TB, db *store.DB, provider string, price admit.Money, quantity int64) Onsale {
	t.Helper()
	ctx := context.Background()
	sys := admit.NewContextWithUser(ctx, admit.System)
	u, err := db.CreateUser(sys, admit.NewUser{Email: "organizer@example.com", Name: "O", Role: admit.RoleOrganizer, Organization: "O"}, "x")
	must(t, err)
	org := admit.NewContextWithUser(ctx, u)
	c := &admit.City{Name: "Oslo", Country: "NO", TimeZone: "Europe/Oslo"}
	must(t, db.CreateCity(sys, c))
	l := &admit.Location{CityID: c.ID, Name: "Hall"}
	must(t, db.CreateLocation(org, l))
	now := db.Now()
	start := now.Add(30 * 24 * time.Hour) // well before the refund cutoff
	ev := &admit.Event{Title: "E", CityID: c.ID, LocationID: l.ID, StartsAt: start, EndsAt: start.Add(2 * time.Hour),
		PaymentProvider: provider, RefundUntilHoursBeforeStart: admit.DefaultRefundHours}
	must(t, db.CreateEvent(org, ev))
	tt := &admit.TicketType{EventID: ev.ID, Name: "General", Price: price, Quantity: quantity}
	must(t, db.CreateTicketType(org, tt))
	_, err = db.PublishEvent(org, ev.ID)
	must(t, err)
	return Onsale{Organizer: org, EventID: ev.ID, TTID: tt.ID}
}

// Buyer creates an attendee and returns their context.
func Buyer(t testing.TB, db *store.DB, email string) context.Context {
	t.Helper()
	ctx := context.Background()
	u, err := db.CreateUser(admit.NewContextWithUser(ctx, admit.System), admit.NewUser{Email: email, Name: "B", Role: admit.RoleAttendee}, "x")
	must(t, err)
	return admit.NewContextWithUser(ctx, u)
}

// Order is a new order of q seats of the onsale's ticket type.
func (s Onsale) Order(q int64) admit.NewOrder {
	return admit.NewOrder{EventID: s.EventID, Items: []admit.NewOrderItem{{TicketTypeID: s.TTID, Quantity: q}}}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
