package stripetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/stripe"
)

// FakeCharge is a fake of Stripe, named as such: stripe-mock keeps no
// state, so it can neither say what a charge has refunded nor refuse a
// refund larger than what is left. It serves the charge of one
// PaymentIntent: POST /v1/refunds refunds it while enough is left, and
// answers Stripe's 400 otherwise; GET /v1/payment_intents/{id} shows the
// intent with its latest_charge expanded. Anything else is a 404.
type FakeCharge struct {
	URL      string // the base URL, for stripe.Config.BaseURL
	intent   string
	currency string

	mu             sync.Mutex
	amount         int64 // in Stripe's units
	refunded       int64
	refunds        int
	refusedRefunds int
	disputed       bool
}

// Dispute has the buyer dispute the charge: Stripe refuses its refunds,
// whatever is left.
func (f *FakeCharge) Dispute() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.disputed = true
}

// NewFakeCharge starts a FakeCharge of the PaymentIntent intent, charged
// amount, for the test.
func NewFakeCharge(t testing.TB, intent string, amount admit.Money) *FakeCharge {
	t.Helper()
	f := &FakeCharge{intent: intent}
	f.amount, f.currency = stripe.APIAmount(amount)
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// RefundElsewhere refunds amount as Stripe's dashboard would, unknown to
// Admit.
func (f *FakeCharge) RefundElsewhere(amount admit.Money) {
	units, _ := stripe.APIAmount(amount)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refunded += units
}

// Refunded returns what the charge refunded in all, in Stripe's units, and
// how many refunds it accepted and refused through the API.
func (f *FakeCharge) Refunded() (units int64, accepted, refused int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.refunded, f.refunds, f.refusedRefunds
}

func (f *FakeCharge) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/refunds":
		r.ParseForm()
		amount, err := strconv.ParseInt(r.PostForm.Get("amount"), 10, 64)
		if err != nil || r.PostForm.Get("payment_intent") != f.intent {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":{"type":"invalid_request_error","message":"not this fake's payment"}}`)
			return
		}
		if f.disputed {
			f.refusedRefunds++
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":{"type":"invalid_request_error","code":"charge_disputed","message":"Charge ch_x has been charged back; cannot issue a refund."}}`)
			return
		}
		if left := f.amount - f.refunded; amount > left {
			f.refusedRefunds++
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error":{"type":"invalid_request_error","param":"amount","message":"Refund amount (%d) is greater than unrefunded amount on charge (%d)"}}`, amount, left)
			return
		}
		f.refunded += amount
		f.refunds++
		json.NewEncoder(w).Encode(map[string]any{"id": fmt.Sprintf("re_fake_%d", f.refunds), "object": "refund", "amount": amount,
			"currency": f.currency, "payment_intent": f.intent, "status": "succeeded"})
	case r.Method == http.MethodGet && r.URL.Path == "/v1/payment_intents/"+f.intent:
		json.NewEncoder(w).Encode(map[string]any{"id": f.intent, "object": "payment_intent", "amount": f.amount, "currency": f.currency,
			"status": "succeeded", "latest_charge": map[string]any{"id": "ch_" + f.intent, "object": "charge", "amount": f.amount,
				"amount_refunded": f.refunded, "currency": f.currency, "payment_intent": f.intent}})
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"error":{"type":"invalid_request_error","message":"FakeCharge serves refunds and its intent only"}}`)
	}
}
