package jsonschema_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/weirflow/weir/internal/jsonschema"
)

func TestTypeName(t *testing.T) {
	t.Parallel()
	tests := []struct{ schema, want string }{
		{`{"type": "string"}`, "string"},
		{`{"type": ["null", "integer"]}`, "integer|null"},
		{`{"type": "array", "items": {"type": "number"}}`, "[]number"},
		{`{"type": ["array", "null"], "items": {"type": ["string", "null"]}}`, "[](string|null)|null"},
		{`{"type": "array"}`, "[]any"},
		{`{"enum": ["full", "short"]}`, `"full"|"short"`},
		{`{"const": 3}`, "3"},
		{`{"anyOf": [{"type": "string"}, {"type": "object", "properties": {}}]}`, "string|object"},
		{`{"$ref": "#"}`, "object"},
		{`{"$ref": "#/$defs/Node"}`, "Node"},
		{`{"properties": {"a": {}}}`, "object"},
		{`{}`, "any"},
		{`true`, "any"},
		{`false`, "none"},
		{``, "any"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, jsonschema.TypeName([]byte(tc.schema)), "TypeName(%s)", tc.schema)
	}
}

func TestFields(t *testing.T) {
	t.Parallel()
	tests := []struct{ schema, want string }{
		// The order of the schema, not the alphabet's.
		{`{"type": "object", "properties": {"z": {"type": "string"}, "a": {"type": "integer"}}, "required": ["a"]}`, "z:string, a:integer*"},
		{`{"type": "object", "additionalProperties": false}`, "(none)"},
		{`{"type": "object", "properties": {}, "additionalProperties": false}`, "(none)"},
		{`{"type": "object"}`, "(any)"},
		{`{}`, "(any)"},
		{`null`, "(any)"},
		{`not json`, "(any)"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, jsonschema.Fields([]byte(tc.schema), "*"), "Fields(%s)", tc.schema)
	}
}
