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
		at(admit.DefaultHoldMinutes*time.Minute + time.Minute) // the first hold lapsed
		pending, err := s.order(s.attendees[1], 1)
		must(t, "order", err)

		for status, want := range map[admit.OrderStatus][]string{
			"":                   {pending.ID, released.ID, paid.ID, lapsed.ID},
			admit.OrderPending:   {pending.ID},
			admit.OrderExpired:   {lapsed.ID},
			admit.OrderPaid:      {paid.ID},
			admit.OrderCancelled: {released.ID},
			admit.OrderFailed:    nil,
		} {
			got := s.eventOrders(t, status)
			var ids []string
			for _, o := range got {
				ids = append(ids, o.ID)
				if status != "" && o.Status != status || o.BuyerEmail == "" || o.Payment.ClientSecret != "" {
					t.Fatalf("listing %q: order %s is %s, buyer %q", status, o.ID, o.Status, o.BuyerEmail)
				}
			}
			if !slices.Equal(ids, want) {
				t.Fatalf("orders %q: %v, want %v", status, ids, want)
			}
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
