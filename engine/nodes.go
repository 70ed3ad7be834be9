package engine

import (
	"cmp"
	"path/filepath"
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
			fields = append(fields, tmplField{key: fieldKey(in.Name), val: t})
		}
		lits.add(in, t)
	}
	if te != nil {
		c.checkLiterals(sn, te, lits)
		for _, req := range te.in.Required() {
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
		c.errs.Add(sn.When.Ref.Pos, "node %q: an aggregate node runs once per batch and cannot have when", sn.Name)
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
	parsed, err := ref.Parse(w.Ref.Text)
	if w.Ref.Kind != schemas.String || err != nil || !parsed.IsRef() {
		c.errs.Add(w.Ref.Pos, "node %q: when.ref must be one reference, as in \"${inputs.mode}\"", sn.Name)
		return nil
	}
	sel := c.selector(sn.Name, "", *parsed.Parts[0].Ref, w.Ref, deps)
	if sel == nil {
		return nil
	}
	is := c.value(sn.Name, "", w.Is, deps)
	if is == nil {
		return nil
	}
	if !is.literal() {
		c.errs.Add(w.Is.Pos, "node %q: when.is must be a literal value, not a reference", sn.Name)
		return nil
	}
	want, err := jsonschema.Decode(is.lit)
	if err != nil {
		return nil
	}
	return &condition{sel: sel, is: normalize(want)}
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
	}
	for d := range deps {
		if c.spec.Nodes[d].Aggregate {
			c.errs.Add(c.spec.Nodes[d].Pos, "node %q: aggregate nodes cannot feed the flow's outputs; their outputs are the batch's metrics", c.spec.Nodes[d].Name)
		}
	}
	c.f.outputs = objectTmpl(fields)
}
