// Package stripe is Admit's adapter to Stripe: it starts card payments as
// PaymentIntents, refunds them, and verifies and decodes Stripe's signed
// webhooks. Every error it returns is an *admit.Error; none carries the
// secret key.
//
// Tests run against stripe-mock (see package stripetest), which checks the
// shape of requests but keeps no state: it returns canned objects and does
// not replay idempotent requests.
package stripe

import (
	"context"
	"errors"
	"strings"

	stripego "github.com/stripe/stripe-go/v85"

	"github.com/admit-events/admit"
)

// Config configures a Client.
type Config struct {
	SecretKey     string // sk_test_… or sk_live_… (rk_… restricted keys work too); required
	WebhookSecret string // whsec_… of the webhook endpoint; required to verify webhooks
	BaseURL       string // "" means Stripe's API; tests point it at stripe-mock
}

// Client talks to Stripe for Admit. It is safe for concurrent use.
type Client struct {
	api           *stripego.Client
	secretKey     string
	webhookSecret string
}

// New returns a Client for cfg. It does not contact Stripe.
func New(cfg Config) (*Client, error) {
	switch {
	case cfg.SecretKey == "":
		return nil, admit.Errorf(admit.EINVALID, "the Stripe secret key is required")
	case strings.HasPrefix(cfg.SecretKey, "pk_"):
		return nil, admit.Errorf(admit.EINVALID, "the Stripe secret key is a publishable key (pk_…); use the secret key (sk_…)")
	}
	bc := &stripego.BackendConfig{
		// We return every failure as an error; the caller decides what to
		// log. Stripe's default logger would write to stderr on its own.
		LeveledLogger: &stripego.LeveledLogger{Level: stripego.LevelNull},
	}
	if cfg.BaseURL != "" {
		bc.URL = stripego.String(cfg.BaseURL)
	}
	return &Client{
		api:           stripego.NewClient(cfg.SecretKey, stripego.WithBackends(stripego.NewBackendsWithConfig(bc))),
		secretKey:     cfg.SecretKey,
		webhookSecret: cfg.WebhookSecret,
	}, nil
}

// StartPayment creates a PaymentIntent for order orderID over amount, with
// automatic payment methods, metadata order_id=orderID and the
// Idempotency-Key "admit-order-"+orderID, so that a retried call within
// Stripe's 24-hour idempotency window returns the same intent. It returns the
// intent's id (the payment reference) and its client secret for the browser.
//
// Calling it again for the same order with a different amount is refused by
// Stripe (ECONFLICT).
func (c *Client) StartPayment(ctx context.Context, orderID string, amount admit.Money) (ref, clientSecret string, err error) {
	if orderID == "" {
		return "", "", admit.Errorf(admit.EINVALID, "an order id is required to start a payment")
	}
	units, currency, err := apiAmount(amount)
	if err != nil {
		return "", "", err
	}
	params := &stripego.PaymentIntentCreateParams{
		Amount:   stripego.Int64(units),
		Currency: stripego.String(currency),
		AutomaticPaymentMethods: &stripego.PaymentIntentCreateAutomaticPaymentMethodsParams{
			Enabled: stripego.Bool(true),
		},
	}
	params.AddMetadata("order_id", orderID)
	params.SetIdempotencyKey("admit-order-" + orderID)
	pi, err := c.api.V1PaymentIntents.Create(ctx, params)
	if err != nil {
		return "", "", c.apiError("create the payment", err)
	}
	return pi.ID, pi.ClientSecret, nil
}

// Refund refunds amount of the PaymentIntent ref with Idempotency-Key key
// and returns the refund's id. amount must be in the payment's currency:
// Stripe always refunds in the currency of the payment.
func (c *Client) Refund(ctx context.Context, ref string, amount admit.Money, key string) (refundID string, err error) {
	switch {
	case ref == "":
		return "", admit.Errorf(admit.EINVALID, "a payment reference is required to refund")
	case key == "" || len(key) > 255:
		return "", admit.Errorf(admit.EINVALID, "a refund needs an idempotency key of 1 to 255 characters")
	}
	units, _, err := apiAmount(amount)
	if err != nil {
		return "", err
	}
	params := &stripego.RefundCreateParams{
		PaymentIntent: stripego.String(ref),
		Amount:        stripego.Int64(units),
	}
	params.SetIdempotencyKey(key)
	r, err := c.api.V1Refunds.Create(ctx, params)
	if err != nil {
		return "", c.apiError("refund the payment", err)
	}
	return r.ID, nil
}

