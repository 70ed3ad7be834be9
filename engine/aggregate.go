package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/weirflow/weir/internal/jsonscan"
)

type lineValue struct {
	line int
	v    []byte
}

// hasAggregate reports whether the flow has aggregate nodes: those that
// are not line nodes.
func (f *Flow) hasAggregate() bool { return len(f.lineNodes) < len(f.nodes) }

// lineAggregate evaluates, on a succeeded line's values, the inputs of the
// aggregate nodes that take a list over the lines.
func (f *Flow) lineAggregate(rv *runValues) (json.RawMessage, error) {
	if !f.hasAggregate() {
		return nil, nil
	}
	dst := []byte{'{'}
	for _, n := range f.nodes {
		if !n.aggregate {
			continue
		}
		if len(dst) > 1 {
			dst = append(dst, ',')
		}
		dst = append(dst, fieldKey(n.name)...)
		dst = append(dst, '{')
		first := true
		for _, af := range n.aggFields {
			if !af.perLine {
				continue
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = append(dst, af.key...)
			var err error
			if dst, err = af.val.append(dst, rv); err != nil {
				return nil, fmt.Errorf("aggregate node %q: input %q: %w", n.name, af.name, err)
			}
		}
		dst = append(dst, '}')
	}
	return append(dst, '}'), nil
}

// eachAggValue calls fn with each of a line's aggregate values
// (LineResult.Aggregate), one per input of an aggregate node that takes a
// list over the lines, with the indexes of the node and of the input. It
// stops at the first value that does not read back.
func (f *Flow) eachAggValue(agg json.RawMessage, fn func(node, field int, v []byte)) error {
	for i, n := range f.nodes {
		for j, af := range n.aggFields {
			if !af.perLine {
				continue
			}
			v, err := jsonscan.Select(agg, []jsonscan.Step{{Key: n.name}, {Key: af.name}})
			if err != nil {
				return fmt.Errorf("aggregate value of node %q input %q: %w", n.name, af.name, err)
			}
			fn(i, j, v)
		}
	}
	return nil
}

// addAggregate keeps a line's aggregate values for the aggregate nodes;
// those before one that does not read back are kept too, so the values of
// a line from elsewhere are checked first. b.mu is held, or the batch has
// not started.
func (b *Batch) addAggregate(line int, agg json.RawMessage) error {
	return b.f.eachAggValue(agg, func(i, j int, v []byte) {
		b.agg[i][j] = append(b.agg[i][j], lineValue{line, v})
	})
}

// aggregate runs the aggregate nodes once, over the values of the lines
// that succeeded, in line order. b.mu is held.
func (b *Batch) aggregate(ctx context.Context) error {
	f := b.f
	if !f.hasAggregate() {
		return nil
	}
	ctx, cancel := context.WithTimeoutCause(ctx, f.timeout, f.timeoutCause)
	defer cancel()
	r := &run{
		f:      f,
		nodes:  make([]NodeResult, len(f.nodes)),
		values: runValues{outputs: make([][]byte, len(f.nodes))},
		res:    &Result{RunID: b.id + "/aggregate", Flow: f.name},
	}
	for i, n := range f.nodes {
		r.nodes[i] = NodeResult{Node: n.name, Tool: n.toolName, Plugin: n.plugin, Kind: n.kind, Status: Canceled}
	}
	// Aggregate nodes depend only on each other: run them in an order that
	// respects that, one at a time.
	ran := make([]bool, len(f.nodes))
	var failure error
	for progress := true; progress; {
		progress = false
		for i, n := range f.nodes {
			if !n.aggregate || ran[i] || slices.ContainsFunc(n.deps, func(d int) bool { return f.nodes[d].aggregate && !ran[d] }) {
				continue
			}
			ran[i], progress = true, true
			if failure != nil {
				continue
			}
			in, err := b.aggregateInputs(i, &r.values)
			if err == nil {
				r.nodes[i].Start = time.Now()
				var out []byte
				out, err = r.retry(ctx, n, in)
				r.nodes[i].Duration = time.Since(r.nodes[i].Start)
				r.values.outputs[i] = out
			} else {
				err = r.nodeError(n, 0, err)
			}
			failure = r.end(finished{i, r.values.outputs[i], err}, nil, func(error) {})
		}
	}
	out := []byte{'{'}
	var metrics loggedMetrics
	for i, n := range f.nodes {
		if !n.aggregate {
			continue
		}
		b.sum.AggregateNodes = append(b.sum.AggregateNodes, r.nodes[i])
		if r.nodes[i].Status == Succeeded {
			if len(out) > 1 {
				out = append(out, ',')
			}
			out = append(append(out, fieldKey(n.name)...), r.values.outputs[i]...)
			metrics.add(r.values.outputs[i])
		}
	}
	b.sum.Aggregates = f.e.redactor.Bytes(append(out, '}'))
	if m := metrics.json(); m != nil {
		b.sum.Metrics = f.e.redactor.Bytes(m)
	}
	return failure
}

// loggedMetrics gathers the "metrics" objects of aggregate nodes' outputs
// into one, as prompt flow's metrics.json: a key keeps the place it was
// first written at and the value it was last written with.
type loggedMetrics struct {
	keys []string
	vals map[string][]byte
}

// add takes the members of output's "metrics" field, when it is an object.
func (m *loggedMetrics) add(output []byte) {
	obj, err := jsonscan.Select(output, []jsonscan.Step{{Key: "metrics"}})
	if err != nil || jsonscan.Type(obj) != "object" {
		return
	}
	for k, v := range jsonscan.Members(obj) {
		key := string(jsonscan.AppendText(nil, k))
		if m.vals == nil {
			m.vals = map[string][]byte{}
		}
		if _, ok := m.vals[key]; !ok {
			m.keys = append(m.keys, key)
		}
		m.vals[key] = v
	}
}

// json returns the metrics as one object; nil when there are none.
func (m *loggedMetrics) json() []byte {
	if len(m.keys) == 0 {
		return nil
	}
	dst := []byte{'{'}
	for i, k := range m.keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(append(jsonscan.AppendString(dst, k), ':'), m.vals[k]...)
	}
	return append(dst, '}')
}

// aggregateInputs builds the inputs of aggregate node i: lists of the
// per-line values, sorted by line, and single values of other aggregate
// nodes.
func (b *Batch) aggregateInputs(i int, rv *runValues) ([]byte, error) {
	n := b.f.nodes[i]
	dst := []byte{'{'}
	for j, af := range n.aggFields {
		if j > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, af.key...)
		if !af.perLine {
			var err error
			if dst, err = af.val.append(dst, rv); err != nil {
				return nil, fmt.Errorf("input %q: %w", af.name, err)
			}
			continue
		}
		vals := b.agg[i][j]
		slices.SortFunc(vals, func(a, b lineValue) int { return a.line - b.line })
		dst = append(dst, '[')
		for k, lv := range vals {
			if k > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, lv.v...)
		}
		dst = append(dst, ']')
	}
	return append(dst, '}'), nil
}
