package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/admit-events/admit"
	"github.com/jackc/pgx/v5/pgconn"
)

// holdInOneStatement is PostgreSQL's fast path for the shape of a hot
// onsale: orders of one paid ticket type. It holds the seats of a batch of
// such orders (often one) in one statement in its own transaction: one
// conditional seat UPDATE for the batch's total with every sale rule in its
// WHERE, and each order's row, item, hold and outbox row. One round trip
// and one commit for the batch; the hot row stays locked only while the
// server finishes the statement and commits, never across the network.
//
// Nothing is written unless the seat UPDATE matched: the inserts select
// from its RETURNING. When it did not match (not enough seats for the whole
// batch, outside the sale window…), no row comes back and the orders take
// the one-at-a-time path, which says precisely why each one failed. An
// order whose quantity is outside the ticket type's limits is left out of
// the batch (and takes that path) rather than failing the others; the
// UPDATE checks the limits again on the row it locks.
//
// The statement sweeps nothing: holds past their expiry still count here,
// and a batch that fits only once they are gone takes the general path,
// which sweeps them in its transaction. (A data-modifying CTE always runs
// to completion, so a sweep here would commit even when the batch does not
// fit, and its seats would have to be given back by an UPDATE that then
// could not tell whether it also took the batch's.)
//
// An order whose request key placed one already (a retry) fails the whole
// statement on the unique index: the orders then take the general path,
// where it gets the first attempt's order back.
//
// $1 ticket type, $2 now, $3 event; per order (arrays of equal length):
// $4 id, $5 user, $6 quantity, $7 attendees, $8 outbox payload, $9 request
// key (” for none).
var holdInOneStatement = `
WITH given AS (
	SELECT * FROM unnest($4::text[], $5::text[], $6::bigint[], $7::text[], $8::text[], $9::text[]) AS batch (order_id, user_id, quantity, attendees, payload, request_key)
), input AS (
	SELECT given.* FROM given, ticket_types t WHERE t.id = $1 AND given.quantity BETWEEN t.min_per_order AND t.max_per_order
), want AS (
	SELECT SUM(quantity) AS seats, MIN(quantity) AS lo, MAX(quantity) AS hi FROM input
), seat AS (
	UPDATE ticket_types t SET held = t.held + want.seats
	FROM want, events e
	WHERE t.id = $1 AND e.id = t.event_id AND e.id = $3 AND e.status = 'published'
	  AND t.sold + t.held + want.seats <= t.quantity AND t.closed_at IS NULL
	  AND t.sale_starts_at <= $2 AND $2 < t.sale_ends_at
	  AND want.lo >= t.min_per_order AND want.hi <= t.max_per_order
	  AND t.price_amount > 0 AND t.price_amount * want.hi <= ` + strconv.FormatInt(admit.MaxAmount, 10) + `
	RETURNING t.price_amount, t.currency, e.payment_provider, $2 + e.hold_minutes * 60000000 AS expires_at
), o AS (
	INSERT INTO orders (id, user_id, event_id, status, expires_at, total_amount, currency, provider, attendees, created_at, updated_at, request_key)
	SELECT input.order_id, input.user_id, $3, 'pending', seat.expires_at, seat.price_amount * input.quantity, seat.currency,
	       seat.payment_provider, input.attendees, $2, $2, NULLIF(input.request_key, '')
	FROM seat, input
	RETURNING id, expires_at, total_amount, currency, provider
), items AS (
	INSERT INTO order_items (order_id, ticket_type_id, quantity, unit_amount)
	SELECT input.order_id, $1, input.quantity, seat.price_amount FROM seat, input
), h AS (
	INSERT INTO holds (order_id, ticket_type_id, quantity, expires_at)
	SELECT input.order_id, $1, input.quantity, seat.expires_at FROM seat, input
), x AS (
	INSERT INTO outbox (topic, aggregate_id, payload, created_at, available_at)
	SELECT 'order.pending', input.order_id, input.payload, $2, $2 FROM seat, input
)
SELECT id, expires_at, total_amount, currency, provider FROM o`

