package plugins

import (
	"encoding/json"
	"fmt"
)

// LiteralChecker is a Tool that checks, when a flow loads, the inputs that
// a node gives it as literals: a prompt's template, say. A mistake there is
// then a load error at its place in the flow file, which weir validate
// reports, instead of a failure of every run. It is optional.
//
// lits maps input names to their JSON values; inputs bound to references
// are left out. CheckLiterals returns nil or an error about one input,
// best a *LiteralError, which the engine reports at that input. It must be
// safe for concurrent use and must not retain lits.
type LiteralChecker interface {
	CheckLiterals(lits map[string]json.RawMessage) error
}

// LiteralError is a mistake inside one literal input. Line counts the
// lines of the input's text from 1, or is 0 when it does not apply.
type LiteralError struct {
	Input string
	Line  int
	Err   error
}

// Error reads `input "template": line 3: cause`.
func (e *LiteralError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("input %q: line %d: %v", e.Input, e.Line, e.Err)
	}
	return fmt.Sprintf("input %q: %v", e.Input, e.Err)
}

func (e *LiteralError) Unwrap() error { return e.Err }
