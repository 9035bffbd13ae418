package registration

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/outbox"
	"github.com/admit-events/admit/internal/store"
	"github.com/admit-events/admit/internal/store/storetest"
	"github.com/admit-events/admit/internal/stripe"
	"github.com/admit-events/admit/internal/stripe/stripetest"
	"github.com/admit-events/admit/internal/testenv"
)

// TestStoppingPayments: the PaymentIntent of an order cancelled unpaid is
// cancelled at Stripe, whether the order was pending or had expired (else
// a late payment would take money for an order its buyer gave up); an order
// that merely expired keeps its intent, and a paid one is refunded instead.
func TestStoppingPayments(t *testing.T) {
	mock := stripetest.Start(t)
	testenv.ForEachEngine(t, func(t *testing.T, e testenv.Engine) {
		ctx := context.Background()
		base, saw := stripetest.Record(t, mock)
		sc, err := stripe.New(stripe.Config{SecretKey: "sk_test_admit", WebhookSecret: "whsec_test", BaseURL: base})
		if err != nil {
			t.Fatal(err)
		}
		db := storetest.Open(t, e)
		db.StripeEnabled = true
		now := time.Now()
		db.Now = func() time.Time { return now }
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		svc := New(db, sc, log)
		s := storetest.NewOnsale(t, db, admit.ProviderStripe, admit.Money{Amount: 1500, Currency: "EUR"}, 10)
		buyer := storetest.Buyer(t, db, "buyer@example.com")

		var orders []*admit.Order
		for range 4 {
			o, err := svc.CreateOrder(buyer, s.Order(1))
			if err != nil || o.Payment.Reference == "" {
				t.Fatalf("stripe order: %+v, %v", o, err)
			}
			orders = append(orders, o)
		}
		pending, expiredUnswept, expiredSwept, lapsed := orders[0], orders[1], orders[2], orders[3]
		if _, err := svc.CancelOrder(buyer, pending.ID); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Hour)
		if _, err := svc.CancelOrder(buyer, expiredUnswept.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExpireOrders(ctx, 10); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.ReleaseOrder(buyer, expiredSwept.ID); err != nil {
			t.Fatal(err)
		}

		d := outbox.New(db, log, time.Hour, func(context.Context, store.OutboxMessage) error { return nil })
		d.Handle("order.cancelled", svc.StopPayment)
		if _, err := d.DeliverDue(ctx); err != nil {
			t.Fatal(err)
		}
		var cancelled []string
		for _, r := range saw() {
			if ref, ok := cancelPath(r.Path); ok {
				cancelled = append(cancelled, ref)
			}
		}
		want := []string{pending.Payment.Reference, expiredUnswept.Payment.Reference, expiredSwept.Payment.Reference}
		slices.Sort(cancelled)
		slices.Sort(want)
		if !slices.Equal(cancelled, want) {
			t.Fatalf("PaymentIntents cancelled: %v, want %v (not the merely lapsed order's %s)", cancelled, want, lapsed.Payment.Reference)
		}
		if stats, err := db.OutboxStats(ctx); err != nil || stats.Pending != 0 {
			t.Fatalf("outbox after delivery: %+v, %v", stats, err)
		}
	})
}

// cancelPath returns the PaymentIntent a request to Stripe cancels, if any.
func cancelPath(path string) (string, bool) {
	ref, isIntent := strings.CutPrefix(path, "/v1/payment_intents/")
	ref, isCancel := strings.CutSuffix(ref, "/cancel")
	return ref, isIntent && isCancel
}

