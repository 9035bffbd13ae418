package registration

import (
	"context"
	"fmt"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/store"
	"github.com/admit-events/admit/internal/stripe"
)

// Provider is how an order is paid. Start runs after the order's hold has
// committed (never inside a transaction); Refund sends money back and
// returns the provider's reference ("" when a person pays it back); Cancel
// stops a payment that was started for an order released before it was
// paid. All must be idempotent.
type Provider interface {
	Start(ctx context.Context, o *admit.Order) (admit.Payment, error)
	Refund(ctx context.Context, r store.Refund) (ref string, err error)
	Cancel(ctx context.Context, o *admit.Order) error
}

// free is the provider of orders totalling 0: they are paid in the
// transaction that creates them, and nothing is ever refunded.
type free struct{}

func (free) Start(_ context.Context, o *admit.Order) (admit.Payment, error) { return o.Payment, nil }
func (free) Refund(context.Context, store.Refund) (string, error)           { return "free", nil }
func (free) Cancel(context.Context, *admit.Order) error                     { return nil }

// manual is bank transfer or payment at the door: an organizer marks the
// order paid, and pays refunds back the same way: they stay owed (pending)
// until an organizer marks them refunded.
type manual struct{}

func (manual) Start(_ context.Context, o *admit.Order) (admit.Payment, error) { return o.Payment, nil }
func (manual) Refund(context.Context, store.Refund) (string, error)           { return "", nil }
func (manual) Cancel(context.Context, *admit.Order) error                     { return nil }

// card is Stripe: a PaymentIntent per order, confirmed by webhook.
type card struct{ client *stripe.Client }

func (c card) Start(ctx context.Context, o *admit.Order) (admit.Payment, error) {
	ref, secret, err := c.client.StartPayment(ctx, o.ID, o.Total)
	if err != nil {
		return o.Payment, err
	}
	return admit.Payment{Provider: admit.ProviderStripe, Reference: ref, ClientSecret: secret}, nil
}

// Refund sends r through Stripe. When Stripe refuses it, Stripe is asked
// what it can still refund: less than r means the payment was refunded in
// Stripe's dashboard meanwhile, before that refund's webhook came
// (*shortRefund); otherwise the refusal stands, for the outbox to retry.
func (c card) Refund(ctx context.Context, r store.Refund) (string, error) {
	ref, err := c.client.Refund(ctx, r.PaymentRef, r.Amount, r.ID)
	if admit.ErrorCode(err) != admit.EINVALID {
		return ref, err
	}
	left, lerr := c.client.Refundable(ctx, r.PaymentRef)
	if lerr != nil || left.Currency != r.Amount.Currency || left.Amount >= r.Amount.Amount {
		return "", err
	}
	return "", &shortRefund{sendable: left.Amount, refused: err}
}

// shortRefund is a refund the provider refused because only sendable of
// it can still go back.
type shortRefund struct {
	sendable int64
	refused  error
}

func (e *shortRefund) Error() string {
	return fmt.Sprintf("only %d can still be refunded: %v", e.sendable, e.refused)
}

func (c card) Cancel(ctx context.Context, o *admit.Order) error {
	if o.Payment.Reference == "" {
		return nil // its payment never started
	}
	return c.client.CancelPayment(ctx, o.Payment.Reference)
}

// providers returns the providers available with this configuration.
func providers(sc *stripe.Client) map[string]Provider {
	p := map[string]Provider{admit.ProviderFree: free{}, admit.ProviderManual: manual{}}
	if sc != nil {
		p[admit.ProviderStripe] = card{sc}
	}
	return p
}
