package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/admit-events/admit"
)

// holdInOneStatement is PostgreSQL's fast path for the shape of a hot
// onsale: one paid ticket type per order. The whole hold — sweeping expired
// holds, the conditional seat UPDATE with every sale rule in its WHERE, the
// order, its item, its hold and its outbox row — is one statement in its own
// transaction: one round trip, and the hot row stays locked only while the
// server finishes the statement and commits, never across the network.
//
// Nothing is written unless the seat UPDATE matched: the inserts select
// from its RETURNING. When it did not match (sold out, outside the sale
// window, a bad quantity…), ok is false and the caller takes the general
// path, which says precisely why.
const holdInOneStatement = `
WITH swept AS (
	DELETE FROM holds WHERE ticket_type_id = $1 AND expires_at <= $2 RETURNING quantity
), freed AS (
	SELECT COALESCE(SUM(quantity), 0) AS n FROM swept
), seat AS (
	UPDATE ticket_types t SET held = t.held - freed.n + $3
	FROM freed, events e
	WHERE t.id = $1 AND e.id = t.event_id AND e.id = $4 AND e.status = 'published'
	  AND t.sold + t.held - freed.n + $3 <= t.quantity
	  AND t.sale_starts_at <= $2 AND $2 < t.sale_ends_at
	  AND $3 BETWEEN t.min_per_order AND t.max_per_order AND t.price_amount > 0
	RETURNING t.price_amount, t.currency, e.payment_provider, $2 + e.hold_minutes * 60000000 AS expires_at
), o AS (
	INSERT INTO orders (id, user_id, event_id, status, expires_at, total_amount, currency, provider, attendees, created_at, updated_at)
	SELECT $5, $6, $4, 'pending', seat.expires_at, seat.price_amount * $3, seat.currency, seat.payment_provider, $7, $2, $2 FROM seat
	RETURNING expires_at, total_amount, currency, provider
), i AS (
	INSERT INTO order_items (order_id, ticket_type_id, quantity, unit_amount) SELECT $5, $1, $3, price_amount FROM seat
), h AS (
	INSERT INTO holds (order_id, ticket_type_id, quantity, expires_at) SELECT $5, $1, $3, expires_at FROM seat
), x AS (
	INSERT INTO outbox (topic, aggregate_id, payload, created_at, available_at) SELECT 'order.pending', $5, $8, $2, $2 FROM seat
)
SELECT expires_at, total_amount, currency, provider FROM o`

// holdFast tries the one-statement hold; ok is false when the order is not
// of its shape or did not get its seats.
func (db *DB) holdFast(ctx context.Context, u *admit.User, n admit.NewOrder) (o *admit.Order, ok bool, err error) {
	if db.engine != postgresEngine || len(n.Items) != 1 {
		return nil, false, nil
	}
	it := n.Items[0]
	now := db.Now().UTC().Truncate(time.Microsecond) // as stored
	o = &admit.Order{ID: newID("ord"), UserID: u.ID, EventID: n.EventID, Status: admit.OrderPending, CreatedAt: now, UpdatedAt: now,
		Tickets: []admit.Ticket{}}
	attendees := "[]"
	if len(n.Attendees) > 0 {
		raw, _ := json.Marshal(n.Attendees)
		attendees = string(raw)
	}
	payload, _ := json.Marshal(map[string]any{"order_id": o.ID, "event_id": o.EventID, "user_id": u.ID})
	var expires int64
	err = db.primary.QueryRowContext(ctx, holdInOneStatement, it.TicketTypeID, ts(now), it.Quantity, n.EventID, o.ID, u.ID,
		attendees, string(payload)).Scan(&expires, &o.Total.Amount, &o.Total.Currency, &o.Payment.Provider)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: hold: %w", translate(err))
	}
	o.ExpiresAt = fromTS(expires, now.Location())
	o.Refunded = admit.Money{Currency: o.Total.Currency}
	o.Items = []admit.OrderItem{{TicketTypeID: it.TicketTypeID, Quantity: it.Quantity,
		UnitPrice: admit.Money{Amount: o.Total.Amount / it.Quantity, Currency: o.Total.Currency}}}
	return o, true, nil
}
