package endpoint

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/weirflow/weir/engine"
	pb "github.com/weirflow/weir/internal/hydropb"
)

// The mapping between a flow's values and Hydrosphere's tensors. A value
// of a JSON type with a tensor type is a tensor of it: a string is
// DT_STRING, an integer DT_INT64, a number DT_DOUBLE, a boolean DT_BOOL,
// each a scalar (shape [] or none), and a list of them, nested to any
// depth, the same dtype with its shape. Any other value (an object, a
// value of several types or of any) is its JSON text in a DT_STRING
// scalar. An output whose type the flow does not know is DT_ANY in the
// contract: its tensor is chosen by its value, as above, a number being
// DT_DOUBLE. A null output is left out of the outputs: a tensor has no
// null.

// hydroField is how one input or output of a flow maps to a tensor.
type hydroField struct {
	name  string
	dtype pb.DataType
	// rank is the number of dimensions of a list; 0 for a scalar.
	rank int
	// json: the value is JSON text in a DT_STRING scalar.
	json     bool
	required bool
}

// hydroContract is a flow's inputs and outputs as tensors.
type hydroContract struct {
	inputs  []hydroField // the flow's order
	outputs []hydroField
}

// schema is the part of a JSON Schema that the mapping reads.
type schema struct {
	Type  any     `json:"type"`
	Items *schema `json:"items"`
}

// typ returns the one JSON type other than null that s allows, or "".
func (s *schema) typ() string {
	if s == nil {
		return ""
	}
	var types []string
	switch t := s.Type.(type) {
	case string:
		types = []string{t}
	case []any:
		for _, v := range t {
			if n, ok := v.(string); ok {
				types = append(types, n)
			}
		}
	}
	return oneType(types)
}

// oneType returns the one type of types other than null, or "".
func oneType(types []string) string {
	types = slices.DeleteFunc(slices.Clone(types), func(t string) bool { return t == "null" })
	if len(types) != 1 {
		return ""
	}
	return types[0]
}

// scalarDType is the dtype of values of the JSON type t.
func scalarDType(t string) (pb.DataType, bool) {
	switch t {
	case "string":
		return pb.DataType_DT_STRING, true
	case "integer":
		return pb.DataType_DT_INT64, true
	case "number":
		return pb.DataType_DT_DOUBLE, true
	case "boolean":
		return pb.DataType_DT_BOOL, true
	}
	return pb.DataType_DT_INVALID, false
}

// newHydroContract maps f's inputs and outputs to tensors.
func newHydroContract(f *engine.Flow) *hydroContract {
	var in struct {
		Properties map[string]*schema `json:"properties"`
	}
	// The engine made the schema; one it cannot read maps every input
	// to JSON text, which still runs.
	_ = json.Unmarshal(f.InputSchema(), &in)
	c := &hydroContract{}
	for _, i := range f.Inputs() {
		fd := hydroField{name: i.Name, required: i.Required, dtype: pb.DataType_DT_STRING, json: true}
		s := in.Properties[i.Name]
		rank := 0
		for s.typ() == "array" {
			rank, s = rank+1, s.Items
		}
		if d, ok := scalarDType(s.typ()); ok {
			fd.dtype, fd.rank, fd.json = d, rank, false
		}
		c.inputs = append(c.inputs, fd)
	}
	for _, o := range f.Outputs() {
		fd := hydroField{name: o.Name, dtype: pb.DataType_DT_ANY}
		if d, ok := scalarDType(oneType(o.Types)); ok {
			fd.dtype = d
		}
		c.outputs = append(c.outputs, fd)
	}
	return c
}

// signature is c as Hydrosphere's model contract.
func (c *hydroContract) signature() *pb.ModelSignature {
	sig := &pb.ModelSignature{SignatureName: "predict"}
	for _, fd := range c.inputs {
		sig.Inputs = append(sig.Inputs, fd.modelField())
	}
	for _, fd := range c.outputs {
		sig.Outputs = append(sig.Outputs, fd.modelField())
	}
	return sig
}

func (fd hydroField) modelField() *pb.ModelField {
	return &pb.ModelField{Name: fd.name, Shape: fd.shape(), TypeOrSubfields: &pb.ModelField_Dtype{Dtype: fd.dtype}}
}

