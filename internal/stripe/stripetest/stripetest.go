// Package stripetest gives tests a real Stripe peer: stripe-mock, run from
// the tool line in go.mod, plus signed webhook payloads as Stripe sends them.
//
//	base := stripetest.Start(t)
//	c, _ := stripe.New(stripe.Config{SecretKey: "sk_test_123", WebhookSecret: "whsec_test", BaseURL: base})
//	body, sig := stripetest.SignedPayload(t, "whsec_test",
//		stripetest.PaymentIntentSucceeded("evt_1", ref, orderID, amount), time.Now())
//
// stripe-mock accepts any sk_test_… key, validates requests against Stripe's
// OpenAPI spec and answers with canned objects: it keeps no state (a created
// intent cannot be read back with its amount) and ignores Idempotency-Key.
package stripetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	stripego "github.com/stripe/stripe-go/v85"
	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/stripe"
	"github.com/admit-events/admit/internal/testenv"
)

// startTimeout covers compiling stripe-mock on a cold build cache.
const startTimeout = 2 * time.Minute

// Start runs stripe-mock (go tool stripe-mock) on free loopback ports for
// the test and returns its HTTP base URL, such as "http://127.0.0.1:41234";
// it is stopped when t ends. Outside CI, if stripe-mock cannot start, the
// test skips naming it; with CI=true it fails.
func Start(t testing.TB) string {
	t.Helper()
	base, err := start(t)
	if err != nil {
		testenv.Unavailable(t, "stripe-mock (go tool stripe-mock)", err)
	}
	return base
}

func start(t testing.TB) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()

	// "go tool -n" builds the tool into the build cache (once; later runs
	// hit the cache) and prints its path. Running that binary ourselves,
	// rather than through "go tool", means stopping it stops stripe-mock.
	var stderr bytes.Buffer
	build := exec.CommandContext(ctx, "go", "tool", "-n", "stripe-mock")
	build.Stderr = &stderr
	out, err := build.Output()
	if err != nil {
		return "", fmt.Errorf("go tool -n stripe-mock: %v %s", err, strings.TrimSpace(stderr.String()))
	}

	// Port 0 lets the kernel pick free ports. HTTPS must be given one too:
	// with only -http-addr, stripe-mock still binds HTTPS on :12112, and a
	// second instance (another test package) would fail on that port.
	stderr.Reset()
	watch := &lineWatcher{prefix: "Listening for HTTP at address: ", found: make(chan string, 1)}
	cmd := exec.Command(strings.TrimSpace(string(out)), "-http-addr", "127.0.0.1:0", "-https-addr", "127.0.0.1:0")
	cmd.Stdout, cmd.Stderr = watch, &stderr
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start stripe-mock: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})

	var base string
	select {
	case addr := <-watch.found:
		base = "http://" + addr
	case <-exited:
		return "", fmt.Errorf("stripe-mock exited before listening: %s", strings.TrimSpace(stderr.String()))
	case <-ctx.Done():
		return "", fmt.Errorf("stripe-mock did not listen within %s", startTimeout)
	}

	// Any HTTP answer (401 without a key) means it serves.
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			return base, nil
		}
		if ctx.Err() != nil {
			return "", fmt.Errorf("stripe-mock at %s does not answer: %v", base, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// SignedPayload signs a webhook payload with secret as Stripe does, with
// timestamp at (the zero time means now), and returns the body and its
// Stripe-Signature header.
func SignedPayload(t testing.TB, secret string, payload []byte, at time.Time) (body []byte, header string) {
	t.Helper()
	if secret == "" {
		t.Fatal("stripetest.SignedPayload: empty webhook secret")
	}
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: at})
	return sp.Payload, sp.Header
}

// PaymentIntentSucceeded returns the JSON of a payment_intent.succeeded
// webhook event with id eventID for the PaymentIntent intentID of order
// orderID (its order_id metadata) over amount.
func PaymentIntentSucceeded(eventID, intentID, orderID string, amount admit.Money) []byte {
	units, currency := stripe.APIAmount(amount)
	return event(eventID, "payment_intent.succeeded", map[string]any{
		"id":                   intentID,
		"object":               "payment_intent",
		"amount":               units,
		"amount_received":      units,
		"currency":             currency,
		"status":               "succeeded",
		"client_secret":        intentID + "_secret_test",
		"metadata":             map[string]string{"order_id": orderID},
		"livemode":             false,
		"payment_method_types": []string{"card"},
	})
}

// ChargeRefunded returns the JSON of a charge.refunded webhook event with id
// eventID: the charge of the PaymentIntent intentID, over amount, of which
// refunded is refunded in all.
func ChargeRefunded(eventID, intentID string, amount, refunded admit.Money) []byte {
	units, currency := stripe.APIAmount(amount)
	refundedUnits, _ := stripe.APIAmount(refunded)
	return event(eventID, "charge.refunded", map[string]any{
		"id":              "ch_" + intentID,
		"object":          "charge",
		"amount":          units,
		"amount_captured": units,
		"amount_refunded": refundedUnits,
		"currency":        currency,
		"payment_intent":  intentID,
		"refunded":        refundedUnits == units,
		"status":          "succeeded",
		"paid":            true,
		"livemode":        false,
	})
}

// event wraps object as the data of a webhook event.
func event(id, typ string, object map[string]any) []byte {
	b, err := json.Marshal(map[string]any{
		"id":               id,
		"object":           "event",
		"api_version":      stripego.APIVersion,
		"created":          time.Now().Unix(),
		"livemode":         false,
		"pending_webhooks": 1,
		"request":          map[string]any{"id": nil, "idempotency_key": nil},
		"type":             typ,
		"data":             map[string]any{"object": object},
	})
	if err != nil {
		panic(errors.New("stripetest: " + err.Error())) // cannot happen: plain maps
	}
	return b
}

// lineWatcher is stripe-mock's stdout: it sends the rest of the first line
// that starts with prefix to found, and discards everything else.
type lineWatcher struct {
	prefix string
	found  chan string
	line   []byte
	done   bool
}

func (w *lineWatcher) Write(p []byte) (int, error) {
	for _, b := range p {
		if w.done {
			break
		}
		if b != '\n' {
			w.line = append(w.line, b)
			continue
		}
		if rest, ok := strings.CutPrefix(string(w.line), w.prefix); ok {
			w.found <- strings.TrimSpace(rest)
			w.done = true
		}
		w.line = w.line[:0]
	}
	return len(p), nil
}

// Request is what Record saw of one call to Stripe.
type Request struct {
	Path           string
	IdempotencyKey string
	Form           url.Values
}

// Record starts a real HTTP server in front of stripe-mock at target that
// forwards every request and records it, since stripe-mock itself neither
// replays idempotent requests nor reports what it was asked. It returns the
// server's base URL (for stripe.Config.BaseURL) and the requests so far.
func Record(t testing.TB, target string) (baseURL string, seen func() []Request) {
	t.Helper()
	return Intercept(t, target, nil)
}

// Intercept is Record with before called on each request before it is
// forwarded (nil: none); before may block, to hold a call to Stripe while
// the test does something else.
func Intercept(t testing.TB, target string, before func(Request)) (baseURL string, seen func() []Request) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var reqs []Request
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		req := Request{r.URL.Path, r.Header.Get("Idempotency-Key"), form}
		mu.Lock()
		reqs = append(reqs, req)
		mu.Unlock()
		if before != nil {
			before(req)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() []Request {
		mu.Lock()
		defer mu.Unlock()
		return append([]Request(nil), reqs...)
	}
}
