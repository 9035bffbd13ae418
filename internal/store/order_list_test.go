package store

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/testenv"
)

// An event's organizers list its orders, newest first, by status as the
// buyers see it (a lapsed hold is expired before any sweeper runs), with
// whom to reach; nobody else does.
func TestListEventOrders(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 20, eur(1000), admit.ProviderManual)
		other := s.sibling(t, admit.ProviderStripe) // its orders are not s's
		at := func(d time.Duration) { s.setNow(testNow.Add(d)) }
		lapsed, err := s.order(s.attendees[2], 1)
		must(t, "order", err)
		at(time.Minute)
		paid := s.paidOrder(t, s.attendees[0], 2)
		at(2 * time.Minute)
		released, err := s.order(s.attendees[3], 1)
		must(t, "order", err)
		_, err = s.db.ReleaseOrder(s.attendees[3], released.ID)
		must(t, "ReleaseOrder", err)
		twin, err := s.order(s.attendees[4], 1) // placed at the same instant
		must(t, "order", err)
		elsewhere, err := other.order(s.attendees[0], 1)
		must(t, "order elsewhere", err)
		must(t, "SetPayment", s.db.SetPayment(context.Background(), elsewhere.ID, "pi_1", "secret"))
		at(admit.DefaultHoldMinutes * time.Minute) // the first hold lapses at this very instant
		pending, err := s.order(s.attendees[1], 1)
		must(t, "order", err)
		same := []string{released.ID, twin.ID}
		slices.Sort(same) // newest first, then by id, descending
		all := []string{pending.ID, same[1], same[0], paid.ID, lapsed.ID}

		wantOrders := func(status admit.OrderStatus, want []string) {
			t.Helper()
			var ids []string
			for _, o := range s.eventOrders(t, status) {
				ids = append(ids, o.ID)
				if status != "" && o.Status != status || o.BuyerEmail == "" || o.Payment.ClientSecret != "" {
					t.Fatalf("listing %q: order %s is %s, buyer %q", status, o.ID, o.Status, o.BuyerEmail)
				}
			}
			if !slices.Equal(ids, want) {
				t.Fatalf("orders %q: %v, want %v", status, ids, want)
			}
		}
		for status, want := range map[admit.OrderStatus][]string{
			"":                   all,
			admit.OrderPending:   {pending.ID, twin.ID},
			admit.OrderExpired:   {lapsed.ID},
			admit.OrderPaid:      {paid.ID},
			admit.OrderCancelled: {released.ID},
			admit.OrderFailed:    nil,
		} {
			wantOrders(status, want)
		}
		_, err = s.db.ExpireOrders(context.Background(), 10) // the sweeper records the lapse: the same list
		must(t, "ExpireOrders", err)
		wantOrders(admit.OrderExpired, []string{lapsed.ID})
		if got := other.eventOrders(t, ""); len(got) != 1 || got[0].ID != elsewhere.ID || got[0].Payment.ClientSecret != "" {
			t.Fatalf("the other event's orders: %+v, want its one order without the buyer's client secret", got)
		}
		if got := s.eventOrders(t, admit.OrderPaid); got[0].BuyerEmail != "buyer0@example.com" || len(got[0].Tickets) != 2 {
			t.Fatalf("the paid order as its organizer sees it: %+v", got[0])
		}

		rival, _ := s.user(t, "org-b@example.com", admit.RoleOrganizer, "Org B")
		for _, ctx := range []context.Context{s.attendees[0], rival} {
			_, _, err := s.db.ListEventOrders(ctx, s.event.ID, "", admit.Page{})
			wantCode(t, "an outsider listing the orders", err, admit.EFORBIDDEN)
		}
		_, _, err = s.db.ListEventOrders(s.org, "evt_none", "", admit.Page{})
		wantCode(t, "the orders of an unknown event", err, admit.ENOTFOUND)
	})
}

// eventOrders lists all of the onsale event's orders of a status, a page
// of one at a time, so that the cursor is exercised too.
func (s *onsale) eventOrders(t *testing.T, status admit.OrderStatus) []admit.Order {
	t.Helper()
	var all []admit.Order
	page := admit.Page{Limit: 1}
	for {
		got, next, err := s.db.ListEventOrders(s.org, s.event.ID, status, page)
		must(t, "ListEventOrders", err)
		all = append(all, got...)
		if next == "" {
			return all
		}
		page.Cursor = cursorOf(t, next, admit.OrderSort)
	}
}

// sibling is another event of the onsale's organizer, with its own ticket
// type of 10 seats at 10.00 EUR, in the same database for the same buyers.
func (s *onsale) sibling(t *testing.T, provider string) *onsale {
	t.Helper()
	ev := &admit.Event{Title: "Sibling", CityID: s.event.CityID, LocationID: s.event.LocationID, StartsAt: s.event.StartsAt,
		EndsAt: s.event.EndsAt, PaymentProvider: provider, RefundUntilHoursBeforeStart: s.event.RefundUntilHoursBeforeStart}
	must(t, "CreateEvent", s.db.CreateEvent(s.org, ev))
	tt := &admit.TicketType{EventID: ev.ID, Name: "General", Price: eur(1000), Quantity: 10}
	must(t, "CreateTicketType", s.db.CreateTicketType(s.org, tt))
	s.publish(t, s.org, ev)
	return &onsale{fixture: s.fixture, event: ev, tt: tt.ID, attendees: s.attendees}
}
