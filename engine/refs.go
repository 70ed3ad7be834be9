package engine

import (
	"fmt"
	"path/filepath"
	"slices"

	"github.com/weirflow/weir/internal/jsonscan"
	"github.com/weirflow/weir/internal/jsonschema"
	"github.com/weirflow/weir/internal/ref"
	"github.com/weirflow/weir/internal/schemas"
)

// value compiles a literal of the flow, whose strings may hold references,
// into a tmpl, recording the nodes it references in deps.
func (c *compiler) value(node, field string, v schemas.Value, deps map[int]bool) *tmpl {
	switch v.Kind {
	case schemas.Scalar:
		return litTmpl([]byte(v.Text))
	case schemas.List:
		items := make([]*tmpl, 0, len(v.Items))
		for _, item := range v.Items {
			if t := c.value(node, field, item, deps); t != nil {
				items = append(items, t)
			}
		}
		return listTmpl(items)
	case schemas.Object:
		fields := make([]tmplField, 0, len(v.Fields))
		for _, f := range v.Fields {
			if t := c.value(node, field, f.Value, deps); t != nil {
				fields = append(fields, tmplField{key: fieldKey(f.Name), val: t})
			}
		}
		return objectTmpl(fields)
	}
	if v.Embed != "" {
		// An embedded file's text is taken as it is: a template's "${"
		// is no reference.
		return stringLit(v.Text)
	}
	parsed, err := ref.Parse(v.Text)
	if err != nil {
		se := err.(*ref.SyntaxError)
		c.errs.Add(v.PosAt(se.Offset), "%s: %s", c.where(node, field), se.Msg)
		return nil
	}
	if parsed.IsLiteral() {
		text := ""
		if len(parsed.Parts) == 1 {
			text = parsed.Parts[0].Text
		}
		return stringLit(text)
	}
	t := &tmpl{kind: tmplInterp}
	for _, p := range parsed.Parts {
		if p.Ref == nil {
			t.parts = append(t.parts, part{text: p.Text})
			continue
		}
		sel := c.selector(node, field, *p.Ref, v, deps)
		if sel == nil {
			return nil
		}
		t.parts = append(t.parts, part{sel: sel})
	}
	if parsed.IsRef() {
		return &tmpl{kind: tmplSel, sel: t.parts[0].sel}
	}
	return t
}

// where names the part of the flow a message is about.
func (c *compiler) where(node, field string) string {
	switch node {
	case "":
		return fmt.Sprintf("output %q", field)
	default:
		if field == "" {
			return fmt.Sprintf("node %q", node)
		}
		return fmt.Sprintf("node %q: input %q", node, field)
	}
}

// selector checks one reference and compiles it.
func (c *compiler) selector(node, field string, r ref.Ref, v schemas.Value, deps map[int]bool) *selector {
	pos := v.PosAt(r.Offset)
	where := c.where(node, field)
	text := refText(r)
	if r.Root == "secrets" {
		return c.secretSelector(pos, where, r)
	}
	if r.Root == "inputs" {
		if len(r.Steps) == 0 {
			return &selector{node: inputsNode, text: text}
		}
		first := r.Steps[0]
		names := c.inputNames()
		if first.IsIndex || !slices.Contains(names, first.Key) {
			c.errs.Add(pos, "%s: %s: the flow has no input %q (inputs: %s)%s", where, text, first.Key, listOf(names), didYouMean(first.Key, names))
			return nil
		}
		if !c.pathExists(pos, where, text, c.f.inputs, r.Steps, "input schema") {
			return nil
		}
		return &selector{node: inputsNode, steps: r.Steps, text: text}
	}
	i, ok := c.nodes[r.Root]
	if !ok {
		names := make([]string, 0, len(c.nodes))
		for n := range c.nodes {
			names = append(names, n)
		}
		hint := didYouMean(r.Root, names)
		if r.Root == "data" {
			hint = "; ${data.col} is for --map of weir batch, not for flow files"
		} else if hint == "" {
			hint = "; refer to an input as ${inputs.x}, to a node as ${node.output} and to a secret as ${secrets.x}"
		}
		c.errs.Add(pos, "%s: %s: unknown node %q%s", where, text, r.Root, hint)
		return nil
	}
	if len(r.Steps) == 0 || r.Steps[0].IsIndex || r.Steps[0].Key != "output" {
		c.errs.Add(pos, "%s: %s: a node reference starts with \"output\": write ${%s.output} or ${%s.output.field}", where, text, r.Root, r.Root)
		return nil
	}
	deps[i] = true
	steps := r.Steps[1:]
	if te := c.toolOf(i); te != nil && len(steps) > 0 {
		if !c.pathExists(pos, where, text, te.out, steps, "outputs of "+c.label(i)) {
			return nil
		}
	}
	return &selector{node: i, steps: steps, text: text}
}

// label names node i's tool in messages: "tool text.upper" or
// "sub-flow child.cue".
func (c *compiler) label(i int) string {
	sn := &c.spec.Nodes[i]
	if sn.Flow != "" {
		return "sub-flow " + filepath.Base(sn.Flow)
	}
	return "tool " + sn.Tool
}

// toolOf returns the tool of node i, or nil when it did not resolve (that
// error is reported at the node itself).
func (c *compiler) toolOf(i int) *toolEntry { return c.entries[i] }

// pathExists reports an error when schema says path cannot exist.
func (c *compiler) pathExists(pos schemas.Pos, where, text string, schema *jsonschema.Schema, path []jsonscan.Step, what string) bool {
	cur := schema
	for k, step := range path {
		var elem any = step.Key
		if step.IsIndex {
			elem = step.Index
		}
		sub, res := cur.Lookup([]any{elem})
		switch res {
		case jsonschema.Unknown:
			return true
		case jsonschema.Missing:
			if step.IsIndex {
				c.errs.Add(pos, "%s: %s: cannot index %s: the %s say it is not a list", where, text, stepsText(path[:k]), what)
			} else {
				props := cur.Properties()
				c.errs.Add(pos, "%s: %s: no field %q in the %s (fields: %s)%s", where, text, step.Key, what, listOf(props), didYouMean(step.Key, props))
			}
			return false
		}
		cur = sub
	}
	return true
}

func stepsText(steps []jsonscan.Step) string {
	if len(steps) == 0 {
		return "the value"
	}
	return quote(ref.FormatSteps(steps))
}

func (c *compiler) inputNames() []string {
	names := make([]string, len(c.spec.Inputs))
	for i, in := range c.spec.Inputs {
		names[i] = in.Name
	}
	return names
}
