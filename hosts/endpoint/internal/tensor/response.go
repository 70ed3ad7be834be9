package tensor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
)

// Metadata is a model's metadata, as the protocol answers it.
type Metadata struct {
	Name     string   `json:"name"`
	Versions []string `json:"versions,omitempty"`
	Platform string   `json:"platform"`
	Inputs   []Spec   `json:"inputs"`
	Outputs  []Spec   `json:"outputs"`
}

// Platform names weir as the model's framework.
const Platform = "weir"

// Metadata returns the model's metadata under name, with its versions.
func (m *Model) Metadata(name string, versions []string) Metadata {
	return Metadata{Name: name, Versions: versions, Platform: Platform, Inputs: m.Inputs, Outputs: m.Outputs}
}

// Select returns the specs of the outputs a request asks for, in its
// order; every output of the model, in its order, when it asks for none.
func (m *Model) Select(asked []RequestOutput) ([]*Spec, error) {
	if len(asked) == 0 {
		all := make([]*Spec, len(m.Outputs))
		for i := range m.Outputs {
			all[i] = &m.Outputs[i]
		}
		return all, nil
	}
	out := make([]*Spec, 0, len(asked))
	for _, a := range asked {
		k := slices.IndexFunc(m.Outputs, func(s Spec) bool { return s.Name == a.Name })
		switch {
		case k < 0:
			return nil, fmt.Errorf("output %q: the model has no such output (%s)", a.Name, names("outputs", m.Outputs))
		case slices.Contains(out, &m.Outputs[k]):
			return nil, fmt.Errorf("output %q: asked for twice", a.Name)
		}
		out = append(out, &m.Outputs[k])
	}
	return out, nil
}

// Stack returns the output tensors of specs from the runs' outputs
// objects, one per row in order. Its error, which names the output and
// the row, is the flow's fault, not the client's: a value that is not of
// the output's type, or rows of lists whose shapes differ.
func Stack(specs []*Spec, rows [][]byte) ([]Tensor, error) {
	objects := make([]map[string]json.RawMessage, len(rows))
	for r, row := range rows {
		if err := json.Unmarshal(row, &objects[r]); err != nil {
			return nil, fmt.Errorf("row %d: outputs: %w", r, err)
		}
	}
	out := make([]Tensor, len(specs))
	for i, s := range specs {
		t := Tensor{Name: s.Name, Datatype: s.Datatype, Parameters: s.Parameters, Data: []any{}}
		var dims []int64 // of a row, from the first
		for r, obj := range objects {
			raw, ok := obj[s.Name]
			if !ok {
				raw = json.RawMessage("null")
			}
			if s.JSON() {
				var b bytes.Buffer
				_ = json.Compact(&b, raw) // the engine's outputs are JSON
				t.Data = append(t.Data, b.String())
				continue
			}
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.UseNumber()
			var v any
			_ = dec.Decode(&v) // the engine's outputs are JSON
			rowDims, err := stackRow(&t.Data, s, v, "is")
			if err != nil {
				return nil, fmt.Errorf("output %q: row %d %w", s.Name, r, err)
			}
			if r == 0 {
				dims = rowDims
			} else if !slices.Equal(rowDims, dims) {
				return nil, fmt.Errorf("output %q: row %d has shape %s but row 0 %s: the rows of a tensor have one shape", s.Name, r, shapeText(rowDims), shapeText(dims))
			}
		}
		t.Shape = append([]int64{int64(len(rows))}, dims...)
		out[i] = t
	}
	return out, nil
}

// stackRow appends the elements of one row's value to data and returns
// its dimensions, checking them against s. Its error follows "row N ":
// verb is "is" for the row's value, "holds" within it.
func stackRow(data *[]any, s *Spec, v any, verb string) ([]int64, error) {
	if len(s.Shape) == 1 {
		if !elementOf(s.Datatype, v) {
			return nil, fmt.Errorf("%s %s, not %s", verb, describe(v), typeText(s.Datatype))
		}
		*data = append(*data, v)
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s %s, not a list", verb, describe(v))
	}
	if d := s.Shape[1]; d >= 0 && int64(len(list)) != d {
		return nil, fmt.Errorf("has %d elements, not %d", len(list), d)
	}
	inner := &Spec{Datatype: s.Datatype, Shape: s.Shape[1:]}
	var dims []int64
	for i, e := range list {
		d, err := stackRow(data, inner, e, "holds")
		if err != nil {
			return nil, err
		}
		if i == 0 {
			dims = d
		} else if !slices.Equal(d, dims) {
			return nil, fmt.Errorf("is a ragged list: its elements have shapes %s and %s", shapeText(dims), shapeText(d))
		}
	}
	if len(list) == 0 {
		dims = make([]int64, len(s.Shape)-2) // [] of a list of lists: no length to know
	}
	return append([]int64{int64(len(list))}, dims...), nil
}

// elementOf reports whether v, decoded with UseNumber, is an element of
// datatype dt.
func elementOf(dt string, v any) bool {
	switch x := v.(type) {
	case bool:
		return dt == Bool
	case string:
		return dt == Bytes
	case json.Number:
		if dt == Int64 {
			_, err := strconv.ParseInt(x.String(), 10, 64)
			return err == nil
		}
		return dt == FP64
	}
	return false
}

// typeText names the values of a datatype for an error.
func typeText(dt string) string {
	switch dt {
	case Bool:
		return "true or false (BOOL)"
	case Bytes:
		return "a string (BYTES)"
	case FP64:
		return "a number (FP64)"
	}
	return "an integer (INT64)"
}

// BinaryExtension names the binary tensor data extension, which weir
// speaks, in a server's metadata.
const BinaryExtension = "binary_tensor_data"

// Binary reports whether the request asks for its output name as binary
// data: as that output's "binary_data" parameter says, else as the
// request's "binary_data_output" does.
func (r *Request) Binary(name string) bool {
	for _, o := range r.Outputs {
		if o.Name == name {
			if b, ok := o.Parameters["binary_data"].(bool); ok {
				return b
			}
		}
	}
	b, _ := r.Parameters["binary_data_output"].(bool)
	return b
}

// binaryTensor is an output tensor whose elements follow the answer's
// JSON as binary data, which its "binary_data_size" parameter measures.
type binaryTensor struct {
	Name       string         `json:"name"`
	Shape      []int64        `json:"shape"`
	Datatype   string         `json:"datatype"`
	Parameters map[string]any `json:"parameters"`
}

// Answer returns the output tensors as an answer's JSON lists them and
// the binary data that follows it: the elements of the tensors the
// request asks for as binary, in their order, or nil when it asks for
// none.
func (r *Request) Answer(tensors []Tensor) ([]any, []byte) {
	out := make([]any, len(tensors))
	var data []byte
	for i, t := range tensors {
		if !r.Binary(t.Name) {
			out[i] = t
			continue
		}
		if data == nil {
			data = []byte{}
		}
		n := len(data)
		data = AppendRaw(data, t)
		params := map[string]any{"binary_data_size": len(data) - n}
		maps.Copy(params, t.Parameters)
		out[i] = binaryTensor{t.Name, t.Shape, t.Datatype, params}
	}
	return out, data
}
