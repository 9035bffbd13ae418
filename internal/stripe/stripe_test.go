package stripe_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/stripe"
	"github.com/admit-events/admit/internal/stripe/stripetest"
)

const (
	testKey    = "sk_test_123"
	testSecret = "whsec_test_secret"
)

func eur(minor int64) admit.Money { return admit.Money{Amount: minor, Currency: "EUR"} }

func newClient(t *testing.T, baseURL string) *stripe.Client {
	t.Helper()
	c, err := stripe.New(stripe.Config{SecretKey: testKey, WebhookSecret: testSecret, BaseURL: baseURL})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestWithStripeMock runs the tests that need Stripe against one
// stripe-mock, which takes about 2 s to load Stripe's API spec.
func TestWithStripeMock(t *testing.T) {
	mock := stripetest.Start(t)
	t.Run("StartPaymentAndRefund", func(t *testing.T) { testStartPaymentAndRefund(t, mock) })
	t.Run("StartPaymentRequest", func(t *testing.T) { testStartPaymentRequest(t, mock) })
	t.Run("RefundRequest", func(t *testing.T) { testRefundRequest(t, mock) })
	t.Run("RejectedKey", func(t *testing.T) { testRejectedKey(t, mock) })
	t.Run("CancelPayment", func(t *testing.T) { testCancelPayment(t, mock) })
	t.Run("RefundableRequest", func(t *testing.T) { testRefundableRequest(t, mock) })
}

// testRefundableRequest: Stripe's API takes Refundable's request (with the
// intent's charge expanded) and answers in Money.
func testRefundableRequest(t *testing.T, mock string) {
	base, seen := stripetest.Record(t, mock)
	left, err := newClient(t, base).Refundable(context.Background(), "pi_123")
	if err != nil || left.Currency == "" || left.Amount < 0 {
		t.Fatalf("Refundable: %v, %v", left, err)
	}
	if r := seen()[0]; r.Path != "/v1/payment_intents/pi_123" {
		t.Errorf("Refundable asked %s", r.Path)
	}
}

func testStartPaymentAndRefund(t *testing.T, mock string) {
	c := newClient(t, mock)
	ctx := context.Background()

	ref, secret, err := c.StartPayment(ctx, "ord_1", eur(2500))
	if err != nil {
		t.Fatalf("StartPayment: %v", err)
	}
	if !strings.HasPrefix(ref, "pi_") || secret == "" {
		t.Fatalf("StartPayment = %q, %q; want a pi_ id and a client secret", ref, secret)
	}

	refundID, err := c.Refund(ctx, ref, eur(1000), "admit-refund-1")
	if err != nil {
		t.Fatalf("Refund: %v", err)
	}
	if !strings.HasPrefix(refundID, "re_") {
		t.Fatalf("Refund = %q, want a re_ id", refundID)
	}
}

func testStartPaymentRequest(t *testing.T, mock string) {
	base, seen := stripetest.Record(t, mock)
	c := newClient(t, base)
	for i := range 2 { // a retry for the same order
		if _, _, err := c.StartPayment(context.Background(), "ord_42", admit.Money{Amount: 1500, Currency: "JPY"}); err != nil {
			t.Fatalf("StartPayment #%d: %v", i+1, err)
		}
	}
	reqs := seen()
	if len(reqs) != 2 {
		t.Fatalf("got %d requests, want 2", len(reqs))
	}
	for _, r := range reqs {
		if r.Path != "/v1/payment_intents" || r.IdempotencyKey != "admit-order-ord_42" {
			t.Errorf("request %s with Idempotency-Key %q; want /v1/payment_intents with admit-order-ord_42", r.Path, r.IdempotencyKey)
		}
		want := map[string]string{
			"amount":                             "1500", // JPY has no minor unit, in ISO 4217 and Stripe alike
			"currency":                           "jpy",
			"metadata[order_id]":                 "ord_42",
			"automatic_payment_methods[enabled]": "true",
		}
		for k, v := range want {
			if got := r.Form.Get(k); got != v {
				t.Errorf("form %s = %q, want %q", k, got, v)
			}
		}
	}
}

func testRefundRequest(t *testing.T, mock string) {
	base, seen := stripetest.Record(t, mock)
	c := newClient(t, base)
	// Stripe counts ISK in hundredths although ISO 4217 gives it no minor unit.
	if _, err := c.Refund(context.Background(), "pi_123", admit.Money{Amount: 5000, Currency: "ISK"}, "refund-key-1"); err != nil {
		t.Fatalf("Refund: %v", err)
	}
	r := seen()[0]
	if r.Path != "/v1/refunds" || r.IdempotencyKey != "refund-key-1" ||
		r.Form.Get("payment_intent") != "pi_123" || r.Form.Get("amount") != "500000" {
		t.Errorf("got %s key %q form %v; want /v1/refunds key refund-key-1 payment_intent=pi_123 amount=500000", r.Path, r.IdempotencyKey, r.Form)
	}
}

// testRejectedKey checks that a key Stripe refuses makes payments
// unavailable without the key showing up in the error: stripe-mock refuses
// live keys with a 401 that quotes the key back.
func testRejectedKey(t *testing.T, mock string) {
	const liveKey = "sk_live_do_not_leak"
	c, err := stripe.New(stripe.Config{SecretKey: liveKey, BaseURL: mock})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.StartPayment(context.Background(), "ord_1", eur(100))
	if admit.ErrorCode(err) != admit.EUNAVAILABLE || strings.Contains(err.Error(), liveKey) {
		t.Errorf("StartPayment with a refused key: %v; want an unavailable error without the key", err)
	}
}

func testCancelPayment(t *testing.T, mock string) {
	base, seen := stripetest.Record(t, mock)
	c := newClient(t, base)
	if err := c.CancelPayment(context.Background(), "pi_123"); err != nil {
		t.Fatalf("CancelPayment: %v", err)
	}
	if r := seen()[0]; r.Path != "/v1/payment_intents/pi_123/cancel" || r.IdempotencyKey != "admit-cancel-pi_123" {
		t.Errorf("got %s key %q; want /v1/payment_intents/pi_123/cancel key admit-cancel-pi_123", r.Path, r.IdempotencyKey)
	}
}

// TestCancelPaymentTooLate: an intent that succeeded (or was cancelled)
// before the cancel arrives is left as it is. stripe-mock keeps no state,
// so this Stripe answer comes from a fake, named as such: Stripe's 400
// with code payment_intent_unexpected_state.
func TestCancelPaymentTooLate(t *testing.T) {
	fakeStripe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"error":{"type":"invalid_request_error","code":"payment_intent_unexpected_state",`+
			`"message":"You cannot cancel this PaymentIntent because it has a status of succeeded."}}`)
	}))
	defer fakeStripe.Close()
	if err := newClient(t, fakeStripe.URL).CancelPayment(context.Background(), "pi_paid"); err != nil {
		t.Fatalf("CancelPayment of a paid intent: %v, want nil", err)
	}
}

func TestUnreachable(t *testing.T) {
	c := newClient(t, "http://127.0.0.1:1") // nothing listens there
	if _, err := c.Refund(context.Background(), "pi_1", eur(100), "k"); admit.ErrorCode(err) != admit.EUNAVAILABLE {
		t.Errorf("Refund with Stripe unreachable: %v, want an unavailable error", err)
	}
	if err := c.CancelPayment(context.Background(), "pi_1"); admit.ErrorCode(err) != admit.EUNAVAILABLE {
		t.Errorf("CancelPayment with Stripe unreachable: %v, want an unavailable error (the outbox retries)", err)
	}
}

// TestInvalidInput checks the arguments refused before calling Stripe.
func TestInvalidInput(t *testing.T) {
	c := newClient(t, "http://127.0.0.1:1")
	ctx := context.Background()
	_, _, noOrder := c.StartPayment(ctx, "", eur(100))
	_, _, zero := c.StartPayment(ctx, "ord_1", eur(0))
	_, _, badCurrency := c.StartPayment(ctx, "ord_1", admit.Money{Amount: 100, Currency: "eur"})
	_, noRef := c.Refund(ctx, "", eur(100), "k")
	_, noKey := c.Refund(ctx, "pi_1", eur(100), "")
	for name, err := range map[string]error{
		"no order id": noOrder, "zero amount": zero, "lower-case currency": badCurrency,
		"no payment reference": noRef, "no idempotency key": noKey, "no payment to cancel": c.CancelPayment(ctx, ""),
	} {
		if admit.ErrorCode(err) != admit.EINVALID {
			t.Errorf("%s: %v, want an invalid error", name, err)
		}
	}
}

func TestNewRequiresSecretKey(t *testing.T) {
	for _, key := range []string{"", "pk_test_123"} {
		if _, err := stripe.New(stripe.Config{SecretKey: key}); admit.ErrorCode(err) != admit.EINVALID {
			t.Errorf("New with key %q: %v, want an invalid error", key, err)
		}
	}
}

// TestRefundable reads what a charge can still refund. stripe-mock keeps no
// refunds, so the charge is a FakeCharge (named as such).
func TestRefundable(t *testing.T) {
	ctx := context.Background()
	for _, m := range []admit.Money{eur(2000), {Amount: 2000, Currency: "ISK"}} {
		f := stripetest.NewFakeCharge(t, "pi_1", m)
		c := newClient(t, f.URL)
		f.RefundElsewhere(admit.Money{Amount: 500, Currency: m.Currency})
		if left, err := c.Refundable(ctx, "pi_1"); err != nil || left != (admit.Money{Amount: 1500, Currency: m.Currency}) {
			t.Fatalf("Refundable after 500 of 2000 %s refunded: %v, %v; want 1500", m.Currency, left, err)
		}
		if _, err := c.Refund(ctx, "pi_1", admit.Money{Amount: 1600, Currency: m.Currency}, "k1"); admit.ErrorCode(err) != admit.EINVALID {
			t.Fatalf("refunding 1600 of 1500 left: %v, want Stripe's refusal", err)
		}
	}
}
