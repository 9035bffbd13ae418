package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/admit-events/admit"
)

// Refund is a refund to send to a payment provider, with the payment it
// gives money back from.
type Refund struct {
	admit.Refund
	PaymentRef string // the order's payment (a PaymentIntent id)
}

const refundColumns = `r.id, r.order_id, r.event_id, r.amount, r.currency, o.provider, r.status, r.provider_ref, r.created_at, r.refunded_at`

func scanRefund(s scanner, more ...any) (admit.Refund, error) {
	var r admit.Refund
	var created int64
	var refunded sql.NullInt64
	err := s.Scan(append([]any{&r.ID, &r.OrderID, &r.EventID, &r.Amount.Amount, &r.Amount.Currency, &r.Provider, &r.Status,
		&r.Reference, &created, &refunded}, more...)...)
	r.CreatedAt = fromTS(created, time.UTC)
	if refunded.Valid {
		at := fromTS(refunded.Int64, time.UTC)
		r.RefundedAt = &at
	}
	return r, err
}

// FindRefund returns a refund with its order's payment.
func (db *DB) FindRefund(ctx context.Context, id string) (Refund, error) {
	var r Refund
	var err error
	r.Refund, err = scanRefund(db.primary.QueryRowContext(ctx, `SELECT `+refundColumns+`, o.payment_ref
		FROM refunds r JOIN orders o ON o.id = r.order_id WHERE r.id = $1`, id), &r.PaymentRef)
	if errors.Is(err, sql.ErrNoRows) {
		return r, admit.Errorf(admit.ENOTFOUND, "no refund with id %q", id)
	}
	if err != nil {
		return r, fmt.Errorf("store: find refund %s: %w", id, err)
	}
	return r, nil
}

// CompleteRefund records that a provider sent a refund, under its
// reference, with a refund.succeeded outbox row (once: a refund completed
// before changes nothing).
func (db *DB) CompleteRefund(ctx context.Context, id, providerRef string) error {
	return db.inTx(ctx, func(tx *Tx) error { return tx.completeRefund(ctx, id, providerRef) })
}

func (tx *Tx) completeRefund(ctx context.Context, id, providerRef string) error {
	var r admit.Refund
	err := tx.QueryRowContext(ctx, `UPDATE refunds SET status = 'succeeded', provider_ref = $2, refunded_at = $3 WHERE id = $1 AND status = 'pending'
		RETURNING order_id, event_id, amount, currency`, id, providerRef, ts(tx.now)).Scan(&r.OrderID, &r.EventID, &r.Amount.Amount, &r.Amount.Currency)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // completed before
	}
	if err != nil {
		return fmt.Errorf("store: complete refund: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE orders SET updated_at = $2 WHERE id = $1`, r.OrderID, ts(tx.now)); err != nil {
		return fmt.Errorf("store: complete refund: %w", err)
	}
	return tx.outbox(ctx, "refund.succeeded", r.OrderID, map[string]any{"refund_id": id, "order_id": r.OrderID, "event_id": r.EventID,
		"amount": r.Amount.Amount, "currency": r.Amount.Currency})
}

// ProviderRefunds is a provider's word of what a payment has refunded in
// all, whoever asked for it (Stripe's charge.refunded).
type ProviderRefunds struct {
	Provider   string
	NoticeID   string // the provider's id of this notice: each is applied once
	PaymentRef string
	Refunded   admit.Money
}

