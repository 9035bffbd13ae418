package api

import (
	"context"
	"net/http"
	"reflect"
	"slices"
	"time"

	"github.com/admit-events/admit"
	"github.com/danielgtaylor/huma/v2"
)

type listEventsInput struct {
	EventQuery
	ConditionalInput
}

type eventInput struct {
	Body struct {
		OrganizationID string    `json:"organization_id,omitempty" maxLength:"64" doc:"Optional for an organizer with one organization"`
		Title          string    `json:"title" maxLength:"200"`
		Description    string    `json:"description,omitempty" maxLength:"20000"`
		Category       string    `json:"category,omitempty" maxLength:"100" doc:"Free text, such as music or tech"`
		Tags           []string  `json:"tags,omitempty" maxItems:"20"`
		CityID         string    `json:"city_id" maxLength:"64"`
		LocationID     string    `json:"location_id" maxLength:"64"`
		StartsAt       time.Time `json:"starts_at"`
		EndsAt         time.Time `json:"ends_at"`
		StreamURL      string    `json:"stream_url,omitempty" maxLength:"2000"`

		PaymentProvider             string `json:"payment_provider,omitempty" enum:"manual,stripe" doc:"Default manual"`
		HoldMinutes                 *int64 `json:"hold_minutes,omitempty" minimum:"1" maximum:"1440" doc:"Minutes an unpaid order holds its seats; default: the server's hold time (10 minutes)"`
		RefundUntilHoursBeforeStart *int64 `json:"refund_until_hours_before_start,omitempty" minimum:"0" maximum:"8760" doc:"Default 48"`
	}
}

type eventUpdateInput struct {
	IDInput
	Body admit.EventUpdate
}

type ticketTypeInput struct {
	IDInput
	Body struct {
		Name         string      `json:"name" maxLength:"200"`
		Kind         string      `json:"kind,omitempty" maxLength:"50" doc:"general (default), vip, early-bird…"`
		Price        admit.Money `json:"price"`
		Quantity     int64       `json:"quantity" minimum:"0"`
		SaleStartsAt time.Time   `json:"sale_starts_at,omitzero" doc:"Default: now"`
		SaleEndsAt   time.Time   `json:"sale_ends_at,omitzero" doc:"Default: when the event starts"`
		// The bounds are admit.MaxTicketsPerOrder's (tags take literals);
		// TicketType.Validate checks them again.
		MinPerOrder int64 `json:"min_per_order,omitempty" minimum:"1" maximum:"100" doc:"Default 1"`
		MaxPerOrder int64 `json:"max_per_order,omitempty" minimum:"1" maximum:"100" doc:"Default 10"`
	}
}

type TicketTypeIDInput struct {
	IDInput
	TicketTypeID string `path:"tid" maxLength:"64" pattern:"^[a-z0-9_]+$" patternDescription:"an id"`
}

type getTicketTypeInput struct {
	TicketTypeIDInput
	ConditionalInput
}

type ticketTypeUpdateInput struct {
	TicketTypeIDInput
	Body admit.TicketTypeUpdate
}

