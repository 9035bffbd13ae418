package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/store"
	"github.com/admit-events/admit/internal/store/storetest"
	"github.com/admit-events/admit/internal/testenv"
	"github.com/admit-events/admit/internal/web"
)

var _ web.IdempotencyStore = (*store.DB)(nil)

// reqNumKey carries the number a test gave a request (header X-Test-Req).
type reqNumKey struct{}

// watchStore notes which requests were told to wait for another.
type watchStore struct {
	web.IdempotencyStore
	mu      sync.Mutex
	waiting map[string]bool
	onWait  func(waiting int) // called with the number of distinct requests told to wait
}

func (s *watchStore) BeginIdempotent(ctx context.Context, userID, key, hash string, lease time.Duration) (admit.IdempotentResult, error) {
	res, err := s.IdempotencyStore.BeginIdempotent(ctx, userID, key, hash, lease)
	if err == nil && res.Outcome == admit.IdempotentInProgress {
		s.mu.Lock()
		num, _ := ctx.Value(reqNumKey{}).(string)
		s.waiting[num] = true
		n, onWait := len(s.waiting), s.onWait
		s.mu.Unlock()
		if onWait != nil {
			onWait(n)
		}
	}
	return res, err
}

// clientCtxKey holds, for the test's handlers, the context of the client's
// request as the server made it: it ends when the client goes away.
type clientCtxKey struct{}

// response is what a client saw.
type response struct {
	status   int
	header   http.Header
	body     string
	replayed bool
}