// shape is the field's shape in a contract: -1 for each dimension of a
// list, which may have any size.
func (fd hydroField) shape() *pb.TensorShape {
	dims := make([]int64, fd.rank)
	for i := range dims {
		dims[i] = -1
	}
	return &pb.TensorShape{Dims: dims}
}

// inputsJSON returns the inputs object of a run from the request's
// tensors, or an error naming the input that does not fit c, to be
// answered as INVALID_ARGUMENT.
func (c *hydroContract) inputsJSON(tensors map[string]*pb.Tensor) ([]byte, error) {
	for _, name := range slices.Sorted(maps.Keys(tensors)) {
		if !slices.ContainsFunc(c.inputs, func(fd hydroField) bool { return fd.name == name }) {
			names := make([]string, len(c.inputs))
			for i, fd := range c.inputs {
				names[i] = fd.name
			}
			slices.Sort(names)
			return nil, fmt.Errorf("unknown input %q (inputs: %s)", name, strings.Join(names, ", "))
		}
	}
	inputs := make(map[string]any, len(tensors))
	for _, fd := range c.inputs {
		t, ok := tensors[fd.name]
		if !ok {
			if fd.required {
				return nil, fmt.Errorf("input %q is missing: want %s", fd.name, fd.want())
			}
			continue // the flow's default
		}
		v, err := fd.decode(t)
		if err != nil {
			return nil, fmt.Errorf("input %q: %w", fd.name, err)
		}
		inputs[fd.name] = v
	}
	return json.Marshal(inputs)
}

// want says what a field takes: its dtype and shape.
func (fd hydroField) want() string {
	if fd.json {
		return "DT_STRING, shape [], of JSON text"
	}
	return fd.dtype.String() + ", shape " + formatShape(fd.shape().Dims)
}

