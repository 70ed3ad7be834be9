package plugins

import (
	"context"
	"errors"
	"fmt"
)

// Kind says what sort of failure a tool reported, which decides what the
// engine does next.
type Kind uint8

const (
	// Internal is a failure that retrying will not fix. It is the kind of any
	// error that does not say otherwise.
	Internal Kind = iota
	// Retryable is a transient failure; the engine retries it when the node
	// has retry attempts left.
	Retryable
	// Timeout is a deadline that passed; the engine retries it like Retryable.
	Timeout
	// Limit is a sandbox limit that was hit (memory, output size, time).
	Limit
	// InvalidInput means the inputs broke the tool's contract.
	InvalidInput
)

var kindNames = [...]string{"internal", "retryable", "timeout", "limit", "invalid input"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Error is a tool failure of a known Kind. Tools return it, directly or
// wrapped, to tell the engine whether a retry can help.
type Error struct {
	Kind Kind
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of kind k with a formatted message; %w wraps.
func Errorf(k Kind, format string, args ...any) error {
	return &Error{Kind: k, Err: fmt.Errorf(format, args...)}
}

// WithKind marks err with kind k. It returns nil for a nil err.
func WithKind(k Kind, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: k, Err: err}
}

// KindOf reports the kind of err: the Kind of the outermost *Error in its
// chain, Timeout for a context deadline, and Internal otherwise.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Timeout
	}
	return Internal
}

// CanRetry reports whether the engine may retry a call that failed with err.
func CanRetry(err error) bool {
	k := KindOf(err)
	return k == Retryable || k == Timeout
}

// Exited marks err as the failure of a call whose plugin process exited,
// or was stopped, under it, or never started: the host lost the tool,
// rather than the tool failing. The text is err's and KindOf sees through
// it. It returns nil for a nil err.
func Exited(err error) error {
	if err == nil {
		return nil
	}
	return &exitedError{err}
}

// IsExited reports whether err, or an error it wraps, was marked by
// Exited.
func IsExited(err error) bool {
	var e *exitedError
	return errors.As(err, &e)
}

type exitedError struct{ err error }

func (e *exitedError) Error() string { return e.err.Error() }
func (e *exitedError) Unwrap() error { return e.err }
