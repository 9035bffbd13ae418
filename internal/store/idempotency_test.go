package store

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/testenv"
)

func TestIdempotencyKeys(t *testing.T) {
	t.Parallel()
	testenv.ForEachEngine(t, func(t *testing.T, e testenv.Engine) {
		db, ctx := openMigrated(t, e), context.Background()
		setNow := func(now time.Time) { db.Now = func() time.Time { return now } }
		const lease = time.Minute
		begin := func(user, key, hash string, want admit.IdempotentOutcome) admit.IdempotentResult {
			t.Helper()
			res, err := db.BeginIdempotent(ctx, user, key, hash, lease)
			if err != nil {
				t.Fatalf("BeginIdempotent(%s, %s, %s): %v", user, key, hash, err)
			}
			if res.Outcome != want {
				t.Fatalf("BeginIdempotent(%s, %s, %s) = %v, want %v", user, key, hash, res.Outcome, want)
			}
			return res
		}

		// A new key: the caller proceeds; a repeat meanwhile waits; another
		// request with the key is refused.
		a1 := begin("usr_a", "k1", "h1", admit.IdempotentProceed).Owner
		begin("usr_a", "k1", "h1", admit.IdempotentInProgress)
		begin("usr_a", "k1", "h2", admit.IdempotentMismatch)
		// Keys are the caller's own.
		b1 := begin("usr_b", "k1", "h2", admit.IdempotentProceed).Owner

		// Completed: repeats get the stored response.
		stored := admit.IdempotentResponse{StatusCode: 201, ContentType: "application/json", Location: "/api/v1/orders/ord_1", Body: []byte(`{"n":1}`)}
		if err := db.CompleteIdempotent(ctx, "usr_a", "k1", a1, stored); err != nil {
			t.Fatalf("CompleteIdempotent: %v", err)
		}
		if res := begin("usr_a", "k1", "h1", admit.IdempotentReplay); !reflect.DeepEqual(res.IdempotentResponse, stored) {
			t.Errorf("replay = %+v, want %+v", res.IdempotentResponse, stored)
		}
		begin("usr_a", "k1", "h2", admit.IdempotentMismatch)
		// A completed key has no lease to renew.
		if err := db.ExtendIdempotent(ctx, "usr_a", "k1", a1, lease); admit.ErrorCode(err) != admit.ENOTFOUND {
			t.Errorf("ExtendIdempotent of a completed key = %v, want ENOTFOUND", err)
		}
		// Completing twice is refused: the first response stands.
		if err := db.CompleteIdempotent(ctx, "usr_a", "k1", a1, admit.IdempotentResponse{StatusCode: 200, ContentType: "text/plain", Body: []byte("other")}); admit.ErrorCode(err) != admit.ENOTFOUND {
			t.Errorf("second CompleteIdempotent = %v, want ENOTFOUND", err)
		}
		// An empty body is replayed as empty, not lost.
		empty := begin("usr_a", "empty", "h1", admit.IdempotentProceed).Owner
		if err := db.CompleteIdempotent(ctx, "usr_a", "empty", empty, admit.IdempotentResponse{StatusCode: 204, ContentType: "", Body: nil}); err != nil {
			t.Fatalf("CompleteIdempotent(empty): %v", err)
		}
		if res := begin("usr_a", "empty", "h1", admit.IdempotentReplay); res.StatusCode != 204 || len(res.Body) != 0 || res.ContentType != "" {
			t.Errorf("empty replay = %d %q %q, want 204 with nothing", res.StatusCode, res.ContentType, res.Body)
		}

		// Abandoned: the next request proceeds afresh, whatever its hash.
		a2 := begin("usr_a", "k2", "h1", admit.IdempotentProceed).Owner
		if err := db.AbandonIdempotent(ctx, "usr_a", "k2", a2); err != nil {
			t.Fatalf("AbandonIdempotent: %v", err)
		}
		a2 = begin("usr_a", "k2", "h3", admit.IdempotentProceed).Owner
		if err := db.AbandonIdempotent(ctx, "usr_a", "absent", a2); err != nil {
			t.Errorf("AbandonIdempotent(absent) = %v, want nil", err)
		}

		// A renewed lease holds past its first end.
		setNow(testNow.Add(lease / 2))
		if err := db.ExtendIdempotent(ctx, "usr_b", "k1", b1, lease); err != nil {
			t.Fatalf("ExtendIdempotent: %v", err)
		}
		setNow(testNow.Add(lease))
		begin("usr_b", "k1", "h2", admit.IdempotentInProgress)
		// A lease that ran out is not revived: a retry may own the key now.
		setNow(testNow.Add(3 * lease))
		if err := db.ExtendIdempotent(ctx, "usr_b", "k1", b1, lease); admit.ErrorCode(err) != admit.ENOTFOUND {
			t.Errorf("ExtendIdempotent of a lapsed lease = %v, want ENOTFOUND", err)
		}
		setNow(testNow)

		// A lease that ran out (its owner crashed) is taken over by the same
		// request, once; a different request is still refused.
		setNow(testNow.Add(lease - time.Microsecond))
		begin("usr_a", "k2", "h3", admit.IdempotentInProgress)
		setNow(testNow.Add(lease))
		begin("usr_a", "k2", "h1", admit.IdempotentMismatch)
		taker := begin("usr_a", "k2", "h3", admit.IdempotentProceed).Owner
		begin("usr_a", "k2", "h3", admit.IdempotentInProgress)
		setNow(testNow.Add(2*lease - time.Microsecond))
		begin("usr_a", "k2", "h3", admit.IdempotentInProgress)
		// The request that lost the key (it hung) can no longer renew,
		// abandon or complete it: the new owner's claim stands.
		if err := db.ExtendIdempotent(ctx, "usr_a", "k2", a2, lease); admit.ErrorCode(err) != admit.ENOTFOUND {
			t.Errorf("ExtendIdempotent by the old owner = %v, want ENOTFOUND", err)
		}
		if err := db.AbandonIdempotent(ctx, "usr_a", "k2", a2); err != nil {
			t.Errorf("AbandonIdempotent by the old owner = %v", err)
		}
		if err := db.CompleteIdempotent(ctx, "usr_a", "k2", a2, admit.IdempotentResponse{StatusCode: 201, ContentType: "text/plain", Body: []byte("hung")}); admit.ErrorCode(err) != admit.ENOTFOUND {
			t.Errorf("CompleteIdempotent by the old owner = %v, want ENOTFOUND", err)
		}
		begin("usr_a", "k2", "h3", admit.IdempotentInProgress)
		// The new owner completes.
		if err := db.CompleteIdempotent(ctx, "usr_a", "k2", taker, admit.IdempotentResponse{StatusCode: 200, ContentType: "text/plain", Body: []byte("taken over")}); err != nil {
			t.Fatalf("CompleteIdempotent after takeover: %v", err)
		}
		// A completed request is never taken over, however long ago its lease ended.
		setNow(testNow.Add(time.Hour))
		if res := begin("usr_a", "k2", "h3", admit.IdempotentReplay); string(res.Body) != "taken over" {
			t.Errorf("replay after takeover = %q, want %q", res.Body, "taken over")
		}

		// After 24 hours a key is forgotten: same or other request proceeds.
		setNow(testNow.Add(24*time.Hour - time.Microsecond))
		begin("usr_a", "k1", "h1", admit.IdempotentReplay)
		setNow(testNow.Add(24 * time.Hour))
		begin("usr_a", "k1", "h9", admit.IdempotentProceed)
		begin("usr_a", "k1", "h9", admit.IdempotentInProgress)

		// Sweeping deletes what was created before the cut-off, and only that.
		n, err := db.SweepIdempotencyKeys(ctx, testNow.Add(time.Microsecond))
		if err != nil {
			t.Fatalf("SweepIdempotencyKeys: %v", err)
		}
		// Created at testNow: usr_b/k1, usr_a/empty, usr_a/k2 (k2 was
		// abandoned and re-created at testNow, then taken over). usr_a/k1 was
		// re-created a day later.
		if n != 3 {
			t.Errorf("SweepIdempotencyKeys = %d, want 3", n)
		}
		begin("usr_b", "k1", "h1", admit.IdempotentProceed)
		begin("usr_a", "k1", "h9", admit.IdempotentInProgress)
	})
}

