package tensor

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"

	"github.com/weirflow/weir/engine"
)

// The datatypes the mapping gives flows' inputs and outputs.
const (
	Bool  = "BOOL"
	Int64 = "INT64"
	FP64  = "FP64"
	Bytes = "BYTES"
)

// datatypes are the protocol's, in the order its description lists them.
var datatypes = []string{"BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES"}

// jsonParameters mark a BYTES tensor whose elements are JSON texts.
var jsonParameters = map[string]any{"content_type": "json"}

// Spec is the metadata of one tensor of a model: an input or output of a
// flow. Its shape has the batch first, as -1.
type Spec struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
	// Parameters is {"content_type": "json"} for a BYTES tensor of JSON
	// texts; nil otherwise. It is shared: do not change it.
	Parameters map[string]any `json:"parameters,omitempty"`

	required bool
}

// JSON reports whether the tensor's elements are JSON texts.
func (s *Spec) JSON() bool { return s.Parameters != nil }

// Field is one input or output of a flow, as the mapping reads it.
type Field struct {
	Name string
	// Schema is its JSON Schema; empty or {} when unknown.
	Schema json.RawMessage
	// Types are the JSON types the engine knows it by, read when Schema
	// names none.
	Types    []string
	Required bool
	// Nullable says that it may be null whatever its types say: an output
	// that reads a node that may be bypassed.
	Nullable bool
}

// Model is a flow seen as a model: the specs of its input and output
// tensors. It is immutable and safe for concurrent use.
type Model struct {
	Inputs, Outputs []Spec
}

// New returns the model of a flow with these inputs and outputs, in the
// order given.
func New(inputs, outputs []Field) *Model {
	m := &Model{Inputs: make([]Spec, len(inputs)), Outputs: make([]Spec, len(outputs))}
	for i, f := range inputs {
		m.Inputs[i] = specOf(f)
	}
	for i, f := range outputs {
		m.Outputs[i] = specOf(f)
	}
	return m
}

// ForFlow returns the model of f: its inputs and outputs in the order the
// flow declares them.
func ForFlow(f *engine.Flow) *Model {
	inProps := properties(f.InputSchema())
	outProps := properties(f.OutputSchema())
	ins := f.Inputs()
	inputs := make([]Field, len(ins))
	for i, in := range ins {
		inputs[i] = Field{Name: in.Name, Schema: inProps[in.Name], Types: in.Types, Required: in.Required}
	}
	maybeNull := bypassable(f.Nodes())
	outs := f.Outputs()
	outputs := make([]Field, len(outs))
	for i, o := range outs {
		outputs[i] = Field{Name: o.Name, Schema: outProps[o.Name], Types: o.Types,
			Nullable: slices.ContainsFunc(o.Nodes, func(n string) bool { return maybeNull[n] })}
	}
	return New(inputs, outputs)
}

// bypassable returns the nodes that may be bypassed, whose outputs are
// then null: those with a when, and those whose every upstream node may
// be, as the engine bypasses them.
func bypassable(nodes []engine.Node) map[string]bool {
	maybe := map[string]bool{}
	for changed := true; changed; {
		changed = false
		for _, n := range nodes {
			if maybe[n.Name] {
				continue
			}
			if n.Conditional || len(n.Deps) > 0 && !slices.ContainsFunc(n.Deps, func(d string) bool { return !maybe[d] }) {
				maybe[n.Name] = true
				changed = true
			}
		}
	}
	return maybe
}

// properties returns the properties of an object's JSON Schema.
func properties(schema json.RawMessage) map[string]json.RawMessage {
	var s struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	_ = json.Unmarshal(schema, &s)
	return s.Properties
}

// specOf maps a field to its tensor: a typed one where its type is a
// scalar or a list of them, else BYTES of JSON texts.
func specOf(f Field) Spec {
	var schema any
	if len(bytes.TrimSpace(f.Schema)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(f.Schema))
		dec.UseNumber()
		_ = dec.Decode(&schema)
	}
	dt, dims, ok := tensorOf(schema, f.Types)
	if !ok || f.Nullable {
		return Spec{Name: f.Name, Datatype: Bytes, Shape: []int64{-1}, Parameters: jsonParameters, required: f.Required}
	}
	return Spec{Name: f.Name, Datatype: dt, Shape: append([]int64{-1}, dims...), required: f.Required}
}

// tensorOf returns the datatype of the values schema describes and their
// dimensions (none for a scalar), or false when they are no tensor. types
// stand in for a schema without a type.
func tensorOf(schema any, types []string) (string, []int64, bool) {
	m, _ := schema.(map[string]any)
	switch t := m["type"].(type) {
	case string:
		types = []string{t}
	case []any:
		types = types[:0:0]
		for _, e := range t {
			s, _ := e.(string)
			types = append(types, s)
		}
	}
	if len(types) != 1 {
		return "", nil, false // untyped, or a union: int | null, string | [...string]
	}
	switch types[0] {
	case "integer":
		return Int64, nil, true
	case "number":
		return FP64, nil, true
	case "boolean":
		return Bool, nil, true
	case "string":
		return Bytes, nil, true
	case "array":
		return arrayOf(m)
	}
	return "", nil, false
}

// arrayOf maps the schema of a list: of one tensor type, any length or a
// fixed one ([number, number]).
func arrayOf(m map[string]any) (string, []int64, bool) {
	if prefix, ok := m["prefixItems"].([]any); ok {
		if m["items"] != false || len(prefix) == 0 {
			return "", nil, false // a tuple with a tail
		}
		dt, dims, ok := tensorOf(prefix[0], nil)
		for _, p := range prefix[1:] {
			pdt, pdims, pok := tensorOf(p, nil)
			ok = ok && pok && pdt == dt && slices.Equal(pdims, dims)
		}
		n := int64(len(prefix))
		if min, _ := m["minItems"].(json.Number); min.String() != strconv.FormatInt(n, 10) {
			n = -1 // shorter lists are allowed too
		}
		return dt, append([]int64{n}, dims...), ok
	}
	items, ok := m["items"].(map[string]any)
	if !ok {
		return "", nil, false
	}
	dt, dims, ok := tensorOf(items, nil)
	return dt, append([]int64{-1}, dims...), ok
}
