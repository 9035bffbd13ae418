package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/admit-events/admit"
)

// lockedOrder loads an order with its row locked for change.
func (tx *Tx) lockedOrder(ctx context.Context, id string) (*admit.Order, string, error) {
	return findOrder(ctx, tx, id, tx.db.engine.forUpdate("o"))
}

// orderTx loads an order for change, locked, and checks the caller's right:
// its buyer, the event's organizers and admins act on it; for the rest it
// does not exist.
func (tx *Tx) orderTx(ctx context.Context, id string, managersOnly bool) (*admit.Order, error) {
	u, err := admit.RequireUser(ctx)
	if err != nil {
		return nil, err
	}
	o, orgID, err := tx.lockedOrder(ctx, id)
	if err != nil {
		return nil, err
	}
	manager := u.CanManageOrganization(orgID)
	if !manager && o.UserID != u.ID {
		return nil, admit.Errorf(admit.ENOTFOUND, "no order with id %q", id)
	}
	if managersOnly && !manager {
		return nil, admit.Errorf(admit.EFORBIDDEN, "only the event's organizers may do this")
	}
	return o, nil
}

// ReleaseOrder gives up a pending order's hold at once, or an expired
// order's claim to a late payment: ECONFLICT on a paid order (cancel it
// instead).
func (db *DB) ReleaseOrder(ctx context.Context, id string) (*admit.Order, error) {
	return db.changeOrder(ctx, id, false, func(tx *Tx, o *admit.Order) error {
		if o.Status == admit.OrderPaid {
			return admit.Errorf(admit.ECONFLICT, "the order is paid: cancel it instead (POST /api/v1/orders/%s/cancel)", o.ID)
		}
		return tx.withdraw(ctx, o)
	})
}

// withdraw cancels an unpaid order: a pending one gives its seats back; an
// expired one (whose seats went back with its hold, swept or not) is
// cancelled all the same, so that it answers alike before and after the
// sweeper and a late payment can no longer revive it (the outbox stops
// its payment).
func (tx *Tx) withdraw(ctx context.Context, o *admit.Order) error {
	if o.Status == admit.OrderExpired {
		return tx.setOrderStatus(ctx, o, admit.OrderCancelled, nil)
	}
	return tx.release(ctx, o, admit.OrderCancelled)
}

// AbandonOrder releases a pending order whose payment could not be started
// and forgets its request key: the client was told to try again, and its
// retry under the same Idempotency-Key must place a new order, not get
// this one back. An order no longer pending is left as it is.
func (db *DB) AbandonOrder(ctx context.Context, id string) (*admit.Order, error) {
	return db.changeOrder(ctx, id, false, func(tx *Tx, o *admit.Order) error {
		if _, err := tx.ExecContext(ctx, `UPDATE orders SET request_key = NULL WHERE id = $1`, o.ID); err != nil {
			return fmt.Errorf("store: abandon order: %w", err)
		}
		if o.Status != admit.OrderPending {
			return nil
		}
		return tx.release(ctx, o, admit.OrderCancelled)
	})
}

// CancelOrder unregisters: a pending order is released; a paid one has its
// tickets voided and seats returned in this transaction, and is refunded
// per the event's policy.
func (db *DB) CancelOrder(ctx context.Context, id string) (*admit.Order, error) {
	return db.changeOrder(ctx, id, false, func(tx *Tx, o *admit.Order) error {
		if o.Status != admit.OrderPaid {
			return tx.withdraw(ctx, o)
		}
		return tx.cancelPaid(ctx, o)
	})
}

// CancelTicket unregisters one ticket of a paid order: its seat returns to
// the pool and its price is refunded per the event's policy. The order is
// cancelled with its last ticket.
func (db *DB) CancelTicket(ctx context.Context, ticketID string) (*admit.Order, error) {
	var orderID string
	err := db.primary.QueryRowContext(ctx, `SELECT order_id FROM tickets WHERE id = $1`, ticketID).Scan(&orderID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, admit.Errorf(admit.ENOTFOUND, "no ticket with id %q", ticketID)
	}
	if err != nil {
		return nil, fmt.Errorf("store: find ticket: %w", translate(err))
	}
	o, err := db.changeOrder(ctx, orderID, false, func(tx *Tx, o *admit.Order) error {
		i := slices.IndexFunc(o.Tickets, func(t admit.Ticket) bool { return t.ID == ticketID })
		if o.Tickets[i].Status != admit.TicketValid {
			return admit.Errorf(admit.ECONFLICT, "the ticket is already cancelled")
		}
		return tx.cancelTickets(ctx, o, o.Tickets[i:i+1])
	})
	if admit.ErrorCode(err) == admit.ENOTFOUND {
		return nil, admit.Errorf(admit.ENOTFOUND, "no ticket with id %q", ticketID)
	}
	return o, err
}

