package api

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/web"
	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
)

// IdempotentPatterns are the routes that accept an Idempotency-Key header:
// those that create orders or move money or tickets.
var IdempotentPatterns = []string{
	"POST /api/v1/orders", "POST /api/v1/orders/{id}/cancel", "POST /api/v1/orders/{id}/mark-paid",
	"POST /api/v1/tickets/{id}/cancel", "DELETE /api/v1/orders/{id}", "POST /api/v1/events/{id}/cancel",
	"POST /api/v1/refunds/{id}/mark-refunded",
}

// IdempotencyInput is the Idempotency-Key header of the operations in
// IdempotentPatterns (the web layer acts on it); exported, or huma would
// leave it out of the OpenAPI document.
type IdempotencyInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Retry-safe key: the same key and request (the same JSON value, whatever its layout or key order) return the first answer, 4xx errors included, and do nothing twice; kept 24 hours. A request whose client hangs up still runs to its end; the retry waits for its answer. After a 5xx the key is forgotten and a retry runs again, except that an order is never placed twice under one key: a retry gets the order its first attempt placed. The same key with another request is a 422 of type https://admit.dev/problems/idempotency-key-reused."`
}

type createOrderInput struct {
	IdempotencyInput
	Body struct {
		EventID   string               `json:"event_id" maxLength:"64"`
		Items     []admit.NewOrderItem `json:"items" minItems:"1" maxItems:"20"`
		Attendees []admit.Attendee     `json:"attendees,omitempty" maxItems:"100" doc:"Who the tickets are for, in order; the buyer for the rest"`
	}
}

type actionInput struct {
	IDInput
	IdempotencyInput
}

type listPageInput struct {
	PageQuery
}

type registrantsInput struct {
	EventID string `query:"eid" required:"true" doc:"Event id"`
	Accept  string `header:"Accept" doc:"text/csv (ranked above application/json) streams the whole list as CSV"`
	PageQuery
}

// statusListInput asks for a page of an event's list (orders, refunds), of
// one status or all.
type statusListInput struct {
	IDInput
	Status string `query:"status" doc:"Only those of this status; all when absent"`
	PageQuery
}

type streamOutput struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	Vary               string `header:"Vary"`
	Body               func(huma.Context)
}

func (h *handler) registerOrders() {
	create := op("createOrder", http.MethodPost, "/orders", "Order tickets: hold seats, then pay", "Orders", bearer, 201, 404, 409, 503)
	create.Description = "Holds the seats for the event's hold time (10 minutes by default). 409 with type …/sold-out and `available` " +
		"when there are not enough. An order totalling 0 is answered paid, with its tickets. Stripe orders carry payment.client_secret; " +
		"503 when Stripe cannot be reached (nothing is charged or held)."
	huma.Register(h.api, create, func(ctx context.Context, in *createOrderInput) (*createdOutput[*admit.Order], error) {
		b := in.Body
		o, err := h.Orders.CreateOrder(ctx, admit.NewOrder{EventID: b.EventID, Items: b.Items, Attendees: b.Attendees})
		out, err := answer(h, ctx, o, err)
		return created(out, err, func(o *admit.Order) string { return "/orders/" + o.ID })
	})

	huma.Register(h.api, op("getOrder", http.MethodGet, "/orders/{id}", "An order with its tickets", "Orders", bearer, 200, 404),
		func(ctx context.Context, in *IDInput) (*itemOutput[*admit.Order], error) {
			o, err := h.Orders.FindOrder(ctx, in.ID)
			return answer(h, ctx, o, err)
		})

	h.orderAction("releaseOrder", http.MethodDelete, "/orders/{id}", "Release a pending order's hold at once, or give up an expired order so that it can no longer be paid late (409 when paid: cancel it)", h.Orders.ReleaseOrder)
	h.orderAction("cancelOrder", http.MethodPost, "/orders/{id}/cancel", "Unregister: release a pending or expired order, or cancel a paid order and refund per the event's policy", h.Orders.CancelOrder)
	h.orderAction("markOrderPaid", http.MethodPost, "/orders/{id}/mark-paid", "Confirm a manual payment (the event's organizers); "+
		"after the hold lapsed the seats are taken again, and when they are gone the order is answered failed, its money to be given back", h.Orders.MarkPaid)
	h.orderAction("cancelTicket", http.MethodPost, "/tickets/{id}/cancel", "Unregister one ticket: its seat returns, its price is refunded per policy", h.Orders.CancelTicket)

	huma.Register(h.api, op("myOrders", http.MethodGet, "/me/orders", "The caller's orders, newest first", "Orders", bearer, 200),
		func(ctx context.Context, in *listPageInput) (*itemOutput[listBody[admit.Order]], error) {
			page, err := ParsePage(in.PageQuery, admit.OrderSort)
			if err != nil {
				return nil, h.fail(ctx, err)
			}
			items, next, err := h.Orders.ListMyOrders(ctx, page)
			return answer(h, ctx, listBody[admit.Order]{Items: items, NextCursor: next}, err)
		})

	huma.Register(h.api, op("myTickets", http.MethodGet, "/me/tickets", "The tickets of the orders the caller placed", "Orders", bearer, 200),
		func(ctx context.Context, in *listPageInput) (*itemOutput[listBody[admit.Ticket]], error) {
			page, err := ParsePage(in.PageQuery, admit.TicketSort)
			if err != nil {
				return nil, h.fail(ctx, err)
			}
			items, next, err := h.Orders.ListMyTickets(ctx, page)
			return answer(h, ctx, listBody[admit.Ticket]{Items: items, NextCursor: next}, err)
		})

	users := op("listRegistrants", http.MethodGet, "/users", "An event's registered attendees (its organizers, admins)", "Orders", bearer, 200, 403, 404)
	users.Description = "One row per ticket with ticket type, order and check-in status, cursor-paged; with Accept: text/csv the whole list streams as CSV."
	schema := h.api.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[listBody[admit.Registrant]](), true, "")
	users.Responses = map[string]*huma.Response{"200": {Description: "OK", Content: map[string]*huma.MediaType{
		"application/json": {Schema: schema}, "text/csv": {Schema: &huma.Schema{Type: "string"}},
	}}}
	huma.Register(h.api, users, h.listRegistrants)
	h.registerEventOrders()
	h.registerRefunds()
}

