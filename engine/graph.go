package engine

import (
	"encoding/json"
	"slices"
	"strings"
)

// Output describes one output of a flow, for drawing and listing.
type Output struct {
	Name string
	// Nodes are the nodes the output references, and Inputs the flow's
	// inputs, in the order they are first referenced.
	Nodes, Inputs []string
	// Types are the JSON types the output may have ("string", ...), as the
	// tools' contracts and the inputs' types make them known; empty when
	// they do not. A node's output is also null when the node is bypassed.
	Types []string
}

// Outputs lists the flow's outputs in file order.
func (f *Flow) Outputs() []Output {
	if f.outputs == nil {
		return nil
	}
	out := make([]Output, 0, len(f.outputs.fields))
	for i, fl := range f.outputs.fields {
		var name string
		_ = json.Unmarshal([]byte(strings.TrimSuffix(string(fl.key), ":")), &name) // encoded by fieldKey
		nodes, inputs := f.references(fl.val)
		out = append(out, Output{Name: name, Nodes: nodes, Inputs: inputs, Types: f.outputTypes[i]})
	}
	return out
}

// nodeInputs returns the names of the flow's inputs that n references, in
// its inputs, its when and its aggregate fields.
func (f *Flow) nodeInputs(n *node) []string {
	ts := []*tmpl{n.inputs}
	if n.when != nil && n.when.sel != nil {
		ts = append(ts, &tmpl{kind: tmplSel, sel: n.when.sel})
	}
	for _, a := range n.aggFields {
		ts = append(ts, a.val)
	}
	_, inputs := f.references(ts...)
	return inputs
}

// references returns the names of the nodes and of the flow's inputs that
// ts reference, in the order they are first referenced. A reference to the
// whole inputs object references each input.
func (f *Flow) references(ts ...*tmpl) (nodes, inputs []string) {
	add := func(list []string, name string) []string {
		if slices.Contains(list, name) {
			return list
		}
		return append(list, name)
	}
	for _, t := range ts {
		t.selectors(func(s *selector) {
			switch {
			case s.node >= 0:
				nodes = add(nodes, f.nodes[s.node].name)
			case s.node != inputsNode:
			case len(s.steps) > 0 && !s.steps[0].IsIndex:
				inputs = add(inputs, s.steps[0].Key)
			default:
				for _, in := range f.spec.Inputs {
					inputs = add(inputs, in.Name)
				}
			}
		})
	}
	return nodes, inputs
}

// selectors calls yield with each reference in t.
func (t *tmpl) selectors(yield func(*selector)) {
	if t == nil {
		return
	}
	switch t.kind {
	case tmplSel:
		yield(t.sel)
	case tmplInterp:
		for _, p := range t.parts {
			if p.sel != nil {
				yield(p.sel)
			}
		}
	case tmplObject:
		for _, fl := range t.fields {
			fl.val.selectors(yield)
		}
	case tmplList:
		for _, it := range t.items {
			it.selectors(yield)
		}
	}
}
