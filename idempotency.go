package admit

import "context"

// IdempotentOutcome says what a request carrying an Idempotency-Key may do.
type IdempotentOutcome int

const (
	// IdempotentProceed: the caller now owns the key and runs the request.
	IdempotentProceed IdempotentOutcome = iota + 1
	// IdempotentReplay: the request completed earlier; answer its response.
	IdempotentReplay
	// IdempotentInProgress: another request holds the key; wait and ask again.
	IdempotentInProgress
	// IdempotentMismatch: the key was used with a different request.
	IdempotentMismatch
)

func (o IdempotentOutcome) String() string {
	switch o {
	case IdempotentProceed:
		return "proceed"
	case IdempotentReplay:
		return "replay"
	case IdempotentInProgress:
		return "in progress"
	case IdempotentMismatch:
		return "mismatch"
	}
	return "unknown"
}

// IdempotentResult is the answer to claiming an idempotency key. The stored
// response is set only for IdempotentReplay; Owner, only for
// IdempotentProceed: the claim, which the request passes to complete, renew
// or abandon the key.
type IdempotentResult struct {
	Outcome IdempotentOutcome
	Owner   string
	IdempotentResponse
}

// IdempotentResponse is what is kept of a response to replay it: its
// status, its Content-Type and Location headers, and its body.
type IdempotentResponse struct {
	StatusCode  int
	ContentType string
	Location    string
	Body        []byte
}

type requestKeyKey struct{}

// NewContextWithRequestKey marks ctx as serving a request made under an
// Idempotency-Key. key stands for the caller's key and request together
// (not the key itself). What such a request creates records it, so that a
// retry of a request whose first attempt had an unknown outcome (its commit
// was cut off, it outlived its lease) finds what that attempt made instead
// of making it a second time.
func NewContextWithRequestKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, requestKeyKey{}, key)
}

// RequestKeyFromContext returns the request key of ctx, or "".
func RequestKeyFromContext(ctx context.Context) string {
	k, _ := ctx.Value(requestKeyKey{}).(string)
	return k
}
