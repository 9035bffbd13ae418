package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/testenv"
)

// The rules below are each checked on both engines, and on PostgreSQL on
// both of its order paths: the one-statement hold of a single paid ticket
// type, and the ordinary path of the rest.

// A paid order confirmed again, by hand or by another notice of the
// provider, keeps its tickets and seats: nothing is issued twice.
func TestConfirmingAPaidOrderAgainChangesNothing(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 10, eur(1000), admit.ProviderManual)
		o := s.paidOrder(t, s.attendees[0], 3)
		again, err := s.db.MarkPaid(s.org, o.ID)
		must(t, "MarkPaid again", err)
		sys := admit.NewContextWithUser(context.Background(), admit.System)
		notice, err := s.db.ConfirmPayment(sys, Payment{Provider: admit.ProviderManual, NoticeID: "evt_2", OrderID: o.ID, Amount: eur(3000)})
		must(t, "ConfirmPayment of a paid order", err)
		for _, got := range []*admit.Order{again, notice} {
			if got.Status != admit.OrderPaid || len(got.Tickets) != 3 {
				t.Fatalf("confirmed again: %s with %d tickets, want paid with 3", got.Status, len(got.Tickets))
			}
		}
		if sold, _ := s.counts(t); sold != 3 || len(s.outboxMessages(t, "order.paid", o.ID)) != 1 {
			t.Fatalf("sold %d, %d order.paid messages; want 3 and 1", sold, len(s.outboxMessages(t, "order.paid", o.ID)))
		}
	})
}

// A payment notice naming another payment than the order's is refused.
func TestPaymentOfAnotherIntentIsRefused(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 10, eur(1000), admit.ProviderStripe)
		o, err := s.order(s.attendees[0], 2)
		must(t, "order", err)
		must(t, "SetPayment", s.db.SetPayment(context.Background(), o.ID, "pi_1", "secret"))
		sys := admit.NewContextWithUser(context.Background(), admit.System)
		_, err = s.db.ConfirmPayment(sys, Payment{Provider: admit.ProviderStripe, NoticeID: "evt_1", OrderID: o.ID, Ref: "pi_other", Amount: eur(2000)})
		if admit.ErrorCode(err) != admit.EINVALID {
			t.Fatalf("a payment of another intent: %v, want invalid", err)
		}
		got, err := s.db.FindOrder(s.attendees[0], o.ID)
		must(t, "FindOrder", err)
		if got.Status != admit.OrderPending || len(got.Tickets) != 0 {
			t.Fatalf("after a foreign payment: %s with %d tickets", got.Status, len(got.Tickets))
		}
	})
}

// A draft event, or a ticket type whose sale has ended, sells nothing: no
// order, no hold, on either path.
func TestOrdersOutsideTheSale(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 10, eur(1000), admit.ProviderManual)
		draft := &admit.Event{Title: "Draft", CityID: s.event.CityID, LocationID: s.event.LocationID,
			StartsAt: s.event.StartsAt, EndsAt: s.event.EndsAt, PaymentProvider: admit.ProviderManual}
		must(t, "CreateEvent", s.db.CreateEvent(s.org, draft))
		tt := &admit.TicketType{EventID: draft.ID, Name: "Early", Price: eur(1000), Quantity: 10}
		must(t, "CreateTicketType", s.db.CreateTicketType(s.org, tt))
		one := func(eventID, ttID string) admit.NewOrder {
			return admit.NewOrder{EventID: eventID, Items: []admit.NewOrderItem{{TicketTypeID: ttID, Quantity: 1}}}
		}
		if _, err := s.db.CreateOrder(s.attendees[0], one(draft.ID, tt.ID)); err == nil {
			t.Fatal("an attendee ordered from a draft")
		}
		_, err := s.db.CreateOrder(s.org, one(draft.ID, tt.ID))
		if kind := kindOf(err); kind != "event-not-published" {
			t.Fatalf("its organizer ordering from a draft: %v, want event-not-published", err)
		}
		s.setNow(s.event.StartsAt) // the sale ends when the event starts
		_, err = s.order(s.attendees[0], 1)
		if kind := kindOf(err); kind != "sale-ended" {
			t.Fatalf("an order after the sale: %v, want sale-ended", err)
		}
		orders, holds := s.number(t, `SELECT COUNT(*) FROM orders`), s.number(t, `SELECT COUNT(*) FROM holds`)
		if _, held := s.counts(t); orders != 0 || holds != 0 || held != 0 {
			t.Fatalf("refused orders left %d orders, %d holds, %d held", orders, holds, held)
		}
	})
}

