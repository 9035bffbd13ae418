package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"
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
	// RETURNING keeps no order: deliver in the order of the changes.
	slices.SortFunc(msgs, func(a, b OutboxMessage) int { return cmp.Compare(a.Seq, b.Seq) })
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

// OutboxStats counts the messages not yet delivered: Pending are still
// being tried, Dead were parked after their last attempt and wait for a
// person (admit outbox). OldestPending is the creation time of the oldest
// pending message, zero when there is none.
type OutboxStats struct {
	Pending, Dead int64
	OldestPending time.Time
}

// OutboxStats reads the outbox's backlog, for metrics.
func (db *DB) OutboxStats(ctx context.Context) (OutboxStats, error) {
	var s OutboxStats
	var oldest sql.NullInt64
	err := db.primary.QueryRowContext(ctx, `SELECT
			COUNT(*) FILTER (WHERE dead_at IS NULL), COUNT(*) FILTER (WHERE dead_at IS NOT NULL),
			MIN(created_at) FILTER (WHERE dead_at IS NULL)
		FROM outbox WHERE delivered_at IS NULL`).Scan(&s.Pending, &s.Dead, &oldest)
	if err != nil {
		return s, fmt.Errorf("store: outbox stats: %w", err)
	}
	if oldest.Valid {
		s.OldestPending = fromTS(oldest.Int64, time.UTC)
	}
	return s, nil
}

// DeadMessage is a message parked in the dead-letter state.
type DeadMessage struct {
	OutboxMessage
	DeadAt    time.Time
	LastError string
}

// DeadOutbox lists up to limit dead messages, oldest first.
func (db *DB) DeadOutbox(ctx context.Context, limit int) ([]DeadMessage, error) {
	rows, err := db.primary.QueryContext(ctx, `SELECT seq, topic, aggregate_id, payload, attempts, dead_at, last_error
		FROM outbox WHERE delivered_at IS NULL AND dead_at IS NOT NULL ORDER BY seq LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: dead outbox: %w", err)
	}
	return scanAll(rows, func(s scanner) (m DeadMessage, err error) {
		var payload string
		var deadAt int64
		err = s.Scan(&m.Seq, &m.Topic, &m.AggregateID, &payload, &m.Attempts, &deadAt, &m.LastError)
		m.Payload, m.DeadAt = []byte(payload), fromTS(deadAt, time.UTC)
		return m, err
	})
}

// ReviveOutbox puts dead messages back in line with a fresh count of
// attempts, for delivery at once; with no seqs, every dead message. It
// returns how many it revived (messages not dead are left alone).
func (db *DB) ReviveOutbox(ctx context.Context, seqs ...int64) (int64, error) {
	var q query
	now := q.arg(ts(db.Now()))
	q.and("delivered_at IS NULL AND dead_at IS NOT NULL")
	if len(seqs) > 0 {
		in := make([]any, len(seqs))
		for i, s := range seqs {
			in[i] = s
		}
		q.and("seq IN " + q.in(in...))
	}
	res, err := db.primary.ExecContext(ctx, `UPDATE outbox SET dead_at = NULL, attempts = 0, available_at = `+now+q.whereSQL(), q.args...)
	if err != nil {
		return 0, fmt.Errorf("store: revive outbox: %w", err)
	}
	return res.RowsAffected()
}

// OutboxRetention is how long a delivered message is kept, for a person
// tracing what happened to an order; the orders themselves keep their state.
const OutboxRetention = 7 * 24 * time.Hour

// PruneOutbox deletes up to limit messages delivered before cutoff, so that
// the outbox does not grow with every order ever placed. Dead and pending
// messages are kept whatever their age, and so is the last message: SQLite
// numbers a new row after the highest left, and a sequence number must
// never name two messages (handlers are keyed by it).
func (db *DB) PruneOutbox(ctx context.Context, cutoff time.Time, limit int) (int64, error) {
	res, err := db.primary.ExecContext(ctx, `DELETE FROM outbox WHERE seq IN
		(SELECT seq FROM outbox WHERE delivered_at < $1 AND seq < (SELECT MAX(seq) FROM outbox) ORDER BY delivered_at LIMIT $2)`,
		ts(cutoff), limit)
	if err != nil {
		return 0, fmt.Errorf("store: prune outbox: %w", err)
	}
	return res.RowsAffected()
}