// TestRefundShortenedByADashboardRefund: a refund Stripe refuses because
// the payment was partly refunded in its dashboard meanwhile (before that
// refund's webhook came) fails, the dashboard refund is recorded, and the
// rest goes back in a new refund: the buyer gets the whole order back,
// once. Stripe's refund accounting comes from a FakeCharge (named as such:
// stripe-mock keeps none).
func TestRefundShortenedByADashboardRefund(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, e testenv.Engine) {
		ctx := context.Background()
		charge := stripetest.NewFakeCharge(t, "pi_1", admit.Money{Amount: 2000, Currency: "EUR"})
		svc, buyer, o := paidByCard(t, e, charge.URL)
		db := svc.DB
		log := svc.log

		charge.RefundElsewhere(admit.Money{Amount: 500, Currency: "EUR"})
		if _, err := svc.CancelOrder(buyer, o.ID); err != nil { // asks for 2000: Stripe has 1500 left
			t.Fatal(err)
		}
		d := outbox.New(db, log, time.Hour, func(context.Context, store.OutboxMessage) error { return nil })
		d.Handle("refund.requested", svc.SendRefund)
		for n := 1; n > 0; { // the refused refund, then the rest's, then the notices
			var err error
			if n, err = d.DeliverDue(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.RecordProviderRefunds(ctx, store.ProviderRefunds{Provider: admit.ProviderStripe, NoticeID: "evt_refunded",
			PaymentRef: "pi_1", Refunded: admit.Money{Amount: 2000, Currency: "EUR"}}); err != nil {
			t.Fatal(err) // the webhooks, late: nothing more to record
		}

		got, err := db.FindOrder(buyer, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		var statuses []string
		for _, r := range got.Refunds {
			statuses = append(statuses, fmt.Sprintf("%s %d", r.Status, r.Amount.Amount))
		}
		slices.Sort(statuses) // those made in one transaction share their instant
		want := []string{"failed 2000", "succeeded 1500", "succeeded 500"}
		if refunded, accepted, refused := charge.Refunded(); !slices.Equal(statuses, want) || got.Refunded.Amount != 2000 ||
			refunded != 2000 || accepted != 1 || refused != 1 {
			t.Fatalf("refunds %v (want %v), order refunded %d; Stripe refunded %d in %d refunds, refused %d",
				statuses, want, got.Refunded.Amount, refunded, accepted, refused)
		}
		if stats, err := db.OutboxStats(ctx); err != nil || stats.Pending != 0 {
			t.Fatalf("outbox after delivery: %+v, %v", stats, err)
		}
	})
}

// TestRefusedRefundWithMoneyLeftStaysPending: a refund Stripe refuses
// while the charge still has all of it to give (a dispute) is not taken for
// one made in the dashboard: it stays pending, for the outbox to retry and
// a person to look at, and nothing is recorded in its place.
func TestRefusedRefundWithMoneyLeftStaysPending(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, e testenv.Engine) {
		ctx := context.Background()
		charge := stripetest.NewFakeCharge(t, "pi_1", admit.Money{Amount: 2000, Currency: "EUR"})
		svc, buyer, o := paidByCard(t, e, charge.URL)
		charge.Dispute()
		if _, err := svc.CancelOrder(buyer, o.ID); err != nil {
			t.Fatal(err)
		}
		got, err := svc.FindOrder(buyer, o.ID)
		if err != nil || len(got.Refunds) != 1 {
			t.Fatalf("after cancelling: %+v, %v", got, err)
		}
		r, err := svc.FindRefund(ctx, got.Refunds[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.SendRefund(ctx, store.OutboxMessage{Payload: []byte(`{"refund_id":"` + r.ID + `"}`)}); admit.ErrorCode(err) != admit.EINVALID {
			t.Fatalf("sending a refund of a disputed charge: %v, want Stripe's refusal", err)
		}
		if got, err = svc.FindOrder(buyer, o.ID); err != nil || len(got.Refunds) != 1 || got.Refunds[0].Status != admit.RefundPending {
			t.Fatalf("refunds after Stripe refused one with the money left: %+v, %v", got.Refunds, err)
		}
	})
}

// paidByCard is a service whose Stripe is at stripeURL, and a buyer's order
// of 2 seats at 10.00 EUR paid by the PaymentIntent pi_1.
func paidByCard(t *testing.T, e testenv.Engine, stripeURL string) (*Service, context.Context, *admit.Order) {
	t.Helper()
	ctx := context.Background()
	sc, err := stripe.New(stripe.Config{SecretKey: "sk_test_admit", WebhookSecret: "whsec_test", BaseURL: stripeURL})
	if err != nil {
		t.Fatal(err)
	}
	db := storetest.Open(t, e)
	db.StripeEnabled = true
	svc := New(db, sc, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s := storetest.NewOnsale(t, db, admit.ProviderStripe, admit.Money{Amount: 1000, Currency: "EUR"}, 10)
	buyer := storetest.Buyer(t, db, "buyer@example.com")
	o, err := db.CreateOrder(buyer, s.Order(2)) // the store's: its payment is set by hand below
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetPayment(ctx, o.ID, "pi_1", "secret"); err != nil {
		t.Fatal(err)
	}
	sys := admit.NewContextWithUser(ctx, admit.System)
	o, err = db.ConfirmPayment(sys, store.Payment{Provider: admit.ProviderStripe, NoticeID: "evt_paid", OrderID: o.ID, Ref: "pi_1", Amount: o.Total})
	if err != nil {
		t.Fatal(err)
	}
	return svc, buyer, o
}
