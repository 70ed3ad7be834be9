package tensor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/weirflow/weir/internal/jsonscan"
)

// Tensor is one tensor of a request or an answer.
type Tensor struct {
	Name     string  `json:"name"`
	Shape    []int64 `json:"shape"`
	Datatype string  `json:"datatype"`
	// Parameters are the protocol's: values are strings, numbers or
	// booleans.
	Parameters map[string]any `json:"parameters,omitempty"`
	// Data are the elements in row-major order: bool, json.Number or
	// string.
	Data []any `json:"data"`
}

// Request is an inference request.
type Request struct {
	ID         string          `json:"id,omitempty"`
	Parameters map[string]any  `json:"parameters,omitempty"`
	Inputs     []Tensor        `json:"inputs"`
	Outputs    []RequestOutput `json:"outputs,omitempty"`
}

// RequestOutput names an output a request asks for.
type RequestOutput struct {
	Name       string         `json:"name"`
	Parameters map[string]any `json:"parameters,omitempty"`
}

// wireInput is an input tensor as the REST body carries it: data may be
// nested.
type wireInput struct {
	Name       string          `json:"name"`
	Shape      []int64         `json:"shape"`
	Datatype   string          `json:"datatype"`
	Parameters map[string]any  `json:"parameters"`
	Data       json.RawMessage `json:"data"`
}

// NoBinary is the header length of a body that is all JSON.
const NoBinary = -1

// DecodeRequest reads the body of a REST inference request. headerLen is
// NoBinary for a body that is all JSON, else the length of its JSON
// header, which the binary data of the inputs that give a
// "binary_data_size" parameter follows, in their order (the binary tensor
// data extension). Its errors start "decode body: " or name the input.
func DecodeRequest(body []byte, headerLen int) (*Request, error) {
	var binary []byte
	if headerLen != NoBinary {
		if headerLen < 0 || headerLen > len(body) {
			return nil, fmt.Errorf("decode body: Inference-Header-Content-Length is %d, but the body has %d bytes", headerLen, len(body))
		}
		body, binary = body[:headerLen], body[headerLen:]
	}
	req, err := decodeJSON(body)
	if err != nil {
		return nil, err
	}
	for i := range req.Inputs {
		in := &req.Inputs[i]
		size, ok, err := binarySize(in.Parameters)
		switch {
		case err != nil:
			return nil, fmt.Errorf("input %q: %w", in.Name, err)
		case !ok:
			continue
		case headerLen == NoBinary:
			return nil, fmt.Errorf("input %q: binary_data_size needs the Inference-Header-Content-Length header to find the binary data", in.Name)
		case in.Data != nil:
			return nil, fmt.Errorf("input %q: its elements are in \"data\" and in binary data: send one", in.Name)
		case size > int64(len(binary)):
			return nil, fmt.Errorf("input %q: binary_data_size is %d, but %d bytes of binary data are left", in.Name, size, len(binary))
		}
		if in.Data, err = DecodeRaw(in.Datatype, binary[:size]); err != nil {
			return nil, fmt.Errorf("input %q: %w", in.Name, err)
		}
		binary = binary[size:]
	}
	if len(binary) > 0 {
		return nil, fmt.Errorf("decode body: %d bytes of binary data follow the inputs' binary_data_size", len(binary))
	}
	return req, nil
}

// binarySize reads an input's "binary_data_size" parameter, and whether
// it has one.
func binarySize(params map[string]any) (int64, bool, error) {
	v, ok := params["binary_data_size"]
	if !ok {
		return 0, false, nil
	}
	n, isNumber := v.(json.Number)
	size, err := n.Int64()
	if !isNumber || err != nil || size < 0 {
		return 0, false, fmt.Errorf("binary_data_size is %s: want a whole number of bytes", describe(v))
	}
	return size, true, nil
}

