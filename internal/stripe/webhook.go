package stripe

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/admit-events/admit"
)

// WebhookTolerance is how far a webhook's signed timestamp may be from now:
// an older event could be a replay, so it is rejected.
const WebhookTolerance = 5 * time.Minute

// Event is what Admit needs of a verified webhook event. ID is Stripe's
// event id (evt_…), the key for handling each delivery once; Type is for
// example "payment_intent.succeeded". For payment_intent.* events PaymentRef
// is the intent's id, OrderID its order_id metadata (set by StartPayment) and
// Amount its amount. For charge.refunded PaymentRef is the charge's intent,
// Amount the charge's and Refunded what it has refunded in all
// (amount_refunded). For other types they are empty.
type Event struct {
	ID, Type, PaymentRef, OrderID string
	Amount, Refunded              admit.Money
}

// ParseWebhook verifies signatureHeader (the request's Stripe-Signature)
// against the webhook secret and decodes payload, the raw request body. It
// rejects unsigned and wrongly signed events, and events signed more than
// WebhookTolerance away from now. Such errors are *admit.Error with Code
// EINVALID; a Client without a webhook secret fails with EINTERNAL.
func (c *Client) ParseWebhook(payload []byte, signatureHeader string, now time.Time) (Event, error) {
	if c.webhookSecret == "" {
		return Event{}, admit.Errorf(admit.EINTERNAL, "no Stripe webhook secret is configured")
	}
	// stripe-go checks the tolerance against its own clock; we check it
	// below against now, so that callers and tests control time.
	if err := webhook.ValidatePayloadIgnoringTolerance(payload, signatureHeader, c.webhookSecret); err != nil {
		return Event{}, invalidf("%s", signatureProblem(err))
	}
	signed, ok := signedAt(signatureHeader)
	if !ok {
		return Event{}, invalidf("the webhook's Stripe-Signature header must carry exactly one timestamp")
	}
	if d := now.Sub(signed); d > WebhookTolerance || d < -WebhookTolerance {
		return Event{}, invalidf("the webhook was signed at %s, more than %s from now; it may be a replay",
			signed.UTC().Format(time.RFC3339), WebhookTolerance)
	}

	var raw struct {
		ID   string `json:"id"`
		Type string `json:"type"`
		Data struct {
			Object json.RawMessage `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal(payload, &raw); err != nil {
		if errors.As(err, new(*json.SyntaxError)) {
			return Event{}, invalidf("the webhook body is not valid JSON: %v", err)
		}
		return Event{}, invalidf("the webhook body is not a Stripe event: a JSON object with id, type and data") // Go's words would name our types
	}
	if raw.ID == "" || raw.Type == "" {
		return Event{}, invalidf("the webhook body is not a Stripe event: it has no id or type")
	}
	e := Event{ID: raw.ID, Type: raw.Type}
	switch {
	case strings.HasPrefix(raw.Type, "payment_intent."):
		return paymentIntentEvent(e, raw.Data.Object)
	case raw.Type == "charge.refunded": // not every charge.* event carries a charge (disputes, refunds)
		return chargeEvent(e, raw.Data.Object)
	}
	return e, nil
}

func paymentIntentEvent(e Event, object json.RawMessage) (Event, error) {
	var pi struct {
		ID       string            `json:"id"`
		Amount   int64             `json:"amount"`
		Currency string            `json:"currency"`
		Metadata map[string]string `json:"metadata"`
	}
	if err := json.Unmarshal(object, &pi); err != nil || pi.ID == "" {
		return Event{}, invalidf("the %s event %s has no payment intent in data.object", e.Type, e.ID)
	}
	e.PaymentRef = pi.ID
	e.OrderID = pi.Metadata["order_id"]
	e.Amount = fromAPIAmount(pi.Amount, pi.Currency)
	return e, nil
}

// chargeEvent reads a charge: its intent (a charge of ours always has one:
// Admit takes payments through PaymentIntents only) and its refunds.
func chargeEvent(e Event, object json.RawMessage) (Event, error) {
	var ch struct {
		ID             string `json:"id"`
		PaymentIntent  string `json:"payment_intent"`
		Amount         int64  `json:"amount"`
		AmountRefunded int64  `json:"amount_refunded"`
		Currency       string `json:"currency"`
	}
	if err := json.Unmarshal(object, &ch); err != nil || ch.ID == "" {
		return Event{}, invalidf("the %s event %s has no charge in data.object", e.Type, e.ID)
	}
	e.PaymentRef = ch.PaymentIntent
	e.Amount = fromAPIAmount(ch.Amount, ch.Currency)
	e.Refunded = fromAPIAmount(ch.AmountRefunded, ch.Currency)
	return e, nil
}

func invalidf(format string, args ...any) *admit.Error {
	return admit.Errorf(admit.EINVALID, format, args...)
}

func signatureProblem(err error) string {
	switch {
	case errors.Is(err, webhook.ErrNotSigned):
		return "the webhook has no Stripe-Signature header"
	case errors.Is(err, webhook.ErrInvalidHeader):
		return "the webhook's Stripe-Signature header is malformed"
	case errors.Is(err, webhook.ErrNoValidSignature):
		return "the webhook's signature does not match its body and our webhook secret"
	}
	return "the webhook's signature could not be verified"
}

// signedAt returns the one t= timestamp of a Stripe-Signature header
// ("t=1495999758,v1=…"). A header with several is refused: stripe-go checks
// the signature against one of them, and checking freshness against another
// would let a fresh t= in front of an old, validly signed header pass.
func signedAt(header string) (time.Time, bool) {
	var t time.Time
	n := 0
	for part := range strings.SplitSeq(header, ",") {
		if v, ok := strings.CutPrefix(part, "t="); ok {
			sec, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return time.Time{}, false
			}
			t, n = time.Unix(sec, 0), n+1
		}
	}
	return t, n == 1
}
