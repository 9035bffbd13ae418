package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/admit-events/admit"
)

// Inventory rule: a ticket type's sold + held never exceeds its quantity
// (the database refuses any write that would break it: migration 0006).
// Seats are taken by one conditional UPDATE of the ticket type row inside
// the transaction that creates the hold, which also requires the row not
// closed (its event cancelled); holds past their expiry are swept in that
// same transaction, so they stop counting at their expiry instant. Locks
// are taken in the order orders → holds (by ticket type, then order id) →
// ticket types (sorted by id) → events; a deadlock PostgreSQL still finds
// aborts one transaction, which inTx runs again.

// errEventCancelled refuses an order of a cancelled event.
var errEventCancelled = &admit.Error{Code: admit.ECONFLICT, Kind: "event-cancelled", Message: "the event is cancelled"}

// paymentRefused is returned inside a payment transaction when the order
// cannot have what was paid for (its seats are gone, its event or the
// order itself was cancelled); the caller fails the order, saying why, and
// refunds it in a new transaction.
type paymentRefused struct{ reason string }

func (e *paymentRefused) Error() string { return "store: payment refused: " + e.reason }

// CreateOrder holds the seats of a new order, or confirms it at once when
// its total is 0. Sold-out is ECONFLICT with Kind "sold-out".
func (db *DB) CreateOrder(ctx context.Context, n admit.NewOrder) (*admit.Order, error) {
	u, err := admit.RequireUser(ctx)
	if err != nil {
		return nil, err
	}
	if err := n.Validate(); err != nil {
		return nil, err
	}
	o, err := db.place(ctx, u, n)
	if err != nil && admit.RequestKeyFromContext(ctx) != "" {
		// A retry gets the order its first attempt placed, whatever refused
		// this one: the key (errRequestKeyTaken), or the sale as it is now
		// (sold out, ended, the event cancelled). Only a refused attempt
		// pays for the lookup.
		first, ferr := db.orderOfRequest(ctx, u)
		switch {
		case first != nil || ferr != nil:
			return first, ferr
		case errors.Is(err, errRequestKeyTaken):
			return nil, errBusy // and its key was forgotten since: try again
		}
	}
	return o, err
}

// place holds an order's seats: with the next batch of its ticket type when
// it has the fast path's shape, else (or when the batch could not) in a
// transaction of its own.
func (db *DB) place(ctx context.Context, u *admit.User, n admit.NewOrder) (*admit.Order, error) {
	if db.fastPathFits(n) {
		if o, err := db.holdQueued(ctx, u, n); o != nil || err != nil {
			return o, err
		}
	}
	// Queue behind this process's other orders of the same ticket types.
	release, err := db.hot.enter(ctx, n.TicketTypeIDs()...)
	if err != nil {
		return nil, err
	}
	defer release()
	var o *admit.Order
	err = db.inTx(ctx, func(tx *Tx) (err error) {
		o, err = tx.placeOrder(ctx, u, n)
		return err
	})
	return o, err // as stored: reading it back would cost the onsale three queries
}

// orderOfRequest returns the order the caller placed under the request key
// of ctx (admit.RequestKeyFromContext), or nil.
func (db *DB) orderOfRequest(ctx context.Context, u *admit.User) (*admit.Order, error) {
	key := admit.RequestKeyFromContext(ctx)
	if key == "" {
		return nil, nil
	}
	var id string
	err := db.primary.QueryRowContext(ctx, `SELECT id FROM orders WHERE user_id = $1 AND request_key = $2`, u.ID, key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: order of a request key: %w", translate(err))
	}
	return db.FindOrder(ctx, id)
}