func TestIdempotencyKeyHeader(t *testing.T) {
	t.Parallel()
	testenv.ForEachEngine(t, func(t *testing.T, e testenv.Engine) {
		db := storetest.Open(t, e)
		st := &watchStore{IdempotencyStore: db, waiting: map[string]bool{}}

		rt := web.NewRouter()
		rt.UseIdempotencyStore(st)
		// counted registers a handler answering 201 with its invocation count
		// (or what answer says) and returns the count.
		counted := func(pattern string, answer func(n int64, w http.ResponseWriter, r *http.Request) bool) *atomic.Int64 {
			var calls atomic.Int64
			rt.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
				n := calls.Add(1)
				if answer != nil && answer(n, w, r) {
					return
				}
				body, _ := io.ReadAll(r.Body)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusCreated)
				fmt.Fprintf(w, `{"call":%d,"got":%q}`, n, body)
			})
			return &calls
		}
		orders := counted("POST /orders", nil)
		var flakyKeys sync.Map // call number → the request key its context carried
		flaky := counted("POST /flaky", func(n int64, w http.ResponseWriter, r *http.Request) bool {
			flakyKeys.Store(n, admit.RequestKeyFromContext(r.Context()))
			if n == 1 {
				web.WriteProblem(w, web.NewProblem(500, "internal error"))
				return true
			}
			return false
		})
		// A client that gave up mid-request is answered 499 (ProblemFor);
		// its retry must run the request, not get that answer back.
		gone := counted("POST /gone", func(n int64, w http.ResponseWriter, r *http.Request) bool {
			if n == 1 {
				web.WriteProblem(w, web.NewProblem(499, "the client closed the request"))
				return true
			}
			return false
		})
		release := make(chan struct{})
		racy := counted("POST /racy", func(n int64, w http.ResponseWriter, r *http.Request) bool {
			select {
			case <-release:
			case <-time.After(20 * time.Second):
				t.Error("racy: the other requests never waited for the first")
			}
			return false
		})
		// leaving answers as a real handler does: 499 when its context
		// ended (its transaction would have been cut off).
		leavingStarted, leavingRelease := make(chan struct{}), make(chan struct{})
		leaving := counted("POST /leaving", func(n int64, w http.ResponseWriter, r *http.Request) bool {
			if n == 1 {
				close(leavingStarted)
				<-leavingRelease
				<-r.Context().Value(clientCtxKey{}).(context.Context).Done() // the server saw the client go
			}
			if r.Context().Err() != nil {
				web.WriteProblem(w, web.NewProblem(499, "the client closed the request"))
				return true
			}
			return false
		})
		plain := counted("POST /plain", nil)
		rt.Idempotent("POST /orders", "POST /flaky", "POST /racy", "POST /gone", "POST /leaving")

		// The caller is named by X-Test-User, as authentication would.
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := context.WithValue(r.Context(), reqNumKey{}, r.Header.Get("X-Test-Req"))
			ctx = context.WithValue(ctx, clientCtxKey{}, r.Context())
			if id := r.Header.Get("X-Test-User"); id != "" {
				ctx = admit.NewContextWithUser(ctx, &admit.User{ID: id, Role: admit.RoleAttendee})
			}
			rt.ServeHTTP(w, r.WithContext(ctx))
		}))
		t.Cleanup(srv.Close)

		do := func(t *testing.T, user, key, path, body string, extra ...string) response {
			t.Helper()
			req, err := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if user != "" {
				req.Header.Set("X-Test-User", user)
			}
			if key != "" {
				req.Header.Set("Idempotency-Key", key)
			}
			for i := 0; i+1 < len(extra); i += 2 {
				req.Header.Add(extra[i], extra[i+1])
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Errorf("POST %s: %v", path, err)
				return response{}
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return response{status: res.StatusCode, header: res.Header, body: string(b), replayed: res.Header.Get("Idempotent-Replayed") == "true"}
		}
		wantProblem := func(t *testing.T, got response, status int, detail string) {
			t.Helper()
			var p web.Problem
			if got.status != status || got.header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("got %d %s %s, want a %d problem", got.status, got.header.Get("Content-Type"), got.body, status)
			}
			if err := json.Unmarshal([]byte(got.body), &p); err != nil || p.Status != status || !strings.Contains(p.Detail, detail) {
				t.Errorf("problem = %s (%v), want status %d and detail containing %q", got.body, err, status, detail)
			}
			if status == 422 && p.Type != web.ProblemTypeBase+web.KindIdempotencyKeyReused {
				t.Errorf("a reused key's problem has type %q: a client cannot tell it from a validation error", p.Type)
			}
		}

		t.Run("repeat is replayed", func(t *testing.T) {
			first := do(t, "usr_a", "key-1", "/orders", `{"qty":1}`)
			second := do(t, "usr_a", "key-1", "/orders", `{"qty":1}`)
			if first.status != 201 || first.replayed {
				t.Errorf("first = %d replayed=%v, want 201 not replayed", first.status, first.replayed)
			}
			if second.status != first.status || second.body != first.body || !second.replayed {
				t.Errorf("second = %d %s replayed=%v, want %d %s replayed", second.status, second.body, second.replayed, first.status, first.body)
			}
			if ct := second.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("second Content-Type = %q, want application/json", ct)
			}
			// The same JSON laid out, escaped or ordered differently is the
			// same request.
			for _, same := range []string{"{\n  \"qty\": 1\n}\n", `{"q\u0074y":1}`, `{"qty":1.0}`, `{"qty":1e0}`} {
				if again := do(t, "usr_a", "key-1", "/orders", same); again.body != first.body || !again.replayed {
					t.Errorf("%q = %d %s replayed=%v, want the first answer replayed", same, again.status, again.body, again.replayed)
				}
			}
			if n := orders.Load(); n != 1 {
				t.Errorf("handler ran %d times, want 1", n)
			}
			// A different body under the same key is refused without running.
			wantProblem(t, do(t, "usr_a", "key-1", "/orders", `{"qty":2}`), 422, "different request")
			// So is a different query.
			wantProblem(t, do(t, "usr_a", "key-1", "/orders?x=1", `{"qty":1}`), 422, "different request")
			if n := orders.Load(); n != 1 {
				t.Errorf("handler ran %d times after mismatches, want 1", n)
			}
		})

		t.Run("keys in another order are the same request", func(t *testing.T) {
			first := do(t, "usr_a", "key-order", "/orders", `{"a":1,"b":[2,{"c":3,"d":4}]}`)
			again := do(t, "usr_a", "key-order", "/orders", `{"b":[2,{"d":4,"c":3}],"a":1}`)
			if again.body != first.body || !again.replayed {
				t.Errorf("reordered = %d %s replayed=%v, want the first answer replayed", again.status, again.body, again.replayed)
			}
			wantProblem(t, do(t, "usr_a", "key-order", "/orders", `{"a":1,"b":[{"c":3,"d":4},2]}`), 422, "different request")
			// Malformed JSON is not the value it starts with.
			wantProblem(t, do(t, "usr_a", "key-order", "/orders", `{"a":1,"b":[2,{"c":3,"d":4}]}}`), 422, "different request")
		})

		t.Run("keys are per caller", func(t *testing.T) {
			before := orders.Load()
			a := do(t, "usr_a", "shared-key", "/orders", `{}`)
			b := do(t, "usr_b", "shared-key", "/orders", `{}`)
			if a.replayed || b.replayed || a.body == b.body {
				t.Errorf("usr_a got %s replayed=%v, usr_b got %s replayed=%v: want two own answers", a.body, a.replayed, b.body, b.replayed)
			}
			if n := orders.Load() - before; n != 2 {
				t.Errorf("handler ran %d times, want 2", n)
			}
		})

		t.Run("server error can be retried", func(t *testing.T) {
			if got := do(t, "usr_a", "flaky-1", "/flaky", `{}`); got.status != 500 {
				t.Fatalf("first = %d, want 500", got.status)
			}
			got := do(t, "usr_a", "flaky-1", "/flaky", `{}`)
			if got.status != 201 || got.replayed || !strings.Contains(got.body, `"call":2`) {
				t.Errorf("retry = %d %s replayed=%v, want the handler's second answer", got.status, got.body, got.replayed)
			}
			if again := do(t, "usr_a", "flaky-1", "/flaky", `{}`); again.body != got.body || !again.replayed {
				t.Errorf("third = %s replayed=%v, want the retry's answer replayed", again.body, again.replayed)
			}
			if n := flaky.Load(); n != 2 {
				t.Errorf("handler ran %d times, want 2", n)
			}
			// Both runs carry one request key, so that what the first made
			// (had its outcome been unknown) is found by the second; another
			// key is another request, and no key is none.
			first, _ := flakyKeys.Load(int64(1))
			second, _ := flakyKeys.Load(int64(2))
			do(t, "usr_a", "flaky-2", "/flaky", `{}`)
			do(t, "usr_a", "", "/flaky", `{}`)
			other, _ := flakyKeys.Load(int64(3))
			none, _ := flakyKeys.Load(int64(4))
			if first == "" || first != second || other == first || none != "" {
				t.Errorf("request keys: first %q, retry %q, other key %q, no key %q", first, second, other, none)
			}
		})

		t.Run("a client that left can retry", func(t *testing.T) {
			do(t, "usr_a", "gone-1", "/gone", `{}`)
			got := do(t, "usr_a", "gone-1", "/gone", `{}`)
			if got.status != 201 || got.replayed || gone.Load() != 2 {
				t.Errorf("retry = %d %s replayed=%v after %d runs, want the handler's second answer", got.status, got.body, got.replayed, gone.Load())
			}
		})

		t.Run("a request runs to its end when its client leaves", func(t *testing.T) {
			ctx, hangUp := context.WithCancel(context.Background())
			req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/leaving", strings.NewReader(`{}`))
			req.Header.Set("X-Test-User", "usr_a")
			req.Header.Set("Idempotency-Key", "leaving-1")
			left := make(chan error, 1)
			go func() {
				res, err := http.DefaultClient.Do(req)
				if err == nil {
					res.Body.Close()
				}
				left <- err
			}()
			<-leavingStarted
			hangUp()
			if err := <-left; err == nil {
				t.Fatal("the client that hung up got an answer")
			}
			close(leavingRelease)
			// The retry waits for the first run and gets its answer: the
			// work was done once, and is not done again.
			got := do(t, "usr_a", "leaving-1", "/leaving", `{}`)
			if got.status != 201 || !got.replayed || !strings.Contains(got.body, `"call":1`) || leaving.Load() != 1 {
				t.Errorf("retry = %d %s replayed=%v after %d runs, want the first run's 201 replayed", got.status, got.body, got.replayed, leaving.Load())
			}
		})

		t.Run("without a key or caller the handler always runs", func(t *testing.T) {
			before := orders.Load()
			for _, user := range []string{"usr_a", "usr_a", ""} {
				if got := do(t, user, "", "/orders", `{}`); got.status != 201 || got.replayed {
					t.Errorf("no key (user %q) = %d replayed=%v, want 201", user, got.status, got.replayed)
				}
			}
			// Anonymous callers are not tracked: their key is ignored.
			for range 2 {
				if got := do(t, "", "anon-key", "/orders", `{}`); got.status != 201 || got.replayed {
					t.Errorf("anonymous = %d replayed=%v, want 201", got.status, got.replayed)
				}
			}
			if n := orders.Load() - before; n != 5 {
				t.Errorf("handler ran %d times, want 5", n)
			}
		})

		t.Run("unmarked pattern ignores the key", func(t *testing.T) {
			for range 2 {
				if got := do(t, "usr_a", "plain-key", "/plain", `{}`); got.status != 201 || got.replayed {
					t.Errorf("unmarked = %d replayed=%v, want 201", got.status, got.replayed)
				}
			}
			if n := plain.Load(); n != 2 {
				t.Errorf("handler ran %d times, want 2", n)
			}
		})

		t.Run("bad requests", func(t *testing.T) {
			before := orders.Load()
			wantProblem(t, do(t, "usr_a", strings.Repeat("k", 256), "/orders", `{}`), 400, "Idempotency-Key")
			wantProblem(t, do(t, "usr_a", "tab\tkey", "/orders", `{}`), 400, "Idempotency-Key")
			wantProblem(t, do(t, "usr_a", "k1", "/orders", `{}`, "Idempotency-Key", "k2"), 400, "Idempotency-Key")
			wantProblem(t, do(t, "usr_a", "big", "/orders", strings.Repeat("x", 1<<20+1)), 413, "1 MiB")
			if got := do(t, "usr_a", strings.Repeat("k", 255), "/orders", strings.Repeat("x", 1<<20)); got.status != 201 {
				t.Errorf("255-character key and 1 MiB body = %d, want 201", got.status)
			}
			if n := orders.Load() - before; n != 1 {
				t.Errorf("handler ran %d times, want 1", n)
			}
		})

		t.Run("concurrent repeats wait for the first", func(t *testing.T) {
			const n = 20
			// The first request's handler holds until every other request
			// has been told to wait for it.
			var once sync.Once
			st.mu.Lock()
			st.onWait = func(waiting int) {
				if waiting == n-1 {
					once.Do(func() { close(release) })
				}
			}
			st.mu.Unlock()
			var wg sync.WaitGroup
			got := make([]response, n)
			for i := range n {
				wg.Go(func() {
					got[i] = do(t, "usr_a", "race-key", "/racy", `{"qty":3}`, "X-Test-Req", strconv.Itoa(i))
				})
			}
			wg.Wait()
			if calls := racy.Load(); calls != 1 {
				t.Errorf("handler ran %d times, want 1", calls)
			}
			replayed := 0
			for i, r := range got {
				if r.status != 201 || r.body != got[0].body {
					t.Errorf("request %d = %d %s, want 201 %s", i, r.status, r.body, got[0].body)
				}
				if r.replayed {
					replayed++
				}
			}
			if replayed != n-1 {
				t.Errorf("%d responses replayed, want %d", replayed, n-1)
			}
		})
	})
}
