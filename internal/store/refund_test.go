package store

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/testenv"
)

// A manual refund is owed until an organizer pays it back and marks it
// refunded: the order shows it pending, the event's refund list names the
// buyer to pay, and marking it records when, once.
func TestManualRefundsAreOwedUntilMarked(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 10, eur(1000), admit.ProviderManual)
		whole := s.paidOrder(t, s.attendees[0], 2)
		part := s.paidOrder(t, s.attendees[1], 2)
		s.setNow(testNow.Add(time.Minute))
		cancelled, err := s.db.CancelOrder(s.attendees[0], whole.ID)
		must(t, "CancelOrder", err)
		if len(cancelled.Refunds) != 1 || cancelled.Refunds[0].Status != admit.RefundPending || cancelled.Refunds[0].Amount != eur(2000) ||
			cancelled.Refunds[0].Provider != admit.ProviderManual || cancelled.Refunds[0].RefundedAt != nil {
			t.Fatalf("a cancelled manual order's refunds: %+v, want one pending of 20.00 EUR", cancelled.Refunds)
		}
		s.setNow(testNow.Add(2 * time.Minute))
		_, err = s.db.CancelTicket(s.attendees[1], part.Tickets[0].ID)
		must(t, "CancelTicket", err)

		other := s.sibling(t, admit.ProviderManual) // its refunds are not s's
		other.refundedOrder(t, s.attendees[2], 1)
		owed := s.refunds(t, admit.RefundPending)
		if len(owed) != 2 || owed[0].OrderID != whole.ID || owed[1].OrderID != part.ID || owed[1].Amount != eur(1000) ||
			owed[0].BuyerEmail != "buyer0@example.com" || owed[1].BuyerEmail != "buyer1@example.com" {
			t.Fatalf("refunds owed: %+v, want the whole order's, then one ticket's, with their buyers", owed)
		}

		s.setNow(testNow.Add(time.Hour))
		marked, err := s.db.MarkRefunded(s.org, owed[0].ID)
		must(t, "MarkRefunded", err)
		if marked.Status != admit.RefundSucceeded || marked.RefundedAt == nil || !marked.RefundedAt.Equal(testNow.Add(time.Hour)) {
			t.Fatalf("marked: %+v, want succeeded at %s", marked, testNow.Add(time.Hour))
		}
		s.setNow(testNow.Add(2 * time.Hour))
		again, err := s.db.MarkRefunded(s.org, owed[0].ID)
		must(t, "MarkRefunded again", err)
		if !again.RefundedAt.Equal(*marked.RefundedAt) || len(s.outboxMessages(t, "refund.succeeded", whole.ID)) != 1 {
			t.Fatalf("marked again: refunded at %s, %d refund.succeeded messages; want %s and 1",
				again.RefundedAt, len(s.outboxMessages(t, "refund.succeeded", whole.ID)), marked.RefundedAt)
		}
		if got := s.refunds(t, admit.RefundPending); len(got) != 1 || got[0].ID != owed[1].ID {
			t.Fatalf("still owed: %+v, want the ticket's refund alone", got)
		}
		if got := s.refunds(t, admit.RefundSucceeded); len(got) != 1 || got[0].ID != owed[0].ID {
			t.Fatalf("paid back: %+v, want the order's refund alone", got)
		}
		order, err := s.db.FindOrder(s.attendees[0], whole.ID)
		must(t, "FindOrder", err)
		if len(order.Refunds) != 1 || order.Refunds[0].Status != admit.RefundSucceeded || order.Refunds[0].BuyerEmail != "" ||
			!order.UpdatedAt.Equal(testNow.Add(time.Hour)) {
			t.Fatalf("the buyer's order after the payout (updated at %s): %+v", order.UpdatedAt, order.Refunds)
		}
	})
}

// refunds lists all of the onsale event's refunds of a status, a page of
// one at a time, so that the cursor is exercised too.
func (s *onsale) refunds(t *testing.T, status admit.RefundStatus) []admit.Refund {
	t.Helper()
	var all []admit.Refund
	page := admit.Page{Limit: 1}
	for {
		got, next, err := s.db.ListRefunds(s.org, s.event.ID, status, page)
		must(t, "ListRefunds", err)
		all = append(all, got...)
		if next == "" {
			return all
		}
		page.Cursor = cursorOf(t, next, admit.RefundSort)
	}
}

