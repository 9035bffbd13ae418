package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/admit-events/admit"
)

// IdempotencyStore remembers Idempotency-Key requests and their responses
// (store.DB implements it).
type IdempotencyStore interface {
	// BeginIdempotent claims key for the caller and a request hash; see
	// admit.IdempotentOutcome for the answers.
	BeginIdempotent(ctx context.Context, userID, key, requestHash string, lease time.Duration) (admit.IdempotentResult, error)
	// CompleteIdempotent stores the response of the request owning key
	// under the claim owner (the Owner of BeginIdempotent's result).
	CompleteIdempotent(ctx context.Context, userID, key, owner string, res admit.IdempotentResponse) error
	// ExtendIdempotent renews the lease of the request owning key.
	ExtendIdempotent(ctx context.Context, userID, key, owner string, lease time.Duration) error
	// AbandonIdempotent forgets key, so that a retry runs the request again.
	AbandonIdempotent(ctx context.Context, userID, key, owner string) error
	// SweepIdempotencyKeys deletes the keys created before olderThan.
	SweepIdempotencyKeys(ctx context.Context, olderThan time.Time) (int64, error)
}

const (
	// IdempotencyKeyHeader names the client's key for a request.
	IdempotencyKeyHeader = "Idempotency-Key"
	// IdempotentReplayedHeader is "true" on a response that is a replay.
	IdempotentReplayedHeader = "Idempotent-Replayed"

	// KindIdempotencyKeyReused ends the problem type of a key used again
	// for a different request.
	KindIdempotencyKeyReused = "idempotency-key-reused"

	idempotencyMaxBody = 1 << 20          // the largest request body hashed
	idempotencyLease   = 60 * time.Second // how long a request owns its key before a retry may take it over, unless renewed
	idempotencyMaxRun  = 10 * time.Minute // a request still running after this is taken for hung: its lease is no longer renewed
	idempotencyWait    = 30 * time.Second // how long a repeat waits for the first request to finish
	idempotencyPollMin = 10 * time.Millisecond
	idempotencyPollMax = 200 * time.Millisecond
)

// idempotency is the Router's Idempotency-Key state: the patterns marked
// and the store.
type idempotency struct {
	mu       sync.RWMutex
	patterns map[string]bool
	store    IdempotencyStore
	lease    time.Duration // 0: idempotencyLease (tests shorten it)
	// bodyless reports whether the operation of a pattern takes no request
	// body (nil: every one does); a body sent to it is left out of the
	// request's hash, since it changes nothing.
	bodyless func(pattern string) bool
}

// leaseTime is how long a claim of a key lasts before it is renewed.
func (i *idempotency) leaseTime() time.Duration {
	if i.lease > 0 {
		return i.lease
	}
	return idempotencyLease
}

// Idempotent marks method-and-path patterns, spelled exactly as registered
// (such as "POST /api/v1/orders"), as honouring the Idempotency-Key header:
// a repeat of a request by the same caller with the same key and body gets
// the first response without running the handler again. It needs
// UseIdempotencyStore; without a store the header is ignored.
func (rt *Router) Idempotent(patterns ...string) {
	rt.idem.mu.Lock()
	defer rt.idem.mu.Unlock()
	if rt.idem.patterns == nil {
		rt.idem.patterns = map[string]bool{}
	}
	for _, p := range patterns {
		rt.idem.patterns[p] = true
	}
}

// UseIdempotencyStore sets where idempotency keys are kept.
func (rt *Router) UseIdempotencyStore(s IdempotencyStore) {
	rt.idem.mu.Lock()
	defer rt.idem.mu.Unlock()
	rt.idem.store = s
}

// idempotencyStore returns the store when pattern is marked, else nil.
func (rt *Router) idempotencyStore(pattern string) IdempotencyStore {
	rt.idem.mu.RLock()
	defer rt.idem.mu.RUnlock()
	if !rt.idem.patterns[pattern] {
		return nil
	}
	return rt.idem.store
}

