package engine

import (
	"fmt"
	"strings"

	"github.com/weirflow/weir/internal/schemas"
)

// Pos is a place in a flow file. Line and Col start at 1; Col counts bytes.
// A Pos with no Line names the whole file.
type Pos struct {
	File      string
	Line, Col int
}

func (p Pos) String() string {
	switch {
	case p.File == "":
		return "-"
	case p.Line == 0:
		return p.File
	default:
		return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
	}
}

// FlowError is one problem in a flow, at a place in its file.
type FlowError struct {
	Pos Pos
	Msg string
}

func (e *FlowError) Error() string { return e.Pos.String() + ": " + e.Msg }

// FlowErrors is every problem one pass over a flow found, sorted by file
// and position. Load, Parse and Inspect return it for a flow with
// problems; errors.As finds it. Its Error method prints one problem a line.
type FlowErrors []*FlowError

func (l FlowErrors) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// flowErrors turns err into FlowErrors if it is the loader's list, and
// returns any other error as it is.
func flowErrors(err error) error {
	list, ok := err.(schemas.Errors)
	if !ok {
		return err
	}
	out := make(FlowErrors, len(list))
	for i, e := range list {
		out[i] = &FlowError{Pos: toPos(e.Pos), Msg: e.Msg}
	}
	return out
}

func toPos(p schemas.Pos) Pos { return Pos{File: p.File, Line: p.Line, Col: p.Col} }
