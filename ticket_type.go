package admit

import (
	"strings"
	"time"
)

// TicketType is something sold for an event: a price, a quantity, a sale window.
type TicketType struct {
	ID           string    `json:"id"`
	EventID      string    `json:"event_id"`
	Name         string    `json:"name"`
	Kind         string    `json:"kind" doc:"Free text such as general, vip, early-bird" example:"general"`
	Price        Money     `json:"price"`
	Quantity     int64     `json:"quantity" doc:"How many are for sale in all"`
	Available    *int64    `json:"available,omitempty" doc:"Exact count still for sale; absent from cached lists"`
	SaleStartsAt time.Time `json:"sale_starts_at"`
	SaleEndsAt   time.Time `json:"sale_ends_at"`
	MinPerOrder  int64     `json:"min_per_order"`
	MaxPerOrder  int64     `json:"max_per_order"`
	CreatedAt    time.Time `json:"-"`
	Sold         int64     `json:"-"`
	Held         int64     `json:"-"`
	Closed       bool      `json:"-"` // its event is cancelled: nothing is for sale
}

// Ticket type limits.
const (
	MaxTicketQuantity  = 100_000_000
	DefaultMaxPerOrder = 10
	MaxTicketsPerOrder = 100
	DefaultKind        = "general"
)

// TicketTypeUpdate changes the non-nil fields of a ticket type.
type TicketTypeUpdate struct {
	Name         *string    `json:"name,omitempty"`
	Kind         *string    `json:"kind,omitempty"`
	Price        *Money     `json:"price,omitempty"`
	Quantity     *int64     `json:"quantity,omitempty"`
	SaleStartsAt *time.Time `json:"sale_starts_at,omitempty"`
	SaleEndsAt   *time.Time `json:"sale_ends_at,omitempty"`
	MinPerOrder  *int64     `json:"min_per_order,omitempty"`
	MaxPerOrder  *int64     `json:"max_per_order,omitempty"`
}

// Apply copies the set fields onto t.
func (u TicketTypeUpdate) Apply(t *TicketType) {
	set(&t.Name, u.Name)
	set(&t.Kind, u.Kind)
	set(&t.Price, u.Price)
	set(&t.Quantity, u.Quantity)
	set(&t.SaleStartsAt, u.SaleStartsAt)
	set(&t.SaleEndsAt, u.SaleEndsAt)
	set(&t.MinPerOrder, u.MinPerOrder)
	set(&t.MaxPerOrder, u.MaxPerOrder)
}

// SetDefaults fills what the organizer left out: on sale from now until the
// event starts, 1 to 10 per order.
func (t *TicketType) SetDefaults(now, eventStart time.Time) {
	t.Name = strings.TrimSpace(t.Name)
	t.Kind = strings.TrimSpace(t.Kind)
	if t.Kind == "" {
		t.Kind = DefaultKind
	}
	if t.SaleStartsAt.IsZero() {
		t.SaleStartsAt = now
	}
	if t.SaleEndsAt.IsZero() {
		t.SaleEndsAt = eventStart
	}
	if t.MinPerOrder == 0 {
		t.MinPerOrder = 1
	}
	if t.MaxPerOrder == 0 {
		t.MaxPerOrder = DefaultMaxPerOrder
	}
}

// Validate checks a ticket type; sold is how many are already taken, below
// which the quantity may not drop.
func (t *TicketType) Validate() error {
	var p Problems
	checkLine(&p, "body.name", t.Name, 1, 200)
	checkLine(&p, "body.kind", t.Kind, 1, 50)
	t.Price.validate(&p, "body.price")
	if t.Quantity < 0 || t.Quantity > MaxTicketQuantity {
		p.Add("body.quantity", "must be between 0 and %d", MaxTicketQuantity)
	} else if t.Quantity < t.Sold+t.Held {
		p.Add("body.quantity", "cannot drop below the %d already sold or held", t.Sold+t.Held)
	}
	if !t.SaleEndsAt.After(t.SaleStartsAt) {
		p.Add("body.sale_ends_at", "must be after sale_starts_at (sales end when the event starts unless sale_ends_at says otherwise)")
	}
	if t.MinPerOrder < 1 || t.MinPerOrder > MaxTicketsPerOrder {
		p.Add("body.min_per_order", "must be between 1 and %d", MaxTicketsPerOrder)
	}
	if t.MaxPerOrder < t.MinPerOrder || t.MaxPerOrder > MaxTicketsPerOrder {
		p.Add("body.max_per_order", "must be between min_per_order and %d", MaxTicketsPerOrder)
	}
	return p.Err()
}
