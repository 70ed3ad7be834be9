package plugins

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/weirflow/weir/internal/jsonscan"
)

// anyObject is the schema of inputs or outputs that may hold any fields.
var anyObject = json.RawMessage(`{"type":"object"}`)

// Func makes a Tool of a Go function. The tool's contract names it name,
// describes it with description, and has the schemas SchemaOf gives In and
// Out.
//
// In and Out must be struct types, or map[string]any or json.RawMessage for
// an object with any fields. Func panics on any other type, or on a name
// that is empty or holds a dot or a space, which a flow could not address:
// these are programming errors.
//
// Invoke decodes its inputs into an In with encoding/json, calls fn, and
// encodes the Out it returns. Inputs that do not decode are an InvalidInput
// error that names the field, like `input "times": want integer, got
// string`. Invoke does not check required fields or unknown ones: the engine
// checks a flow's bindings against the contract when it loads the flow, and
// a field left out at run time (a bypassed node's null) decodes as the zero
// value. An error
// from fn is returned as it is, so fn decides its Kind (see Errorf).
//
// The Tool is safe for concurrent use if fn is.
func Func[In, Out any](name, description string, fn func(context.Context, In) (Out, error)) Tool {
	checkToolName("Func", name)
	if fn == nil {
		panic(fmt.Sprintf("plugins.Func(%q): nil function", name))
	}
	return &funcTool[In, Out]{
		contract: Contract{
			Name:        name,
			Description: description,
			Inputs:      objectSchema(name, "inputs", reflect.TypeFor[In]()),
			Outputs:     objectSchema(name, "outputs", reflect.TypeFor[Out]()),
		},
		fn: fn,
	}
}

type funcTool[In, Out any] struct {
	contract Contract
	fn       func(context.Context, In) (Out, error)
}

func (t *funcTool[In, Out]) Contract() Contract { return t.contract }

func (t *funcTool[In, Out]) Invoke(ctx context.Context, in []byte) ([]byte, error) {
	var v In
	if err := DecodeInputs(in, &v); err != nil {
		return nil, err
	}
	out, err := t.fn(ctx, v)
	if err != nil {
		return nil, err
	}
	return encodeOutputs(out)
}

// RawFunc makes a Tool of a function that reads its JSON inputs and writes
// its JSON outputs itself, for tools whose cost is mostly encoding. c is the
// contract as published; a nil Inputs or Outputs means an object with any
// fields.
//
// fn must not retain or modify in after it returns, and must return a JSON
// object that the caller owns. Its errors are returned as they are.
// RawFunc panics on an empty or dotted c.Name, a nil fn, or schemas that are
// not valid JSON.
//
// The Tool is safe for concurrent use if fn is.
func RawFunc(c Contract, fn func(ctx context.Context, in []byte) ([]byte, error)) Tool {
	checkToolName("RawFunc", c.Name)
	if fn == nil {
		panic(fmt.Sprintf("plugins.RawFunc(%q): nil function", c.Name))
	}
	if c.Inputs == nil {
		c.Inputs = anyObject
	}
	if c.Outputs == nil {
		c.Outputs = anyObject
	}
	if !json.Valid(c.Inputs) || !json.Valid(c.Outputs) {
		panic(fmt.Sprintf("plugins.RawFunc(%q): the contract's schemas are not valid JSON", c.Name))
	}
	return &rawTool{contract: c, fn: fn}
}

type rawTool struct {
	contract Contract
	fn       func(ctx context.Context, in []byte) ([]byte, error)
}

func (t *rawTool) Contract() Contract { return t.contract }

func (t *rawTool) Invoke(ctx context.Context, in []byte) ([]byte, error) {
	return t.fn(ctx, in)
}

func checkToolName(caller, name string) {
	if name == "" || strings.ContainsAny(name, ". \t\n") {
		panic(fmt.Sprintf("plugins.%s: tool name %q must be non-empty, without dots or spaces", caller, name))
	}
}

// objectSchema is the schema of a Func's In or Out, which must be an object
// for the engine to pass named values.
func objectSchema(tool, what string, t reflect.Type) json.RawMessage {
	if t == mapAnyType || t == rawMessageType {
		return anyObject
	}
	if t.Kind() == reflect.Struct {
		s := SchemaOf(t)
		if bytes.HasPrefix(s, []byte(`{"type":"object"`)) {
			return s
		}
	}
	panic(fmt.Sprintf("plugins.Func(%q): %s type %v is not a struct, map[string]any or json.RawMessage", tool, what, t))
}

// DecodeInputs decodes a JSON object of inputs into v, a pointer, the way
// Func does. An input of the wrong type is an InvalidInput error that names
// it, like `input "times": want integer, got string`; so is JSON that does
// not parse. It is for tools made with RawFunc that still decode some of
// their inputs.
func DecodeInputs(in []byte, v any) error {
	err := json.Unmarshal(in, v)
	if err == nil {
		if raw, ok := v.(*json.RawMessage); ok {
			if k := jsonscan.Type(*raw); k != "object" {
				return Errorf(InvalidInput, "inputs: want object, got %s", k)
			}
		}
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		got := te.Value
		if got == "bool" {
			got = "boolean"
		}
		if te.Field == "" {
			return Errorf(InvalidInput, "inputs: want %s, got %s", jsonTypeName(te.Type), got)
		}
		return Errorf(InvalidInput, "input %q: want %s, got %s", te.Field, jsonTypeName(te.Type), got)
	}
	return Errorf(InvalidInput, "decode inputs: %w", err)
}

// jsonTypeName names the JSON type that encoding/json expects for t, in the
// words of JSON Schema.
func jsonTypeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return "string"
	case t == numberType:
		return "number"
	case implements(t, textMarshalerType) && !implements(t, marshalerType):
		return "string"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "boolean"
	case reflect.String:
		return "string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice:
		if isByteSlice(t) {
			return "string"
		}
		return "array"
	case reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	}
	return t.String()
}

// encodeOutputs encodes a Func's result. HTML characters are left alone:
// outputs end up in files and terminals more often than in web pages.
func encodeOutputs(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := writeJSON(&buf, v); err != nil {
		return nil, Errorf(Internal, "encode outputs: %w", err)
	}
	b := buf.Bytes()
	switch k := jsonscan.Type(b); k {
	case "object":
		return b, nil
	case "null":
		// A nil map or empty RawMessage means no outputs.
		return []byte("{}"), nil
	default:
		return nil, Errorf(Internal, "encode outputs: want object, got %s", k)
	}
}

var (
	_ Tool = (*funcTool[struct{}, struct{}])(nil)
	_ Tool = (*rawTool)(nil)
)
