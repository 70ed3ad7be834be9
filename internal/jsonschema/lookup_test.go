package jsonschema

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLookup(t *testing.T) {
	const contract = `{
		"$defs": {"item": {"type": "object", "properties": {"id": {"type": "integer"}}, "additionalProperties": false}},
		"type": "object",
		"properties": {
			"message": {"type": "string"},
			"items": {"type": "array", "items": {"$ref": "#/$defs/item"}},
			"pair": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "number"}], "items": false},
			"meta": {"type": "object"},
			"labels": {"type": "object", "additionalProperties": {"type": "string"}},
			"env": {"type": "object", "patternProperties": {"^X_": {"type": "boolean"}}, "additionalProperties": false},
			"either": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
			"choice": {"anyOf": [{"type": "object", "properties": {"a": {}}}, {"type": "null"}]},
			"both": {"allOf": [{"type": "object", "properties": {"a": {"type": "string"}}}, {"properties": {"a": {}, "b": {}}, "additionalProperties": false}]},
			"never": false,
			"short": {"type": "array", "maxItems": 1},
			"untyped": {}
		},
		"additionalProperties": false
	}`
	s, err := Compile([]byte(contract))
	require.NoError(t, err)
	tests := []struct {
		name  string
		path  []any
		want  LookupResult
		types []string
	}{
		{"root", nil, Exists, []string{"object"}},
		{"field", []any{"message"}, Exists, []string{"string"}},
		{"no such field", []any{"mesage"}, Missing, nil},
		{"into a string", []any{"message", "x"}, Missing, nil},
		{"index into a string", []any{"message", 0}, Missing, nil},
		{"list item through ref", []any{"items", 3, "id"}, Exists, []string{"integer"}},
		{"list item field missing", []any{"items", 0, "name"}, Missing, nil},
		{"field of a list", []any{"items", "id"}, Missing, nil},
		{"negative index", []any{"items", -1}, Missing, nil},
		{"prefix item", []any{"pair", 1}, Exists, []string{"number"}},
		{"past prefix items", []any{"pair", 2}, Missing, nil},
		{"past max items", []any{"short", 1}, Missing, nil},
		{"open object", []any{"meta", "anything"}, Unknown, nil},
		{"map value", []any{"labels", "team"}, Exists, []string{"string"}},
		{"pattern field", []any{"env", "X_DEBUG"}, Exists, []string{"boolean"}},
		{"pattern miss", []any{"env", "DEBUG"}, Missing, nil},
		{"into alternatives of scalars", []any{"either", "x"}, Missing, nil},
		{"into alternatives that disagree", []any{"choice", "a"}, Unknown, nil},
		{"allOf field", []any{"both", "a"}, Exists, []string{"string"}},
		{"allOf field missing in one", []any{"both", "c"}, Missing, nil},
		{"false schema", []any{"never"}, Missing, nil},
		{"untyped", []any{"untyped", "x"}, Unknown, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub, res := s.Lookup(tt.path)
			assert.Equal(t, tt.want, res, "got %v", res)
			if res != Exists {
				assert.Nil(t, sub)
				return
			}
			require.NotNil(t, sub)
			assert.Equal(t, tt.types, sub.Type())
		})
	}
}

func TestLookupFromCUE(t *testing.T) {
	s := flowSchema(t)
	sub, res := s.Lookup([]any{"opts", "depth"})
	require.Equal(t, Exists, res)
	assert.Equal(t, []string{"integer"}, sub.Type())
	_, res = s.Lookup([]any{"opts", "width"})
	assert.Equal(t, Missing, res)
	_, res = s.Lookup([]any{"name", "x"})
	assert.Equal(t, Missing, res)
	_, res = s.Lookup([]any{"any", "x"})
	assert.Equal(t, Unknown, res)
	sub, res = s.Lookup([]any{"tags", 4})
	require.Equal(t, Exists, res)
	assert.Equal(t, []string{"string"}, sub.Type())

	// The subschema validates on its own.
	sub, _ = s.Lookup([]any{"times"})
	assert.EqualError(t, sub.Validate(mustDecode(t, `9`)), "must be <= 5, got 9")
	opts, _ := s.Lookup([]any{"opts"})
	obj := map[string]any{}
	opts.ApplyDefaults(obj)
	assert.Equal(t, map[string]any{"depth": mustDecode(t, "2")}, obj)
}

func TestLookupPanicsOnBadPath(t *testing.T) {
	s := flowSchema(t)
	assert.PanicsWithValue(t, "jsonschema: Lookup path element is float64, want string or int", func() {
		s.Lookup([]any{1.5})
	})
}

func TestType(t *testing.T) {
	tests := []struct {
		schema string
		want   []string
	}{
		{`{}`, nil},
		{`true`, nil},
		{`{"type":"string"}`, []string{"string"}},
		{`{"type":["string","null"]}`, []string{"null", "string"}},
		{`{"type":["integer","number"]}`, []string{"number"}},
		{`{"const":3}`, []string{"integer"}},
		{`{"const":3.5}`, []string{"number"}},
		{`{"enum":["a",1,null]}`, []string{"integer", "null", "string"}},
		{`{"type":"number","enum":[1,2]}`, []string{"integer"}},
		{`{"anyOf":[{"type":"string"},{"const":null}]}`, []string{"null", "string"}},
		{`{"anyOf":[{"type":"string"},{}]}`, nil},
		{`{"allOf":[{"type":["string","integer"]},{"type":["integer","null"]}]}`, []string{"integer"}},
		{`{"$defs":{"d":{"type":"boolean"}},"$ref":"#/$defs/d"}`, []string{"boolean"}},
		{`{"type":"string","const":1}`, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.schema, func(t *testing.T) {
			s, err := Compile([]byte(tt.schema))
			require.NoError(t, err)
			assert.Equal(t, tt.want, s.Type())
		})
	}
}

func TestPropertiesAndRequired(t *testing.T) {
	s := flowSchema(t)
	assert.Equal(t, []string{"alt", "any", "code", "mode", "name", "opts", "pair", "ratio", "shape", "tags", "times"}, s.Properties())
	assert.Equal(t, []string{"any", "code", "name", "opts", "ratio"}, s.Required())

	c, err := Compile([]byte(`{"$defs":{"d":{"properties":{"z":{}},"required":["z"]}},"allOf":[{"$ref":"#/$defs/d"}],"properties":{"a":{}},"required":["a"]}`))
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "z"}, c.Properties())
	assert.Equal(t, []string{"a", "z"}, c.Required())

	scalar, err := Compile([]byte(`{"type":"string"}`))
	require.NoError(t, err)
	assert.Empty(t, scalar.Properties())
	assert.Empty(t, scalar.Required())
}

func TestLookupResultString(t *testing.T) {
	assert.Equal(t, "exists", Exists.String())
	assert.Equal(t, "missing", Missing.String())
	assert.Equal(t, "unknown", Unknown.String())
}