// Refundable returns what Stripe can still refund of the PaymentIntent ref:
// its charge's amount less what was refunded, by Admit or in Stripe's
// dashboard.
func (c *Client) Refundable(ctx context.Context, ref string) (admit.Money, error) {
	if ref == "" {
		return admit.Money{}, admit.Errorf(admit.EINVALID, "a payment reference is required")
	}
	params := &stripego.PaymentIntentRetrieveParams{}
	params.AddExpand("latest_charge")
	pi, err := c.api.V1PaymentIntents.Retrieve(ctx, ref, params)
	if err != nil {
		return admit.Money{}, c.apiError("read the payment", err)
	}
	ch := pi.LatestCharge
	if ch == nil {
		return admit.Money{}, admit.Errorf(admit.EINVALID, "the payment %s has no charge", ref)
	}
	return fromAPIAmount(ch.Amount-ch.AmountRefunded, string(ch.Currency)), nil
}

// CancelPayment cancels the PaymentIntent ref, so that its buyer can no
// longer pay an order that was released. An intent that already succeeded
// or was cancelled is left as it is (nil): a success is refunded when its
// webhook arrives.
func (c *Client) CancelPayment(ctx context.Context, ref string) error {
	if ref == "" {
		return admit.Errorf(admit.EINVALID, "a payment reference is required to cancel")
	}
	params := &stripego.PaymentIntentCancelParams{CancellationReason: stripego.String("abandoned")}
	params.SetIdempotencyKey("admit-cancel-" + ref)
	_, err := c.api.V1PaymentIntents.Cancel(ctx, ref, params)
	var se *stripego.Error
	if errors.As(err, &se) && se.Code == stripego.ErrorCodePaymentIntentUnexpectedState {
		return nil
	}
	if err != nil {
		return c.apiError("cancel the payment", err)
	}
	return nil
}

// APIAmount returns m as Stripe's API writes it: an amount in Stripe's minor
// units and a lower-case currency code. Stripe's minor units are ISO 4217's
// except for ISK, which Stripe still counts in hundredths (500 = 5 ISK).
func APIAmount(m admit.Money) (amount int64, currency string) {
	return m.Amount * scale(m.Currency), strings.ToLower(m.Currency)
}

// scale returns how many of Stripe's minor units make one ISO 4217 minor
// unit of currency (upper case).
func scale(currency string) int64 {
	if currency == "ISK" {
		return 100
	}
	return 1
}

// apiAmount checks m and converts it to Stripe's units.
func apiAmount(m admit.Money) (int64, string, error) {
	if !admit.ValidCurrency(m.Currency) {
		return 0, "", admit.Errorf(admit.EINVALID, "%q is not an ISO 4217 currency code", m.Currency)
	}
	if m.Amount <= 0 || m.Amount > admit.MaxAmount {
		return 0, "", admit.Errorf(admit.EINVALID, "the amount must be between 1 and %d minor units", int64(admit.MaxAmount))
	}
	amount, currency := APIAmount(m)
	return amount, currency, nil
}

// fromAPIAmount converts an amount and currency from Stripe's API to Money.
func fromAPIAmount(amount int64, currency string) admit.Money {
	cur := strings.ToUpper(currency)
	return admit.Money{Amount: amount / scale(cur), Currency: cur}
}

// apiError turns an error from stripe-go into an *admit.Error: Stripe's
// refusals of the request or the card are EINVALID, a reused idempotency key
// with other parameters is ECONFLICT, and everything that says Stripe cannot
// serve us now (network, 5xx, rate limits, a rejected API key) is
// EUNAVAILABLE. The message keeps Stripe's words with the secret key blanked:
// stripe-mock echoes a rejected key back.
func (c *Client) apiError(doing string, err error) *admit.Error {
	code, msg := admit.EUNAVAILABLE, err.Error()
	var se *stripego.Error
	if errors.As(err, &se) {
		msg = se.Msg
		switch {
		case se.Type == stripego.ErrorTypeIdempotency:
			code = admit.ECONFLICT
		case se.HTTPStatusCode == 401 || se.HTTPStatusCode == 403 || se.HTTPStatusCode == 429:
			code = admit.EUNAVAILABLE
		case se.HTTPStatusCode >= 400 && se.HTTPStatusCode < 500:
			code = admit.EINVALID
		}
	}
	if c.secretKey != "" {
		msg = strings.ReplaceAll(msg, c.secretKey, "[secret key]")
	}
	if code == admit.EUNAVAILABLE {
		return admit.Errorf(code, "Stripe is unavailable, could not %s: %s", doing, msg)
	}
	return admit.Errorf(code, "Stripe could not %s: %s", doing, msg)
}
