package admit

import (
	"context"
	"net/url"
	"strings"
	"time"
)

// EventStatus is where an event is in its life.
type EventStatus string

// The statuses: only published events are listed publicly.
const (
	EventDraft     EventStatus = "draft"
	EventPublished EventStatus = "published"
	EventCancelled EventStatus = "cancelled"
)

// MaxEventDuration bounds an event's length. It also bounds how far back the
// "upcoming" listings look for events that started but have not ended, which
// keeps those index range scans short.
const MaxEventDuration = 92 * 24 * time.Hour

// Event is something people buy tickets for. StartsAt and EndsAt are shown in
// the event's zone, which is its city's.
type Event struct {
	ID             string      `json:"id"`
	OrganizationID string      `json:"organization_id"`
	Title          string      `json:"title"`
	Description    string      `json:"description"`
	Category       string      `json:"category"`
	Tags           []string    `json:"tags"`
	CityID         string      `json:"city_id"`
	Country        string      `json:"country" doc:"ISO 3166-1 alpha-2 code of the city"`
	LocationID     string      `json:"location_id"`
	StartsAt       time.Time   `json:"starts_at"`
	EndsAt         time.Time   `json:"ends_at"`
	TimeZone       string      `json:"time_zone" doc:"IANA zone of the city; starts_at and ends_at carry its offset"`
	Status         EventStatus `json:"status" enum:"draft,published,cancelled"`
	StreamURL      string      `json:"stream_url,omitempty" doc:"Link to the online stream, if any"`
	// Registration settings.
	PaymentProvider             string       `json:"payment_provider" enum:"manual,stripe" doc:"How paid orders are paid; orders totalling 0 are free whatever it says"`
	HoldMinutes                 int64        `json:"hold_minutes" minimum:"1" maximum:"1440" doc:"How long an order holds its seats while unpaid, in minutes (default: the server's --hold-ttl, 10 minutes)"`
	RefundUntilHoursBeforeStart int64        `json:"refund_until_hours_before_start" minimum:"0" maximum:"8760" doc:"Cancellations are refunded in full until this many hours before the start, not after (default 48)"`
	TicketTypes                 []TicketType `json:"ticket_types"`
	Popularity                  int64        `json:"-"` // tickets sold: the order of sort=popularity
	CreatedAt                   time.Time    `json:"created_at"`
	UpdatedAt                   time.Time    `json:"updated_at"`
}

// EventUpdate changes the non-nil fields of an event. Status changes go
// through Publish and Cancel.
type EventUpdate struct {
	Title       *string    `json:"title,omitempty"`
	Description *string    `json:"description,omitempty"`
	Category    *string    `json:"category,omitempty"`
	Tags        *[]string  `json:"tags,omitempty"`
	LocationID  *string    `json:"location_id,omitempty" doc:"A venue in the event's city, or (with city_id) in the new city"`
	CityID      *string    `json:"city_id,omitempty"`
	StartsAt    *time.Time `json:"starts_at,omitempty"`
	EndsAt      *time.Time `json:"ends_at,omitempty"`
	StreamURL   *string    `json:"stream_url,omitempty"`

	PaymentProvider             *string `json:"payment_provider,omitempty" enum:"manual,stripe"`
	HoldMinutes                 *int64  `json:"hold_minutes,omitempty" minimum:"1" maximum:"1440"`
	RefundUntilHoursBeforeStart *int64  `json:"refund_until_hours_before_start,omitempty" minimum:"0" maximum:"8760"`
}

// Apply copies the set fields onto e.
func (u EventUpdate) Apply(e *Event) {
	set(&e.Title, u.Title)
	set(&e.Description, u.Description)
	set(&e.Category, u.Category)
	set(&e.Tags, u.Tags)
	set(&e.LocationID, u.LocationID)
	set(&e.CityID, u.CityID)
	set(&e.StartsAt, u.StartsAt)
	set(&e.EndsAt, u.EndsAt)
	set(&e.StreamURL, u.StreamURL)
	set(&e.PaymentProvider, u.PaymentProvider)
	set(&e.HoldMinutes, u.HoldMinutes)
	set(&e.RefundUntilHoursBeforeStart, u.RefundUntilHoursBeforeStart)
}