// fastHold is one order waiting to take the fast path.
type fastHold struct {
	user       *admit.User
	req        admit.NewOrder
	requestKey string // admit.RequestKeyFromContext of its request

	// Set when its batch has run; done is closed then.
	order *admit.Order // nil: the batch did not get its seats
	err   error
	done  chan struct{}
}

// fastPathFits reports whether an order has the fast path's shape.
func (db *DB) fastPathFits(n admit.NewOrder) bool {
	return db.engine == postgresEngine && len(n.Items) == 1
}

// holdFast holds the seats of holds, all of one ticket type and event, in
// one statement, and sets each one's order (or err) before closing done.
func (db *DB) holdFast(ctx context.Context, holds []*fastHold) {
	defer func() {
		for _, h := range holds {
			close(h.done)
		}
	}()
	first := holds[0].req
	now := db.storedNow()
	ids, users, quantities, attendees, payloads, keys := make([]string, len(holds)), make([]string, len(holds)),
		make([]int64, len(holds)), make([]string, len(holds)), make([]string, len(holds)), make([]string, len(holds))
	byID := make(map[string]*fastHold, len(holds))
	for i, h := range holds {
		ids[i], users[i], quantities[i], keys[i] = newID("ord"), h.user.ID, h.req.Items[0].Quantity, h.requestKey
		attendees[i] = attendeesJSON(h.req.Attendees)
		raw, _ := json.Marshal(map[string]any{"order_id": ids[i], "event_id": h.req.EventID, "user_id": h.user.ID})
		payloads[i] = string(raw)
		byID[ids[i]] = h
	}
	rows, err := db.primary.QueryContext(ctx, holdInOneStatement, first.Items[0].TicketTypeID, ts(now), first.EventID,
		ids, users, quantities, attendees, payloads, keys)
	if err != nil {
		failBatch(holds, err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var expires int64
		o := &admit.Order{Status: admit.OrderPending, CreatedAt: now, UpdatedAt: now, Tickets: []admit.Ticket{}, Refunds: []admit.Refund{}}
		if err := rows.Scan(&id, &expires, &o.Total.Amount, &o.Total.Currency, &o.Payment.Provider); err != nil {
			setErr(holds, fmt.Errorf("store: hold: %w", err))
			return
		}
		h := byID[id]
		it := h.req.Items[0]
		o.ID, o.UserID, o.EventID = id, h.user.ID, h.req.EventID
		o.ExpiresAt = fromTS(expires, now.Location())
		o.Refunded = admit.Money{Currency: o.Total.Currency}
		o.Items = []admit.OrderItem{{TicketTypeID: it.TicketTypeID, Quantity: it.Quantity,
			UnitPrice: admit.Money{Amount: o.Total.Amount / it.Quantity, Currency: o.Total.Currency}}}
		h.order = o
	}
	if err := rows.Err(); err != nil {
		failBatch(holds, err)
	}
}

// failBatch settles a batch whose statement failed. When the server refused
// it (an error from PostgreSQL: its transaction rolled back), the orders
// take the one-at-a-time path, so that one order's problem or a passing
// conflict does not fail the others. When the outcome is unknown (the
// connection broke, the batch timed out), each gets the error.
func failBatch(holds []*fastHold, err error) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		setErr(holds, nil)
		return
	}
	if errors.Is(err, context.DeadlineExceeded) {
		setErr(holds, errBatchTimedOut)
		return
	}
	setErr(holds, fmt.Errorf("store: hold: %w", translate(err)))
}

// errBatchTimedOut answers the orders of a batch the database did not
// settle within batchTimeout: it may yet commit, so the client is told to
// retry under its Idempotency-Key, which finds the order if it was placed.
var errBatchTimedOut = &admit.Error{Code: admit.EUNAVAILABLE, RetryAfter: time.Second,
	Message: "the database did not answer in time, and the order may have been placed: retry with the same Idempotency-Key (or look at GET /api/v1/me/orders)"}

// setErr clears the orders of a batch whose statement did not commit and
// gives each the error (nil: take the general path).
func setErr(holds []*fastHold, err error) {
	for _, h := range holds {
		h.order, h.err = nil, err
	}
}
