package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/stripe/stripetest"
	"github.com/admit-events/admit/internal/testenv"
)

const webhookSecret = "whsec_admit_test"

func TestStripePaymentsThroughTheAPI(t *testing.T) {
	mock := stripetest.Start(t)
	testenv.ForEachEngine(t, func(t *testing.T, e testenv.Engine) {
		stripeURL, stripeSaw := stripetest.Record(t, mock)
		s := startServer(t, e, "--stripe-secret-key", "sk_test_admit", "--stripe-webhook-secret", webhookSecret,
			"--stripe-api-url", stripeURL, "--worker-interval", "1h") // the test delivers the outbox itself
		c := buildCatalogue(t, s)
		var manual admit.Order // ordered before the event switched to Stripe: paid by bank transfer
		s.call("POST", "/api/v1/orders", c.attendee, orderBody(c.event.ID, c.general.ID, 1)).want(t, 201).decode(t, &manual)
		s.call("PATCH", "/api/v1/events/"+c.event.ID, c.organizer, map[string]any{"payment_provider": "stripe"}).want(t, 200)

		order := func() admit.Order {
			var o admit.Order
			s.call("POST", "/api/v1/orders", c.attendee, orderBody(c.event.ID, c.general.ID, 2)).want(t, 201).decode(t, &o)
			if o.Status != admit.OrderPending || o.Payment.Provider != "stripe" || o.Payment.ClientSecret == "" || o.Payment.Reference == "" {
				t.Fatalf("stripe order: %+v", o)
			}
			return o
		}
		paid := func(eventID string, o admit.Order, secret string, at time.Time, amount admit.Money) response {
			body, sig := stripetest.SignedPayload(t, secret, stripetest.PaymentIntentSucceeded(eventID, o.Payment.Reference, o.ID, amount), at)
			return s.call("POST", "/api/v1/webhooks/stripe", "", body, "Stripe-Signature", sig)
		}
		webhook := func(eventID string, o admit.Order, secret string, at time.Time) response {
			return paid(eventID, o, secret, at, o.Total)
		}
		status := func(o admit.Order) (admit.OrderStatus, int) {
			var got admit.Order
			s.call("GET", "/api/v1/orders/"+o.ID, c.attendee, nil).want(t, 200).decode(t, &got)
			return got.Status, len(got.Tickets)
		}

		// Forged, unsigned and stale events change nothing.
		o := order()
		var seen admit.Order // by the organizer, who may look but not pay
		s.call("GET", "/api/v1/orders/"+o.ID, c.organizer, nil).want(t, 200).decode(t, &seen)
		if seen.Payment.ClientSecret != "" || seen.Payment.Reference != o.Payment.Reference {
			t.Fatalf("the organizer sees the payment %+v, want its reference without the buyer's secret", seen.Payment)
		}
		webhook("evt_forged", o, "whsec_wrong", time.Now()).wantProblem(t, 400, "")
		webhook("evt_stale", o, webhookSecret, time.Now().Add(-10*time.Minute)).wantProblem(t, 400, "")
		s.call("POST", "/api/v1/webhooks/stripe", "", stripetest.PaymentIntentSucceeded("evt_unsigned", o.Payment.Reference, o.ID, o.Total)).wantProblem(t, 400, "")
		// A payment of another amount is refused (Stripe retries, a person
		// must look); one without our order_id is another integration's.
		paid("evt_cheap_"+e.Name, o, webhookSecret, time.Now(), admit.Money{Amount: 1, Currency: o.Total.Currency}).wantProblem(t, 400, "")
		paid("evt_dollars_"+e.Name, o, webhookSecret, time.Now(), admit.Money{Amount: o.Total.Amount, Currency: "USD"}).wantProblem(t, 400, "")
		stranger := o
		stranger.ID = ""
		paid("evt_stranger_"+e.Name, stranger, webhookSecret, time.Now(), o.Total).want(t, 200)
		// A Stripe payment naming an order paid another way is refused: its
		// refund would go through a provider that never had the money.
		manual.Payment.Reference = "pi_elsewhere"
		webhook("evt_not_stripe_"+e.Name, manual, webhookSecret, time.Now()).wantProblem(t, 400, "")
		if st, n := status(o); st != admit.OrderPending || n != 0 {
			t.Fatalf("after forged webhooks: %s with %d tickets", st, n)
		}
		if st, n := status(manual); st != admit.OrderPending || n != 0 {
			t.Fatalf("a manual order after a Stripe payment naming it: %s with %d tickets", st, n)
		}

		// A signed event confirms the order; its replay changes nothing.
		webhook("evt_ok_"+e.Name, o, webhookSecret, time.Now()).want(t, 200)
		webhook("evt_ok_"+e.Name, o, webhookSecret, time.Now()).want(t, 200)
		if st, n := status(o); st != admit.OrderPaid || n != 2 {
			t.Fatalf("after the webhook and its replay: %s with %d tickets", st, n)
		}
		var ev admit.Event
		s.call("GET", "/api/v1/events/"+c.event.ID, "", nil).want(t, 200).decode(t, &ev)
		if *ev.TicketTypes[0].Available != 297 { // 300, less the manual order's hold and the 2 paid
			t.Fatalf("available %d after a replayed payment of 2 seats, want 297", *ev.TicketTypes[0].Available)
		}

		// A refund made in Stripe's dashboard is recorded (once), and the
		// refund of a later cancellation gives back only the rest.
		refundedInStripe := func(eventID, intent, secret string, refunded int64) response {
			charge := stripetest.ChargeRefunded(eventID, intent, o.Total, admit.Money{Amount: refunded, Currency: o.Total.Currency})
			body, sig := stripetest.SignedPayload(t, secret, charge, time.Now())
			return s.call("POST", "/api/v1/webhooks/stripe", "", body, "Stripe-Signature", sig)
		}
		refundedInStripe("evt_dash_forged_"+e.Name, o.Payment.Reference, "whsec_wrong", 5000).wantProblem(t, 400, "")
		refundedInStripe("evt_dash_"+e.Name, o.Payment.Reference, webhookSecret, 1000).want(t, 200)
		refundedInStripe("evt_dash_"+e.Name, o.Payment.Reference, webhookSecret, 1000).want(t, 200)
		refundedInStripe("evt_dash_stranger_"+e.Name, "pi_not_ours", webhookSecret, 1000).want(t, 200)

		// Cancelling refunds through Stripe, from the outbox; releasing an
		// unpaid order cancels its PaymentIntent, so it cannot be paid.
		released := order()
		s.call("DELETE", "/api/v1/orders/"+released.ID, c.attendee, nil).want(t, 200)
		s.call("POST", "/api/v1/orders/"+o.ID+"/cancel", c.attendee, nil).want(t, 200)
		if _, err := s.m.outbox.DeliverDue(context.Background()); err != nil {
			t.Fatal(err)
		}
		var refunded admit.Order
		s.call("GET", "/api/v1/orders/"+o.ID, c.attendee, nil).want(t, 200).decode(t, &refunded)
		if r := refunded.Refunds; len(r) != 2 || r[0].Amount.Amount != 1000 || r[0].Status != admit.RefundSucceeded ||
			r[1].Status != admit.RefundSucceeded || r[1].Amount.Amount != 4000 || !strings.HasPrefix(r[1].Reference, "re_") || r[1].RefundedAt == nil ||
			refunded.Refunded.Amount != 5000 {
			t.Fatalf("refunds after a dashboard refund of 10.00 and cancelling: %+v", r)
		}
		var cancels []string
		for _, r := range stripeSaw() {
			if strings.HasSuffix(r.Path, "/cancel") {
				cancels = append(cancels, r.Path)
			}
		}
		if want := "/v1/payment_intents/" + released.Payment.Reference + "/cancel"; len(cancels) != 1 || cancels[0] != want {
			t.Fatalf("PaymentIntents cancelled: %v, want only %s (the paid order is refunded instead)", cancels, want)
		}
	})
}

