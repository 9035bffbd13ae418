package api

import (
	"context"
	"net/http"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/web"

	"github.com/danielgtaylor/huma/v2"
)

// Webhooks handles providers' notifications.
type Webhooks interface {
	// Stripe verifies and applies a Stripe event: EINVALID when the
	// signature is missing, wrong or stale (nothing changes then).
	Stripe(ctx context.Context, payload []byte, signature string) error
}

type stripeWebhookInput struct {
	Signature string `header:"Stripe-Signature" doc:"Stripe's signature of the payload"`
	RawBody   []byte `contentType:"application/json"`
}

type receivedBody struct {
	Body struct {
		Received bool `json:"received"`
	}
}

func (h *handler) registerWebhooks() {
	o := op("stripeWebhook", http.MethodPost, "/webhooks/stripe", "Stripe events (signed)", "Payments", public, 200, 503)
	o.Description = "Verifies the Stripe-Signature; an unsigned, wrongly signed or stale event is a 400 and changes nothing. " +
		"payment_intent.succeeded confirms its order; charge.refunded records what was refunded in Stripe's dashboard beyond Admit's own refunds " +
		"(the tickets stay valid; cancelling the order later refunds only the rest); the same event twice changes nothing the second time. " +
		"A payment of another amount than its order's total is a 400 and changes nothing (Stripe retries it; a person must look). " +
		"Events for orders that are not ours are acknowledged. 503 when Stripe is not configured on this server."
	o.SkipValidateBody = true // the signature covers the raw bytes: they are checked there
	huma.Register(h.api, o, func(ctx context.Context, in *stripeWebhookInput) (*receivedBody, error) {
		if err := h.Webhooks.Stripe(ctx, in.RawBody, in.Signature); err != nil {
			if admit.ErrorCode(err) == admit.EINVALID {
				return nil, web.NewProblem(400, admit.ErrorMessage(err)) // an unverifiable request, not a bad entity
			}
			return nil, h.fail(ctx, err)
		}
		out := &receivedBody{}
		out.Body.Received = true
		return out, nil
	})
}