// decodeJSON reads the JSON of an inference request.
func decodeJSON(body []byte) (*Request, error) {
	var wire struct {
		ID         string          `json:"id"`
		Parameters map[string]any  `json:"parameters"`
		Inputs     []wireInput     `json:"inputs"`
		Outputs    []RequestOutput `json:"outputs"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&wire); err != nil {
		return nil, decodeError(err)
	}
	if dec.More() {
		return nil, errors.New("decode body: more than one JSON value")
	}
	if wire.Inputs == nil {
		return nil, errors.New(`decode body: no "inputs": want ` + requestShape)
	}
	req := &Request{ID: wire.ID, Parameters: wire.Parameters, Outputs: wire.Outputs, Inputs: make([]Tensor, len(wire.Inputs))}
	for i, in := range wire.Inputs {
		if in.Name == "" {
			return nil, fmt.Errorf("decode body: input %d has no name", i)
		}
		var data []any
		if _, binary := in.Parameters["binary_data_size"]; !binary || in.Data != nil {
			var err error
			if data, err = flatten(in.Data); err != nil {
				return nil, fmt.Errorf("input %q: %w", in.Name, err)
			}
		}
		req.Inputs[i] = Tensor{Name: in.Name, Shape: in.Shape, Datatype: in.Datatype, Parameters: in.Parameters, Data: data}
	}
	return req, nil
}

// requestShape is the shape of an inference request, for messages.
const requestShape = `{"inputs": [{"name", "shape", "datatype", "data"}, ...]}`

// decodeError says in JSON's words why a body did not decode: which field
// holds what, rather than which Go type would not take it.
func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return errors.New("decode body: the body is empty: want " + requestShape)
	case errors.As(err, &te) && te.Field == "":
		return fmt.Errorf("decode body: the body is %s: want %s", jsonValue(te.Value), requestShape)
	case errors.As(err, &te):
		return fmt.Errorf("decode body: %s is %s: want %s", te.Field, jsonValue(te.Value), jsonKind(te.Type))
	}
	return fmt.Errorf("decode body: %w", err)
}

// jsonKind names the JSON value that decodes into t.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "an integer"
}

// jsonValue names what encoding/json says a value was ("array",
// "number 1.5", "bool") with its article.
func jsonValue(value string) string {
	switch {
	case value == "bool":
		return "a boolean"
	case value == "array" || value == "object":
		return "an " + value
	}
	return "a " + value
}

// flatten returns the elements of a tensor's data, nested or not, in
// row-major order.
func flatten(raw json.RawMessage) ([]any, error) {
	if len(raw) == 0 {
		return nil, errors.New(`no "data"`)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	top, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("data is %s, not an array of elements", jsonscan.TypePhrase(raw))
	}
	var out []any
	var walk func([]any) error
	walk = func(list []any) error {
		for _, e := range list {
			switch x := e.(type) {
			case []any:
				if err := walk(x); err != nil {
					return err
				}
			case map[string]any, nil:
				return fmt.Errorf("data holds %s: elements are booleans, numbers or strings", describe(e))
			default:
				out = append(out, x)
			}
		}
		return nil
	}
	if err := walk(top); err != nil {
		return nil, err
	}
	if out == nil {
		out = []any{}
	}
	return out, nil
}

// MaxRows bounds a request's batch: rows of empty lists take no bytes of
// the body, which bounds the rest.
const MaxRows = 1 << 16

// Rows returns the inputs object of each run a request's input tensors
// make, one per row of the batch, in order. Its errors name the input and
// say what is wrong, for the client to read.
func (m *Model) Rows(inputs []Tensor) ([][]byte, error) {
	given := make([]*Tensor, len(m.Inputs))
	rows, first := int64(-1), ""
	for i := range inputs {
		in := &inputs[i]
		k := slices.IndexFunc(m.Inputs, func(s Spec) bool { return s.Name == in.Name })
		if k < 0 {
			return nil, fmt.Errorf("input %q: the model has no such input (%s)", in.Name, names("inputs", m.Inputs))
		}
		if given[k] != nil {
			return nil, fmt.Errorf("input %q: given twice", in.Name)
		}
		if err := check(&m.Inputs[k], in); err != nil {
			return nil, fmt.Errorf("input %q: %w", in.Name, err)
		}
		switch {
		case rows < 0:
			rows, first = in.Shape[0], in.Name
		case in.Shape[0] != rows:
			return nil, fmt.Errorf("input %q: %d rows, but input %q has %d: the first dimension is the batch", in.Name, in.Shape[0], first, rows)
		}
		given[k] = in
	}
	for k, s := range m.Inputs {
		if given[k] == nil && s.required {
			return nil, fmt.Errorf("input %q is missing: the model requires it", s.Name)
		}
	}
	switch rows {
	case -1:
		rows = 1 // no inputs: one run
	case 0:
		return nil, errors.New("the batch is empty: the inputs' first dimension is 0")
	}
	out := make([][]byte, rows)
	for r := range out {
		b := []byte{'{'}
		for k, in := range given {
			if in == nil {
				continue
			}
			if len(b) > 1 {
				b = append(b, ',')
			}
			b = append(jsonscan.AppendString(b, in.Name), ':')
			per := len(in.Data) / int(rows)
			b = appendValue(b, &m.Inputs[k], in.Shape[1:], in.Data[r*per:(r+1)*per])
		}
		out[r] = append(b, '}')
	}
	return out, nil
}

// check checks an input tensor against its spec: datatype, shape, the
// number of elements and each element.
func check(s *Spec, in *Tensor) error {
	if !slices.Contains(datatypes, in.Datatype) {
		return fmt.Errorf("datatype %q is not one of the protocol's (%s)", in.Datatype, strings.Join(datatypes, ", "))
	}
	if !accepts(s.Datatype, in.Datatype) {
		return fmt.Errorf("datatype %s is not %s", in.Datatype, s.Datatype)
	}
	for _, d := range in.Shape {
		if d < 0 {
			return fmt.Errorf("shape %s: dimensions are 0 or more", shapeText(in.Shape))
		}
	}
	if len(in.Shape) > 0 && in.Shape[0] > MaxRows {
		return fmt.Errorf("shape %s: a request takes at most %d rows", shapeText(in.Shape), MaxRows)
	}
	if !fits(s.Shape, in.Shape) {
		return fmt.Errorf("shape %s does not fit the input's %s", shapeText(in.Shape), shapeText(s.Shape))
	}
	n, ok := elements(in.Shape)
	if !ok || n != uint64(len(in.Data)) {
		return fmt.Errorf("shape %s holds %s but data has %d", shapeText(in.Shape), count(n, ok), len(in.Data))
	}
	for i, e := range in.Data {
		if err := checkElement(s, in.Datatype, e); err != nil {
			return fmt.Errorf("element %d %w", i, err)
		}
	}
	return nil
}

// accepts reports whether an input of datatype want takes a tensor of
// datatype got: itself, and for numbers any the JSON value fits.
func accepts(want, got string) bool {
	switch {
	case want == got:
		return true
	case want == Int64:
		return isInteger(got)
	case want == FP64:
		return isInteger(got) || got == "FP16" || got == "FP32"
	}
	return false
}

func isInteger(dt string) bool {
	return strings.HasPrefix(dt, "INT") || strings.HasPrefix(dt, "UINT")
}

// fits reports whether a request's shape fits a spec's: the same rank
// (or [N, 1] for a scalar), and the fixed dimensions equal.
func fits(spec, shape []int64) bool {
	if len(spec) == 1 && len(shape) == 2 && shape[1] == 1 {
		return true
	}
	if len(spec) != len(shape) {
		return false
	}
	for i, d := range spec {
		if d >= 0 && shape[i] != d {
			return false
		}
	}
	return true
}

// elements is the number of elements of shape, or false past 2^64.
func elements(shape []int64) (uint64, bool) {
	n := uint64(1)
	for _, d := range shape {
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 {
			return 0, false
		}
		n = lo
	}
	return n, true
}

// count says how many elements a shape holds.
func count(n uint64, ok bool) string {
	switch {
	case !ok:
		return "2^64 or more elements"
	case n == 1:
		return "1 element"
	}
	return strconv.FormatUint(n, 10) + " elements"
}

// checkElement checks one element against the datatype the request names
// and, for JSON texts, that it is one. Its error follows "element N ".
func checkElement(s *Spec, dt string, e any) error {
	switch dt {
	case Bool:
		if _, ok := e.(bool); !ok {
			return fmt.Errorf("is %s, not true or false", describe(e))
		}
	case Bytes:
		str, ok := e.(string)
		if !ok {
			return fmt.Errorf("is %s, not a string", describe(e))
		}
		if s.JSON() {
			var v json.RawMessage
			if err := json.Unmarshal([]byte(str), &v); err != nil {
				return fmt.Errorf("is not JSON: %v", err)
			}
		}
	case "FP16", "FP32", FP64:
		if _, ok := e.(json.Number); !ok {
			return fmt.Errorf("is %s, not a number", describe(e))
		}
	default: // the integers
		n, ok := e.(json.Number)
		if !ok {
			return fmt.Errorf("is %s, not %s", describe(e), article(dt))
		}
		size, _ := strconv.Atoi(strings.TrimLeft(dt, "UINT"))
		var err error
		if dt[0] == 'U' {
			_, err = strconv.ParseUint(n.String(), 10, size)
		} else {
			_, err = strconv.ParseInt(n.String(), 10, size)
		}
		var numErr *strconv.NumError
		switch {
		case errors.As(err, &numErr) && numErr.Err == strconv.ErrRange:
			return fmt.Errorf("is %s, out of the range of %s", n, dt)
		case err != nil:
			return fmt.Errorf("is %s, not %s", n, article(dt))
		}
	}
	return nil
}

// article puts "a" or "an" before an integer datatype's name.
func article(dt string) string {
	if dt[0] == 'I' {
		return "an " + dt
	}
	return "a " + dt
}

// describe quotes an element for an error, cut short when long.
func describe(e any) string {
	b, _ := json.Marshal(e)
	if len(b) > 40 {
		return string(b[:37]) + "..."
	}
	return string(b)
}

// appendValue appends the JSON of one row's value: the elements of a
// tensor of shape dims (the row's, without the batch).
func appendValue(b []byte, s *Spec, dims []int64, data []any) []byte {
	if len(s.Shape) == 1 { // a scalar, [N] or [N, 1]
		return appendElement(b, s, data[0])
	}
	b = append(b, '[')
	per := len(data)
	if dims[0] > 0 {
		per /= int(dims[0])
	}
	for i := range int(dims[0]) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendValue(b, &Spec{Shape: s.Shape[1:], Parameters: s.Parameters}, dims[1:], data[i*per:(i+1)*per])
	}
	return append(b, ']')
}

func appendElement(b []byte, s *Spec, e any) []byte {
	switch x := e.(type) {
	case bool:
		return strconv.AppendBool(b, x)
	case json.Number:
		return append(b, x...)
	case string:
		if s.JSON() {
			return append(b, bytes.TrimSpace([]byte(x))...)
		}
		return jsonscan.AppendString(b, x)
	}
	panic(fmt.Sprintf("tensor: element of type %T", e)) // check lets none through
}

// names lists the names of specs for an error: "its inputs: a, b", or
// "it has none".
func names(what string, specs []Spec) string {
	if len(specs) == 0 {
		return "it has no " + what
	}
	list := make([]string, len(specs))
	for i, s := range specs {
		list[i] = s.Name
	}
	return "its " + what + ": " + strings.Join(list, ", ")
}

func shapeText(shape []int64) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = strconv.FormatInt(d, 10)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
