package store

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/admit-events/admit"
)

// ListMyOrders returns the caller's orders, newest first.
func (db *DB) ListMyOrders(ctx context.Context, page admit.Page) ([]admit.Order, string, error) {
	u, err := admit.RequireUser(ctx)
	if err != nil {
		return nil, "", err
	}
	var q query
	q.and("o.user_id = " + q.arg(u.ID))
	return db.listOrders(ctx, q, page, db.Now(), false)
}

// ListEventOrders returns an event's orders, newest first, of one status
// ("": all; a pending order whose hold lapsed is expired), with each
// buyer's email: the event's organizers and admins only (EFORBIDDEN).
func (db *DB) ListEventOrders(ctx context.Context, eventID string, wanted admit.OrderStatus, page admit.Page) ([]admit.Order, string, error) {
	if err := db.canSeeOrders(ctx, eventID, "only the event's organizers see its orders"); err != nil {
		return nil, "", err
	}
	var q query
	q.and("o.event_id = " + q.arg(eventID))
	now := db.Now()
	status, expires := db.engine.unindexed("o.status"), db.engine.unindexed("o.expires_at")
	switch wanted {
	case "":
	case admit.OrderPending:
		q.and("o.status = 'pending' AND " + expires + " > " + q.arg(ts(now)))
	case admit.OrderExpired:
		q.and(status + " IN ('pending', 'expired') AND (o.status = 'expired' OR " + expires + " <= " + q.arg(ts(now)) + ")")
	default:
		q.and("o.status = " + q.arg(string(wanted)))
	}
	return db.listOrders(ctx, q, page, now, true)
}

// listOrders reads a page of the orders q selects, newest first, with
// their parts and their status at now; withBuyer adds the buyer's email,
// for organizers, and leaves out what lets a buyer pay (the client secret)
// in any case.
func (db *DB) listOrders(ctx context.Context, q query, page admit.Page, now time.Time, withBuyer bool) ([]admit.Order, string, error) {
	if c := page.Cursor; c != nil {
		v, err := c.IntValue()
		if err != nil {
			return nil, "", err
		}
		q.and("(o.created_at, o.id) < (" + q.arg(v) + ", " + q.arg(c.ID) + ")")
	}
	limit := pageLimit(page)
	// CROSS JOIN keeps SQLite reading orders first, walking the list's index
	// in its order, even when its statistics say events are few (it would
	// then read them first and sort the orders).
	columns, from := orderColumns, ` FROM orders o CROSS JOIN events e`
	q.and("e.id = o.event_id")
	if withBuyer {
		columns, from = columns+`, COALESCE(u.email, '')`, from+` LEFT JOIN users u ON u.id = o.user_id`
	}
	sqlText := `SELECT ` + columns + from + q.whereSQL() + ` ORDER BY o.created_at DESC, o.id DESC LIMIT ` + strconv.Itoa(limit+1)
	db.trace(sqlText, q.args)
	rows, err := db.primary.QueryContext(ctx, sqlText, q.args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: orders: %w", err)
	}
	found, err := scanAll(rows, func(s scanner) (*admit.Order, error) {
		var email string
		var more []any
		if withBuyer {
			more = []any{&email}
		}
		o, _, err := scanOrder(s, more...)
		if withBuyer {
			o.BuyerEmail, o.Payment.ClientSecret = email, ""
		}
		return o, err
	})
	if err != nil {
		return nil, "", err
	}
	if err := attachParts(ctx, db.primary, found[:min(len(found), limit)]); err != nil { // not the next page's first
		return nil, "", err
	}
	orders := make([]admit.Order, len(found))
	for i, o := range found {
		o.Status = effectiveStatus(o, now)
		orders[i] = *o
	}
	orders, next := nextCursor(orders, limit, admit.OrderSort, func(o admit.Order) (string, string) {
		return strconv.FormatInt(ts(o.CreatedAt), 10), o.ID
	})
	return orders, next, nil
}

// ListMyTickets returns the tickets of the orders the caller placed, whoever
// the named attendees are.
func (db *DB) ListMyTickets(ctx context.Context, page admit.Page) ([]admit.Ticket, string, error) {
	u, err := admit.RequireUser(ctx)
	if err != nil {
		return nil, "", err
	}
	var q query
	q.and("o.user_id = " + q.arg(u.ID))
	if c := page.Cursor; c != nil {
		q.and(afterTicket(q.arg(c.ID)))
	}
	limit := pageLimit(page)
	rows, err := db.primary.QueryContext(ctx, `SELECT `+ticketColumns+` FROM tickets t JOIN orders o ON o.id = t.order_id`+
		q.whereSQL()+ticketOrder+` LIMIT `+strconv.Itoa(limit+1), q.args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: my tickets: %w", err)
	}
	tickets, err := scanAll(rows, scanTicket)
	if err == nil && len(tickets) == 0 {
		err = db.ticketCursor(ctx, page.Cursor)
	}
	if err != nil {
		return nil, "", err
	}
	tickets, next := nextCursor(tickets, limit, admit.TicketSort, func(t admit.Ticket) (string, string) { return "", t.ID })
	return tickets, next, nil
}

