package engine

import (
	"cmp"
	"path/filepath"
	"reflect"
	"slices"
	"time"

	"github.com/weirflow/weir/internal/jsonschema"
	"github.com/weirflow/weir/internal/ref"
	"github.com/weirflow/weir/internal/schemas"
)

// node checks one node and compiles its inputs.
func (c *compiler) node(i int) *node {
	sn := &c.spec.Nodes[i]
	n := &node{
		name:      sn.Name,
		index:     i,
		timeout:   cmp.Or(sn.Timeout, c.spec.Defaults.Timeout, c.e.defaults.NodeTimeout),
		retry:     schemas.Retry{Attempts: 1},
		aggregate: sn.Aggregate,
	}
	if r := cmp.Or(sn.Retry, c.spec.Defaults.Retry); r != nil {
		n.retry = *r
	}
	if n.retry.MaxBackoff == 0 {
		n.retry.MaxBackoff = c.e.defaults.MaxBackoff
	}
	if n.retry.Backoff == 0 {
		n.retry.Backoff = 100 * time.Millisecond
	}
	te := c.entries[i]
	if te != nil {
		n.tool, n.toolName, n.plugin, n.kind = te.tool, sn.Tool, te.plugin, te.kind
		if sn.Flow != "" {
			n.toolName = filepath.Base(sn.Flow)
		}
	}
	deps := map[int]bool{}
	fields := make([]tmplField, 0, len(sn.Inputs))
	bound := map[string]bool{}
	var required []string
	if te != nil {
		required = te.in.Required()
	}
	var lits literals
	for _, in := range sn.Inputs {
		bound[in.Name] = true
		var want *jsonschema.Schema
		if te != nil {
			sub, res := te.in.Lookup([]any{in.Name})
			if res == jsonschema.Missing {
				c.errs.Add(in.Pos, "node %q: %s has no input %q (its inputs: %s)%s", sn.Name, c.label(i), in.Name,
					listOf(te.in.Properties()), didYouMean(in.Name, te.in.Properties()))
			} else if res == jsonschema.Exists {
				want = sub
			}
		}
		fdeps := map[int]bool{}
		t := c.value(sn.Name, in.Name, in.Value, fdeps)
		for d := range fdeps {
			deps[d] = true
		}
		if t != nil && sn.Aggregate {
			n.aggFields = append(n.aggFields, c.aggField(sn, in, t))
		}
		if t != nil && want != nil && !sn.Aggregate {
			c.checkType(sn, c.label(i), in, t, want)
		}
		if t != nil {
			// Decided here, once: a run only looks whether the node was
			// bypassed. Only an input the contract declares with no need
			// for it is left out, for its default; one it does not declare
			// (a template variable) is null, as prompt flow passes None.
			omit := te != nil && !sn.Aggregate && t.kind == tmplSel && t.sel.node >= 0 &&
				!slices.Contains(required, in.Name) && slices.Contains(te.in.Properties(), in.Name)
			fields = append(fields, tmplField{key: fieldKey(in.Name), val: t, omit: omit})
		}
		lits.add(in, t)
	}
	if te != nil {
		c.checkLiterals(sn, te, lits)
		for _, req := range required {
			if !bound[req] {
				c.errs.Add(sn.Pos, "node %q: missing input %q required by %s", sn.Name, req, c.label(i))
			}
		}
	}
	n.inputs = objectTmpl(fields)
	if n.cache = c.cache(sn, te); n.cache != nil {
		c.f.cached = true
	}
	if sn.When != nil && sn.Aggregate {
		c.errs.Add(sn.When.Subject().Pos, "node %q: an aggregate node runs once per batch and cannot have when", sn.Name)
	} else if sn.When != nil {
		n.when = c.when(sn, deps)
	}
	for d := range deps {
		if d == i {
			c.errs.Add(sn.Pos, "cycle: %s -> %s: a node cannot use its own output", sn.Name, sn.Name)
			continue
		}
		n.deps = append(n.deps, d)
		if c.spec.Nodes[d].Aggregate && !sn.Aggregate {
			c.errs.Add(sn.Pos, "node %q: references aggregate node %q, which runs once per batch after every line; only other aggregate nodes can use it", sn.Name, c.spec.Nodes[d].Name)
		}
	}
	slices.Sort(n.deps)
	return n
}