// An order of two ticket types at two prices, on the ordinary path: its
// pending state is told once; a ticket cancelled is the one asked for, its
// own price is refunded and its own type gets the seat back.
func TestCancellingOneTicketOfTwoTypes(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 10, eur(1000), admit.ProviderManual)
		vip := &admit.TicketType{EventID: s.event.ID, Name: "VIP", Price: eur(3000), Quantity: 5}
		must(t, "CreateTicketType", s.db.CreateTicketType(s.org, vip))
		o, err := s.db.CreateOrder(s.attendees[0], admit.NewOrder{EventID: s.event.ID, Items: []admit.NewOrderItem{
			{TicketTypeID: s.tt, Quantity: 1}, {TicketTypeID: vip.ID, Quantity: 1}}})
		must(t, "order", err)
		if n := len(s.outboxMessages(t, "order.pending", o.ID)); n != 1 {
			t.Fatalf("%d order.pending messages for a new order, want 1", n)
		}
		o, err = s.db.MarkPaid(s.org, o.ID)
		must(t, "MarkPaid", err)
		i := 0
		if o.Tickets[0].TicketTypeID != vip.ID {
			i = 1
		}
		got, err := s.db.CancelTicket(s.attendees[0], o.Tickets[i].ID)
		must(t, "CancelTicket", err)
		if got.Refunded.Amount != 3000 || got.Tickets[i].Status != admit.TicketCancelled || got.Tickets[1-i].Status != admit.TicketValid {
			t.Fatalf("after cancelling the VIP ticket: refunded %d, tickets %+v", got.Refunded.Amount, got.Tickets)
		}
		const sold = `SELECT sold FROM ticket_types WHERE id = $1`
		if generalSold, vipSold := s.number(t, sold, s.tt), s.number(t, sold, vip.ID); generalSold != 1 || vipSold != 0 {
			t.Fatalf("sold %d general and %d VIP, want 1 and 0", generalSold, vipSold)
		}
	})
}

// An order that failed or was cancelled stays so: cancelling or releasing
// it again is a conflict that changes nothing and tells nobody.
func TestSettledOrdersStaySettled(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 2, eur(1000), admit.ProviderManual)
		late, err := s.order(s.attendees[0], 2)
		must(t, "order", err)
		s.setNow(late.ExpiresAt)
		cancelled, err := s.order(s.attendees[1], 2) // takes the lapsed seats
		must(t, "order", err)
		cancelled, err = s.db.CancelOrder(s.attendees[1], cancelled.ID)
		must(t, "CancelOrder", err)
		_, err = s.order(s.attendees[2], 2)
		must(t, "order", err)
		failed, err := s.db.MarkPaid(s.org, late.ID) // paid late, the seats gone
		must(t, "MarkPaid", err)
		if failed.Status != admit.OrderFailed {
			t.Fatalf("a late payment without seats: %s, want failed", failed.Status)
		}
		for _, o := range []*admit.Order{failed, cancelled} {
			before := len(s.outboxMessages(t, "order.cancelled", o.ID))
			for name, act := range map[string]func(context.Context, string) (*admit.Order, error){"cancel": s.db.CancelOrder, "release": s.db.ReleaseOrder} {
				if _, err := act(s.org, o.ID); admit.ErrorCode(err) != admit.ECONFLICT {
					t.Fatalf("%s of a %s order: %v, want a conflict", name, o.Status, err)
				}
			}
			got, err := s.db.FindOrder(s.org, o.ID)
			must(t, "FindOrder", err)
			if after := len(s.outboxMessages(t, "order.cancelled", o.ID)); got.Status != o.Status || after != before {
				t.Fatalf("a %s order became %s with %d more order.cancelled messages", o.Status, got.Status, after-before)
			}
		}
		if _, held := s.counts(t); held != 2 {
			t.Fatalf("held %d, want the last order's 2", held)
		}
	})
}

// The refund cutoff: a ticket cancelled a microsecond before it is
// refunded in full, one cancelled at it is not.
func TestRefundCutoffInstant(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 10, eur(1000), admit.ProviderManual)
		o := s.paidOrder(t, s.attendees[0], 2)
		cutoff := s.event.StartsAt.Add(-time.Duration(s.event.RefundUntilHoursBeforeStart) * time.Hour)
		s.setNow(cutoff.Add(-time.Microsecond))
		got, err := s.db.CancelTicket(s.attendees[0], o.Tickets[0].ID)
		must(t, "CancelTicket before the cutoff", err)
		if got.Refunded.Amount != 1000 {
			t.Fatalf("refunded %d just before the cutoff, want 1000", got.Refunded.Amount)
		}
		s.setNow(cutoff)
		got, err = s.db.CancelTicket(s.attendees[0], o.Tickets[1].ID)
		must(t, "CancelTicket at the cutoff", err)
		if got.Refunded.Amount != 1000 || got.Status != admit.OrderCancelled {
			t.Fatalf("at the cutoff: %s refunded %d in all, want cancelled and still 1000", got.Status, got.Refunded.Amount)
		}
	})
}

// kindOf returns the problem kind of a domain error ("" for none).
func kindOf(err error) string {
	if e, ok := err.(*admit.Error); ok {
		return e.Kind
	}
	return ""
}

