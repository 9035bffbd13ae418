package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/store"
	"github.com/admit-events/admit/internal/store/storetest"
	"github.com/admit-events/admit/internal/testenv"
)

// extendWatch tells the test about every lease renewal.
type extendWatch struct {
	*store.DB
	extended chan error
}

func (s *extendWatch) ExtendIdempotent(ctx context.Context, userID, key, owner string, lease time.Duration) error {
	err := s.DB.ExtendIdempotent(ctx, userID, key, owner, lease)
	s.extended <- err
	return err
}

// TestIdempotencyLeaseIsRenewedWhileTheHandlerRuns: a request that runs
// longer than its lease keeps its key (a retry waits instead of running it
// a second time), and its answer is stored once it finishes.
func TestIdempotencyLeaseIsRenewedWhileTheHandlerRuns(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, e testenv.Engine) {
		ctx := context.Background()
		db := storetest.Open(t, e)
		// The store's clock is the test's: time passes when the test says.
		var now atomic.Int64
		now.Store(time.Date(2031, 3, 3, 9, 0, 0, 0, time.UTC).UnixMicro())
		db.Now = func() time.Time { return time.UnixMicro(now.Load()) }
		const lease = 600 * time.Millisecond // renewed every 200 ms of real time
		st := &extendWatch{DB: db, extended: make(chan error, 100)}

		rt := NewRouter()
		rt.UseIdempotencyStore(st)
		rt.idem.lease = lease
		release := make(chan struct{})
		var releaseOnce sync.Once
		finish := func() { releaseOnce.Do(func() { close(release) }) }
		defer finish() // also when the test fails: no handler outlives the store
		var calls atomic.Int64
		rt.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			<-release
			w.WriteHeader(http.StatusCreated)
		})
		rt.Idempotent("POST /orders")

		user := &admit.User{ID: "usr_lease", Role: admit.RoleAttendee}
		answered := make(chan int, 1)
		go func() {
			req := httptest.NewRequest("POST", "/orders", strings.NewReader(`{}`))
			req = req.WithContext(admit.NewContextWithUser(req.Context(), user))
			req.Header.Set(IdempotencyKeyHeader, "k1")
			w := httptest.NewRecorder()
			rt.ServeHTTP(w, req)
			answered <- w.Code
		}()

		renewal := func() {
			t.Helper()
			select {
			case err := <-st.extended:
				if err != nil {
					t.Fatalf("renewal: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the lease of the running request was not renewed")
			}
		}
		renewal() // the handler is running
		// Three leases pass, half a lease at a time, each followed by a
		// renewal. Renewals run one after the other: the second one from
		// a step started after the clock moved.
		for range 6 {
			now.Add((lease / 2).Microseconds())
			for len(st.extended) > 0 {
				renewal()
			}
			renewal()
			renewal()
		}
		res, err := db.BeginIdempotent(ctx, user.ID, "k1", requestHashOf(t, "POST", "/orders", `{}`), lease)
		if err != nil || res.Outcome != admit.IdempotentInProgress {
			t.Fatalf("a retry %s after the first lease ran out: %v, %v; want in progress", 3*lease, res.Outcome, err)
		}
		finish()
		if code := <-answered; code != http.StatusCreated {
			t.Fatalf("the long request answered %d", code)
		}
		res, err = db.BeginIdempotent(ctx, user.ID, "k1", requestHashOf(t, "POST", "/orders", `{}`), lease)
		if err != nil || res.Outcome != admit.IdempotentReplay || res.StatusCode != http.StatusCreated || calls.Load() != 1 {
			t.Fatalf("after the long request: %+v, %v, %d calls", res, err, calls.Load())
		}
	})
}

func requestHashOf(t *testing.T, method, target, body string) string {
	t.Helper()
	return requestHash(httptest.NewRequest(method, target, nil), []byte(body))
}