// aggField compiles an input of an aggregate node. An input that refers to
// the flow's inputs or to per-line nodes receives the list of its values
// over the lines; one that refers to other aggregate nodes, or to nothing,
// receives one value.
func (c *compiler) aggField(sn *schemas.Node, in schemas.Field, t *tmpl) aggField {
	var line, agg []string
	t.walk(func(s *selector) {
		switch {
		case s.node == secretsNode:
			// The same value on every line.
		case s.node == inputsNode || !c.spec.Nodes[s.node].Aggregate:
			line = append(line, s.text)
		default:
			agg = append(agg, s.text)
		}
	})
	if len(line) > 0 && len(agg) > 0 {
		c.errs.Add(in.Value.Pos, "node %q: input %q mixes per-line values (%s) with aggregate nodes (%s): give each its own input", sn.Name, in.Name, line[0], agg[0])
	}
	return aggField{name: in.Name, key: fieldKey(in.Name), val: t, perLine: len(line) > 0}
}

func (c *compiler) when(sn *schemas.Node, deps map[int]bool) *condition {
	w := sn.When
	cond := &condition{}
	var lit any // when.value
	if w.Value != nil {
		var ok bool
		if lit, ok = c.whenLiteral(sn, *w.Value, deps, "when.value must be a literal value; to read a value of the run, use when.ref"); !ok {
			return nil
		}
	} else {
		parsed, err := ref.Parse(w.Ref.Text)
		if w.Ref.Kind != schemas.String || err != nil || !parsed.IsRef() {
			c.errs.Add(w.Ref.Pos, "node %q: when.ref must be one reference, as in \"${inputs.mode}\"", sn.Name)
			return nil
		}
		if cond.sel = c.selector(sn.Name, "", *parsed.Parts[0].Ref, *w.Ref, deps); cond.sel == nil {
			return nil
		}
	}
	is, ok := c.whenLiteral(sn, w.Is, deps, "when.is must be a literal value, not a reference")
	if !ok {
		return nil
	}
	cond.is = is
	if cond.sel == nil {
		// A literal condition is decided now, once.
		cond.holds = reflect.DeepEqual(lit, is)
	}
	return cond
}

// whenLiteral compiles v, a literal of node sn's when, to the value its
// comparison uses; notLiteral is the error when v holds a reference.
func (c *compiler) whenLiteral(sn *schemas.Node, v schemas.Value, deps map[int]bool, notLiteral string) (any, bool) {
	t := c.value(sn.Name, "", v, deps)
	if t == nil {
		return nil, false
	}
	if !t.literal() {
		c.errs.Add(v.Pos, "node %q: %s", sn.Name, notLiteral)
		return nil, false
	}
	got, err := jsonschema.Decode(t.lit)
	if err != nil {
		return nil, false
	}
	return normalize(got), true
}

// tmplType is the JSON types t's value may have, or nil when that is not
// known.
func (c *compiler) tmplType(t *tmpl) []string {
	switch t.kind {
	case tmplSel:
		return c.selectorType(t.sel)
	case tmplInterp:
		return []string{"string"}
	case tmplObject:
		return []string{"object"}
	case tmplList:
		return []string{"array"}
	}
	return nil
}

// outputs compiles the flow's outputs; each must reference something.
func (c *compiler) outputs() {
	fields := make([]tmplField, 0, len(c.spec.Outputs))
	deps := map[int]bool{}
	for _, o := range c.spec.Outputs {
		before := len(c.errs)
		t := c.value("", o.Name, o.Value, deps)
		if t == nil {
			continue
		}
		if t.literal() && len(c.errs) == before {
			c.errs.Add(o.Value.Pos, "output %q references nothing: set it to a reference such as \"${node.output}\" or \"${inputs.%s}\"", o.Name, o.Name)
			continue
		}
		fields = append(fields, tmplField{key: fieldKey(o.Name), val: t})
		c.f.outputTypes = append(c.f.outputTypes, c.tmplType(t))
	}
	for d := range deps {
		if c.spec.Nodes[d].Aggregate {
			c.errs.Add(c.spec.Nodes[d].Pos, "node %q: aggregate nodes cannot feed the flow's outputs; their outputs are the batch's metrics", c.spec.Nodes[d].Name)
		}
	}
	c.f.outputs = objectTmpl(fields)
}