// RecordProviderRefunds records refunds made at the provider outside Admit
// (in Stripe's dashboard): what the payment has refunded beyond the refunds
// Admit knows of becomes a refund already sent, so that no later
// cancellation gives that money back twice. The tickets stay valid: an
// organizer who refunded in order to cancel also cancels in Admit, which
// then refunds no more than what is left. ENOTFOUND for a payment that is
// no order's; EINVALID for refunds in another currency than the order's.
func (db *DB) RecordProviderRefunds(ctx context.Context, n ProviderRefunds) error {
	return db.inTx(ctx, func(tx *Tx) error {
		if first, err := tx.firstNotice(ctx, n.Provider, n.NoticeID); err != nil || !first {
			return err
		}
		var id string
		err := tx.QueryRowContext(ctx, `SELECT id FROM orders WHERE provider = $1 AND payment_ref = $2 AND payment_ref <> ''`, n.Provider, n.PaymentRef).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) { // (the condition on '' lets the partial index serve)
			return admit.Errorf(admit.ENOTFOUND, "no order is paid by %s payment %q", n.Provider, n.PaymentRef)
		} else if err != nil {
			return fmt.Errorf("store: order of payment %s: %w", n.PaymentRef, err)
		}
		o, _, err := tx.lockedOrder(ctx, id)
		if err != nil {
			return err
		}
		if n.Refunded.Currency != o.Total.Currency {
			return admit.Errorf(admit.EINVALID, "payment %s refunded %s, but order %s is in %s", n.PaymentRef, n.Refunded.Currency, o.ID, o.Total.Currency)
		}
		known := o.Refunded.Amount // every refund Admit made or asked for, sent or on its way
		return tx.refundedOutside(ctx, o, min(n.Refunded.Amount-known, o.Total.Amount-known))
	})
}

// refundedOutside records amount as refunded already, by the provider.
func (tx *Tx) refundedOutside(ctx context.Context, o *admit.Order, amount int64) error {
	if amount <= 0 {
		return nil
	}
	id, err := tx.addRefund(ctx, o, amount, admit.RefundSucceeded)
	if err != nil {
		return err
	}
	return tx.outbox(ctx, "refund.succeeded", o.ID, map[string]any{"refund_id": id, "order_id": o.ID, "event_id": o.EventID,
		"amount": amount, "currency": o.Total.Currency, "outside_admit": true})
}

