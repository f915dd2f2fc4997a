package cxaudit

import (
	"errors"
	"fmt"
	"time"
)

// Error codes: what kind of failure an Error is, for callers to branch on.
const (
	EINTERNAL     = "internal"
	EINVALID      = "invalid"
	ENOTFOUND     = "not_found"
	ECONFLICT     = "conflict"
	EUNAUTHORIZED = "unauthorized"
	ERATELIMITED  = "rate_limited"
	EUNAVAILABLE  = "unavailable"
)

// Error is the project's error: a machine code and a human message.
type Error struct {
	Code    string
	Message string
	// Field names the setting at fault in an EINVALID error, as its
	// package spells it ("JWTConfig.PrivateKey"), so a caller that fills
	// that setting from an environment variable can name the variable
	// without reading the message (ErrorField).
	Field string
	Err   error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalidf returns an EINVALID *Error about the setting field.
func Invalidf(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorField returns the Field of the first *Error in err's chain that
// names one, or "".
func ErrorField(err error) string {
	for err != nil {
		var e *Error
		if !errors.As(err, &e) {
			return ""
		}
		if e.Field != "" {
			return e.Field
		}
		err = e.Err
	}
	return ""
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// RateLimitError reports that a remote system asked cxaudit to wait. Jobs
// that see it snooze instead of burning an attempt.
type RateLimitError struct {
	Source     Source
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("%s: rate limited, retry after %s", e.Source, e.RetryAfter)
}