func (tx *Tx) placeOrder(ctx context.Context, u *admit.User, n admit.NewOrder) (*admit.Order, error) {
	e, err := findEvent(ctx, tx, n.EventID)
	if err != nil {
		return nil, err // a failed read is not a missing event: a 404 would be remembered for the request's key
	}
	if e.Status == admit.EventDraft && !u.CanManageOrganization(e.OrganizationID) {
		return nil, admit.Errorf(admit.ENOTFOUND, "no event with id %q", n.EventID) // drafts are not public
	}
	if e.Status == admit.EventDraft {
		return nil, &admit.Error{Code: admit.ECONFLICT, Kind: "event-not-published", Message: "the event is a draft: publish it before ordering"}
	}
	if e.Status == admit.EventCancelled {
		return nil, errEventCancelled
	}
	types, err := tx.ticketTypesOf(ctx, e.ID)
	if err != nil {
		return nil, err
	}
	o := &admit.Order{ID: newID("ord"), UserID: u.ID, EventID: e.ID, CreatedAt: tx.now, UpdatedAt: tx.now,
		ExpiresAt: tx.now.Add(time.Duration(e.HoldMinutes) * time.Minute), Tickets: []admit.Ticket{}, Refunds: []admit.Refund{}}
	if err := priceItems(o, n.Items, types, tx.now); err != nil {
		return nil, err
	}
	o.Status, o.Payment.Provider = admit.OrderPending, e.PaymentProvider
	if o.Total.Amount == 0 {
		o.Status, o.Payment.Provider = admit.OrderPaid, admit.ProviderFree
	}
	// A pending order keeps the names it asked for until its tickets are
	// issued; a paid one has its tickets now.
	attendees := n.Attendees
	if o.Status == admit.OrderPaid {
		attendees = nil
	}
	if err := tx.insertOrder(ctx, o, attendees); err != nil {
		return nil, err
	}
	if o.Status == admit.OrderPaid {
		if err := tx.issueTickets(ctx, o, n.Attendees, u); err != nil {
			return nil, err
		}
	} else if err := tx.insertHolds(ctx, o); err != nil {
		return nil, err
	}
	if err := tx.outbox(ctx, "order."+string(o.Status), o.ID, map[string]any{"order_id": o.ID, "event_id": o.EventID, "user_id": u.ID}); err != nil {
		return nil, err
	}
	// Last, so that the hot ticket type rows stay locked as briefly as possible.
	_, err = tx.takeSeats(ctx, o, o.Status == admit.OrderPaid, "")
	return o, err
}

// priceItems fills o's items and total from the ticket types' own prices,
// checking sale windows, per-order limits and a single currency.
func priceItems(o *admit.Order, items []admit.NewOrderItem, types map[string]admit.TicketType, now time.Time) error {
	var p admit.Problems
	for i, it := range items {
		t, ok := types[it.TicketTypeID]
		if !ok {
			p.Add(fmt.Sprintf("body.items[%d].ticket_type_id", i), "%q is not a ticket type of this event", it.TicketTypeID)
			continue
		}
		if now.Before(t.SaleStartsAt) {
			return &admit.Error{Code: admit.ECONFLICT, Kind: "sale-not-started", Message: fmt.Sprintf("%s goes on sale at %s", t.Name, t.SaleStartsAt.Format(time.RFC3339))}
		}
		if !now.Before(t.SaleEndsAt) {
			return &admit.Error{Code: admit.ECONFLICT, Kind: "sale-ended", Message: fmt.Sprintf("the sale of %s has ended", t.Name)}
		}
		if it.Quantity < t.MinPerOrder || it.Quantity > t.MaxPerOrder {
			p.Add(fmt.Sprintf("body.items[%d].quantity", i), "%s: between %d and %d per order", t.Name, t.MinPerOrder, t.MaxPerOrder)
		}
		if o.Total.Currency != "" && t.Price.Currency != o.Total.Currency {
			p.Add("body.items", "all tickets of an order must be in one currency")
		}
		o.Total.Currency = t.Price.Currency
		o.Total.Amount += t.Price.Amount * it.Quantity
		o.Items = append(o.Items, admit.OrderItem{TicketTypeID: t.ID, Quantity: it.Quantity, UnitPrice: t.Price})
	}
	if o.Total.Amount > admit.MaxAmount {
		p.Add("body.items", "an order's total may be at most %d minor units: split it into several orders", int64(admit.MaxAmount))
	}
	o.Refunded = admit.Money{Currency: o.Total.Currency}
	return p.Err()
}