// serveIdempotent serves a request to a marked pattern: a request without a
// key, or of an anonymous caller, is served as usual; one with a key runs
// the handler at most once per caller, key and request.
func (rt *Router) serveIdempotent(w http.ResponseWriter, r *http.Request, pattern string, st IdempotencyStore) {
	// Set before the mux does, so that the route is known (for metrics and
	// logs) even when the handler does not run.
	r.Pattern = pattern
	keys := r.Header.Values(IdempotencyKeyHeader)
	user := admit.UserFromContext(r.Context())
	if len(keys) == 0 || user == nil {
		// Anonymous callers are told to authenticate by the handler rather
		// than how to spell a key.
		rt.mux.ServeHTTP(w, r)
		return
	}
	key := keys[0]
	if len(keys) > 1 || !validIdempotencyKey(key) {
		WriteProblem(w, NewProblem(400, "the "+IdempotencyKeyHeader+" header must be one value of 1 to 255 printable ASCII characters"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, idempotencyMaxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			WriteProblem(w, NewProblem(413, "the request body is larger than 1 MiB"))
			return
		}
		WriteProblem(w, NewProblem(400, "the request body could not be read"))
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if rt.idem.bodyless != nil && rt.idem.bodyless(pattern) {
		body = nil
	}
	hash := requestHash(r, body)

	ctx := r.Context()
	deadline := time.Now().Add(idempotencyWait)
	wait := idempotencyPollMin
	for {
		// A claim is not cut off by the client leaving: committed but
		// unanswered, it would lock out the retry until its lease ran out.
		bctx, cancel := bookkeeping(ctx)
		res, err := st.BeginIdempotent(bctx, user.ID, key, hash, rt.idem.leaseTime())
		cancel()
		if err != nil {
			WriteProblem(w, ProblemFor(ctx, slog.Default(), "begin idempotent", err))
			return
		}
		switch res.Outcome {
		case admit.IdempotentProceed:
			rt.runIdempotent(w, r, st, claim{userID: user.ID, key: key, owner: res.Owner, request: requestKey(key, hash)})
			return
		case admit.IdempotentReplay:
			if res.ContentType != "" {
				w.Header().Set("Content-Type", res.ContentType)
			}
			if res.Location != "" {
				w.Header().Set("Location", res.Location)
			}
			w.Header().Set(IdempotentReplayedHeader, "true")
			w.WriteHeader(res.StatusCode)
			w.Write(res.Body)
			return
		case admit.IdempotentMismatch:
			p := NewProblem(422, "this "+IdempotencyKeyHeader+" was already used with a different request; use a new key for a new request")
			p.Type = ProblemTypeBase + KindIdempotencyKeyReused // not a validation error: the body may be fine
			WriteProblem(w, p)
			return
		}
		// In progress: wait for the first request to finish, or for its
		// lease to run out (then the next claim takes it over).
		if time.Now().Add(wait).After(deadline) {
			WriteProblem(w, NewProblem(409, "a request with this "+IdempotencyKeyHeader+" is still in progress; retry later"))
			return
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			WriteProblem(w, NewProblem(409, "a request with this "+IdempotencyKeyHeader+" is still in progress"))
			return
		case <-timer.C:
		}
		wait = min(wait*2, idempotencyPollMax)
	}
}

// claim is a request's hold on an idempotency key; request stands for the
// key and the request together (admit.NewContextWithRequestKey).
type claim struct{ userID, key, owner, request string }

// requestKey digests an Idempotency-Key and the hash of its request.
func requestKey(key, requestHash string) string {
	sum := sha256.Sum256([]byte(key + "\n" + requestHash))
	return hex.EncodeToString(sum[:])
}

// bookkeeping is the context of a call to the idempotency store, which
// must not be cut off half-way by the client leaving.
func bookkeeping(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
}

// runIdempotent runs the handler as the owner of key and keeps its response
// for repeats. A server error (or a panic) forgets the key instead, so that
// the client may retry.
//
// The handler runs to its end even if the client leaves (until
// idempotencyMaxRun): cut off, its transaction's commit could be done or
// not, and the retry could neither be given the answer nor safely run it
// again; finished, its answer waits for the retry.
func (rt *Router) runIdempotent(w http.ResponseWriter, r *http.Request, st IdempotencyStore, c claim) {
	cw := &captureWriter{ResponseWriter: w}
	abandon := func() {
		ctx, cancel := bookkeeping(r.Context())
		defer cancel()
		if err := st.AbandonIdempotent(ctx, c.userID, c.key, c.owner); err != nil {
			slog.ErrorContext(ctx, "abandon idempotency key", "request_id", RequestID(ctx), "err", err)
		}
	}
	// What the request creates records its key: a retry after an unknown
	// outcome finds it rather than making it again.
	run, stop := context.WithTimeout(context.WithoutCancel(r.Context()), idempotencyMaxRun)
	defer stop()
	stopRenewing := rt.renewLease(run, st, c)
	done := false
	defer func() {
		stopRenewing()
		if !done { // the handler panicked
			abandon()
		}
	}()
	rt.mux.ServeHTTP(cw, r.WithContext(admit.NewContextWithRequestKey(run, c.request)))
	done = true
	stopRenewing()
	status := cw.status
	if status == 0 {
		status = http.StatusOK
	}
	// A server error, or a run that gave up (499, past idempotencyMaxRun):
	// forget the key, so that a retry runs.
	if status >= 500 || status == StatusClientClosedRequest {
		abandon()
		return
	}
	ctx, cancel := bookkeeping(r.Context())
	defer cancel()
	res := admit.IdempotentResponse{StatusCode: status, ContentType: cw.contentType, Location: cw.location, Body: cw.body.Bytes()}
	if err := st.CompleteIdempotent(ctx, c.userID, c.key, c.owner, res); err != nil {
		// The client has its answer; a repeat may run the request again.
		slog.ErrorContext(ctx, "complete idempotency key", "request_id", RequestID(ctx), "err", err)
	}
}

// renewLease renews the key's lease every third of it until stop is
// called, so that a slow request keeps its key and a retry waits for its
// answer instead of running it a second time. A request that runs past
// idempotencyMaxRun (when run, the request's run, ends) is taken for hung
// and no longer renewed: its lease then runs out as a crashed owner's does.
func (rt *Router) renewLease(run context.Context, st IdempotencyStore, c claim) (stop func()) {
	lease := rt.idem.leaseTime()
	ctx, cancel := context.WithCancel(run)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(lease / 3)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				call, done := context.WithTimeout(ctx, lease) // past the lease a renewal is moot
				err := st.ExtendIdempotent(call, c.userID, c.key, c.owner, lease)
				done()
				if err != nil && ctx.Err() == nil {
					slog.ErrorContext(ctx, "extend idempotency key", "request_id", RequestID(ctx), "err", err)
				}
			}
		}
	}()
	return func() {
		cancel() // also ends a renewal in flight
		<-finished
	}
}