// ticketOrder is admit.TicketSort: by order, then in the order the
// attendees were named (position); a page's cursor is the last ticket's id.
const ticketOrder = ` ORDER BY t.order_id, t.position, t.id`

// afterTicket is the condition of a ticket after the one whose id is the
// placeholder given, in ticketOrder.
func afterTicket(id string) string {
	return `(t.order_id, t.position, t.id) > (SELECT order_id, position, id FROM tickets WHERE id = ` + id + `)`
}

// ticketCursor checks, for a page that came back empty, that its cursor
// (if any) names a ticket: with another id, afterTicket compares with NULL,
// and the client would take the empty page for the end of the list.
func (db *DB) ticketCursor(ctx context.Context, c *admit.Cursor) error {
	if c == nil {
		return nil
	}
	var n int
	if err := db.primary.QueryRowContext(ctx, `SELECT COUNT(*) FROM tickets WHERE id = $1`, c.ID).Scan(&n); err != nil {
		return fmt.Errorf("store: ticket cursor: %w", translate(err))
	}
	if n == 0 {
		return admit.Invalid(admit.FieldError{Location: "query.cursor", Message: "is not a cursor of this list"})
	}
	return nil
}

const registrantQuery = `SELECT t.id, t.order_id, t.ticket_type_id, tt.name, t.attendee_name, t.attendee_email, t.status, t.checked_in_at,
	o.status, o.user_id
	FROM tickets t JOIN ticket_types tt ON tt.id = t.ticket_type_id JOIN orders o ON o.id = t.order_id
	WHERE t.event_id = $1`

func scanRegistrant(s scanner) (admit.Registrant, error) {
	var r admit.Registrant
	var checked *int64
	err := s.Scan(&r.TicketID, &r.OrderID, &r.TicketTypeID, &r.TicketTypeName, &r.AttendeeName, &r.AttendeeEmail,
		&r.TicketStatus, &checked, &r.OrderStatus, &r.BuyerID)
	if checked != nil {
		at := fromTS(*checked, time.UTC)
		r.CheckedInAt = &at
	}
	return r, err
}

// ListRegistrants returns a page of an event's tickets: the event's
// organizers and admins only (EFORBIDDEN).
func (db *DB) ListRegistrants(ctx context.Context, eventID string, page admit.Page) ([]admit.Registrant, string, error) {
	if err := db.canSeeOrders(ctx, eventID, "only the event's organizers see who registered"); err != nil {
		return nil, "", err
	}
	after := ""
	if page.Cursor != nil {
		after = page.Cursor.ID
	}
	limit := pageLimit(page)
	rs, err := registrants(ctx, db.primary, eventID, after, limit+1)
	if err == nil && len(rs) == 0 {
		err = db.ticketCursor(ctx, page.Cursor)
	}
	if err != nil {
		return nil, "", err
	}
	rs, next := nextCursor(rs, limit, admit.TicketSort, func(r admit.Registrant) (string, string) { return "", r.TicketID })
	return rs, next, nil
}

// exportPage is how many tickets EachRegistrant reads at a time, unless
// DB.exportPage (set by tests) says otherwise.
const exportPage = 500

// EachRegistrant hands every ticket of an event to fn, in constant memory:
// for CSV exports of any size. It reads a page at a time from the reader
// pool and holds no connection (nor, on SQLite, a read snapshot) while fn
// writes to a client however slow; each row is as it was when its page was
// read.
func (db *DB) EachRegistrant(ctx context.Context, eventID string, fn func(admit.Registrant) error) error {
	if err := db.canSeeOrders(ctx, eventID, "only the event's organizers see who registered"); err != nil {
		return err
	}
	size := cmp.Or(db.exportPage, exportPage)
	for after := ""; ; {
		rs, err := registrants(ctx, db.reader, eventID, after, size)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(rs) < size {
			return nil
		}
		after = rs[len(rs)-1].TicketID
	}
}

// registrants reads up to limit tickets of an event, in ticketOrder, from
// the one after the ticket after ("": from the first).
func registrants(ctx context.Context, q queryer, eventID, after string, limit int) ([]admit.Registrant, error) {
	args := []any{eventID}
	where := ""
	if after != "" {
		where, args = " AND "+afterTicket("$2"), append(args, after)
	}
	rows, err := q.QueryContext(ctx, registrantQuery+where+ticketOrder+` LIMIT `+strconv.Itoa(limit), args...)
	if err != nil {
		return nil, fmt.Errorf("store: registrants: %w", err)
	}
	return scanAll(rows, scanRegistrant)
}

// canSeeOrders checks that the caller may see who bought what for an
// event: its organizers and admins; for others, forbidden says why.
func (db *DB) canSeeOrders(ctx context.Context, eventID, forbidden string) error {
	u, err := admit.RequireUser(ctx)
	if err != nil {
		return err
	}
	e, err := findEvent(ctx, db.primary, eventID)
	if err != nil {
		return err
	}
	switch {
	case u.CanManageOrganization(e.OrganizationID):
		return nil
	case e.Status == admit.EventDraft: // drafts are not public: not even that they exist
		return admit.Errorf(admit.ENOTFOUND, "no event with id %q", eventID)
	}
	return admit.Errorf(admit.EFORBIDDEN, "%s", forbidden)
}
