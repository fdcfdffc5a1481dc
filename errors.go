package lindung

import (
	"errors"
	"fmt"
)

// ErrorCode classifies an error for the caller. It is the only part of an internal failure a client ever
// sees, mapped once to the GraphQL error's extensions.code and to the HTTP status.
type ErrorCode string

// The error codes of the hub.
const (
	EINVALID         ErrorCode = "INVALID"
	ENOTFOUND        ErrorCode = "NOT_FOUND"
	EUNAUTHENTICATED ErrorCode = "UNAUTHENTICATED"
	EFORBIDDEN       ErrorCode = "FORBIDDEN"
	ECONFLICT        ErrorCode = "CONFLICT"
	EUNAVAILABLE     ErrorCode = "UNAVAILABLE"
	EINTERNAL        ErrorCode = "INTERNAL"

	// Codes of requests refused for what they ask of the hub rather than for what they ask about.

	// ELIMITEXCEEDED: a document or body over a configured limit (HTTP 400, 413 for the body).
	ELIMITEXCEEDED ErrorCode = "LIMIT_EXCEEDED"
	// ERATELIMITED: the caller's, its partner's or its employer eligibility bucket is empty (HTTP 429
	// with Retry-After).
	ERATELIMITED ErrorCode = "RATE_LIMITED"
	// EPERSISTEDQUERYNOTFOUND: a request sent only a document hash the hub does not hold. The hub never
	// registers documents from requests, so the client must send the query itself (HTTP 400).
	EPERSISTEDQUERYNOTFOUND ErrorCode = "PERSISTED_QUERY_NOT_FOUND"
)

// Error is the hub's one error type. Message is written for a partner's developer and is safe to show:
// it never holds SQL, stack traces, policy internals or a withheld value. Field names the input field at
// fault, when there is one. Err is the wrapped cause, logged but never shown.
type Error struct {
	Code    ErrorCode
	Message string
	Field   string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the cause, so errors.Is and errors.As see through to it.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an Error with a code and a formatted safe message.
func Errorf(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an INVALID error about one input field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Internal wraps an unexpected failure. The message shown is generic; the cause is kept for the log.
func Internal(err error, context string) *Error {
	return &Error{Code: EINTERNAL, Message: "internal error", Err: fmt.Errorf("%s: %w", context, err)}
}

// ErrNotFound is what a caller gets for a record that does not exist and, identically, for one outside
// their scope: the two must be indistinguishable.
var ErrNotFound = &Error{Code: ENOTFOUND, Message: "not found"}

// CodeOf returns the code of err, INTERNAL for an error that is not an *Error, and "" for nil.
func CodeOf(err error) ErrorCode {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// MessageOf returns the message of err that is safe to show a client.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