func (tx *Tx) ticketTypesOf(ctx context.Context, eventID string) (map[string]admit.TicketType, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+ticketTypeColumns+` FROM ticket_types t WHERE t.event_id = $1`, eventID)
	if err != nil {
		return nil, fmt.Errorf("store: ticket types: %w", err)
	}
	list, err := scanAll(rows, scanTicketType)
	if err != nil {
		return nil, err
	}
	types := make(map[string]admit.TicketType, len(list))
	for _, t := range list {
		types[t.ID] = t
	}
	return types, nil
}

// takeSeats takes each item's seats: as held for a pending order, as sold
// for a paid one. Each ticket type's lapsed holds are swept first, with
// the holds of order paying ("" when placing an order), which its payment
// turns into sales; it returns the seats of those by ticket type.
func (tx *Tx) takeSeats(ctx context.Context, o *admit.Order, sold bool, paying string) (map[string]int64, error) {
	items := lockOrder(o.Items)
	// Every hold is taken before the first ticket type row is locked:
	// holds, then ticket types, as every transaction takes them.
	freed := make([]int64, len(items))
	own := map[string]int64{}
	for i, it := range items {
		swept, mine, err := tx.takeHolds(ctx, it.TicketTypeID, paying)
		if err != nil {
			return nil, err
		}
		freed[i], own[it.TicketTypeID] = swept+mine, mine
	}
	for i, it := range items {
		set := "held = held - $2 + $3"
		if sold {
			set = "held = held - $2, sold = sold + $3"
		}
		res, err := tx.ExecContext(ctx, `UPDATE ticket_types SET `+set+` WHERE id = $1 AND sold + held - $2 + $3 <= quantity AND closed_at IS NULL`,
			it.TicketTypeID, freed[i], it.Quantity)
		if err != nil {
			return nil, fmt.Errorf("store: take seats: %w", translate(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, tx.soldOut(ctx, it.TicketTypeID, freed[i])
		}
	}
	if sold {
		return own, tx.addPopularity(ctx, o)
	}
	return own, nil
}

// takeHolds deletes a ticket type's lapsed holds and the holds of order
// orderID ("" for none), and returns the seats they held: swept the
// others', own the order's. Each hold is deleted by exactly one
// transaction, which takes its seats off the held count. On PostgreSQL the
// rows are locked first in order_id order, the one order in which every
// transaction locks a ticket type's holds: sweeps that locked them as
// their plans scanned, or a payment that deleted its own hold before
// sweeping the others', waited on each other in cycles (a deadlock a second
// when many holds lapsed together). A hold another transaction is deleting
// is waited for, not skipped: its seats may be the last ones free.
func (tx *Tx) takeHolds(ctx context.Context, ticketTypeID, orderID string) (swept, own int64, err error) {
	q := takeHoldsSQLite
	if tx.db.engine == postgresEngine {
		q = takeHoldsPostgres
	}
	rows, err := tx.QueryContext(ctx, q, ticketTypeID, ts(tx.now), orderID)
	if err != nil {
		return 0, 0, fmt.Errorf("store: take holds: %w", translate(err))
	}
	type hold struct {
		order string
		q     int64
	}
	hs, err := scanAll(rows, func(s scanner) (h hold, err error) { return h, s.Scan(&h.order, &h.q) })
	for _, h := range hs {
		if h.order == orderID {
			own += h.q
		} else {
			swept += h.q
		}
	}
	return swept, own, err
}

// The statements of takeHolds: $1 ticket type, $2 now, $3 the order whose
// holds go too. PostgreSQL locks the rows in order_id order (the
// materialized CTE's FOR UPDATE, below its ORDER BY) before it deletes them.
const (
	takeHoldsSQLite = `DELETE FROM holds WHERE ticket_type_id = $1 AND (expires_at <= $2 OR order_id = $3)
		RETURNING order_id, quantity`
	takeHoldsPostgres = `WITH locked AS MATERIALIZED (
			SELECT order_id FROM holds WHERE ticket_type_id = $1 AND (expires_at <= $2 OR order_id = $3) ORDER BY order_id FOR UPDATE)
		DELETE FROM holds h USING locked WHERE h.ticket_type_id = $1 AND h.order_id = locked.order_id
		RETURNING h.order_id, h.quantity`
)

// lockOrder returns items sorted by ticket type id, the order in which
// every transaction locks ticket type rows, so that none deadlock.
func lockOrder(items []admit.OrderItem) []admit.OrderItem {
	return slices.SortedFunc(slices.Values(items), func(a, b admit.OrderItem) int { return strings.Compare(a.TicketTypeID, b.TicketTypeID) })
}

// soldOut says why takeSeats could not take a ticket type's seats: its
// event was cancelled (it is closed), or not enough are left once the freed
// seats are back.
func (tx *Tx) soldOut(ctx context.Context, ticketTypeID string, freed int64) error {
	var name string
	var left int64
	var closed sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT name, quantity - sold - held + $2, closed_at FROM ticket_types WHERE id = $1`, ticketTypeID, freed).
		Scan(&name, &left, &closed)
	if errors.Is(err, sql.ErrNoRows) {
		return admit.Errorf(admit.ENOTFOUND, "the ticket type %q no longer exists", ticketTypeID)
	}
	if err != nil {
		return fmt.Errorf("store: sold out: %w", err)
	}
	if closed.Valid {
		return errEventCancelled
	}
	left = max(left, 0)
	return &admit.Error{Code: admit.ECONFLICT, Kind: admit.KindSoldOut, Available: &left,
		Message: fmt.Sprintf("not enough %s left: %d available", name, left)}
}

func (tx *Tx) addPopularity(ctx context.Context, o *admit.Order) error {
	var n int64
	for _, it := range o.Items {
		n += it.Quantity
	}
	_, err := tx.ExecContext(ctx, `UPDATE events SET popularity = popularity + $2 WHERE id = $1`, o.EventID, n)
	return err
}

// errRequestKeyTaken ends the transaction of an order whose request key
// (admit.RequestKeyFromContext) already placed one: the caller answers with
// that order.
var errRequestKeyTaken = errors.New("store: an order was placed under this request key")

func (tx *Tx) insertOrder(ctx context.Context, o *admit.Order, attendees []admit.Attendee) error {
	// A concurrent attempt under the same key makes this wait for its
	// outcome: then it is the order, or this one is.
	res, err := tx.ExecContext(ctx, `INSERT INTO orders (id, user_id, event_id, status, expires_at, total_amount, currency, provider, attendees, created_at, updated_at, request_key)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)
		ON CONFLICT (user_id, request_key) WHERE request_key IS NOT NULL DO NOTHING`,
		o.ID, o.UserID, o.EventID, o.Status, ts(o.ExpiresAt), o.Total.Amount, o.Total.Currency, o.Payment.Provider,
		attendeesJSON(attendees), ts(tx.now), nullString(admit.RequestKeyFromContext(ctx)))
	if err != nil {
		return fmt.Errorf("store: insert order: %w", translate(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errRequestKeyTaken
	}
	for i, it := range o.Items {
		_, err := tx.ExecContext(ctx, `INSERT INTO order_items (order_id, ticket_type_id, quantity, unit_amount, position) VALUES ($1, $2, $3, $4, $5)`,
			o.ID, it.TicketTypeID, it.Quantity, it.UnitPrice.Amount, i)
		if err != nil {
			return fmt.Errorf("store: insert order item: %w", translate(err))
		}
	}
	return nil
}

func (tx *Tx) insertHolds(ctx context.Context, o *admit.Order) error {
	for _, it := range o.Items {
		_, err := tx.ExecContext(ctx, `INSERT INTO holds (order_id, ticket_type_id, quantity, expires_at) VALUES ($1, $2, $3, $4)`,
			o.ID, it.TicketTypeID, it.Quantity, ts(o.ExpiresAt))
		if err != nil {
			return fmt.Errorf("store: insert hold: %w", translate(err))
		}
	}
	return nil
}

// attendeesJSON is how the orders table keeps the names an order asked for.
func attendeesJSON(attendees []admit.Attendee) string {
	if len(attendees) == 0 {
		return "[]"
	}
	raw, _ := json.Marshal(attendees)
	return string(raw)
}

// issueTickets creates the tickets of a paid order: one per seat, named
// after the attendees in order, then after the buyer.
func (tx *Tx) issueTickets(ctx context.Context, o *admit.Order, attendees []admit.Attendee, buyer *admit.User) error {
	k := 0
	for _, it := range o.Items {
		for range it.Quantity {
			a := admit.Attendee{Name: buyer.Name, Email: buyer.Email}
			if k < len(attendees) {
				a = attendees[k]
			}
			t := admit.Ticket{ID: newID("tix"), OrderID: o.ID, EventID: o.EventID, TicketTypeID: it.TicketTypeID,
				AttendeeName: a.Name, AttendeeEmail: a.Email, Status: admit.TicketValid}
			_, err := tx.ExecContext(ctx, `INSERT INTO tickets (id, order_id, event_id, ticket_type_id, attendee_name, attendee_email, status, created_at, position)
				VALUES ($1, $2, $3, $4, $5, $6, 'valid', $7, $8)`, t.ID, o.ID, o.EventID, it.TicketTypeID, a.Name, a.Email, ts(tx.now), k)
			if err != nil {
				return fmt.Errorf("store: issue ticket: %w", translate(err))
			}
			o.Tickets = append(o.Tickets, t)
			k++
		}
	}
	return nil
}

// outbox records, in the caller's transaction, a change someone must hear of.
func (tx *Tx) outbox(ctx context.Context, topic, aggregateID string, payload any) error {
	raw, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("store: outbox payload: %w", err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO outbox (topic, aggregate_id, payload, created_at, available_at) VALUES ($1, $2, $3, $4, $4)`,
		topic, aggregateID, string(raw), ts(tx.now))
	if err != nil {
		return fmt.Errorf("store: outbox: %w", err)
	}
	return nil
}

