package stripe

import (
	"errors"
	"strings"
	"testing"

	stripego "github.com/stripe/stripe-go/v85"

	"github.com/admit-events/admit"
)

// stripe-mock answers every valid request with success, so the mapping of
// Stripe's other refusals is checked on the errors stripe-go would return.
func TestAPIError(t *testing.T) {
	c := &Client{secretKey: "sk_test_hidden"}
	for _, tc := range []struct {
		err  error
		code string
	}{
		{&stripego.Error{HTTPStatusCode: 402, Type: stripego.ErrorTypeCard, Msg: "Your card was declined."}, admit.EINVALID},
		{&stripego.Error{HTTPStatusCode: 400, Type: stripego.ErrorTypeInvalidRequest, Msg: "No such payment_intent: 'pi_x'"}, admit.EINVALID},
		{&stripego.Error{HTTPStatusCode: 400, Type: stripego.ErrorTypeIdempotency, Msg: "Keys for idempotent requests can only be used with the same parameters"}, admit.ECONFLICT},
		{&stripego.Error{HTTPStatusCode: 401, Type: stripego.ErrorTypeInvalidRequest, Msg: "Invalid API Key provided: sk_test_hidden"}, admit.EUNAVAILABLE},
		{&stripego.Error{HTTPStatusCode: 429, Type: stripego.ErrorTypeInvalidRequest, Msg: "Too many requests"}, admit.EUNAVAILABLE},
		{&stripego.Error{HTTPStatusCode: 500, Type: stripego.ErrorTypeAPI, Msg: "Something went wrong"}, admit.EUNAVAILABLE},
		{errors.New(`Post "https://api.stripe.com/v1/refunds": dial tcp: i/o timeout`), admit.EUNAVAILABLE},
	} {
		got := c.apiError("refund the payment", tc.err)
		if got.Code != tc.code {
			t.Errorf("%v: code %q, want %q", tc.err, got.Code, tc.code)
		}
		if strings.Contains(got.Message, "sk_test_hidden") {
			t.Errorf("%v: message reveals the secret key: %q", tc.err, got.Message)
		}
	}
}
