// Package fault is seance's one error classification: a small closed set of codes and a message that
// is safe to show to a user or an API client. Errors are wrapped with context where they happen,
// classified once with a Code, and mapped to an HTTP status in exactly one place (internal/httpapi).
//
// Every package may import fault; it imports only the standard library.
package fault

import (
	"errors"
	"fmt"
)

// Code classifies an error by what the caller can do about it.
type Code string

// The codes. Add one only when a caller must act differently on it.
const (
	Invalid       Code = "invalid_request"         // malformed input or out-of-range parameter (400)
	NotFound      Code = "not_found"               // unknown model, file or route (404)
	TooLarge      Code = "too_large"               // body or input over a limit (413)
	ContextLength Code = "context_length_exceeded" // prompt does not fit the model's context (400)
	Unprocessable Code = "unprocessable"           // well-formed but unusable, e.g. a corrupt model file (422)
	Unauthorized  Code = "unauthorized"            // missing or wrong API key (401)
	Forbidden     Code = "forbidden"               // a known caller who may not do this, e.g. decide an approval (403)
	Conflict      Code = "conflict"                // the state changed first, e.g. a request already decided (409)
	Unsupported   Code = "unsupported"             // the backend or model cannot do this (400)
	Overloaded    Code = "overloaded"              // queue full; retry later (503)
	Upstream      Code = "upstream"                // a remote backend failed (502)
	Timeout       Code = "timeout"                 // deadline exceeded (504)
	Canceled      Code = "canceled"                // the caller went away (499)
	Internal      Code = "internal"                // a bug (500)
)

// Error is an error with a Code and a user-safe message. Err, when set, is the cause; it may hold
// details (paths, upstream bodies) that are logged but never sent to a client.
type Error struct {
	Code    Code
	Message string
	// Param names the offending request parameter, when there is one.
	Param string
	Err   error
}

// Error returns the user-safe message followed by the cause.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// New returns an Error with a formatted user-safe message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an Error with code and message whose cause is err.
func Wrap(err error, code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// Param returns an Invalid error about one request parameter.
func Param(param, format string, args ...any) *Error {
	return &Error{Code: Invalid, Message: fmt.Sprintf(format, args...), Param: param}
}

// CodeOf returns the Code of the first *Error in err's chain, Canceled or Timeout for context errors,
// and Internal otherwise.
func CodeOf(err error) Code {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	case errors.Is(err, errCanceled):
		return Canceled
	case errors.Is(err, errDeadline):
		return Timeout
	}
	return Internal
}

// Message returns the user-safe message of err: the Message of its first *Error, or a generic text
// for unclassified errors (whose details may not be safe to show).
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	switch CodeOf(err) {
	case Canceled:
		return "request canceled"
	case Timeout:
		return "deadline exceeded"
	}
	return "internal error"
}

// ParamOf returns the Param of the first *Error in err's chain.
func ParamOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Param
	}
	return ""
}