// FindOrder returns an order its buyer, the event's organizers or an admin
// may see; anyone else gets ENOTFOUND.
func (db *DB) FindOrder(ctx context.Context, id string) (*admit.Order, error) {
	u, err := admit.RequireUser(ctx)
	if err != nil {
		return nil, err
	}
	o, orgID, err := findOrder(ctx, db.primary, id, "")
	if err != nil {
		return nil, err
	}
	if o.UserID != u.ID && !u.CanManageOrganization(orgID) {
		return nil, admit.Errorf(admit.ENOTFOUND, "no order with id %q", id)
	}
	if o.UserID != u.ID {
		o.Payment.ClientSecret = "" // whoever holds it can pay: the buyer's alone
	}
	o.Status = effectiveStatus(o, db.Now())
	return o, nil
}

// effectiveStatus shows a pending order whose hold lapsed as expired, even
// before the sweeper records it.
func effectiveStatus(o *admit.Order, now time.Time) admit.OrderStatus {
	if o.Status == admit.OrderPending && !now.Before(o.ExpiresAt) {
		return admit.OrderExpired
	}
	return o.Status
}

const orderColumns = `o.id, o.user_id, o.event_id, o.status, o.expires_at, o.total_amount, o.currency, o.refunded_amount,
	o.provider, o.payment_ref, o.client_secret, o.created_at, o.updated_at, e.organization_id, e.time_zone`