func (h *handler) registerEvents() {
	list := op("listEvents", http.MethodGet, "/events", "Search published upcoming events", "Catalogue", public, 200)
	list.Description = "Without filters: every published event that has not ended, by start time. " +
		"Ticket types in lists carry no available count: GET /api/v1/events/{id} has the exact one."
	h.cachedResponse(&list, reflect.TypeFor[listBody[admit.Event]]())
	huma.Register(h.api, list, func(ctx context.Context, in *listEventsInput) (*cachedOutput, error) {
		f, err := ParseEventQuery(in.EventQuery)
		if err != nil {
			return nil, h.fail(ctx, err)
		}
		load := func() (any, error) {
			items, next, err := h.Events.ListEvents(ctx, f)
			return listBody[admit.Event]{Items: items, NextCursor: next}, err
		}
		if f.OrganizationID != "" && admit.UserFromContext(ctx).CanManageOrganization(f.OrganizationID) {
			v, err := load() // the organizer's own view, drafts included: never shared
			return h.uncached(ctx, in.IfNoneMatch, v, err, true)
		}
		return h.cachedList(ctx, in.IfNoneMatch, load)
	})

	get := op("getEvent", http.MethodGet, "/events/{id}", "An event with its ticket types and exact availability", "Catalogue", public, 200, 404)
	h.cachedResponse(&get, reflect.TypeFor[admit.Event]())
	huma.Register(h.api, get, func(ctx context.Context, in *getInput) (*cachedOutput, error) {
		e, err := h.Events.FindEvent(ctx, in.ID)
		if err != nil {
			return nil, h.fail(ctx, err)
		}
		return h.uncached(ctx, in.IfNoneMatch, e, nil, e.Status == admit.EventDraft)
	})

	create := op("createEvent", http.MethodPost, "/events", "Create a draft event (organizers, admins)", "Catalogue", bearer, 201, 403)
	huma.Register(h.api, create, func(ctx context.Context, in *eventInput) (*createdOutput[*admit.Event], error) {
		b := in.Body
		e := &admit.Event{OrganizationID: b.OrganizationID, Title: b.Title, Description: b.Description, Category: b.Category,
			Tags: b.Tags, CityID: b.CityID, LocationID: b.LocationID, StartsAt: b.StartsAt, EndsAt: b.EndsAt, StreamURL: b.StreamURL,
			PaymentProvider: b.PaymentProvider, RefundUntilHoursBeforeStart: admit.DefaultRefundHours}
		if b.HoldMinutes != nil { // absent: the server's default; 0 is refused above
			e.HoldMinutes = *b.HoldMinutes
		}
		if b.RefundUntilHoursBeforeStart != nil {
			e.RefundUntilHoursBeforeStart = *b.RefundUntilHoursBeforeStart
		}
		out, err := written(h, ctx, e, h.Events.CreateEvent(ctx, e))
		return created(out, err, func(e *admit.Event) string { return "/events/" + e.ID })
	})

	huma.Register(h.api, op("updateEvent", http.MethodPatch, "/events/{id}", "Change an event (absent fields stay)", "Catalogue", bearer, 200, 403, 404, 409),
		func(ctx context.Context, in *eventUpdateInput) (*itemOutput[*admit.Event], error) {
			e, err := h.Events.UpdateEvent(ctx, in.ID, in.Body)
			return written(h, ctx, e, err)
		})

	huma.Register(h.api, op("deleteEvent", http.MethodDelete, "/events/{id}", "Delete an event without orders (else 409: cancel it)", "Catalogue", bearer, 204, 403, 404, 409),
		func(ctx context.Context, in *IDInput) (*noContent, error) {
			return deleted(h, ctx, h.Events.DeleteEvent(ctx, in.ID))
		})

	huma.Register(h.api, op("publishEvent", http.MethodPost, "/events/{id}/publish", "Publish a draft that has ticket types", "Catalogue", bearer, 200, 403, 404, 409),
		func(ctx context.Context, in *IDInput) (*itemOutput[*admit.Event], error) {
			e, err := h.Events.PublishEvent(ctx, in.ID)
			return written(h, ctx, e, err)
		})

	huma.Register(h.api, op("cancelEvent", http.MethodPost, "/events/{id}/cancel", "Cancel an event: every paid order refunded, every hold released", "Catalogue", bearer, 200, 403, 404, 409),
		func(ctx context.Context, in *actionInput) (*itemOutput[*admit.Event], error) {
			e, err := h.Events.CancelEvent(ctx, in.ID)
			return written(h, ctx, e, err)
		})

	huma.Register(h.api, op("createTicketType", http.MethodPost, "/events/{id}/ticket-types", "Add a ticket type", "Catalogue", bearer, 201, 403, 404, 409),
		func(ctx context.Context, in *ticketTypeInput) (*createdOutput[*admit.TicketType], error) {
			b := in.Body
			t := &admit.TicketType{EventID: in.ID, Name: b.Name, Kind: b.Kind, Price: b.Price, Quantity: b.Quantity,
				SaleStartsAt: b.SaleStartsAt, SaleEndsAt: b.SaleEndsAt, MinPerOrder: b.MinPerOrder, MaxPerOrder: b.MaxPerOrder}
			out, err := written(h, ctx, t, h.Events.CreateTicketType(ctx, t))
			return created(out, err, func(t *admit.TicketType) string { return "/events/" + t.EventID + "/ticket-types/" + t.ID })
		})

	getTT := op("getTicketType", http.MethodGet, "/events/{id}/ticket-types/{tid}", "A ticket type with its exact availability", "Catalogue", public, 200, 404)
	h.cachedResponse(&getTT, reflect.TypeFor[admit.TicketType]())
	huma.Register(h.api, getTT, func(ctx context.Context, in *getTicketTypeInput) (*cachedOutput, error) {
		e, err := h.Events.FindEvent(ctx, in.ID) // decides who sees a draft
		if err != nil {
			return nil, h.fail(ctx, err)
		}
		i := slices.IndexFunc(e.TicketTypes, func(t admit.TicketType) bool { return t.ID == in.TicketTypeID })
		if i < 0 {
			return nil, h.fail(ctx, admit.Errorf(admit.ENOTFOUND, "event %s has no ticket type %q", e.ID, in.TicketTypeID))
		}
		return h.uncached(ctx, in.IfNoneMatch, e.TicketTypes[i], nil, e.Status == admit.EventDraft)
	})

	huma.Register(h.api, op("updateTicketType", http.MethodPatch, "/events/{id}/ticket-types/{tid}", "Change a ticket type", "Catalogue", bearer, 200, 403, 404, 409),
		func(ctx context.Context, in *ticketTypeUpdateInput) (*itemOutput[*admit.TicketType], error) {
			t, err := h.Events.UpdateTicketType(ctx, in.ID, in.TicketTypeID, in.Body)
			return written(h, ctx, t, err)
		})

	huma.Register(h.api, op("deleteTicketType", http.MethodDelete, "/events/{id}/ticket-types/{tid}", "Delete a ticket type nobody bought", "Catalogue", bearer, 204, 403, 404, 409),
		func(ctx context.Context, in *TicketTypeIDInput) (*noContent, error) {
			return deleted(h, ctx, h.Events.DeleteTicketType(ctx, in.ID, in.TicketTypeID))
		})
}
