package stripe_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/stripe"
	"github.com/admit-events/admit/internal/stripe/stripetest"
)

func TestParseWebhook(t *testing.T) {
	c := newClient(t, "") // ParseWebhook never calls Stripe
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	succeeded := stripetest.PaymentIntentSucceeded("evt_1", "pi_1", "ord_1", eur(2500))

	body, header := stripetest.SignedPayload(t, testSecret, succeeded, now.Add(-time.Minute))
	got, err := c.ParseWebhook(body, header, now)
	if err != nil {
		t.Fatalf("ParseWebhook: %v", err)
	}
	want := stripe.Event{ID: "evt_1", Type: "payment_intent.succeeded", PaymentRef: "pi_1", OrderID: "ord_1", Amount: eur(2500)}
	if got != want {
		t.Errorf("ParseWebhook = %+v, want %+v", got, want)
	}

	// Stripe writes ISK in hundredths; the event is in ISO 4217 units again.
	isk := admit.Money{Amount: 5000, Currency: "ISK"}
	body, header = stripetest.SignedPayload(t, testSecret, stripetest.PaymentIntentSucceeded("evt_2", "pi_2", "ord_2", isk), now)
	if got, err := c.ParseWebhook(body, header, now); err != nil || got.Amount != isk {
		t.Errorf("ISK event: %+v, %v; want amount %v", got, err, isk)
	}

	charge := stripetest.ChargeRefunded("evt_3", "pi_1", eur(2500), eur(1000))
	body, header = stripetest.SignedPayload(t, testSecret, charge, now)
	got, err = c.ParseWebhook(body, header, now)
	if want := (stripe.Event{ID: "evt_3", Type: "charge.refunded", PaymentRef: "pi_1", Amount: eur(2500), Refunded: eur(1000)}); err != nil || got != want {
		t.Errorf("charge.refunded: %+v, %v; want %+v", got, err, want)
	}

	// Events Admit ignores are read no further, even when their object is
	// not what their name's prefix suggests (a dispute, not a charge).
	for typ, object := range map[string]string{"customer.created": `{"id":"cus_1","object":"customer"}`,
		"charge.dispute.created": `{"id":"dp_1","object":"dispute","charge":"ch_1"}`} {
		other := []byte(`{"id":"evt_4","object":"event","type":"` + typ + `","data":{"object":` + object + `}}`)
		body, header = stripetest.SignedPayload(t, testSecret, other, now)
		got, err = c.ParseWebhook(body, header, now)
		if want := (stripe.Event{ID: "evt_4", Type: typ}); err != nil || got != want {
			t.Errorf("%s: %+v, %v; want %+v", typ, got, err, want)
		}
	}

	noCharge := []byte(`{"id":"evt_5","object":"event","type":"charge.refunded","data":{"object":{"object":"charge"}}}`)
	body, header = stripetest.SignedPayload(t, testSecret, noCharge, now)
	if _, err := c.ParseWebhook(body, header, now); admit.ErrorCode(err) != admit.EINVALID {
		t.Errorf("charge.refunded without a charge id: %v, want invalid", err)
	}
}

func TestParseWebhookRejects(t *testing.T) {
	c := newClient(t, "")
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	event := stripetest.PaymentIntentSucceeded("evt_1", "pi_1", "ord_1", eur(2500))
	signed := func(secret string, payload []byte, at time.Time) ([]byte, string) {
		return stripetest.SignedPayload(t, secret, payload, at)
	}

	body, header := signed(testSecret, event, now)
	_, wrongSecret := signed("whsec_other", event, now)
	_, stale := signed(testSecret, event, now.Add(-6*time.Minute))
	_, future := signed(testSecret, event, now.Add(6*time.Minute))
	// An old, validly signed header with a fresh timestamp put in front.
	oldBody, old := signed(testSecret, event, now.Add(-time.Hour))
	replayed := "t=" + strconv.FormatInt(now.Unix(), 10) + "," + old
	notJSON, notJSONHeader := signed(testSecret, []byte(`{"id":"evt_1",`), now)
	noEvent, noEventHeader := signed(testSecret, []byte(`{"hello":"world"}`), now)
	array, arrayHeader := signed(testSecret, []byte(`[]`), now)

	for _, tc := range []struct {
		name    string
		payload []byte
		header  string
	}{
		{"no header", body, ""},
		{"malformed header", body, "v1"},
		{"wrong secret", body, wrongSecret},
		{"altered body", bytes.Replace(body, []byte("2500"), []byte("1"), 1), header},
		{"older than 5 minutes", body, stale},
		{"more than 5 minutes ahead", body, future},
		{"fresh timestamp before an old signature", oldBody, replayed},
		{"unparsable JSON", notJSON, notJSONHeader},
		{"not an event", noEvent, noEventHeader},
		{"not an object", array, arrayHeader},
	} {
		_, err := c.ParseWebhook(tc.payload, tc.header, now)
		t.Logf("%s: %v", tc.name, err)
		if admit.ErrorCode(err) != admit.EINVALID || admit.ErrorMessage(err) == "" {
			t.Errorf("%s: %v, want an invalid error with a message", tc.name, err)
		}
		if strings.Contains(admit.ErrorMessage(err), "Go ") { // "Go value of type …": ours, not the client's business
			t.Errorf("%s: %q names our code", tc.name, admit.ErrorMessage(err))
		}
	}
}

func TestParseWebhookNeedsSecret(t *testing.T) {
	c, err := stripe.New(stripe.Config{SecretKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	body, header := stripetest.SignedPayload(t, testSecret, []byte(`{}`), time.Now())
	if _, err := c.ParseWebhook(body, header, time.Now()); admit.ErrorCode(err) != admit.EINTERNAL {
		t.Errorf("ParseWebhook without a webhook secret: %v, want an internal error", err)
	}
}
