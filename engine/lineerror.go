package engine

import (
	"errors"
	"fmt"

	"github.com/weirflow/weir/plugins"
)

// LineError is why a line of a batch failed: LineResult.Err holds one, and
// the run record keeps its Kind and text (see package engine/record). A
// Source also yields one, Kind left unset, for a line it cannot read; the
// batch fails that line alone, as BadInput.
//
// errors.As finds it, and its Kind tells the failures apart:
//
//	var le *engine.LineError
//	if errors.As(lr.Err, &le) && le.Kind == engine.TimedOut {
//		// worth running again, with more time
//	}
//
// In a line of a batch of this process, Err is the engine's own error, in
// which errors.As finds more: an *InputError for inputs that break the
// flow's types, a *NodeError naming the node whose tool failed (and
// plugins.KindOf of its Err says how). Read back from a run record, Err
// holds the error's text alone.
type LineError struct {
	Line int
	Kind FailureKind
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// MarshalText makes a LineResult encode its error as the error's text.
func (e *LineError) MarshalText() ([]byte, error) {
	if e.Err == nil {
		return nil, nil
	}
	return []byte(e.Err.Error()), nil
}

// FailureKind says what made a line of a batch fail.
type FailureKind uint8

const (
	// UnknownFailure is the kind of a failed line of a run record written
	// before weir kept kinds, or of an error that is not a *LineError.
	UnknownFailure FailureKind = iota
	// BadInput: the line could not be read (not a JSON object, a CSV row of
	// the wrong width), mapped to the flow's inputs, or its inputs broke
	// the flow's input types. Running it again will not help; fixing the
	// data will.
	BadInput
	// ToolFailed: a node's tool failed (its plugins.Kind says how), or its
	// outputs lacked what the flow's outputs or aggregate nodes take, or
	// the line ran elsewhere (BatchOptions.Remote) and its result could
	// not be taken.
	ToolFailed
	// TimedOut: the line ran out of its time (BatchOptions.LineTimeout or
	// the flow's run deadline), or a node's tool did (its timeout, or a
	// tool's own plugins.Timeout error), after any retries.
	TimedOut
)

// failureNames are the kinds' names, as String and the run record spell
// them.
var failureNames = [...]string{UnknownFailure: "unknown", BadInput: "input", ToolFailed: "tool", TimedOut: "timeout"}

func (k FailureKind) String() string {
	if int(k) < len(failureNames) {
		return failureNames[k]
	}
	return fmt.Sprintf("FailureKind(%d)", k)
}

// MarshalText spells k as String does.
func (k FailureKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads a kind as String spells it. A name it does not know
// (from a later weir) is UnknownFailure, not an error.
func (k *FailureKind) UnmarshalText(b []byte) error {
	*k = UnknownFailure
	for i, name := range failureNames {
		if string(b) == name {
			*k = FailureKind(i)
		}
	}
	return nil
}

// failure classifies the error of a line's run: err as the engine's run
// returned it.
func failure(line int, err error) *LineError {
	le := &LineError{Line: line, Kind: ToolFailed, Err: err}
	var in *InputError
	var ne *NodeError
	switch {
	case errors.As(err, &in):
		le.Kind = BadInput
	case errors.Is(err, ErrRunTimeout):
		le.Kind = TimedOut
	case errors.As(err, &ne) && plugins.KindOf(ne.Err) == plugins.Timeout:
		le.Kind = TimedOut
	}
	return le
}