// TestStripeNotConfigured: on a server without Stripe, an organizer cannot
// switch an event to stripe (its orders could never be paid), and nothing
// changes; others still get their usual answers.
func TestStripeNotConfigured(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := startServer(t, e)
		c := buildCatalogue(t, s)
		stripe := map[string]any{"payment_provider": "stripe"}
		s.call("PATCH", "/api/v1/events/"+c.event.ID, c.organizer, stripe).wantProblem(t, 422, "body.payment_provider")
		s.call("PATCH", "/api/v1/events/"+c.event.ID, c.attendee, stripe).wantProblem(t, 403, "")
		start := time.Now().AddDate(0, 2, 0).Truncate(time.Hour)
		s.call("POST", "/api/v1/events", c.organizer, map[string]any{"title": "Card only", "city_id": c.city.ID, "location_id": c.venue.ID,
			"starts_at": start, "ends_at": start.Add(time.Hour), "payment_provider": "stripe"}).wantProblem(t, 422, "body.payment_provider")

		var ev admit.Event
		s.call("GET", "/api/v1/events/"+c.event.ID, "", nil).want(t, 200).decode(t, &ev)
		if ev.PaymentProvider != admit.ProviderManual {
			t.Fatalf("payment_provider %q after refused changes, want manual", ev.PaymentProvider)
		}
		s.call("PATCH", "/api/v1/events/"+c.event.ID, c.organizer, map[string]any{"payment_provider": "manual"}).want(t, 200)
		s.call("POST", "/api/v1/webhooks/stripe", "", `{"id":"evt_x"}`, "Stripe-Signature", "t=1,v1=00").wantProblem(t, 503, "")
	})
}

