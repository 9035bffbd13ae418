// Package admit holds the domain vocabulary of Admit: the types, their
// validation rules and the service interfaces. It imports nothing of ours.
package admit

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. Each maps to one HTTP status at the edge.
const (
	EINVALID      = "invalid"      // the input is wrong: 400/422
	ENOTFOUND     = "not_found"    // it does not exist, or the caller may not know it does: 404
	ECONFLICT     = "conflict"     // the state forbids it (duplicate, in use): 409
	EUNAUTHORIZED = "unauthorized" // no or bad credentials: 401
	EFORBIDDEN    = "forbidden"    // known caller, not allowed: 403
	ERATELIMITED  = "rate_limited" // slow down: 429
	EUNAVAILABLE  = "unavailable"  // a dependency is down: 503
	EINTERNAL     = "internal"     // a bug or an unexpected failure: 500, details hidden
)

// Error is a domain error: Code is machine-readable, Message is the sentence a
// client may show. Kind refines Code into a stable problem type (for example
// "sold-out" for a conflict); Fields lists per-field problems of invalid input.
type Error struct {
	Code       string
	Kind       string
	Message    string
	Fields     []FieldError
	RetryAfter time.Duration
	Available  *int64 // for sold-out conflicts: how many are left
}

// FieldError names one bad input value: Location is "body.title" or "query.limit".
type FieldError struct {
	Location string `json:"location"`
	Message  string `json:"message"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("admit: %s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error listing the bad fields.
func Invalid(fields ...FieldError) *Error {
	msg := "the input is invalid"
	if len(fields) == 1 {
		msg = fields[0].Location + ": " + fields[0].Message
	}
	return &Error{Code: EINVALID, Message: msg, Fields: fields}
}

// ErrorCode returns the code of err if it is (or wraps) an *Error, and
// EINTERNAL otherwise, so that unexpected errors are never shown to clients.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-facing message of err.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// Problems collects field errors during validation.
type Problems []FieldError

// Add records a problem with the value at location.
func (p *Problems) Add(location, format string, args ...any) {
	*p = append(*p, FieldError{Location: location, Message: fmt.Sprintf(format, args...)})
}

// Err returns nil when no problem was recorded, else an EINVALID *Error.
func (p Problems) Err() error {
	if len(p) == 0 {
		return nil
	}
	return Invalid(p...)
}