// Many holds lapse at once and their late payments race each other and new
// orders: every transaction sweeps the lapsed holds of the ticket type it
// takes seats from; each payment is answered, and no seat is counted twice.
func TestLatePaymentsRacingAtTheLapse(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		const seats = 40
		s := newOnsale(t, e, seats, eur(1000), admit.ProviderManual)
		var lapsed []*admit.Order
		for i := range seats {
			o, err := s.order(s.attendees[i%len(s.attendees)], 1)
			must(t, "order", err)
			lapsed = append(lapsed, o)
		}
		s.setNow(lapsed[len(lapsed)-1].ExpiresAt) // no sweeper has run
		var wg sync.WaitGroup
		start := make(chan struct{})
		payErrs := make([]error, len(lapsed))
		orderErrs := make([]error, 10)
		for i, o := range lapsed {
			wg.Go(func() {
				<-start
				_, payErrs[i] = s.db.MarkPaid(s.org, o.ID)
			})
		}
		for i := range orderErrs {
			wg.Go(func() {
				<-start
				_, orderErrs[i] = s.order(s.attendees[i%len(s.attendees)], 1)
			})
		}
		close(start)
		wg.Wait()
		for i, err := range payErrs {
			if err != nil {
				t.Errorf("late payment %d: %v", i, err)
			}
		}
		for i, err := range orderErrs {
			if err != nil && admit.ErrorCode(err) != admit.ECONFLICT {
				t.Errorf("new order %d: %v", i, err)
			}
		}
		if sold, held := s.counts(t); sold+held > seats {
			t.Fatalf("sold %d held %d of %d", sold, held, seats)
		}
	})
}

// A late payment, or a new order, whose seat is free only once another
// order's lapsed hold is gone while that hold is being released (the
// sweeper's release, between deleting the hold and taking it off the held
// count) waits for the release and gets the seat: a sweep that skipped the
// hold instead counted the seat as taken, and the paid order failed and
// was refunded, or the new order was told sold out, with the seat free a
// moment later. SQLite has one writer at a time: nothing to wait for there.
func TestSweepsWaitForHoldsBeingReleased(t *testing.T) {
	for name, latePayment := range map[string]bool{"late payment": true, "new order": false} {
		t.Run(name, func(t *testing.T) { sweepWaitsForRelease(t, latePayment) })
	}
}

func sweepWaitsForRelease(t *testing.T, latePayment bool) {
	e := testenv.Engine{Name: "postgres", URL: testenv.PostgresURL(t)}
	s := newOnsale(t, e, 1, eur(1000), admit.ProviderManual)
	ctx := context.Background()
	late, err := s.order(s.attendees[0], 1)
	must(t, "order", err)
	s.setNow(late.ExpiresAt)
	_, err = s.db.ExpireOrders(ctx, 10)
	must(t, "ExpireOrders", err)
	releasing, err := s.order(s.attendees[1], 1) // takes the seat, then lapses too
	must(t, "order", err)
	s.setNow(releasing.ExpiresAt)

	tx, err := s.db.begin(ctx) // the sweeper's release of it, paused half-way
	must(t, "begin", err)
	defer tx.Rollback()
	o, _, err := tx.lockedOrder(ctx, releasing.ID)
	must(t, "lockedOrder", err)
	held, err := tx.deleteHolds(ctx, o.ID)
	must(t, "deleteHolds", err)

	answered := make(chan error, 1)
	go func() {
		var got *admit.Order
		var err error
		if latePayment {
			got, err = s.db.MarkPaid(s.org, late.ID)
		} else {
			got, err = s.order(s.attendees[2], 1)
		}
		if err == nil && got.Status != admit.OrderPaid && got.Status != admit.OrderPending {
			err = fmt.Errorf("the order is %s", got.Status)
		}
		answered <- err
	}()
	waitForLockWait(t, s)
	_, err = tx.ExecContext(ctx, `UPDATE ticket_types SET held = held - $2 WHERE id = $1`, s.tt, held[s.tt])
	must(t, "release", err)
	must(t, "setOrderStatus", tx.setOrderStatus(ctx, o, admit.OrderExpired, nil))
	must(t, "commit", tx.Commit())
	if err := <-answered; err != nil {
		sold, held := s.counts(t)
		t.Fatalf("late payment %v: %v, with the seat free once the release committed (sold %d, held %d of 1)", latePayment, err, sold, held)
	}
}

// waitForLockWait returns once a connection of the test's database waits
// on a lock: the transaction the test started in the background has
// reached the hold the test's own transaction has locked. It polls every
// few milliseconds: a condition, not a guess at how long that takes.
func waitForLockWait(t *testing.T, s *onsale) {
	t.Helper()
	poll := time.NewTicker(5 * time.Millisecond)
	defer poll.Stop()
	deadline := time.After(10 * time.Second)
	for s.number(t, `SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`) == 0 {
		select {
		case <-poll.C:
		case <-deadline:
			t.Fatal("nothing waited on the locked hold within 10 s")
		}
	}
}
