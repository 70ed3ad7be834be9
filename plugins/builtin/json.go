package builtin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	"github.com/weirflow/weir/internal/jsonscan"
	"github.com/weirflow/weir/internal/ref"
	"github.com/weirflow/weir/plugins"
)

// jsonIn documents the inputs; jsonArgs is what invoke decodes.
type jsonIn struct {
	Value any              `json:"value,omitempty" desc:"The value to start from: null by default, {} when merge is given."`
	Pick  string           `json:"pick,omitempty" desc:"A path into the result to return instead of all of it, written as the steps of a reference: a.b[0], or [\"odd key\"].x for a key that is not a name."`
	Merge []map[string]any `json:"merge,omitempty" desc:"Objects merged into value in order, one level deep: later keys win. Null entries are skipped."`
}

type jsonOut struct {
	Value any `json:"value" desc:"The result."`
}

// jsonArgs keeps values encoded: the tool mostly moves bytes, and as an
// identity ({"value": X}) it is the engine's no-op node.
type jsonArgs struct {
	Value json.RawMessage   `json:"value"`
	Pick  *string           `json:"pick"`
	Merge []json.RawMessage `json:"merge"`
}

func jsonTool() plugins.Tool {
	return plugins.RawFunc(plugins.Contract{
		Name:        "json",
		Description: "Builds or reshapes a JSON value: starts from value, merges the objects of merge into it, then picks the part at path pick.",
		Inputs:      plugins.SchemaOf(reflect.TypeFor[jsonIn]()),
		Outputs:     plugins.SchemaOf(reflect.TypeFor[jsonOut]()),
	}, invokeJSON)
}

func invokeJSON(_ context.Context, in []byte) ([]byte, error) {
	if v, ok := onlyValue(in); ok {
		return wrapValue(v), nil
	}
	return reshape(in)
}

func reshape(in []byte) ([]byte, error) {
	var a jsonArgs
	if err := plugins.DecodeInputs(in, &a); err != nil {
		return nil, err
	}
	v := a.Value
	if jsonKind(v) == "null" {
		v = nil
	}
	if a.Merge != nil {
		var err error
		if v, err = merge(v, a.Merge); err != nil {
			return nil, err
		}
	}
	if a.Pick != nil && *a.Pick != "" {
		var err error
		if v, err = pick(v, *a.Pick); err != nil {
			return nil, err
		}
	}
	return wrapValue(v), nil
}

func wrapValue(v []byte) []byte {
	if v == nil {
		return []byte(`{"value":null}`)
	}
	out := make([]byte, 0, len(`{"value":}`)+len(v))
	out = append(out, `{"value":`...)
	out = append(out, v...)
	return append(out, '}')
}

// onlyValue returns X when in is exactly {"value": X}, the identity call,
// without decoding anything: one checking scan. Any other shape, including
// keys that encoding/json would match without regard to case, takes the
// decoding path.
func onlyValue(in []byte) ([]byte, bool) {
	i := jsonscan.Space(in, 0)
	if i >= len(in) || in[i] != '{' {
		return nil, false
	}
	i = jsonscan.Space(in, i+1)
	if !bytes.HasPrefix(in[i:], []byte(`"value"`)) {
		return nil, false
	}
	i = jsonscan.Space(in, i+len(`"value"`))
	if i >= len(in) || in[i] != ':' {
		return nil, false
	}
	start := jsonscan.Space(in, i+1)
	end := jsonscan.Value(in, start)
	if end < 0 {
		return nil, false
	}
	i = jsonscan.Space(in, end)
	if i >= len(in) || in[i] != '}' || jsonscan.Space(in, i+1) != len(in) {
		return nil, false
	}
	return in[start:end], true
}

// merge merges objects one level deep, keeping keys in the order they first
// appear, so that a result reads like its inputs.
func merge(base json.RawMessage, objs []json.RawMessage) (json.RawMessage, error) {
	var keys []string
	vals := map[string]json.RawMessage{}
	add := func(obj json.RawMessage) {
		for key, v := range jsonscan.Members(obj) {
			k := string(jsonscan.AppendText(nil, key))
			if _, ok := vals[k]; !ok {
				keys = append(keys, k)
			}
			vals[k] = v
		}
	}
	if base != nil {
		if k := jsonKind(base); k != "object" {
			return nil, plugins.Errorf(plugins.InvalidInput, "input \"value\": want object when merge is given, got %s", k)
		}
		add(base)
	}
	for i, obj := range objs {
		switch k := jsonKind(obj); k {
		case "null":
			continue
		case "object":
		default:
			return nil, plugins.Errorf(plugins.InvalidInput, "input \"merge[%d]\": want object, got %s", i, k)
		}
		add(obj)
	}

	out := []byte{'{'}
	for i, k := range keys {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(jsonscan.AppendString(out, k), ':')
		out = append(out, vals[k]...)
	}
	return append(out, '}'), nil
}

// pick selects the part of v at path p, which has the syntax of a flow
// reference's steps, by scanning: what it passes over stays encoded.
func pick(v json.RawMessage, p string) (json.RawMessage, error) {
	steps, err := ref.ParseSteps(p)
	if err != nil {
		return nil, plugins.Errorf(plugins.InvalidInput, "pick %q: invalid path: %w", p, err)
	}
	if v == nil {
		v = json.RawMessage("null")
	}
	out, err := jsonscan.Select(v, steps)
	var missing *jsonscan.MissingError
	switch {
	case err == nil:
		return out, nil
	case !errors.As(err, &missing):
		return nil, plugins.Errorf(plugins.Internal, "pick %q: %w", p, err) // the inputs were checked
	}
	at := ""
	if missing.At > 0 {
		at = fmt.Sprintf(" at %q", ref.FormatSteps(steps[:missing.At]))
	}
	parent, _ := jsonscan.Select(v, steps[:missing.At])
	kind, step := jsonKind(parent), steps[missing.At]
	switch {
	case !step.IsIndex:
		return nil, plugins.Errorf(plugins.InvalidInput, "pick %q: no field %q in %s%s", p, step.Key, kind, at)
	case kind == "array":
		n := 0
		for range jsonscan.Elements(parent) {
			n++
		}
		return nil, plugins.Errorf(plugins.InvalidInput, "pick %q: no index %d in array of length %d%s", p, step.Index, n, at)
	}
	return nil, plugins.Errorf(plugins.InvalidInput, "pick %q: no index %d in %s%s", p, step.Index, kind, at)
}

// jsonKind names the JSON type of an encoded value; a nil value is null.
func jsonKind(b []byte) string {
	if k := jsonscan.Type(b); k != "nothing" {
		return k
	}
	return "null"
}