// validIdempotencyKey reports whether k is 1 to 255 printable ASCII characters.
func validIdempotencyKey(k string) bool {
	return len(k) >= 1 && len(k) <= 255 && !strings.ContainsFunc(k, func(c rune) bool { return c < ' ' || c > '~' })
}

// requestHash identifies a request by method, path, query and body. A JSON
// body counts as the value it denotes: a client that lays out, escapes or
// orders the keys of the same request differently is repeating it.
func requestHash(r *http.Request, body []byte) string {
	h := sha256.New()
	// Newlines cannot occur in the method, escaped path or raw query.
	io.WriteString(h, r.Method+"\n"+r.URL.EscapedPath()+"\n"+r.URL.RawQuery+"\n")
	h.Write(canonicalJSON(body))
	return hex.EncodeToString(h.Sum(nil))
}

// canonicalJSON re-encodes a JSON body with its object keys sorted, its
// strings escaped one way and no insignificant whitespace; numbers keep
// their literal, except that whole numbers written as floats (2.0) are
// written as the integers the API takes them for. A body that is not one
// JSON value stays as it is.
func canonicalJSON(body []byte) []byte {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return body
	}
	if _, err := d.Token(); err != io.EOF { // more after the value: not one JSON value
		return body
	}
	v, _ = wholeNumbers(v)
	out, err := json.Marshal(v)
	if err != nil {
		return body
	}
	return out
}

// captureWriter passes a response through and keeps a copy of its status,
// Content-Type, Location and body.
type captureWriter struct {
	http.ResponseWriter
	status                int
	contentType, location string
	body                  bytes.Buffer
}

func (w *captureWriter) WriteHeader(s int) {
	if w.status == 0 && s >= 200 { // 1xx responses are not the answer
		w.capture(s)
	}
	w.ResponseWriter.WriteHeader(s)
}

func (w *captureWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.capture(http.StatusOK)
	}
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

// capture keeps the status and the headers replayed with it.
func (w *captureWriter) capture(status int) {
	w.status = status
	w.contentType, w.location = w.Header().Get("Content-Type"), w.Header().Get("Location")
}

func (w *captureWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
