package rida

import (
	"errors"
	"fmt"
)

// ErrorCode is a machine-readable class of application error. Each code maps
// to exactly one HTTP status in httpapi's table.
type ErrorCode string

// Error codes. Add a code only together with its row in httpapi's table.
const (
	// CodeInvalid: the request is malformed (bad JSON, bad query parameter).
	CodeInvalid ErrorCode = "invalid"
	// CodeUnauthorized: the caller is not authenticated.
	CodeUnauthorized ErrorCode = "unauthorized"
	// CodeForbidden: the caller may not do this (SCM not allowed, not owner).
	CodeForbidden ErrorCode = "forbidden"
	// CodeNotFound: the resource does not exist.
	CodeNotFound ErrorCode = "not_found"
	// CodeConflict: a compare-and-set lost, a transition is illegal, or the
	// resource already exists.
	CodeConflict ErrorCode = "conflict"
	// CodeTooLarge: the request body is over the limit.
	CodeTooLarge ErrorCode = "too_large"
	// CodeRateLimited: the caller is over a rate limit (submissions per
	// user); the answer says when to retry.
	CodeRateLimited ErrorCode = "rate_limited"
	// CodeUnprocessable: the input is well-formed but its content is wrong
	// (invalid modulemd, unreachable component sources).
	CodeUnprocessable ErrorCode = "unprocessable"
	// CodeUnavailable: a dependency (database, Koji) is unreachable, or the
	// service is in maintenance mode.
	CodeUnavailable ErrorCode = "unavailable"
	// CodeInternal: anything else; the message shown to clients is generic.
	CodeInternal ErrorCode = "internal"
)

// Error is rida's application error: a code, a message meant for the user,
// and optionally the underlying cause, which is never shown to clients.
type Error struct {
	Code    ErrorCode
	Message string
	Err     error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Err != nil && e.Message == "" {
		return string(e.Code) + ": " + e.Err.Error()
	}
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the cause so errors.Is works through an *Error.
func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, sentinel) match any *Error with the sentinel's code
// and message, so sentinels survive being re-created across a client/server
// boundary.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Message == e.Message
}

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCodeOf returns the code of the first *Error in err's chain, or
// CodeInternal for any other non-nil error, or "" for nil.
func ErrorCodeOf(err error) ErrorCode {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessageOf returns the user-facing message of the first *Error in err's
// chain, or a generic message for internal errors, whose details belong in the
// log only.
func ErrorMessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != CodeInternal {
		return e.Message
	}
	return "An internal error occurred."
}

// Sentinel errors for expected conditions; match them with errors.Is.
var (
	// ErrModuleBuildNotFound is MBS's message for an unknown module build id.
	ErrModuleBuildNotFound = &Error{Code: CodeNotFound, Message: "No such module found."}
	// ErrComponentBuildNotFound is MBS's message for an unknown component id.
	ErrComponentBuildNotFound = &Error{Code: CodeNotFound, Message: "No such component found."}
	// ErrStaleWrite means a compare-and-set lost: the row changed since it
	// was read. The caller re-reads and decides again.
	ErrStaleWrite = &Error{Code: CodeConflict, Message: "The build was changed concurrently; read it again."}
)