// Validate checks an event's own fields.
func (e *Event) Validate() error {
	var p Problems
	e.Title = strings.TrimSpace(e.Title)
	e.Category = strings.TrimSpace(e.Category)
	checkLine(&p, "body.title", e.Title, 1, 200)
	checkText(&p, "body.description", e.Description, 0, 20000)
	checkLine(&p, "body.category", e.Category, 0, 100)
	if len(e.Tags) > 20 {
		p.Add("body.tags", "at most 20 tags")
	}
	for i, t := range e.Tags {
		e.Tags[i] = strings.TrimSpace(t)
		if e.Tags[i] == "" || len(e.Tags[i]) > 50 || !OneLine(e.Tags[i]) {
			p.Add("body.tags", "each tag must be 1 to 50 characters of text")
			break
		}
	}
	if e.CityID == "" {
		p.Add("body.city_id", "is required")
	}
	if e.LocationID == "" {
		p.Add("body.location_id", "is required")
	}
	switch {
	case e.StartsAt.IsZero():
		p.Add("body.starts_at", "is required")
	case e.EndsAt.IsZero():
		p.Add("body.ends_at", "is required")
	case !e.EndsAt.After(e.StartsAt):
		p.Add("body.ends_at", "must be after starts_at")
	case e.EndsAt.Sub(e.StartsAt) > MaxEventDuration:
		p.Add("body.ends_at", "an event lasts at most %d days", int(MaxEventDuration.Hours()/24))
	}
	if e.PaymentProvider != ProviderManual && e.PaymentProvider != ProviderStripe {
		p.Add("body.payment_provider", "must be manual or stripe")
	}
	if e.HoldMinutes < 1 || e.HoldMinutes > 24*60 {
		p.Add("body.hold_minutes", "must be between 1 and 1440")
	}
	if e.RefundUntilHoursBeforeStart < 0 || e.RefundUntilHoursBeforeStart > 24*365 {
		p.Add("body.refund_until_hours_before_start", "must be between 0 and 8760")
	}
	if e.StreamURL != "" {
		if u, err := url.Parse(e.StreamURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			p.Add("body.stream_url", "must be an http(s) URL")
		}
	}
	return p.Err()
}

// Registration defaults of new events.
const (
	DefaultHoldMinutes     = 10
	DefaultRefundHours     = 48
	DefaultPaymentProvider = ProviderManual
)

// SetRegistrationDefaults fills an unset provider and hold time; 0 hours
// before the start is a valid refund cutoff, so callers set that one.
func (e *Event) SetRegistrationDefaults(holdMinutes int64) {
	if e.PaymentProvider == "" {
		e.PaymentProvider = DefaultPaymentProvider
	}
	if e.HoldMinutes == 0 {
		e.HoldMinutes = holdMinutes
	}
}

// EventSort orders event listings.
type EventSort string

// The orderings of event listings.
const (
	SortStartsAt   EventSort = "starts_at"
	SortPopularity EventSort = "popularity"
)

// EventFilter selects published upcoming events (or, with OrganizationID and a
// caller who manages it, that organization's events in any status).
type EventFilter struct {
	CityID         string
	LocationID     string
	Country        string
	Category       string
	Query          string // full text over title, description, venue and city
	FromDate       string // YYYY-MM-DD, on or after, in the event's zone
	ToDate         string // YYYY-MM-DD, on or before, in the event's zone
	MinPrice       *int64
	MaxPrice       *int64
	Currency       string
	Free           bool
	Sort           EventSort
	OrganizationID string
	Page           Page
}

// EventService manages events and their ticket types.
type EventService interface {
	// ListEvents returns a page of events and the cursor of the next one ("" at the end).
	ListEvents(ctx context.Context, f EventFilter) ([]Event, string, error)
	// FindEvent returns an event with its ticket types and exact availability.
	// Drafts are visible to their organization and admins only (ENOTFOUND).
	FindEvent(ctx context.Context, id string) (*Event, error)
	// CreateEvent creates a draft: organizers of the organization, admins (EFORBIDDEN).
	CreateEvent(ctx context.Context, e *Event) error
	UpdateEvent(ctx context.Context, id string, u EventUpdate) (*Event, error)
	// DeleteEvent: ECONFLICT when the event has orders (cancel it instead).
	DeleteEvent(ctx context.Context, id string) error
	// PublishEvent needs at least one ticket type; CancelEvent is final.
	PublishEvent(ctx context.Context, id string) (*Event, error)
	CancelEvent(ctx context.Context, id string) (*Event, error)

	CreateTicketType(ctx context.Context, t *TicketType) error
	UpdateTicketType(ctx context.Context, eventID, id string, u TicketTypeUpdate) (*TicketType, error)
	DeleteTicketType(ctx context.Context, eventID, id string) error
}
