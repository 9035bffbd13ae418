package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/admit-events/admit"
)

// IdempotencyTTL is how long an idempotency key is remembered: an older
// record counts as absent and SweepIdempotencyKeys may delete it.
const IdempotencyTTL = 24 * time.Hour

// BeginIdempotent claims the key of a caller for a request with the given
// hash. The result is IdempotentProceed when the caller now owns the key (it
// was new, older than IdempotencyTTL, or its previous owner's lease ran out)
// and must finish with CompleteIdempotent or AbandonIdempotent, passing the
// result's Owner, before now + lease; IdempotentReplay with the stored response when the request
// completed earlier; IdempotentInProgress while another request holds the
// lease; IdempotentMismatch when the key was used with a different hash.
//
// Concurrent claims are settled by the primary key, not by reading first:
// exactly one insert (or one conditional takeover) wins on both engines.
func (db *DB) BeginIdempotent(ctx context.Context, userID, key, requestHash string, lease time.Duration) (admit.IdempotentResult, error) {
	var res admit.IdempotentResult
	owner := newID("own")
	proceed := admit.IdempotentResult{Outcome: admit.IdempotentProceed, Owner: owner}
	err := db.inTx(ctx, func(tx *Tx) error {
		now := ts(tx.now)
		lockedUntil := ts(tx.now.Add(lease))
		// An expired record counts as absent. Deleting it by its key (not
		// reading it first) keeps two claimers from both deleting and both
		// inserting: PostgreSQL makes the second wait for the first, then
		// finds nothing left to delete and conflicts on the insert.
		if _, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND created_at <= $3`,
			userID, key, ts(tx.now.Add(-IdempotencyTTL))); err != nil {
			return fmt.Errorf("store: begin idempotent: %w", translate(err))
		}
		// Between the insert's conflict and the read below, the owner may
		// abandon the key; then the insert is tried again.
		for range 3 {
			r, err := tx.ExecContext(ctx, `
				INSERT INTO idempotency_keys (user_id, key, request_hash, created_at, locked_until, owner)
				VALUES ($1, $2, $3, $4, $5, $6)
				ON CONFLICT (user_id, key) DO NOTHING`, userID, key, requestHash, now, lockedUntil, owner)
			if err != nil {
				return fmt.Errorf("store: begin idempotent: %w", translate(err))
			}
			if n, _ := r.RowsAffected(); n == 1 {
				res = proceed
				return nil
			}
			// Take over a request whose owner let its lease run out (it
			// crashed or hung). The conditions are re-checked under the row
			// lock, so of two takers only one succeeds.
			r, err = tx.ExecContext(ctx, `
				UPDATE idempotency_keys SET locked_until = $4, owner = $6
				WHERE user_id = $1 AND key = $2 AND request_hash = $3 AND status_code IS NULL AND locked_until <= $5`,
				userID, key, requestHash, lockedUntil, now, owner)
			if err != nil {
				return fmt.Errorf("store: begin idempotent: %w", translate(err))
			}
			if n, _ := r.RowsAffected(); n == 1 {
				res = proceed
				return nil
			}
			var (
				hash        string
				status      sql.NullInt64
				contentType sql.NullString
				location    string
				body        []byte
			)
			err = tx.QueryRowContext(ctx, `SELECT request_hash, status_code, content_type, body, location FROM idempotency_keys WHERE user_id = $1 AND key = $2`,
				userID, key).Scan(&hash, &status, &contentType, &body, &location)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return fmt.Errorf("store: begin idempotent: %w", translate(err))
			}
			switch {
			case hash != requestHash:
				res = admit.IdempotentResult{Outcome: admit.IdempotentMismatch}
			case status.Valid:
				if body == nil {
					body = []byte{}
				}
				res = admit.IdempotentResult{Outcome: admit.IdempotentReplay, IdempotentResponse: admit.IdempotentResponse{
					StatusCode: int(status.Int64), ContentType: contentType.String, Location: location, Body: body}}
			default:
				res = admit.IdempotentResult{Outcome: admit.IdempotentInProgress}
			}
			return nil
		}
		// The key keeps appearing and vanishing: let the caller ask again.
		res = admit.IdempotentResult{Outcome: admit.IdempotentInProgress}
		return nil
	})
	if err != nil {
		return admit.IdempotentResult{}, err
	}
	return res, nil
}

// CompleteIdempotent stores the response of the request that owns the key
// (owner is its claim's); repeats of the request are answered with it from
// now on. ENOTFOUND when the key is not in progress under that claim
// (abandoned, swept, completed, or taken over after its lease ran out).
func (db *DB) CompleteIdempotent(ctx context.Context, userID, key, owner string, res admit.IdempotentResponse) error {
	body := res.Body
	if body == nil {
		body = []byte{}
	}
	r, err := db.primary.ExecContext(ctx, `
		UPDATE idempotency_keys SET status_code = $4, content_type = $5, body = $6, locked_until = $7, location = $8
		WHERE user_id = $1 AND key = $2 AND owner = $3 AND status_code IS NULL`,
		userID, key, owner, res.StatusCode, res.ContentType, body, ts(db.Now()), res.Location)
	if err != nil {
		return fmt.Errorf("store: complete idempotent: %w", translate(err))
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return admit.Errorf(admit.ENOTFOUND, "no request in progress with this idempotency key and claim")
	}
	return nil
}

// AbandonIdempotent forgets the key claimed by owner, so that a retry of
// the request runs it again (after a server error, say). Forgetting an
// absent key, or one claimed since by another, is no error and does
// nothing.
func (db *DB) AbandonIdempotent(ctx context.Context, userID, key, owner string) error {
	_, err := db.primary.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND owner = $3 AND status_code IS NULL`,
		userID, key, owner)
	if err != nil {
		return fmt.Errorf("store: abandon idempotent: %w", translate(err))
	}
	return nil
}

// ExtendIdempotent renews the lease of the request that still owns key
// under its claim, so that a long request is not taken over by a retry
// while it runs. ENOTFOUND when the key is not in progress under that
// claim or its lease already ran out (a retry may have taken it over).
func (db *DB) ExtendIdempotent(ctx context.Context, userID, key, owner string, lease time.Duration) error {
	now := db.Now()
	r, err := db.primary.ExecContext(ctx, `UPDATE idempotency_keys SET locked_until = $4
		WHERE user_id = $1 AND key = $2 AND owner = $3 AND status_code IS NULL AND locked_until > $5`,
		userID, key, owner, ts(now.Add(lease)), ts(now))
	if err != nil {
		return fmt.Errorf("store: extend idempotent: %w", translate(err))
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return admit.Errorf(admit.ENOTFOUND, "idempotency key %q is not in progress under this claim", key)
	}
	return nil
}

// SweepIdempotencyKeys deletes the keys created before olderThan (normally
// now - IdempotencyTTL) and returns how many it deleted.
func (db *DB) SweepIdempotencyKeys(ctx context.Context, olderThan time.Time) (int64, error) {
	r, err := db.primary.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created_at < $1`, ts(olderThan))
	if err != nil {
		return 0, fmt.Errorf("store: sweep idempotency keys: %w", translate(err))
	}
	// The orders forget their keys with them: the key may name a new request.
	if _, err := db.primary.ExecContext(ctx, `UPDATE orders SET request_key = NULL WHERE request_key IS NOT NULL AND created_at < $1`, ts(olderThan)); err != nil {
		return 0, fmt.Errorf("store: sweep order request keys: %w", translate(err))
	}
	return r.RowsAffected()
}
