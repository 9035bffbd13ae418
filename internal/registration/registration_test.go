package registration

import (
	"context"
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