// refundedOrder is a paid order of q seats that buyer cancelled, owed its
// refund.
func (s *onsale) refundedOrder(t *testing.T, buyer context.Context, q int64) *admit.Order {
	t.Helper()
	o, err := s.db.CancelOrder(buyer, s.paidOrder(t, buyer, q).ID)
	must(t, "CancelOrder", err)
	return o
}

// Only the event's organizers and admins see and mark its refunds.
func TestRefundsAreTheOrganizers(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 10, eur(1000), admit.ProviderManual)
		o := s.refundedOrder(t, s.attendees[0], 1)
		rival, _ := s.user(t, "org-b@example.com", admit.RoleOrganizer, "Org B")
		for who, ctx := range map[string]context.Context{"the buyer": s.attendees[0], "another organizer": rival} {
			_, _, err := s.db.ListRefunds(ctx, s.event.ID, "", admit.Page{})
			wantCode(t, who+" listing the refunds", err, admit.EFORBIDDEN)
			_, err = s.db.MarkRefunded(ctx, o.Refunds[0].ID)
			wantCode(t, who+" marking a refund", err, admit.ENOTFOUND)
		}
		_, err := s.db.MarkRefunded(s.org, "ref_none")
		wantCode(t, "marking an unknown refund", err, admit.ENOTFOUND)
		_, _, err = s.db.ListRefunds(s.org, "evt_none", "", admit.Page{})
		wantCode(t, "the refunds of an unknown event", err, admit.ENOTFOUND)
		_, err = s.db.MarkRefunded(s.admin, o.Refunds[0].ID)
		must(t, "an admin marking a refund", err)
		if got := s.refunds(t, admit.RefundPending); len(got) != 0 {
			t.Fatalf("owed after the admin marked it: %+v", got)
		}
	})
}

// cardPaidOrder is an order of q seats for buyer paid by the Stripe
// payment ref.
func (s *onsale) cardPaidOrder(t *testing.T, buyer context.Context, q int64, ref string) *admit.Order {
	t.Helper()
	o, err := s.order(buyer, q)
	must(t, "order", err)
	must(t, "SetPayment", s.db.SetPayment(context.Background(), o.ID, ref, "secret"))
	sys := admit.NewContextWithUser(context.Background(), admit.System)
	o, err = s.db.ConfirmPayment(sys, Payment{Provider: admit.ProviderStripe, NoticeID: "evt_paid_" + o.ID, OrderID: o.ID, Ref: ref, Amount: o.Total})
	must(t, "ConfirmPayment", err)
	return o
}

// A Stripe refund is sent by Admit: it cannot be marked by hand, and its
// completion, told twice, is recorded once.
func TestStripeRefundsCompleteOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 10, eur(1000), admit.ProviderStripe)
		o, err := s.db.CancelOrder(s.attendees[0], s.cardPaidOrder(t, s.attendees[0], 2, "pi_1").ID)
		must(t, "CancelOrder", err)
		id := o.Refunds[0].ID
		_, err = s.db.MarkRefunded(s.org, id)
		wantCode(t, "marking a Stripe refund by hand", err, admit.ECONFLICT)
		must(t, "CompleteRefund", s.db.CompleteRefund(context.Background(), id, "re_1"))
		s.setNow(testNow.Add(time.Hour))
		must(t, "CompleteRefund again", s.db.CompleteRefund(context.Background(), id, "re_2"))
		got, err := s.db.FindOrder(s.attendees[0], o.ID)
		must(t, "FindOrder", err)
		r := got.Refunds[0]
		if r.Status != admit.RefundSucceeded || r.Reference != "re_1" || !r.RefundedAt.Equal(testNow) ||
			len(s.outboxMessages(t, "refund.succeeded", o.ID)) != 1 {
			t.Fatalf("a Stripe refund completed twice: %+v with %d refund.succeeded messages", r, len(s.outboxMessages(t, "refund.succeeded", o.ID)))
		}
	})
}

