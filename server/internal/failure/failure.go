// Package failure defines the errors the domain returns on purpose. Each
// carries a Kind that the API layer maps to a protocol code in one place, and
// a message written for the caller. Any other error is internal: its text
// never reaches a client.
package failure

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies a deliberate failure.
type Kind int

const (
	// KindInvalidArgument: the request is malformed; Field names the culprit.
	KindInvalidArgument Kind = iota + 1
	// KindNotFound: the thing does not exist, or the caller may not know it does.
	KindNotFound
	// KindAlreadyExists: a unique name or key is taken.
	KindAlreadyExists
	// KindPermissionDenied: the caller is known but may not do this.
	KindPermissionDenied
	// KindUnauthenticated: no valid credential.
	KindUnauthenticated
	// KindFailedPrecondition: the request is fine but the state forbids it.
	KindFailedPrecondition
	// KindResourceExhausted: a quota or size limit is reached.
	KindResourceExhausted
	// KindUnimplemented: the contract has it, this server does not yet.
	KindUnimplemented
	// KindUnavailable: a transient failure (the database restarting, a
	// lost connection); the same request may succeed if retried.
	KindUnavailable
	// KindOutOfRange: a cursor points outside what is kept.
	KindOutOfRange
)

// Error is a deliberate failure with a message safe to show the caller.
type Error struct {
	Kind    Kind
	Field   string // for KindInvalidArgument: the request field at fault
	Message string
	// RetryAfter, for KindResourceExhausted: when a retry can succeed
	// (sent as a RetryInfo detail); 0 when unknown.
	RetryAfter time.Duration
	cause      error
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// Unwrap exposes the cause to errors.Is and errors.As on the server side.
func (e *Error) Unwrap() error { return e.cause }

// WithCause keeps an underlying error for logs; it is never sent.
func (e *Error) WithCause(err error) *Error {
	c := *e
	c.cause = err
	return &c
}

func newf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// InvalidArgument reports a malformed field.
func InvalidArgument(field, format string, args ...any) *Error {
	e := newf(KindInvalidArgument, format, args...)
	e.Field = field
	return e
}

// NotFound reports that what (e.g. "session") does not exist for the caller.
func NotFound(what string) *Error { return newf(KindNotFound, "%s not found", what) }

// TooManyTries reports a limit on attempts that lifts after wait.
func TooManyTries(wait time.Duration, format string, args ...any) *Error {
	e := newf(KindResourceExhausted, format, args...)
	e.RetryAfter = wait
	return e
}

// NotFoundWhy is NotFound with a hint at what to do next, for callers who
// are people (a customer typing a code).
func NotFoundWhy(what, hint string) *Error {
	return newf(KindNotFound, "%s not found: %s", what, hint)
}

// AlreadyExists reports a taken unique value.
func AlreadyExists(format string, args ...any) *Error {
	return newf(KindAlreadyExists, format, args...)
}

// PermissionDenied reports a known caller acting beyond its rights.
func PermissionDenied(format string, args ...any) *Error {
	return newf(KindPermissionDenied, format, args...)
}

// Unauthenticated reports a missing or invalid credential.
func Unauthenticated(format string, args ...any) *Error {
	return newf(KindUnauthenticated, format, args...)
}

// FailedPrecondition reports a state that forbids the request.
func FailedPrecondition(format string, args ...any) *Error {
	return newf(KindFailedPrecondition, format, args...)
}

// ResourceExhausted reports a reached limit.
func ResourceExhausted(format string, args ...any) *Error {
	return newf(KindResourceExhausted, format, args...)
}

// Unimplemented reports a feature the server does not offer yet.
func Unimplemented(format string, args ...any) *Error {
	return newf(KindUnimplemented, format, args...)
}

// Unavailable reports a transient failure: the caller should retry.
func Unavailable(format string, args ...any) *Error {
	return newf(KindUnavailable, format, args...)
}

// OutOfRange reports a cursor outside what is kept.
func OutOfRange(format string, args ...any) *Error {
	return newf(KindOutOfRange, format, args...)
}

// As returns the deliberate failure in err's chain, if any.
func As(err error) (*Error, bool) {
	var fe *Error
	ok := errors.As(err, &fe)
	return fe, ok
}

// IsKind reports whether err is a deliberate failure of that kind.
func IsKind(err error, kind Kind) bool {
	fe, ok := As(err)
	return ok && fe.Kind == kind
}