// TestIdempotencyKeysRace claims one key from many goroutines at once:
// exactly one may proceed, on both engines.
func TestIdempotencyKeysRace(t *testing.T) {
	t.Parallel()
	testenv.ForEachEngine(t, func(t *testing.T, e testenv.Engine) {
		db, ctx := openMigrated(t, e), context.Background()
		for round, setup := range []func(key string){
			func(string) {}, // a new key
			func(key string) { // an expired key
				db.Now = func() time.Time { return testNow.Add(-25 * time.Hour) }
				if _, err := db.BeginIdempotent(ctx, "usr_a", key, "h", time.Minute); err != nil {
					t.Fatalf("BeginIdempotent: %v", err)
				}
				db.Now = func() time.Time { return testNow }
			},
			func(key string) { // a lease ran out
				db.Now = func() time.Time { return testNow.Add(-2 * time.Minute) }
				if _, err := db.BeginIdempotent(ctx, "usr_a", key, "h", time.Minute); err != nil {
					t.Fatalf("BeginIdempotent: %v", err)
				}
				db.Now = func() time.Time { return testNow }
			},
		} {
			key := []string{"new", "expired", "lease"}[round]
			setup(key)
			const n = 16
			var wg sync.WaitGroup
			outcomes := make(chan admit.IdempotentOutcome, n)
			start := make(chan struct{})
			for range n {
				wg.Go(func() {
					<-start
					res, err := db.BeginIdempotent(ctx, "usr_a", key, "h", time.Minute)
					if err != nil {
						t.Errorf("%s: BeginIdempotent: %v", key, err)
						return
					}
					outcomes <- res.Outcome
				})
			}
			close(start)
			wg.Wait()
			close(outcomes)
			got := map[admit.IdempotentOutcome]int{}
			for o := range outcomes {
				got[o]++
			}
			if got[admit.IdempotentProceed] != 1 || got[admit.IdempotentInProgress] != n-1 {
				t.Errorf("%s: outcomes = %v, want 1 proceed and %d in progress", key, got, n-1)
			}
		}
	})
}
