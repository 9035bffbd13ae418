package admit

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// OrderStatus is where an order is in its life:
// pending → paid → cancelled; pending → expired | cancelled | failed.
type OrderStatus string

// The order statuses.
const (
	OrderPending   OrderStatus = "pending"
	OrderPaid      OrderStatus = "paid"
	OrderExpired   OrderStatus = "expired"
	OrderCancelled OrderStatus = "cancelled"
	OrderFailed    OrderStatus = "failed"
)

// Payment providers.
const (
	ProviderFree   = "free"
	ProviderManual = "manual"
	ProviderStripe = "stripe"
)

// Order is an attendee's purchase: it holds seats while pending and owns
// tickets once paid.
type Order struct {
	ID        string      `json:"id"`
	UserID    string      `json:"user_id"`
	EventID   string      `json:"event_id"`
	Status    OrderStatus `json:"status" enum:"pending,paid,expired,cancelled,failed"`
	ExpiresAt time.Time   `json:"expires_at" doc:"When the hold of a pending order lapses"`
	Items     []OrderItem `json:"items"`
	Total     Money       `json:"total"`
	Refunded  Money       `json:"refunded" doc:"What was refunded so far (sent or owed: see refunds)"`
	Refunds   []Refund    `json:"refunds" doc:"Each refund, oldest first, with whether its money went out"`
	Payment   Payment     `json:"payment"`
	Tickets   []Ticket    `json:"tickets"`
	// BuyerEmail is whom to reach about the order (a bank transfer to
	// confirm): in an event's order list only.
	BuyerEmail string    `json:"buyer_email,omitempty" doc:"The buyer's email: in an event's order list only"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// OrderItem is a quantity of one ticket type at the price paid.
type OrderItem struct {
	TicketTypeID string `json:"ticket_type_id"`
	Quantity     int64  `json:"quantity"`
	UnitPrice    Money  `json:"unit_price"`
}

// Payment says how an order is paid.
type Payment struct {
	Provider     string `json:"provider" enum:"free,manual,stripe"`
	Reference    string `json:"reference,omitempty" doc:"The provider's id of the payment, such as a PaymentIntent id"`
	ClientSecret string `json:"client_secret,omitempty" doc:"Stripe: confirm the PaymentIntent with this in the browser"`
}

// TicketStatus says whether a ticket admits.
type TicketStatus string

// The ticket statuses.
const (
	TicketValid     TicketStatus = "valid"
	TicketCancelled TicketStatus = "cancelled"
)

// Ticket admits one attendee to an event.
type Ticket struct {
	ID            string       `json:"id"`
	OrderID       string       `json:"order_id"`
	EventID       string       `json:"event_id"`
	TicketTypeID  string       `json:"ticket_type_id"`
	AttendeeName  string       `json:"attendee_name"`
	AttendeeEmail string       `json:"attendee_email"`
	Status        TicketStatus `json:"status" enum:"valid,cancelled"`
	CheckedInAt   *time.Time   `json:"checked_in_at"`
}

// Attendee names who a ticket is for.
type Attendee struct {
	Name  string `json:"name" minLength:"1" maxLength:"200"`
	Email string `json:"email" maxLength:"254" format:"email"`
}

// NewOrder is what an attendee asks for.
type NewOrder struct {
	EventID   string
	Items     []NewOrderItem
	Attendees []Attendee
}

// NewOrderItem asks for a quantity of a ticket type.
type NewOrderItem struct {
	TicketTypeID string `json:"ticket_type_id"`
	Quantity     int64  `json:"quantity" minimum:"1" maximum:"100"`
}

// TicketCount is how many tickets the order asks for in all.
func (n *NewOrder) TicketCount() int64 {
	var c int64
	for _, it := range n.Items {
		c += it.Quantity
	}
	return c
}

// TicketTypeIDs lists the ticket types of the order's items.
func (n *NewOrder) TicketTypeIDs() []string {
	ids := make([]string, len(n.Items))
	for i, it := range n.Items {
		ids[i] = it.TicketTypeID
	}
	return ids
}

// Validate checks the shape of an order; availability and sale rules are
// checked in the transaction that holds the seats.
func (n *NewOrder) Validate() error {
	var p Problems
	if !ValidID(n.EventID) {
		p.Add("body.event_id", "must be an event's id")
	}
	if len(n.Items) == 0 || len(n.Items) > 20 {
		p.Add("body.items", "must hold 1 to 20 items")
	}
	seen := map[string]bool{}
	for i, it := range n.Items {
		if it.Quantity < 1 || it.Quantity > MaxTicketsPerOrder {
			p.Add(fmt.Sprintf("body.items[%d].quantity", i), "must be between 1 and %d", MaxTicketsPerOrder)
		}
		if !ValidID(it.TicketTypeID) {
			p.Add(fmt.Sprintf("body.items[%d].ticket_type_id", i), "must be a ticket type's id")
		} else if seen[it.TicketTypeID] {
			p.Add(fmt.Sprintf("body.items[%d].ticket_type_id", i), "each ticket type may appear once")
		}
		seen[it.TicketTypeID] = true
	}
	if len(p) == 0 && int64(len(n.Attendees)) > n.TicketCount() {
		p.Add("body.attendees", "more attendees than tickets")
	}
	for i := range n.Attendees {
		a := &n.Attendees[i]
		a.Name, a.Email = strings.TrimSpace(a.Name), NormalizeEmail(a.Email)
		checkLine(&p, fmt.Sprintf("body.attendees[%d].name", i), a.Name, 1, 200)
		if !ValidEmail(a.Email) {
			p.Add(fmt.Sprintf("body.attendees[%d].email", i), "must be an email address")
		}
	}
	return p.Err()
}

// OrderSort names the order of order lists in their cursors: newest first.
const OrderSort = "created"

// TicketSort names the order of ticket lists (a buyer's tickets, an
// event's registrants) in their cursors: by order, then in the order the
// order named its attendees.
const TicketSort = "order"

// KindSoldOut is the problem kind of an order refused for lack of seats.
const KindSoldOut = "sold-out"

// OrderService places and manages orders. Orders the caller may not see are
// ENOTFOUND; actions reserved to organizers are EFORBIDDEN.
type OrderService interface {
	// CreateOrder holds seats (ECONFLICT kind sold-out with Available when
	// there are not enough); an order totalling 0 is paid at once.
	CreateOrder(ctx context.Context, n NewOrder) (*Order, error)
	FindOrder(ctx context.Context, id string) (*Order, error)
	ListMyOrders(ctx context.Context, page Page) ([]Order, string, error)
	ListMyTickets(ctx context.Context, page Page) ([]Ticket, string, error)
	// ReleaseOrder drops a pending hold (ECONFLICT when paid).
	ReleaseOrder(ctx context.Context, id string) (*Order, error)
	// CancelOrder unregisters: seats back to the pool, refund per policy.
	CancelOrder(ctx context.Context, id string) (*Order, error)
	CancelTicket(ctx context.Context, ticketID string) (*Order, error)
	// MarkPaid confirms a manual payment: the event's organizers.
	MarkPaid(ctx context.Context, id string) (*Order, error)
	// ListEventOrders lists an event's orders, newest first, of one status
	// ("": all), with their buyers' emails: the event's organizers.
	ListEventOrders(ctx context.Context, eventID string, status OrderStatus, page Page) ([]Order, string, error)
	ListRegistrants(ctx context.Context, eventID string, page Page) ([]Registrant, string, error)
	// ListRefunds lists an event's refunds, oldest first, of one status
	// ("": all): the event's organizers.
	ListRefunds(ctx context.Context, eventID string, status RefundStatus, page Page) ([]Refund, string, error)
	// MarkRefunded records that a manual refund was paid back: the event's
	// organizers (ECONFLICT for a refund Admit sends itself).
	MarkRefunded(ctx context.Context, id string) (*Refund, error)
	EachRegistrant(ctx context.Context, eventID string, fn func(Registrant) error) error
}

// Registrant is one ticket of an event as its organizers see it.
type Registrant struct {
	TicketID       string       `json:"ticket_id"`
	OrderID        string       `json:"order_id"`
	OrderStatus    OrderStatus  `json:"order_status" enum:"pending,paid,expired,cancelled,failed"`
	BuyerID        string       `json:"buyer_id"`
	TicketTypeID   string       `json:"ticket_type_id"`
	TicketTypeName string       `json:"ticket_type_name"`
	AttendeeName   string       `json:"attendee_name"`
	AttendeeEmail  string       `json:"attendee_email"`
	TicketStatus   TicketStatus `json:"ticket_status" enum:"valid,cancelled"`
	CheckedInAt    *time.Time   `json:"checked_in_at"`
}
