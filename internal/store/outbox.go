package store

import (
	"context"
	"fmt"
	"time"

	"github.com/admit-events/admit"
)

// OutboxMessage is one row of the outbox being delivered.
type OutboxMessage struct {
	Seq         int64
	Topic       string
	AggregateID string
	Payload     []byte
	Attempts    int
}

// ClaimOutbox leases up to limit due messages for lease: other processes
// skip them until the lease ends, so a crashed worker's messages are
// delivered again (at least once).
func (db *DB) ClaimOutbox(ctx context.Context, limit int, lease time.Duration) ([]OutboxMessage, error) {
	var msgs []OutboxMessage
	err := db.inTx(ctx, func(tx *Tx) error {
		skipLocked := ""
		if db.engine == postgresEngine {
			skipLocked = " FOR UPDATE SKIP LOCKED"
		}
		rows, err := tx.QueryContext(ctx, `UPDATE outbox SET available_at = $1, attempts = attempts + 1
			WHERE seq IN (SELECT seq FROM outbox WHERE delivered_at IS NULL AND dead_at IS NULL AND available_at <= $2
			              ORDER BY seq LIMIT $3`+skipLocked+`)
			RETURNING seq, topic, aggregate_id, payload, attempts`, ts(tx.now.Add(lease)), ts(tx.now), limit)
		if err != nil {
			return fmt.Errorf("store: claim outbox: %w", err)
		}
		msgs, err = scanAll(rows, func(s scanner) (m OutboxMessage, err error) {
			var payload string
			err = s.Scan(&m.Seq, &m.Topic, &m.AggregateID, &payload, &m.Attempts)
			m.Payload = []byte(payload)
			return m, err
		})
		return err
	})
	return msgs, err
}

// DeliveredOutbox marks messages handled, in one statement.
func (db *DB) DeliveredOutbox(ctx context.Context, seqs ...int64) error {
	if len(seqs) == 0 {
		return nil
	}
	var q query
	at := q.arg(ts(db.Now()))
	in := make([]any, len(seqs))
	for i, s := range seqs {
		in[i] = s
	}
	_, err := db.primary.ExecContext(ctx, `UPDATE outbox SET delivered_at = `+at+`, last_error = '' WHERE seq IN `+q.in(in...), q.args...)
	return err
}

// RetryOutbox records a failed delivery: it is tried again at retryAt, or,
// when dead, parked in the visible dead-letter state.
func (db *DB) RetryOutbox(ctx context.Context, seq int64, cause string, retryAt time.Time, dead bool) error {
	var deadAt any
	if dead {
		deadAt = ts(db.Now())
	}
	_, err := db.primary.ExecContext(ctx, `UPDATE outbox SET available_at = $2, last_error = $3, dead_at = $4 WHERE seq = $1`,
		seq, ts(retryAt), cause, deadAt)
	return err
}

// Refund is a refund to send to a payment provider.
type Refund struct {
	ID, OrderID, Provider, PaymentRef, Status string
	Amount                                    int64
	Currency                                  string
}

// FindRefund returns a refund with its order's payment.
func (db *DB) FindRefund(ctx context.Context, id string) (Refund, error) {
	var r Refund
	err := db.primary.QueryRowContext(ctx, `SELECT r.id, r.order_id, o.provider, o.payment_ref, r.status, r.amount, r.currency
		FROM refunds r JOIN orders o ON o.id = r.order_id WHERE r.id = $1`, id).
		Scan(&r.ID, &r.OrderID, &r.Provider, &r.PaymentRef, &r.Status, &r.Amount, &r.Currency)
	if err != nil {
		return r, fmt.Errorf("store: find refund %s: %w", id, err)
	}
	return r, nil
}

// CompleteRefund records the provider's answer to a refund.
func (db *DB) CompleteRefund(ctx context.Context, id, status, providerRef string) error {
	_, err := db.primary.ExecContext(ctx, `UPDATE refunds SET status = $2, provider_ref = $3 WHERE id = $1`, id, status, providerRef)
	return err
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

// RefundsOf returns an order's refunds, oldest first.
func (db *DB) RefundsOf(ctx context.Context, orderID string) ([]Refund, error) {
	rows, err := db.primary.QueryContext(ctx, `SELECT r.id, r.order_id, o.provider, r.provider_ref, r.status, r.amount, r.currency
		FROM refunds r JOIN orders o ON o.id = r.order_id WHERE r.order_id = $1 ORDER BY r.created_at, r.id`, orderID)
	if err != nil {
		return nil, fmt.Errorf("store: refunds: %w", err)
	}
	return scanAll(rows, func(s scanner) (r Refund, err error) {
		return r, s.Scan(&r.ID, &r.OrderID, &r.Provider, &r.PaymentRef, &r.Status, &r.Amount, &r.Currency)
	})
}