// Organizers marking one refund at once record it once, and all are told
// the same instant: the first mark's, though each transaction has its own
// clock reading.
func TestMarkingARefundConcurrently(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 10, eur(1000), admit.ProviderManual)
		o := s.refundedOrder(t, s.attendees[0], 1)
		var tick atomic.Int64
		s.db.Now = func() time.Time { return testNow.Add(time.Duration(tick.Add(1)) * time.Millisecond) }
		var wg sync.WaitGroup
		marked := make([]*admit.Refund, 8)
		errs := make([]error, len(marked))
		for i := range marked {
			wg.Go(func() { marked[i], errs[i] = s.db.MarkRefunded(s.org, o.Refunds[0].ID) })
		}
		wg.Wait()
		for i, err := range errs {
			must(t, "MarkRefunded", err)
			if !marked[i].RefundedAt.Equal(*marked[0].RefundedAt) {
				t.Fatalf("concurrent marks answered refunded at %s and %s", marked[i].RefundedAt, marked[0].RefundedAt)
			}
		}
		if n := len(s.outboxMessages(t, "refund.succeeded", o.ID)); n != 1 {
			t.Fatalf("%d refund.succeeded messages after concurrent marks, want 1", n)
		}
	})
}

// Refunds made in Stripe's dashboard are recorded as sent, once per notice
// and only beyond Admit's own, so that a later cancellation gives back no
// more than what is left.
func TestRefundsMadeAtTheProvider(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 10, eur(1000), admit.ProviderStripe)
		o := s.cardPaidOrder(t, s.attendees[0], 2, "pi_1")
		told := func(notice string, refunded int64) {
			t.Helper()
			must(t, "RecordProviderRefunds "+notice, s.db.RecordProviderRefunds(context.Background(),
				ProviderRefunds{Provider: admit.ProviderStripe, NoticeID: notice, PaymentRef: "pi_1", Refunded: eur(refunded)}))
		}
		refunds := func(want int64) *admit.Order {
			t.Helper()
			got, err := s.db.FindOrder(s.attendees[0], o.ID)
			must(t, "FindOrder", err)
			var sum int64
			for _, r := range got.Refunds {
				sum += r.Amount.Amount
			}
			if got.Refunded.Amount != want || sum != want {
				t.Fatalf("refunded %d, its refunds add up to %d; want %d: %+v", got.Refunded.Amount, sum, want, got.Refunds)
			}
			return got
		}

		s.setNow(testNow.Add(time.Hour))
		told("evt_r1", 500) // a goodwill refund in the dashboard
		told("evt_r1", 500) // delivered again
		got := refunds(500)
		if r := got.Refunds[0]; r.Status != admit.RefundSucceeded || r.RefundedAt == nil || got.Status != admit.OrderPaid ||
			got.Tickets[0].Status != admit.TicketValid || !got.UpdatedAt.Equal(testNow.Add(time.Hour)) {
			t.Fatalf("after a dashboard refund: %s, updated at %s, %+v", got.Status, got.UpdatedAt, got.Refunds)
		}
		_, err := s.db.CancelTicket(s.attendees[0], got.Tickets[0].ID) // Admit's own refund: 1000
		must(t, "CancelTicket", err)
		told("evt_r2", 1500) // Stripe reports it: nothing new
		refunds(1500)
		_, err = s.db.CancelOrder(s.attendees[0], o.ID) // what is left: 500, not 1000
		must(t, "CancelOrder", err)
		told("evt_r3", 2000)
		if got := refunds(2000); len(got.Refunds) != 3 || len(s.outboxMessages(t, "refund.requested", o.ID)) != 2 {
			t.Fatalf("refunds %+v with %d refund.requested messages; want 3 refunds, 2 of them Admit's", got.Refunds, len(s.outboxMessages(t, "refund.requested", o.ID)))
		}

		err = s.db.RecordProviderRefunds(context.Background(), ProviderRefunds{Provider: admit.ProviderStripe, NoticeID: "evt_x", PaymentRef: "pi_other", Refunded: eur(100)})
		wantCode(t, "refunds of another payment", err, admit.ENOTFOUND)
		unpaid, err := s.order(s.attendees[1], 1) // no payment started: no reference
		must(t, "order", err)
		err = s.db.RecordProviderRefunds(context.Background(), ProviderRefunds{Provider: admit.ProviderStripe, NoticeID: "evt_y", PaymentRef: "", Refunded: eur(100)})
		wantCode(t, "refunds of no payment", err, admit.ENOTFOUND)
		if got, err := s.db.FindOrder(s.attendees[1], unpaid.ID); err != nil || len(got.Refunds) != 0 {
			t.Fatalf("an order without a payment after a notice of no payment: %+v, %v", got, err)
		}
		err = s.db.RecordProviderRefunds(context.Background(), ProviderRefunds{Provider: admit.ProviderStripe, NoticeID: "evt_z", PaymentRef: "pi_1", Refunded: usd(100)})
		wantCode(t, "refunds in another currency", err, admit.EINVALID)
	})
}