// changeOrder runs change on a locked order in one transaction, and returns
// the order as it is after.
func (db *DB) changeOrder(ctx context.Context, id string, managersOnly bool, change func(*Tx, *admit.Order) error) (*admit.Order, error) {
	err := db.inTx(ctx, func(tx *Tx) error {
		o, err := tx.orderTx(ctx, id, managersOnly)
		if err != nil {
			return err
		}
		return change(tx, o)
	})
	if err != nil {
		return nil, err
	}
	return db.FindOrder(context.WithoutCancel(ctx), id) // committed: answer even if the caller left
}

// release ends a pending order: its remaining holds return their seats.
func (tx *Tx) release(ctx context.Context, o *admit.Order, to admit.OrderStatus) error {
	if o.Status != admit.OrderPending {
		return admit.Errorf(admit.ECONFLICT, "the order is %s", o.Status)
	}
	if err := tx.releaseHolds(ctx, o.ID); err != nil {
		return err
	}
	return tx.setOrderStatus(ctx, o, to, nil)
}

// releaseHolds deletes an order's holds and takes their seats off the held
// counts, in lock order.
func (tx *Tx) releaseHolds(ctx context.Context, orderID string) error {
	held, err := tx.deleteHolds(ctx, orderID)
	if err != nil {
		return err
	}
	for _, tt := range slices.Sorted(maps.Keys(held)) {
		if _, err := tx.ExecContext(ctx, `UPDATE ticket_types SET held = held - $2 WHERE id = $1`, tt, held[tt]); err != nil {
			return fmt.Errorf("store: release holds: %w", err)
		}
	}
	return nil
}

// deleteHolds deletes an order's holds and returns what they held by
// ticket type; the caller takes that off the held counts.
func (tx *Tx) deleteHolds(ctx context.Context, orderID string) (map[string]int64, error) {
	rows, err := tx.QueryContext(ctx, `DELETE FROM holds WHERE order_id = $1 RETURNING ticket_type_id, quantity`, orderID)
	if err != nil {
		return nil, fmt.Errorf("store: release holds: %w", err)
	}
	type hold struct {
		tt string
		q  int64
	}
	hs, err := scanAll(rows, func(s scanner) (h hold, err error) { return h, s.Scan(&h.tt, &h.q) })
	held := map[string]int64{}
	for _, h := range hs {
		held[h.tt] += h.q
	}
	return held, err
}

// setOrderStatus records a transition and its outbox row.
func (tx *Tx) setOrderStatus(ctx context.Context, o *admit.Order, to admit.OrderStatus, extra map[string]any) error {
	if _, err := tx.ExecContext(ctx, `UPDATE orders SET status = $2, updated_at = $3 WHERE id = $1`, o.ID, to, ts(tx.now)); err != nil {
		return fmt.Errorf("store: order status: %w", err)
	}
	payload := map[string]any{"order_id": o.ID, "event_id": o.EventID, "user_id": o.UserID, "from": o.Status}
	for k, v := range extra {
		payload[k] = v
	}
	o.Status = to
	return tx.outbox(ctx, "order."+string(to), o.ID, payload)
}

// cancelPaid cancels every valid ticket of a paid order.
func (tx *Tx) cancelPaid(ctx context.Context, o *admit.Order) error {
	var valid []admit.Ticket
	for _, t := range o.Tickets {
		if t.Status == admit.TicketValid {
			valid = append(valid, t)
		}
	}
	return tx.cancelTickets(ctx, o, valid)
}