func formatShape(dims []int64) string {
	s := make([]string, len(dims))
	for i, d := range dims {
		s[i] = strconv.FormatInt(d, 10)
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// Bounds of an input tensor's shape: its dimensions, and, for a tensor
// with fewer values, the lists of a dimension before a 0 one.
const (
	maxRank       = 32
	maxEmptyLists = 1024
)

// decode returns t's value for fd, as encoding/json marshals it.
func (fd hydroField) decode(t *pb.Tensor) (any, error) {
	values, err := tensorValues(t)
	if err != nil {
		return nil, err
	}
	if !fd.json && !accepts(fd.dtype, t.Dtype) {
		return nil, fmt.Errorf("dtype %s, want %s", t.Dtype, fd.dtype)
	}
	dims := t.GetTensorShape().GetDims()
	if len(dims) > maxRank {
		return nil, fmt.Errorf("shape of %d dimensions: at most %d", len(dims), maxRank)
	}
	// A small message may name a large shape of no values, [1e12, 0]:
	// nest would make its empty lists, so the shape is bounded too.
	limit := max(int64(len(values)), maxEmptyLists)
	size := int64(1)
	for _, d := range dims {
		if d < 0 {
			return nil, fmt.Errorf("shape %s: a dimension is negative", formatShape(dims))
		}
		if d > 0 && size > limit/d {
			return nil, fmt.Errorf("shape %s is too large for the %d values sent", formatShape(dims), len(values))
		}
		size *= d
	}
	if !fd.json && len(dims) != fd.rank {
		return nil, fmt.Errorf("shape %s, want %s", formatShape(dims), formatShape(fd.shape().Dims))
	}
	if size != int64(len(values)) {
		return nil, fmt.Errorf("shape %s holds %s, got %d", formatShape(dims), valueCount(size), len(values))
	}
	for i, v := range values {
		switch x := v.(type) {
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, fmt.Errorf("value %v: want a finite number", x)
			}
		case []byte:
			if fd.json && t.Dtype == pb.DataType_DT_STRING && len(dims) == 0 {
				if !json.Valid(x) {
					return nil, fmt.Errorf("DT_STRING value is not JSON text, which an input of this type takes")
				}
				values[i] = json.RawMessage(x)
			} else if !utf8.Valid(x) {
				return nil, fmt.Errorf("DT_STRING value is not UTF-8 text")
			} else {
				values[i] = string(x)
			}
		}
	}
	if len(dims) == 0 {
		return values[0], nil
	}
	return nest(values, dims), nil
}

// valueCount says how many values a shape holds.
func valueCount(n int64) string {
	if n == 1 {
		return "1 value"
	}
	return strconv.FormatInt(n, 10) + " values"
}

// accepts reports whether a field of dtype want takes a tensor of dtype
// got: a number takes every numeric dtype weir reads, an integer the
// integer ones.
func accepts(want, got pb.DataType) bool {
	switch want {
	case pb.DataType_DT_DOUBLE:
		return got == pb.DataType_DT_DOUBLE || got == pb.DataType_DT_FLOAT || got == pb.DataType_DT_INT64 || got == pb.DataType_DT_INT32
	case pb.DataType_DT_INT64:
		return got == pb.DataType_DT_INT64 || got == pb.DataType_DT_INT32
	}
	return want == got
}

// tensorValues returns t's values, flattened: []byte, bool, int64 or
// float64 each.
func tensorValues(t *pb.Tensor) ([]any, error) {
	if len(t.BinaryVal) > 0 {
		return nil, fmt.Errorf("binary_val is not read: send the values in the list of dtype %s", t.Dtype)
	}
	if want, ok := valueLists[t.Dtype]; ok {
		if err := misplacedValues(t, want); err != nil {
			return nil, err
		}
	}
	switch t.Dtype {
	case pb.DataType_DT_STRING:
		return anys(t.StringVal, func(v []byte) any { return v }), nil
	case pb.DataType_DT_BOOL:
		return anys(t.BoolVal, func(v bool) any { return v }), nil
	case pb.DataType_DT_INT64:
		return anys(t.Int64Val, func(v int64) any { return v }), nil
	case pb.DataType_DT_INT32:
		return anys(t.IntVal, func(v int32) any { return int64(v) }), nil
	case pb.DataType_DT_DOUBLE:
		return anys(t.DoubleVal, func(v float64) any { return v }), nil
	case pb.DataType_DT_FLOAT:
		return anys(t.FloatVal, func(v float32) any { return float64(v) }), nil
	}
	return nil, fmt.Errorf("dtype %s is not supported: weir takes DT_STRING, DT_BOOL, DT_INT64, DT_INT32, DT_DOUBLE and DT_FLOAT", t.Dtype)
}

// valueLists name the list of Tensor each dtype weir reads keeps its
// values in.
var valueLists = map[pb.DataType]string{
	pb.DataType_DT_STRING: "string_val", pb.DataType_DT_BOOL: "bool_val", pb.DataType_DT_INT64: "int64_val",
	pb.DataType_DT_INT32: "int_val", pb.DataType_DT_DOUBLE: "double_val", pb.DataType_DT_FLOAT: "float_val",
}

// misplacedValues returns an error naming a list of t other than want
// that holds values, which would otherwise read as a tensor of none.
func misplacedValues(t *pb.Tensor, want string) error {
	lists := []struct {
		field string
		n     int
	}{
		{"float_val", len(t.FloatVal)}, {"double_val", len(t.DoubleVal)}, {"int_val", len(t.IntVal)},
		{"string_val", len(t.StringVal)}, {"scomplex_val", len(t.ScomplexVal)}, {"int64_val", len(t.Int64Val)},
		{"bool_val", len(t.BoolVal)}, {"dcomplex_val", len(t.DcomplexVal)}, {"half_val", len(t.HalfVal)},
		{"uint32_val", len(t.Uint32Val)}, {"uint64_val", len(t.Uint64Val)}, {"map_val", len(t.MapVal)},
	}
	for _, l := range lists {
		if l.n > 0 && l.field != want {
			return fmt.Errorf("dtype %s takes its values in %s, not %s", t.Dtype, want, l.field)
		}
	}
	return nil
}

func anys[T any](vs []T, f func(T) any) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = f(v)
	}
	return out
}