// A payment refunded in full in Stripe's dashboard before Admit heard it
// was paid (Stripe's notices come in any order) gives no tickets: the
// order fails, its seats go back, and nothing more is refunded.
func TestPaymentRefundedBeforeItIsConfirmed(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 10, eur(1000), admit.ProviderStripe)
		o, err := s.order(s.attendees[0], 2)
		must(t, "order", err)
		must(t, "SetPayment", s.db.SetPayment(context.Background(), o.ID, "pi_1", "secret"))
		must(t, "RecordProviderRefunds", s.db.RecordProviderRefunds(context.Background(),
			ProviderRefunds{Provider: admit.ProviderStripe, NoticeID: "evt_refunded", PaymentRef: "pi_1", Refunded: eur(2000)}))
		sys := admit.NewContextWithUser(context.Background(), admit.System)
		got, err := s.db.ConfirmPayment(sys, Payment{Provider: admit.ProviderStripe, NoticeID: "evt_paid", OrderID: o.ID, Ref: "pi_1", Amount: eur(2000)})
		must(t, "ConfirmPayment", err)
		if sold, held := s.counts(t); got.Status != admit.OrderFailed || len(got.Tickets) != 0 || got.Refunded.Amount != 2000 || len(got.Refunds) != 1 || sold+held != 0 {
			t.Fatalf("paid after a full refund: %s with %d tickets, refunds %+v, %d sold and %d held", got.Status, len(got.Tickets), got.Refunds, sold, held)
		}
	})
}

// A refund Stripe refused because the payment was refunded in its dashboard
// meanwhile fails; the dashboard's part is recorded as sent and the rest
// asked for anew, the order's refunded total unchanged. A refund that is
// no longer pending is left alone.
func TestShortenRefund(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 10, eur(1000), admit.ProviderStripe)
		whole, err := s.db.CancelOrder(s.attendees[0], s.cardPaidOrder(t, s.attendees[0], 2, "pi_1").ID)
		must(t, "CancelOrder", err)
		gone, err := s.db.CancelOrder(s.attendees[1], s.cardPaidOrder(t, s.attendees[1], 1, "pi_2").ID)
		must(t, "CancelOrder", err)

		must(t, "ShortenRefund", s.db.ShortenRefund(context.Background(), whole.Refunds[0].ID, 1500))
		must(t, "ShortenRefund again", s.db.ShortenRefund(context.Background(), whole.Refunds[0].ID, 0))
		must(t, "ShortenRefund to nothing", s.db.ShortenRefund(context.Background(), gone.Refunds[0].ID, 0))
		for _, c := range []struct {
			order *admit.Order
			want  []string
		}{
			{whole, []string{"failed 2000", "pending 1500", "succeeded 500"}},
			{gone, []string{"failed 1000", "succeeded 1000"}},
		} {
			got, err := s.db.FindOrder(s.org, c.order.ID)
			must(t, "FindOrder", err)
			var refunds []string
			for _, r := range got.Refunds {
				refunds = append(refunds, fmt.Sprintf("%s %d", r.Status, r.Amount.Amount))
			}
			slices.Sort(refunds)
			if !slices.Equal(refunds, c.want) || got.Refunded != c.order.Total {
				t.Fatalf("refunds %v, refunded %d; want %v and the whole %d", refunds, got.Refunded.Amount, c.want, c.order.Total.Amount)
			}
		}
		if n, failed := len(s.outboxMessages(t, "refund.requested", whole.ID)), len(s.outboxMessages(t, "refund.failed", whole.ID)); n != 2 || failed != 1 {
			t.Fatalf("%d refund.requested and %d refund.failed messages for the shortened order, want 2 (its first refund and the rest) and 1", n, failed)
		}
	})
}
