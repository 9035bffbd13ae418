package store

import (
	"context"
	"testing"
	"time"

	"github.com/admit-events/admit/internal/testenv"
)

// addOutbox writes n messages, each in a transaction of its own.
func addOutbox(t *testing.T, db *DB, n int) {
	t.Helper()
	ctx := context.Background()
	for range n {
		must(t, "outbox", db.inTx(ctx, func(tx *Tx) error { return tx.outbox(ctx, "test", "agg", map[string]any{}) }))
	}
}

// TestClaimOutboxInOrder: a batch comes in the order of the changes, even
// when PostgreSQL's RETURNING gives the rows back in another.
func TestClaimOutboxInOrder(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		ctx := context.Background()
		db := openMigrated(t, e)
		addOutbox(t, db, 50)
		for seq := int64(1); seq <= 25; seq++ { // rewritten rows move to the end of PostgreSQL's heap
			must(t, "RetryOutbox", db.RetryOutbox(ctx, seq, "down", db.Now(), false))
		}
		msgs, err := db.ClaimOutbox(ctx, 100, time.Minute)
		must(t, "ClaimOutbox", err)
		if len(msgs) != 50 {
			t.Fatalf("claimed %d of 50", len(msgs))
		}
		for i := 1; i < len(msgs); i++ {
			if msgs[i-1].Seq >= msgs[i].Seq {
				t.Fatalf("claimed out of order at %d: %d then %d", i, msgs[i-1].Seq, msgs[i].Seq)
			}
		}
	})
}

// TestPruningOutbox: delivered messages go after the retention, pending and
// dead ones stay, and no sequence number is ever given to a second message.
func TestPruningOutbox(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		ctx := context.Background()
		db := openMigrated(t, e)
		now := testNow
		db.Now = func() time.Time { return now }
		addOutbox(t, db, 4)
		msgs, err := db.ClaimOutbox(ctx, 10, time.Minute)
		must(t, "ClaimOutbox", err)
		must(t, "RetryOutbox", db.RetryOutbox(ctx, msgs[0].Seq, "down", now, true))                 // dead
		must(t, "RetryOutbox", db.RetryOutbox(ctx, msgs[1].Seq, "down", now.Add(time.Hour), false)) // pending
		must(t, "DeliveredOutbox", db.DeliveredOutbox(ctx, msgs[2].Seq, msgs[3].Seq))
		last := msgs[3].Seq

		now = now.Add(OutboxRetention - time.Second)
		if n, err := db.PruneOutbox(ctx, now.Add(-OutboxRetention), 10); err != nil || n != 0 {
			t.Fatalf("pruned %d, %v within the retention", n, err)
		}
		now = now.Add(2 * time.Second)
		if n, err := db.PruneOutbox(ctx, now.Add(-OutboxRetention), 10); err != nil || n != 1 {
			t.Fatalf("pruned %d, %v after the retention; want the delivered message but the last", n, err)
		}
		stats, err := db.OutboxStats(ctx)
		must(t, "OutboxStats", err)
		if stats.Pending != 1 || stats.Dead != 1 {
			t.Fatalf("after pruning: %+v; the pending and dead messages must stay", stats)
		}
		addOutbox(t, db, 1)
		var newest int64
		must(t, "max seq", db.primary.QueryRow(`SELECT MAX(seq) FROM outbox`).Scan(&newest))
		if newest <= last {
			t.Fatalf("a new message got seq %d, not after the %d already used", newest, last)
		}
	})
}
