package builtin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/weirflow/weir/internal/jsonscan"
	"github.com/weirflow/weir/plugins"
)

// jsonIn documents the inputs; jsonArgs is what invoke decodes.
type jsonIn struct {
	Value any              `json:"value,omitempty" desc:"The value to start from: null by default, {} when merge is given."`
	Pick  string           `json:"pick,omitempty" desc:"A path into the result to return instead of all of it, such as a.b[0] or [\"odd key\"].x."`
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
// without decoding anything: one validating scan, one skipping scan. Any
// other shape, including keys that encoding/json would match without
// regard to case, takes the decoding path.
func onlyValue(in []byte) ([]byte, bool) {
	if !json.Valid(in) {
		return nil, false
	}
	i := skipSpace(in, 0)
	if i >= len(in) || in[i] != '{' {
		return nil, false
	}
	i = skipSpace(in, i+1)
	if !bytes.HasPrefix(in[i:], []byte(`"value"`)) {
		return nil, false
	}
	i = skipSpace(in, i+len(`"value"`))
	if i >= len(in) || in[i] != ':' {
		return nil, false
	}
	start := skipSpace(in, i+1)
	end := skipValue(in, start)
	i = skipSpace(in, end)
	if i >= len(in) || in[i] != '}' || skipSpace(in, i+1) != len(in) {
		return nil, false
	}
	return in[start:end], true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func isDelim(c byte) bool { return c == ',' || c == '}' || c == ']' || isSpace(c) }

// skipValue returns the end of the value that starts at i in valid JSON.
// Validity is what lets it only count brackets and find string ends.
func skipValue(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		switch b[i] {
		case '"':
			i++
			for b[i] != '"' {
				if b[i] == '\\' {
					i++
				}
				i++
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		default:
			if depth == 0 {
				// A number, true, false or null runs to the next delimiter.
				for i < len(b) && !isDelim(b[i]) {
					i++
				}
				return i
			}
		}
		i++
		if depth == 0 {
			return i
		}
	}
	return i
}

// merge merges objects one level deep, keeping keys in the order they first
// appear, so that a result reads like its inputs.
func merge(base json.RawMessage, objs []json.RawMessage) (json.RawMessage, error) {
	var keys []string
	vals := map[string]json.RawMessage{}
	add := func(obj json.RawMessage) error {
		dec := json.NewDecoder(bytes.NewReader(obj))
		if _, err := dec.Token(); err != nil {
			return err
		}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			key := tok.(string)
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return err
			}
			if _, ok := vals[key]; !ok {
				keys = append(keys, key)
			}
			vals[key] = v
		}
		return nil
	}
	if base != nil {
		if k := jsonKind(base); k != "object" {
			return nil, plugins.Errorf(plugins.InvalidInput, "input \"value\": want object when merge is given, got %s", k)
		}
		if err := add(base); err != nil {
			return nil, plugins.Errorf(plugins.InvalidInput, "input \"value\": %w", err)
		}
	}
	for i, obj := range objs {
		switch k := jsonKind(obj); k {
		case "null":
			continue
		case "object":
		default:
			return nil, plugins.Errorf(plugins.InvalidInput, "input \"merge[%d]\": want object, got %s", i, k)
		}
		if err := add(obj); err != nil {
			return nil, plugins.Errorf(plugins.InvalidInput, "input \"merge[%d]\": %w", i, err)
		}
	}

	var buf bytes.Buffer
	buf.WriteByte('{')
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for i, k := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := enc.Encode(k); err != nil {
			return nil, plugins.Errorf(plugins.Internal, "encode key %q: %w", k, err)
		}
		buf.Truncate(buf.Len() - 1) // Encode's newline
		buf.WriteByte(':')
		buf.Write(vals[k])
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// pick selects the part of v at path p, decoding one level at a time so that
// the parts it does not walk through stay encoded.
func pick(v json.RawMessage, p string) (json.RawMessage, error) {
	segs, err := parsePath(p)
	if err != nil {
		return nil, plugins.Errorf(plugins.InvalidInput, "pick %q: invalid path: %w", p, err)
	}
	prev := 0
	for _, seg := range segs {
		at := ""
		if prev > 0 {
			at = fmt.Sprintf(" at %q", p[:prev])
		}
		kind := jsonKind(v)
		if seg.isIndex {
			var arr []json.RawMessage
			if kind != "array" {
				return nil, plugins.Errorf(plugins.InvalidInput, "pick %q: no index %d in %s%s", p, seg.index, kind, at)
			}
			if err := json.Unmarshal(v, &arr); err != nil {
				return nil, plugins.Errorf(plugins.InvalidInput, "pick %q: %w", p, err)
			}
			if seg.index >= len(arr) {
				return nil, plugins.Errorf(plugins.InvalidInput, "pick %q: no index %d in array of length %d%s", p, seg.index, len(arr), at)
			}
			v = arr[seg.index]
		} else {
			var obj map[string]json.RawMessage
			if kind != "object" {
				return nil, plugins.Errorf(plugins.InvalidInput, "pick %q: no field %q in %s%s", p, seg.key, kind, at)
			}
			if err := json.Unmarshal(v, &obj); err != nil {
				return nil, plugins.Errorf(plugins.InvalidInput, "pick %q: %w", p, err)
			}
			field, ok := obj[seg.key]
			if !ok {
				return nil, plugins.Errorf(plugins.InvalidInput, "pick %q: no field %q in object%s", p, seg.key, at)
			}
			v = field
		}
		prev = seg.end
	}
	return v, nil
}

// jsonKind names the JSON type of an encoded value; a nil value is null.
func jsonKind(b []byte) string {
	if k := jsonscan.Type(b); k != "nothing" {
		return k
	}
	return "null"
}