func (h *handler) registerEventOrders() {
	list := op("listEventOrders", http.MethodGet, "/events/{id}/orders", "An event's orders, newest first (its organizers, admins)", "Orders", bearer, 200, 403, 404)
	list.Description = "Each order with its items, tickets, refunds and the buyer's email, by status as its buyer sees it (a pending order " +
		"whose hold lapsed is expired). ?status=pending lists the orders still holding seats: for manual payments, the bank transfers " +
		"to look out for and confirm with mark-paid."
	statusList(h, list, admit.OrderSort, h.Orders.ListEventOrders,
		admit.OrderPending, admit.OrderPaid, admit.OrderExpired, admit.OrderCancelled, admit.OrderFailed)
}

func (h *handler) registerRefunds() {
	list := op("listRefunds", http.MethodGet, "/events/{id}/refunds", "An event's refunds, oldest first (its organizers, admins)", "Orders", bearer, 200, 403, 404)
	list.Description = "Each refund with its amount, provider, status and the buyer's email. Manual refunds (bank transfer, cash) " +
		"stay pending until an organizer pays them back and marks them refunded: ?status=pending lists what is owed " +
		"(and the Stripe refunds on their way)."
	statusList(h, list, admit.RefundSort, h.Orders.ListRefunds, admit.RefundPending, admit.RefundSucceeded, admit.RefundFailed)

	mark := op("markRefunded", http.MethodPost, "/refunds/{id}/mark-refunded", "Record that a manual refund was paid back (the event's organizers)",
		"Orders", bearer, 200, 404, 409)
	mark.Description = "For a refund of a manual payment, once the organizer has paid it back (bank transfer, cash): it becomes succeeded, " +
		"with refunded_at, and the buyer is told. Marking it again changes nothing. 409 for a Stripe refund, which Admit sends itself."
	huma.Register(h.api, mark,
		func(ctx context.Context, in *actionInput) (*itemOutput[*admit.Refund], error) {
			r, err := h.Orders.MarkRefunded(ctx, in.ID)
			return answer(h, ctx, r, err)
		})
}

// orderAction registers a POST or DELETE on one order or ticket.
func (h *handler) orderAction(id, method, path, summary string, act func(context.Context, string) (*admit.Order, error)) {
	huma.Register(h.api, op(id, method, path, summary, "Orders", bearer, 200, 403, 404, 409),
		func(ctx context.Context, in *actionInput) (*itemOutput[*admit.Order], error) {
			o, err := act(ctx, in.ID)
			return answer(h, ctx, o, err)
		})
}

// registrantHeader names the CSV columns as the JSON fields of a
// Registrant; registrantRow gives them, in that order.
var registrantHeader = []string{"ticket_id", "order_id", "order_status", "buyer_id", "ticket_type_id", "ticket_type_name",
	"attendee_name", "attendee_email", "ticket_status", "checked_in_at"}

