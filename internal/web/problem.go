package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/admit-events/admit"
	"github.com/danielgtaylor/huma/v2"
)

// ProblemTypeBase prefixes every problem type: the kind of error follows,
// such as ProblemTypeBase+"not-found". Clients may rely on these URIs.
const ProblemTypeBase = "https://admit.dev/problems/"

// Problem is an RFC 9457 problem document. Errors lists each bad input value.
type Problem struct {
	Type       string             `json:"type" doc:"A stable URI per kind of error" example:"https://admit.dev/problems/not-found"`
	Title      string             `json:"title" doc:"Short summary of the kind of error"`
	Status     int                `json:"status"`
	Detail     string             `json:"detail" doc:"What went wrong this time"`
	Instance   string             `json:"instance,omitempty"`
	Errors     []admit.FieldError `json:"errors,omitempty" doc:"Each bad input value"`
	Available  *int64             `json:"available,omitempty" doc:"Sold out: how many are still available"`
	retryAfter time.Duration
}

func (p *Problem) Error() string  { return p.Detail }
func (p *Problem) GetStatus() int { return p.Status }

// ContentType makes huma send problems as application/problem+json.
func (p *Problem) ContentType(ct string) string {
	if ct == "application/json" {
		return "application/problem+json"
	}
	return ct
}

// GetHeaders adds Retry-After to rate-limit problems.
func (p *Problem) GetHeaders() http.Header {
	h := http.Header{}
	if p.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((p.retryAfter+time.Second-1)/time.Second)))
	}
	return h
}

// statusKinds names the problem type of each status used.
var statusKinds = map[int]string{
	400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found", 405: "method-not-allowed",
	406: "not-acceptable", 409: "conflict", 412: "precondition-failed", 413: "request-too-large",
	415: "unsupported-media-type", 422: "invalid", 429: "too-many-requests", 499: "client-closed-request", 500: "internal", 503: "unavailable",
}

// codeStatus is the one map from domain error codes to HTTP statuses.
var codeStatus = map[string]int{
	admit.EINVALID: 422, admit.ENOTFOUND: 404, admit.ECONFLICT: 409, admit.EUNAUTHORIZED: 401,
	admit.EFORBIDDEN: 403, admit.ERATELIMITED: 429, admit.EUNAVAILABLE: 503, admit.EINTERNAL: 500,
}

// NewProblem returns a problem of the given status.
func NewProblem(status int, detail string, fields ...admit.FieldError) *Problem {
	kind, ok := statusKinds[status]
	if !ok {
		kind = strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "-"))
	}
	title := http.StatusText(status)
	if status == StatusClientClosedRequest {
		title = "Client Closed Request" // nginx's name; no client reads it
	}
	return &Problem{Type: ProblemTypeBase + kind, Title: title, Status: status, Detail: detail, Errors: fields}
}

// StatusClientClosedRequest answers a request whose client went away
// before its outcome (nginx's 499).
const StatusClientClosedRequest = 499

// ProblemFor is ProblemFrom for a request's error: an internal error is
// logged (its details never reach the client) as what, and one that
// happened because the client went away is a 499 logged at debug level.
func ProblemFor(ctx context.Context, log *slog.Logger, what string, err error) *Problem {
	p := ProblemFrom(err)
	if p.Status < 500 {
		return p
	}
	if ctx.Err() != nil {
		log.DebugContext(ctx, "request abandoned", "request_id", RequestID(ctx), "err", err)
		return NewProblem(StatusClientClosedRequest, "the client closed the request")
	}
	log.ErrorContext(ctx, what, "request_id", RequestID(ctx), "err", err)
	return p
}

// ProblemFrom turns any error into a problem. Domain errors keep their
// message; anything else is an internal error whose details stay in the log.
func ProblemFrom(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	var e *admit.Error
	if !errors.As(err, &e) {
		return NewProblem(500, "internal error")
	}
	status := codeStatus[e.Code]
	if e.Code == admit.EINVALID && onlyQuery(e.Fields) {
		status = 400 // a bad query parameter is a bad request, not a bad entity
	}
	p = NewProblem(status, e.Message, e.Fields...)
	if e.Kind != "" {
		p.Type = ProblemTypeBase + e.Kind
	}
	p.retryAfter, p.Available = e.RetryAfter, e.Available
	return p
}

func onlyQuery(fields []admit.FieldError) bool {
	for _, f := range fields {
		if !strings.HasPrefix(f.Location, "query.") && !strings.HasPrefix(f.Location, "path.") {
			return false
		}
	}
	return true
}

// humaError replaces huma's error constructor so that its own errors
// (validation, body size, parsing) are our problem documents too. The bad
// value is never echoed back: it may be a password.
func humaError(status int, msg string, errs ...error) huma.StatusError {
	var fields []admit.FieldError
	for _, err := range errs {
		var d *huma.ErrorDetail
		if errors.As(err, &d) {
			fields = append(fields, fieldError(d))
			continue
		}
		if err != nil && ProblemFrom(err).Status == 500 {
			fields = append(fields, admit.FieldError{Message: "invalid input"})
		}
	}
	switch {
	case status == 400 && msg == "validation failed" && slices.ContainsFunc(fields, isOutOfRange):
		msg = "the request body holds a number beyond any field's range"
	case status == 400 && msg == "validation failed":
		msg = "the request body is not valid JSON"
	case status == 415:
		msg = "send the request body as application/json"
	case msg == "validation failed":
		msg = "the request is invalid: see errors"
	}
	if status == 422 && onlyQuery(fields) && len(fields) > 0 {
		status = 400
	}
	return NewProblem(status, msg, fields...)
}

// fieldError names the missing property in the location, as for other
// fields, and rewords encoding/json's complaints without Go's type names.
func fieldError(d *huma.ErrorDetail) admit.FieldError {
	var name string
	if _, err := fmt.Sscanf(d.Message, "expected required property %s to be present", &name); err == nil {
		return admit.FieldError{Location: d.Location + "." + name, Message: "is required"}
	}
	if m := unmarshalError.FindStringSubmatch(d.Message); m != nil {
		f := admit.FieldError{Location: d.Location, Message: "has the wrong type"}
		if m[1] != "" {
			f.Location = d.Location + "." + m[1]
		}
		switch {
		case strings.Contains(m[2], "int"):
			f.Message = "must be a whole number in range"
		case m[2] == "float64":
			f.Message = outOfRange // only a number can fail to decode into any
		}
		return f
	}
	return admit.FieldError{Location: d.Location, Message: d.Message}
}

const outOfRange = "holds a number out of range"

func isOutOfRange(f admit.FieldError) bool { return f.Message == outOfRange }

// unmarshalError matches encoding/json's UnmarshalTypeError: the JSON path
// after the Go type's name, and the Go type.
var unmarshalError = regexp.MustCompile(`^json: cannot unmarshal .* into Go (?:struct field [^.\s]*\.(\S+)|value) of type (\S+)$`)

// WriteProblem writes p as application/problem+json.
func WriteProblem(w http.ResponseWriter, p *Problem) {
	for k, v := range p.GetHeaders() {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}