// scanOrder reads the orderColumns, then more.
func scanOrder(s scanner, more ...any) (*admit.Order, string, error) {
	var o admit.Order
	var expires, created, updated int64
	var orgID, zone string
	err := s.Scan(append([]any{&o.ID, &o.UserID, &o.EventID, &o.Status, &expires, &o.Total.Amount, &o.Total.Currency, &o.Refunded.Amount,
		&o.Payment.Provider, &o.Payment.Reference, &o.Payment.ClientSecret, &created, &updated, &orgID, &zone}, more...)...)
	o.Refunded.Currency = o.Total.Currency
	o.ExpiresAt, o.CreatedAt, o.UpdatedAt = fromTS(expires, time.UTC), fromTS(created, time.UTC), fromTS(updated, time.UTC)
	o.Items, o.Tickets, o.Refunds = []admit.OrderItem{}, []admit.Ticket{}, []admit.Refund{}
	return &o, orgID, err
}

// findOrder loads an order with its items and tickets; lock is the
// dialect's row-lock suffix when the caller will change it.
func findOrder(ctx context.Context, q queryer, id, lock string) (*admit.Order, string, error) {
	o, orgID, err := scanOrder(q.QueryRowContext(ctx, `SELECT `+orderColumns+` FROM orders o JOIN events e ON e.id = o.event_id WHERE o.id = $1`+lock, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", admit.Errorf(admit.ENOTFOUND, "no order with id %q", id)
	}
	if err != nil {
		return nil, "", fmt.Errorf("store: find order: %w", err)
	}
	if err := attachParts(ctx, q, []*admit.Order{o}); err != nil {
		return nil, "", err
	}
	return o, orgID, nil
}

// attachParts loads the items, tickets and refunds of orders: two queries
// for all, and a third if any has refunds.
func attachParts(ctx context.Context, q queryer, orders []*admit.Order) error {
	if len(orders) == 0 {
		return nil
	}
	byID := make(map[string]*admit.Order, len(orders))
	idArgs := make([]any, len(orders))
	for i, o := range orders {
		byID[o.ID] = o
		idArgs[i] = o.ID
	}
	var in query
	ids := in.in(idArgs...)
	rows, err := q.QueryContext(ctx, `SELECT order_id, ticket_type_id, quantity, unit_amount FROM order_items WHERE order_id IN `+ids+
		` ORDER BY order_id, position, ticket_type_id`, in.args...)
	if err != nil {
		return fmt.Errorf("store: order items: %w", err)
	}
	_, err = scanAll(rows, func(s scanner) (struct{}, error) {
		var orderID string
		var it admit.OrderItem
		if err := s.Scan(&orderID, &it.TicketTypeID, &it.Quantity, &it.UnitPrice.Amount); err != nil {
			return struct{}{}, err
		}
		o := byID[orderID]
		it.UnitPrice.Currency = o.Total.Currency
		o.Items = append(o.Items, it)
		return struct{}{}, nil
	})
	if err != nil {
		return err
	}
	rows, err = q.QueryContext(ctx, `SELECT `+ticketColumns+` FROM tickets t WHERE t.order_id IN `+ids+` ORDER BY t.order_id, t.position, t.id`, in.args...)
	if err != nil {
		return fmt.Errorf("store: order tickets: %w", err)
	}
	_, err = scanAll(rows, func(s scanner) (struct{}, error) {
		t, err := scanTicket(s)
		if err == nil {
			o := byID[t.OrderID]
			o.Tickets = append(o.Tickets, t)
		}
		return struct{}{}, err
	})
	if err != nil {
		return err
	}
	return attachRefunds(ctx, q, byID)
}

const ticketColumns = `t.id, t.order_id, t.event_id, t.ticket_type_id, t.attendee_name, t.attendee_email, t.status, t.checked_in_at`

func scanTicket(s scanner) (admit.Ticket, error) {
	var t admit.Ticket
	var checked sql.NullInt64
	err := s.Scan(&t.ID, &t.OrderID, &t.EventID, &t.TicketTypeID, &t.AttendeeName, &t.AttendeeEmail, &t.Status, &checked)
	if checked.Valid {
		at := fromTS(checked.Int64, time.UTC)
		t.CheckedInAt = &at
	}
	return t, err
}