// cancelTickets voids tickets, returns their seats, refunds what the
// policy allows, and cancels the order when none is left valid.
func (tx *Tx) cancelTickets(ctx context.Context, o *admit.Order, tickets []admit.Ticket) error {
	if o.Status != admit.OrderPaid {
		return admit.Errorf(admit.ECONFLICT, "the order is %s", o.Status)
	}
	perType := map[string]int64{}
	var amount int64
	for _, t := range tickets {
		if _, err := tx.ExecContext(ctx, `UPDATE tickets SET status = 'cancelled' WHERE id = $1`, t.ID); err != nil {
			return fmt.Errorf("store: cancel ticket: %w", err)
		}
		perType[t.TicketTypeID]++
		amount += unitPrice(o, t.TicketTypeID)
	}
	for _, tt := range slices.Sorted(maps.Keys(perType)) {
		if _, err := tx.ExecContext(ctx, `UPDATE ticket_types SET sold = sold - $2 WHERE id = $1`, tt, perType[tt]); err != nil {
			return fmt.Errorf("store: return seats: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE events SET popularity = popularity - $2 WHERE id = $1`, o.EventID, len(tickets)); err != nil {
		return fmt.Errorf("store: popularity: %w", err)
	}
	due, err := tx.refundDue(ctx, o, amount)
	if err != nil {
		return err
	}
	if err := tx.refund(ctx, o, due); err != nil {
		return err
	}
	remaining := 0
	for _, t := range o.Tickets {
		if t.Status == admit.TicketValid {
			remaining++
		}
	}
	if remaining == len(tickets) {
		return tx.setOrderStatus(ctx, o, admit.OrderCancelled, map[string]any{"refund": due})
	}
	if _, err := tx.ExecContext(ctx, `UPDATE orders SET updated_at = $2 WHERE id = $1`, o.ID, ts(tx.now)); err != nil {
		return fmt.Errorf("store: order updated: %w", err)
	}
	return tx.outbox(ctx, "ticket.cancelled", o.ID, map[string]any{"order_id": o.ID, "event_id": o.EventID, "user_id": o.UserID, "refund": due})
}

func unitPrice(o *admit.Order, ticketTypeID string) int64 {
	for _, it := range o.Items {
		if it.TicketTypeID == ticketTypeID {
			return it.UnitPrice.Amount
		}
	}
	return 0
}

// refundDue applies the event's policy: in full until the cutoff before the
// start, nothing after; never more than what is left to refund. A cancelled
// event refunds in full whoever cancels first: the buyer who unregisters
// before its settlement reaches the order is owed what the settlement
// would have given back.
func (tx *Tx) refundDue(ctx context.Context, o *admit.Order, amount int64) (int64, error) {
	due := min(amount, o.Total.Amount-o.Refunded.Amount)
	var starts, hours int64
	var status admit.EventStatus
	err := tx.QueryRowContext(ctx, `SELECT starts_at, refund_until_hours_before_start, status FROM events WHERE id = $1`, o.EventID).Scan(&starts, &hours, &status)
	if err != nil {
		return 0, fmt.Errorf("store: refund policy: %w", err)
	}
	if status == admit.EventCancelled {
		return due, nil
	}
	if cutoff := fromTS(starts, time.UTC).Add(-time.Duration(hours) * time.Hour); !tx.now.Before(cutoff) {
		return 0, nil
	}
	return due, nil
}

// refund records a refund of amount and asks for it through the outbox: the
// provider is called after commit, never inside a transaction.
func (tx *Tx) refund(ctx context.Context, o *admit.Order, amount int64) error {
	if amount <= 0 {
		return nil
	}
	id, err := tx.addRefund(ctx, o, amount, admit.RefundPending)
	if err != nil {
		return err
	}
	return tx.outbox(ctx, "refund.requested", o.ID, map[string]any{"refund_id": id, "order_id": o.ID, "amount": amount, "currency": o.Total.Currency})
}

// addRefund records a refund of amount, pending or already sent, adds it
// to the order's refunded total and returns its id.
func (tx *Tx) addRefund(ctx context.Context, o *admit.Order, amount int64, status admit.RefundStatus) (string, error) {
	id := newID("ref")
	var refunded *int64 // when the money went out
	if status == admit.RefundSucceeded {
		at := ts(tx.now)
		refunded = &at
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO refunds (id, order_id, event_id, amount, currency, status, created_at, refunded_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, id, o.ID, o.EventID, amount, o.Total.Currency, string(status), ts(tx.now), refunded)
	if err != nil {
		return "", fmt.Errorf("store: refund: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE orders SET refunded_amount = refunded_amount + $2, updated_at = $3 WHERE id = $1`,
		o.ID, amount, ts(tx.now)); err != nil {
		return "", fmt.Errorf("store: refund: %w", err)
	}
	o.Refunded.Amount += amount // what the rest of the transaction may still refund
	return id, nil
}

// MarkPaid confirms a manual payment: the event's organizers and admins.
func (db *DB) MarkPaid(ctx context.Context, id string) (*admit.Order, error) {
	return db.confirm(ctx, id, "", func(tx *Tx) (*admit.Order, error) {
		o, err := tx.orderTx(ctx, id, true)
		if err != nil {
			return nil, err
		}
		if o.Status == admit.OrderCancelled {
			return nil, admit.Errorf(admit.ECONFLICT, "the order is cancelled: a cancelled order cannot be paid")
		}
		if o.Payment.Provider != admit.ProviderManual {
			return nil, admit.Errorf(admit.ECONFLICT, "this order is paid through %s, not by hand", o.Payment.Provider)
		}
		return o, nil
	})
}

// SetPayment records the provider's payment of a pending order; ECONFLICT
// when the order is no longer pending (released meanwhile).
func (db *DB) SetPayment(ctx context.Context, orderID, ref, clientSecret string) error {
	res, err := db.primary.ExecContext(ctx, `UPDATE orders SET payment_ref = $2, client_secret = $3 WHERE id = $1 AND status = 'pending'`,
		orderID, ref, clientSecret)
	if err != nil {
		return fmt.Errorf("store: set payment: %w", translate(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return admit.Errorf(admit.ECONFLICT, "the order was released while its payment started (its event was cancelled?): order again")
	}
	return nil
}

// Payment is a provider's word that an order is paid.
type Payment struct {
	Provider string
	NoticeID string // the provider's id of this notice (a webhook event): each is applied once
	OrderID  string
	Ref      string      // the provider's id of the payment, if known
	Amount   admit.Money // what was paid; the zero Money when not told
}

// ConfirmPayment records a provider's word that an order is paid (a
// webhook). It happens once per provider event id: a replay changes
// nothing. A payment of another amount than the order's total, or of
// another payment than the order's, is EINVALID and changes nothing.
func (db *DB) ConfirmPayment(ctx context.Context, p Payment) (*admit.Order, error) {
	return db.confirm(ctx, p.OrderID, p.Ref, func(tx *Tx) (*admit.Order, error) {
		if first, err := tx.firstNotice(ctx, p.Provider, p.NoticeID); err != nil || !first {
			return nil, err
		}
		o, _, err := tx.lockedOrder(ctx, p.OrderID)
		if err != nil {
			return nil, err
		}
		if p.Provider != o.Payment.Provider {
			// Money taken some other way than the order asked for would be
			// "refunded" through a provider that never had it.
			return nil, admit.Errorf(admit.EINVALID, "order %s is paid by %s, not %s", o.ID, o.Payment.Provider, p.Provider)
		}
		if p.Ref != "" && o.Payment.Reference != "" && o.Payment.Reference != p.Ref {
			return nil, admit.Errorf(admit.EINVALID, "the payment %s is not this order's", p.Ref)
		}
		if p.Amount.Currency != "" && p.Amount != o.Total {
			return nil, admit.Errorf(admit.EINVALID, "the payment %s is of %d %s, but order %s totals %d %s",
				p.Ref, p.Amount.Amount, p.Amount.Currency, o.ID, o.Total.Amount, o.Total.Currency)
		}
		return o, nil
	})
}

// firstNotice records a provider's notice (a webhook event) as seen and
// reports whether it is new: each is applied once, however often delivered.
func (tx *Tx) firstNotice(ctx context.Context, provider, id string) (bool, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO webhook_events (provider, event_id, received_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		provider, id, ts(tx.now))
	if err != nil {
		return false, fmt.Errorf("store: webhook event: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// paymentSettled reports whether an order's payment was dealt with: it is
// paid, failed (and refunded), or was paid and cancelled since (its tickets
// remain, voided).
func paymentSettled(o *admit.Order) bool {
	return o.Status == admit.OrderPaid || o.Status == admit.OrderFailed || o.Status == admit.OrderCancelled && len(o.Tickets) > 0
}

// confirm moves an order to paid: its holds become sales, or, if the hold
// lapsed, seats are taken again; when they are gone, or the order was
// cancelled before the payment came, the order fails and its payment is
// refunded. load returns the locked order (nil: nothing to do).
func (db *DB) confirm(ctx context.Context, id, ref string, load func(*Tx) (*admit.Order, error)) (*admit.Order, error) {
	err := db.inTx(ctx, func(tx *Tx) error {
		o, err := load(tx)
		if err != nil || o == nil {
			return err
		}
		switch {
		case paymentSettled(o):
			return nil // confirming twice changes nothing
		case o.Status == admit.OrderCancelled:
			return &paymentRefused{reason: "the order was cancelled before its payment arrived"}
		case o.Refunded.Amount >= o.Total.Amount: // Stripe's notices may come in any order
			return &paymentRefused{reason: "the payment was refunded in full at the provider before it was confirmed"}
		}
		return tx.pay(ctx, o, ref)
	})
	var refused *paymentRefused
	if errors.As(err, &refused) {
		err = db.inTx(ctx, func(tx *Tx) error {
			o, _, err := tx.lockedOrder(ctx, id)
			if err != nil || paymentSettled(o) { // settled by another between the two transactions
				return err
			}
			return tx.fail(ctx, o, ref, refused.reason)
		})
	}
	if err != nil {
		return nil, err
	}
	// Committed: answer even if the caller left.
	return db.FindOrder(admit.NewContextWithUser(context.WithoutCancel(ctx), admit.System), id)
}

// pay turns a pending (or expired) order into a paid one.
func (tx *Tx) pay(ctx context.Context, o *admit.Order, ref string) error {
	// The held seats become sold in one UPDATE per ticket type, with the
	// sweeps, as placeOrder takes its locks (holds, then ticket types):
	// always there when the hold was whole, there or not when it lapsed,
	// and never once the event was cancelled (its orders are being settled).
	held, err := tx.takeSeats(ctx, o, true, o.ID)
	if errors.Is(err, errEventCancelled) {
		return &paymentRefused{reason: "the event is cancelled"}
	} else if admit.ErrorCode(err) == admit.ECONFLICT {
		return &paymentRefused{reason: "sold out after the hold expired"}
	} else if err != nil {
		return err
	}
	lapsed := o.Status != admit.OrderPending || !tx.now.Before(o.ExpiresAt)
	for _, it := range o.Items {
		lapsed = lapsed || held[it.TicketTypeID] != it.Quantity
	}
	attendees, buyer, err := tx.ticketHolders(ctx, o)
	if err != nil {
		return err
	}
	if err := tx.issueTickets(ctx, o, attendees, buyer); err != nil {
		return err
	}
	if err := tx.setPaymentRef(ctx, o, ref); err != nil {
		return err
	}
	return tx.setOrderStatus(ctx, o, admit.OrderPaid, map[string]any{"late": lapsed})
}

// fail records that a paid-for order could not get its seats, and why: it
// fails and its payment is refunded in full, and the attendee is told
// (outbox).
func (tx *Tx) fail(ctx context.Context, o *admit.Order, ref, reason string) error {
	if err := tx.releaseHolds(ctx, o.ID); err != nil {
		return err
	}
	if err := tx.setPaymentRef(ctx, o, ref); err != nil {
		return err
	}
	if err := tx.refund(ctx, o, o.Total.Amount-o.Refunded.Amount); err != nil {
		return err
	}
	return tx.setOrderStatus(ctx, o, admit.OrderFailed, map[string]any{"reason": reason})
}

// setPaymentRef records the provider's reference of the payment, if given.
func (tx *Tx) setPaymentRef(ctx context.Context, o *admit.Order, ref string) error {
	if ref == "" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE orders SET payment_ref = $2 WHERE id = $1`, o.ID, ref); err != nil {
		return fmt.Errorf("store: payment ref: %w", err)
	}
	o.Payment.Reference = ref
	return nil
}

// ticketHolders returns the attendees a pending order named and its buyer.
func (tx *Tx) ticketHolders(ctx context.Context, o *admit.Order) ([]admit.Attendee, *admit.User, error) {
	var raw string
	if err := tx.QueryRowContext(ctx, `SELECT attendees FROM orders WHERE id = $1`, o.ID).Scan(&raw); err != nil {
		return nil, nil, fmt.Errorf("store: attendees: %w", err)
	}
	var attendees []admit.Attendee
	json.Unmarshal([]byte(raw), &attendees)
	buyer, err := findUser(ctx, tx, `u.id = $1`, o.UserID)
	return attendees, buyer, err
}

// ExpireOrders records the expiry of up to limit pending orders whose hold
// lapsed, returning their seats; it returns how many it expired.
func (db *DB) ExpireOrders(ctx context.Context, limit int) (int, error) {
	ids, err := db.orderIDs(ctx, `status = 'pending' AND expires_at <= $1 ORDER BY expires_at LIMIT $2`, ts(db.Now()), limit)
	if err != nil {
		return 0, err
	}
	expired := map[string]bool{} // what committed: a transaction may run twice
	err = db.settleOrders(ctx, ids, func(tx *Tx, o *admit.Order) error {
		delete(expired, o.ID)
		if o.Status != admit.OrderPending || tx.now.Before(o.ExpiresAt) {
			return nil // paid or released meanwhile
		}
		expired[o.ID] = true
		return tx.release(ctx, o, admit.OrderExpired)
	})
	return len(expired), err
}

// CancelEventOrders settles the orders of a cancelled event: pending ones
// are released, paid ones cancelled and refunded in full whatever the
// policy. Each order is settled in a transaction of its own, so that a
// large event takes no long lock; the event's ticket types are closed, so
// no new order can appear meanwhile. It is idempotent: CancelEvent runs it,
// and the event.cancelled outbox row again after a crash.
func (db *DB) CancelEventOrders(ctx context.Context, eventID string) error {
	var status admit.EventStatus
	if err := db.primary.QueryRowContext(ctx, `SELECT status FROM events WHERE id = $1`, eventID).Scan(&status); err != nil {
		return fmt.Errorf("store: cancelled event %s: %w", eventID, err)
	}
	if status != admit.EventCancelled {
		return fmt.Errorf("store: event %s is %s, not cancelled: its orders stay", eventID, status)
	}
	for {
		ids, err := db.orderIDs(ctx, `event_id = $1 AND status IN ('pending', 'expired', 'paid') ORDER BY id LIMIT 100`, eventID)
		if err != nil || len(ids) == 0 {
			return err
		}
		err = db.settleOrders(ctx, ids, func(tx *Tx, o *admit.Order) error {
			switch o.Status {
			case admit.OrderPaid:
				return tx.cancelPaid(ctx, o)
			case admit.OrderPending, admit.OrderExpired:
				return tx.withdraw(ctx, o)
			}
			return nil // settled meanwhile
		})
		if err != nil {
			return err
		}
	}
}

// EventCancelled is the outbox handler of event.cancelled: it settles the
// orders that the cancellation itself did not get to (its process died).
func (db *DB) EventCancelled(ctx context.Context, m OutboxMessage) error {
	var p struct {
		EventID string `json:"event_id"`
	}
	if err := json.Unmarshal(m.Payload, &p); err != nil {
		return fmt.Errorf("store: event.cancelled payload: %w", err)
	}
	return db.CancelEventOrders(ctx, p.EventID)
}

// orderIDs lists the ids of the orders matching where (and its order and
// limit).
func (db *DB) orderIDs(ctx context.Context, where string, args ...any) ([]string, error) {
	return queryIDs(ctx, db.primary, `SELECT id FROM orders WHERE `+where, args...)
}

// settleOrders runs settle on each order of ids, locked, each in a
// transaction of its own.
func (db *DB) settleOrders(ctx context.Context, ids []string, settle func(*Tx, *admit.Order) error) error {
	for _, id := range ids {
		err := db.inTx(ctx, func(tx *Tx) error {
			o, _, err := tx.lockedOrder(ctx, id)
			if err != nil {
				return err
			}
			return settle(tx, o)
		})
		if err != nil {
			return err
		}
	}
	return nil
}