// ShortenRefund settles refund id that the provider refused because the
// payment was refunded outside Admit meanwhile (in Stripe's dashboard),
// before that refund's notice arrived: only sendable can still go back.
// The refund fails; what the provider gave back by other means is recorded
// as sent; the rest, if any, is asked for anew (a new refund, with its own
// idempotency key). The order's refunded total stays as it was. A refund
// no longer pending is left alone.
func (db *DB) ShortenRefund(ctx context.Context, id string, sendable int64) error {
	return db.inTx(ctx, func(tx *Tx) error {
		r, err := scanRefund(tx.QueryRowContext(ctx, `SELECT `+refundColumns+` FROM refunds r JOIN orders o ON o.id = r.order_id WHERE r.id = $1`, id))
		if err != nil {
			return fmt.Errorf("store: find refund %s: %w", id, translate(err))
		}
		o, _, err := tx.lockedOrder(ctx, r.OrderID)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE refunds SET status = 'failed' WHERE id = $1 AND status = 'pending'`, id)
		if err != nil {
			return fmt.Errorf("store: fail refund: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // completed meanwhile
		}
		if _, err := tx.ExecContext(ctx, `UPDATE orders SET refunded_amount = refunded_amount - $2 WHERE id = $1`, o.ID, r.Amount.Amount); err != nil {
			return fmt.Errorf("store: fail refund: %w", err)
		}
		o.Refunded.Amount -= r.Amount.Amount
		sendable = max(0, min(sendable, r.Amount.Amount))
		if err := tx.outbox(ctx, "refund.failed", o.ID, map[string]any{"refund_id": id, "order_id": o.ID, "event_id": o.EventID,
			"reason": "refunded outside Admit meanwhile"}); err != nil {
			return err
		}
		if err := tx.refundedOutside(ctx, o, r.Amount.Amount-sendable); err != nil {
			return err
		}
		return tx.refund(ctx, o, sendable)
	})
}

// MarkRefunded records that an organizer paid a manual refund back: the
// event's organizers and admins (anyone else: ENOTFOUND). Stripe refunds
// are Admit's to send (ECONFLICT); marking a refund twice changes nothing.
func (db *DB) MarkRefunded(ctx context.Context, id string) (*admit.Refund, error) {
	u, err := admit.RequireUser(ctx)
	if err != nil {
		return nil, err
	}
	var r admit.Refund
	err = db.inTx(ctx, func(tx *Tx) error {
		var orgID string
		r, err = scanRefund(tx.QueryRowContext(ctx, `SELECT `+refundColumns+`, e.organization_id
			FROM refunds r JOIN orders o ON o.id = r.order_id JOIN events e ON e.id = r.event_id WHERE r.id = $1`+tx.db.engine.forUpdate("r"), id), &orgID)
		switch {
		case errors.Is(err, sql.ErrNoRows) || err == nil && !u.CanManageOrganization(orgID):
			return admit.Errorf(admit.ENOTFOUND, "no refund with id %q", id)
		case err != nil:
			return fmt.Errorf("store: find refund %s: %w", id, err)
		case r.Provider != admit.ProviderManual:
			return admit.Errorf(admit.ECONFLICT, "this refund goes back through %s: Admit sends it, it cannot be marked by hand", r.Provider)
		case r.Status != admit.RefundPending:
			return nil
		}
		if err := tx.completeRefund(ctx, id, ""); err != nil {
			return err
		}
		at := tx.now.UTC()
		r.Status, r.RefundedAt = admit.RefundSucceeded, &at
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// ListRefunds returns a page of an event's refunds, oldest first, of one
// status ("": all), with the buyer's email (whom to pay back): the event's
// organizers and admins only (EFORBIDDEN).
func (db *DB) ListRefunds(ctx context.Context, eventID string, status admit.RefundStatus, page admit.Page) ([]admit.Refund, string, error) {
	if err := db.canSeeOrders(ctx, eventID, "only the event's organizers see its refunds"); err != nil {
		return nil, "", err
	}
	var q query
	q.and("r.event_id = " + q.arg(eventID))
	if status != "" {
		q.and("r.status = " + q.arg(string(status)))
	}
	if c := page.Cursor; c != nil {
		v, err := c.IntValue()
		if err != nil {
			return nil, "", err
		}
		q.and("(r.created_at, r.id) > (" + q.arg(v) + ", " + q.arg(c.ID) + ")")
	}
	limit := pageLimit(page)
	sqlText := `SELECT ` + refundColumns + `, COALESCE(u.email, '')
		FROM refunds r JOIN orders o ON o.id = r.order_id LEFT JOIN users u ON u.id = o.user_id` + q.whereSQL() +
		` ORDER BY r.created_at, r.id LIMIT ` + strconv.Itoa(limit+1)
	db.trace(sqlText, q.args)
	rows, err := db.primary.QueryContext(ctx, sqlText, q.args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: refunds: %w", err)
	}
	refunds, err := scanAll(rows, func(s scanner) (admit.Refund, error) {
		var email string
		r, err := scanRefund(s, &email)
		r.BuyerEmail = email
		return r, err
	})
	if err != nil {
		return nil, "", err
	}
	refunds, next := nextCursor(refunds, limit, admit.RefundSort, func(r admit.Refund) (string, string) {
		return strconv.FormatInt(ts(r.CreatedAt), 10), r.ID
	})
	return refunds, next, nil
}

// attachRefunds loads the refunds of the orders that have any, oldest first.
func attachRefunds(ctx context.Context, q queryer, byID map[string]*admit.Order) error {
	var in query
	var ids []any
	for id, o := range byID {
		if o.Refunded.Amount > 0 {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := q.QueryContext(ctx, `SELECT `+refundColumns+` FROM refunds r JOIN orders o ON o.id = r.order_id
		WHERE r.order_id IN `+in.in(ids...)+` ORDER BY r.created_at, r.id`, in.args...)
	if err != nil {
		return fmt.Errorf("store: order refunds: %w", err)
	}
	_, err = scanAll(rows, func(s scanner) (struct{}, error) {
		r, err := scanRefund(s)
		if err == nil {
			o := byID[r.OrderID]
			o.Refunds = append(o.Refunds, r)
		}
		return struct{}{}, err
	})
	return err
}