func registrantRow(r admit.Registrant) []string {
	checked := ""
	if r.CheckedInAt != nil {
		checked = r.CheckedInAt.Format(time.RFC3339)
	}
	return []string{r.TicketID, r.OrderID, string(r.OrderStatus), r.BuyerID, r.TicketTypeID, csvSafe(r.TicketTypeName),
		csvSafe(r.AttendeeName), csvSafe(r.AttendeeEmail), string(r.TicketStatus), checked}
}

// A CSV download may take as long as it needs while it progresses: every
// exportProgress rows, it gets exportStall more to write. (Variables for
// the tests.)
var (
	exportProgress = 256
	exportStall    = time.Minute
)

// registrantsCSV streams an event's whole attendee list as a CSV download,
// one row at a time.
func (h *handler) registrantsCSV(ctx context.Context, eventID string) *streamOutput {
	return &streamOutput{ContentType: "text/csv; charset=utf-8", ContentDisposition: `attachment; filename="registrants-` + eventID + `.csv"`,
		Vary: "Accept", Body: func(hc huma.Context) {
			_, rw := humago.Unwrap(hc)
			rc := http.NewResponseController(rw)
			w := csv.NewWriter(hc.BodyWriter())
			w.Write(registrantHeader)
			n := 0
			err := h.Orders.EachRegistrant(ctx, eventID, func(r admit.Registrant) error {
				// The server's write timeout would cut a long download off
				// however well it flows: it becomes a time without progress.
				if n%exportProgress == 0 {
					rc.SetWriteDeadline(time.Now().Add(exportStall))
				}
				n++
				return w.Write(registrantRow(r))
			})
			w.Flush()
			if err != nil {
				h.Logger.ErrorContext(ctx, "csv export", "event_id", eventID, "err", err)
			}
		}}
}

func (h *handler) listRegistrants(ctx context.Context, in *registrantsInput) (*streamOutput, error) {
	var p admit.Problems
	eventID := idParam(&p, "eid", in.EventID)
	if in.EventID == "" {
		p.Add("query.eid", "is required: the event whose attendees to list")
	}
	page := pageParam(&p, in.PageQuery, admit.TicketSort)
	if err := p.Err(); err != nil {
		return nil, h.fail(ctx, err)
	}
	if prefersCSV(in.Accept) {
		// Check access before the first byte: errors after it cannot be problems.
		if _, _, err := h.Orders.ListRegistrants(ctx, eventID, admit.Page{Limit: 1}); err != nil {
			return nil, h.fail(ctx, err)
		}
		return h.registrantsCSV(ctx, eventID), nil
	}
	items, next, err := h.Orders.ListRegistrants(ctx, eventID, page)
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	body, err := json.Marshal(listBody[admit.Registrant]{Items: items, NextCursor: next})
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	return &streamOutput{ContentType: "application/json", Vary: "Accept", Body: func(hc huma.Context) { hc.BodyWriter().Write(body) }}, nil
}

// csvSafe keeps names that start like a formula from running in a spreadsheet.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// statusList registers o, a GET of a list of one event's, filtered by
// one of statuses (the handler parses it, so that a bad value is a 400
// naming it, and documents its values), in pages sorted by sort.
func statusList[S ~string, T any](h *handler, o huma.Operation, sort string,
	list func(ctx context.Context, eventID string, status S, page admit.Page) ([]T, string, error), statuses ...S) {
	names, enum := make([]string, len(statuses)), make([]any, len(statuses))
	for i, s := range statuses {
		names[i], enum[i] = string(s), string(s)
	}
	huma.Register(h.api, o, func(ctx context.Context, in *statusListInput) (*itemOutput[listBody[T]], error) {
		var p admit.Problems
		status := S(in.Status)
		if status != "" && !slices.Contains(statuses, status) {
			p.Add("query.status", "must be one of: %s", strings.Join(names, ", "))
		}
		page := pageParam(&p, in.PageQuery, sort)
		if err := p.Err(); err != nil {
			return nil, h.fail(ctx, err)
		}
		items, next, err := list(ctx, in.ID, status, page)
		return answer(h, ctx, listBody[T]{Items: items, NextCursor: next}, err)
	})
	for _, p := range web.Operation(h.api.OpenAPI(), o.Method+" "+o.Path).Parameters {
		if p.Name == "status" {
			p.Schema = &huma.Schema{Type: "string", Enum: enum}
		}
	}
}