// nest shapes flat values, row-major, into lists of dims.
func nest(values []any, dims []int64) []any {
	out := make([]any, dims[0])
	if len(dims) == 1 {
		copy(out, values)
		return out
	}
	step := len(values) / max(int(dims[0]), 1)
	for i := range out {
		out[i] = nest(values[i*step:(i+1)*step], dims[1:])
	}
	return out
}

// outputTensors returns the tensors of a run's outputs object, null
// outputs left out.
func (c *hydroContract) outputTensors(outputs []byte) (map[string]*pb.Tensor, error) {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(outputs, &all); err != nil {
		return nil, fmt.Errorf("decode outputs: %w", err)
	}
	tensors := make(map[string]*pb.Tensor, len(all))
	for _, fd := range c.outputs {
		raw, ok := all[fd.name]
		if !ok || string(raw) == "null" {
			continue
		}
		t, err := fd.encode(raw)
		if err != nil {
			return nil, fmt.Errorf("encode output %q: %w", fd.name, err)
		}
		tensors[fd.name] = t
	}
	return tensors, nil
}

// encode returns the tensor of raw, a value of output fd.
func (fd hydroField) encode(raw json.RawMessage) (*pb.Tensor, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if fd.dtype != pb.DataType_DT_ANY {
		t := &pb.Tensor{Dtype: fd.dtype, TensorShape: &pb.TensorShape{}}
		if !appendValue(t, v) {
			return nil, fmt.Errorf("%s is not of dtype %s", raw, fd.dtype)
		}
		return t, nil
	}
	dims, dtype, ok := listShape(v)
	if !ok {
		return jsonTensor(raw)
	}
	t := &pb.Tensor{Dtype: dtype, TensorShape: &pb.TensorShape{Dims: dims}}
	if !appendLeaves(t, v) {
		return jsonTensor(raw)
	}
	return t, nil
}

func jsonTensor(raw json.RawMessage) (*pb.Tensor, error) {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return nil, err
	}
	return &pb.Tensor{Dtype: pb.DataType_DT_STRING, TensorShape: &pb.TensorShape{}, StringVal: [][]byte{b.Bytes()}}, nil
}

// listShape returns the dims and dtype of v, a scalar or a list, as the
// first element at each depth gives them; ok is false for an object, an
// empty list, or a number that is not finite.
func listShape(v any) (dims []int64, dtype pb.DataType, ok bool) {
	for {
		switch x := v.(type) {
		case []any:
			if len(x) == 0 {
				return nil, 0, false
			}
			dims = append(dims, int64(len(x)))
			v = x[0]
			continue
		case string:
			dtype = pb.DataType_DT_STRING
		case bool:
			dtype = pb.DataType_DT_BOOL
		case json.Number:
			dtype = pb.DataType_DT_DOUBLE
		default:
			return nil, 0, false
		}
		return dims, dtype, true
	}
}

// appendLeaves appends the leaves of v to t's values, checking that v is
// as regular as t's shape says: false when it is not.
func appendLeaves(t *pb.Tensor, v any) bool {
	var walk func(v any, depth int) bool
	walk = func(v any, depth int) bool {
		dims := t.TensorShape.Dims
		if depth == len(dims) {
			return appendValue(t, v)
		}
		list, ok := v.([]any)
		if !ok || int64(len(list)) != dims[depth] {
			return false
		}
		for _, e := range list {
			if !walk(e, depth+1) {
				return false
			}
		}
		return true
	}
	return walk(v, 0)
}

// appendValue appends v, a scalar, to the values of t's dtype, or
// returns false when v is not of that dtype.
func appendValue(t *pb.Tensor, v any) bool {
	switch x := v.(type) {
	case string:
		if t.Dtype == pb.DataType_DT_STRING {
			t.StringVal = append(t.StringVal, []byte(x))
			return true
		}
	case bool:
		if t.Dtype == pb.DataType_DT_BOOL {
			t.BoolVal = append(t.BoolVal, x)
			return true
		}
	case json.Number:
		switch t.Dtype {
		case pb.DataType_DT_INT64:
			n, err := x.Int64()
			t.Int64Val = append(t.Int64Val, n)
			return err == nil
		case pb.DataType_DT_DOUBLE:
			f, err := x.Float64()
			t.DoubleVal = append(t.DoubleVal, f)
			return err == nil
		}
	}
	return false
}