// TestStripeDownReleasesTheHold: when Stripe cannot be reached, the order
// is refused with 503 and its seats are back at once.
func TestStripeDownReleasesTheHold(t *testing.T) {
	s := startServer(t, testenv.Engine{Name: "sqlite", DataDir: t.TempDir()}, "--stripe-secret-key", "sk_test_admit",
		"--stripe-webhook-secret", webhookSecret, "--stripe-api-url", "http://127.0.0.1:1") // nothing listens there
	c := buildCatalogue(t, s)
	s.call("PATCH", "/api/v1/events/"+c.event.ID, c.organizer, map[string]any{"payment_provider": "stripe"}).want(t, 200)
	down := s.call("POST", "/api/v1/orders", c.attendee, orderBody(c.event.ID, c.general.ID, 3), "Idempotency-Key", "while-down")
	if down.wantProblem(t, 503, ""); down.Header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After: the client is not told when to try again")
	}
	// The retry runs again (and fails again) rather than getting back the
	// order released for it.
	s.call("POST", "/api/v1/orders", c.attendee, orderBody(c.event.ID, c.general.ID, 3), "Idempotency-Key", "while-down").wantProblem(t, 503, "")
	var ev admit.Event
	s.call("GET", "/api/v1/events/"+c.event.ID, "", nil).want(t, 200).decode(t, &ev)
	if *ev.TicketTypes[0].Available != 300 {
		t.Fatalf("available %d after a failed payment start, want all 300 back", *ev.TicketTypes[0].Available)
	}
	var orders list[admit.Order]
	s.call("GET", "/api/v1/me/orders", c.attendee, nil).want(t, 200).decode(t, &orders)
	if len(orders.Items) != 2 || orders.Items[0].Status != admit.OrderCancelled || orders.Items[1].Status != admit.OrderCancelled {
		t.Fatalf("the refused order and its retry: %+v", orders.Items)
	}
}

// TestOrderReleasedWhileItsPaymentStarts: the buyer releases an order while
// its PaymentIntent is being created. The order is answered 409, the
// intent (which nobody can pay any more) is cancelled at once, and the
// seats are back.
func TestOrderReleasedWhileItsPaymentStarts(t *testing.T) {
	mock := stripetest.Start(t)
	testenv.ForEachEngine(t, func(t *testing.T, e testenv.Engine) {
		creating, proceed := make(chan struct{}), make(chan struct{})
		var once sync.Once
		defer once.Do(func() { close(proceed) }) // never leave the proxy blocked
		stripeURL, stripeSaw := stripetest.Intercept(t, mock, func(r stripetest.Request) {
			if r.Path == "/v1/payment_intents" {
				close(creating) // the one order of this test
				<-proceed
			}
		})
		s := startServer(t, e, "--stripe-secret-key", "sk_test_admit", "--stripe-webhook-secret", webhookSecret,
			"--stripe-api-url", stripeURL, "--worker-interval", "1h") // the outbox does not stop the payment: CreateOrder must
		c := buildCatalogue(t, s)
		s.call("PATCH", "/api/v1/events/"+c.event.ID, c.organizer, map[string]any{"payment_provider": "stripe"}).want(t, 200)

		placed := make(chan response, 1)
		go func() {
			r, err := s.try("POST", "/api/v1/orders", c.attendee, orderBody(c.event.ID, c.general.ID, 2))
			if err != nil {
				t.Error(err)
			}
			placed <- r
		}()
		<-creating
		var mine list[admit.Order]
		s.call("GET", "/api/v1/me/orders", c.attendee, nil).want(t, 200).decode(t, &mine)
		if len(mine.Items) != 1 || mine.Items[0].Status != admit.OrderPending {
			t.Fatalf("while its payment starts: %+v", mine.Items)
		}
		s.call("DELETE", "/api/v1/orders/"+mine.Items[0].ID, c.attendee, nil).want(t, 200)
		once.Do(func() { close(proceed) })
		(<-placed).wantProblem(t, 409, "")

		var cancels int
		for _, r := range stripeSaw() {
			if strings.HasPrefix(r.Path, "/v1/payment_intents/") && strings.HasSuffix(r.Path, "/cancel") {
				cancels++
			}
		}
		var ev admit.Event
		s.call("GET", "/api/v1/events/"+c.event.ID, "", nil).want(t, 200).decode(t, &ev)
		if cancels != 1 || *ev.TicketTypes[0].Available != 300 {
			t.Fatalf("%d PaymentIntents cancelled, %d seats available; want 1 and all 300", cancels, *ev.TicketTypes[0].Available)
		}
	})
}
