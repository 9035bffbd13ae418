package admit

import "time"

// RefundStatus says whether a refund's money went out.
type RefundStatus string

// The refund statuses. A Stripe refund is pending until Stripe accepted it;
// a manual one (bank transfer, cash) until an organizer records that it
// was paid back. A refund fails when Stripe refuses it because the payment
// was refunded in its dashboard meanwhile: that refund is recorded beside
// it, and the rest is asked for anew.
const (
	RefundPending   RefundStatus = "pending"
	RefundSucceeded RefundStatus = "succeeded"
	RefundFailed    RefundStatus = "failed"
)

// Refund is money an order gives back: a cancellation within the event's
// refund policy, a cancelled event, a payment that came too late.
type Refund struct {
	ID         string       `json:"id"`
	OrderID    string       `json:"order_id"`
	EventID    string       `json:"event_id"`
	Amount     Money        `json:"amount"`
	Provider   string       `json:"provider" enum:"manual,stripe" doc:"Who pays it back: stripe is sent by Admit, manual by the organizer"`
	Status     RefundStatus `json:"status" enum:"pending,succeeded,failed" doc:"pending: on its way (stripe) or owed by the organizer (manual); failed: refused by Stripe, the payment having been refunded in Stripe's dashboard meanwhile (that refund and the rest are separate refunds)"`
	Reference  string       `json:"reference,omitempty" doc:"The provider's id of the refund (none for manual refunds, nor for those made in Stripe's dashboard)"`
	BuyerEmail string       `json:"buyer_email,omitempty" doc:"Whom to pay back: in an event's refund list only"`
	CreatedAt  time.Time    `json:"created_at"`
	RefundedAt *time.Time   `json:"refunded_at"`
}

// RefundSort names the order of refund lists in their cursors: oldest first.
const RefundSort = "refund_created"
