package engine

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/weirflow/weir/internal/schemas"
	"github.com/weirflow/weir/plugins"
)

// literals are the inputs of one node that hold no reference, for a tool
// that checks them at load (plugins.LiteralChecker).
type literals struct {
	vals map[string]json.RawMessage
	pos  map[string]schemas.Pos
	// embed is the file an input's text was embedded from, if it was.
	embed map[string]string
}

func (l *literals) add(in schemas.Field, t *tmpl) {
	if t == nil || t.kind != tmplLit {
		return
	}
	if l.vals == nil {
		l.vals = map[string]json.RawMessage{}
		l.pos = map[string]schemas.Pos{}
	}
	l.vals[in.Name] = t.lit
	l.pos[in.Name] = in.Value.Pos
	if in.Value.Embed != "" {
		if l.embed == nil {
			l.embed = map[string]string{}
		}
		l.embed[in.Name] = in.Value.Embed
	}
}

// checkLiterals lets the tool of node sn check its literal inputs, when it
// can, and reports what it finds at the input it names: a template's
// syntax error is then a load error, not a failure of every run.
func (c *compiler) checkLiterals(sn *schemas.Node, te *toolEntry, lits literals) {
	lc, ok := te.tool.(plugins.LiteralChecker)
	if !ok || len(lits.vals) == 0 {
		return
	}
	err := lc.CheckLiterals(lits.vals)
	if err == nil {
		return
	}
	at := sn.Pos
	var le *plugins.LiteralError
	if errors.As(err, &le) {
		if p, ok := lits.pos[le.Input]; ok {
			at = p
		}
		if file, ok := lits.embed[le.Input]; ok {
			// At the @embed attribute: the line is the embedded file's.
			where := "in " + file
			if le.Line > 0 {
				where = fmt.Sprintf("line %d of %s", le.Line, file)
			}
			c.errs.Add(at, "node %q: input %q: %s: %v", sn.Name, le.Input, where, le.Err)
			return
		}
	}
	c.errs.Add(at, "node %q: %v", sn.Name, err)
}
