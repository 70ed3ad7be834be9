package jsonschema

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/plugins"
)

// within fails the test when f has not returned after a bound far above
// what it needs, instead of hanging the test binary.
func within(t *testing.T, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("still running after 20s")
	}
}

// chain is a schema whose $defs d0..dn-1 each refer fan times to the next
// one under kw (allOf, anyOf, oneOf); the last one is a string.
func chain(n, fan int, kw string) string {
	var b strings.Builder
	b.WriteString(`{"$ref":"#/$defs/d0","$defs":{`)
	for i := range n {
		refs := make([]string, fan)
		for j := range refs {
			refs[j] = fmt.Sprintf(`{"$ref":"#/$defs/d%d"}`, i+1)
		}
		fmt.Fprintf(&b, `"d%d":{%q:[%s]},`, i, kw, strings.Join(refs, ","))
	}
	fmt.Fprintf(&b, `"d%d":{"type":"string"}}}`, n)
	return b.String()
}

func TestCompileRefusesHostileReferences(t *testing.T) {
	tests := []struct {
		name, schema, want string
	}{
		{"allOf of itself, three times",
			`{"allOf":[{"$ref":"#"},{"$ref":"#"},{"$ref":"#"}]}`,
			`compile json schema: $ref loop: # -> #/allOf/0 -> # applies a schema to the same value again, without end`},
		{"ref to itself",
			`{"$ref":"#"}`,
			`compile json schema: $ref loop: # -> # applies a schema to the same value again, without end`},
		{"loop through two defs and anyOf",
			`{"$defs":{"a":{"anyOf":[{"type":"string"},{"$ref":"#/$defs/b"}]},"b":{"oneOf":[{"$ref":"#/$defs/a"}]}},"$ref":"#/$defs/a"}`,
			`compile json schema: $ref loop: #/$defs/a -> #/$defs/a/anyOf/1 -> #/$defs/b -> #/$defs/b/oneOf/0 -> #/$defs/a applies a schema to the same value again, without end`},
		{"loop through not",
			`{"not":{"$ref":"#"}}`,
			`compile json schema: $ref loop: # -> #/not -> # applies a schema to the same value again, without end`},
		{"loop through a dynamic anchor",
			`{"$dynamicAnchor":"m","allOf":[{"$dynamicRef":"#m"}]}`,
			`compile json schema: $ref loop: # -> #/allOf/0 -> # applies a schema to the same value again, without end`},
		{"allOf fan-out doubling 40 times",
			chain(40, 2, "allOf"),
			`compile json schema: $ref resolution of #/$defs/d28 exceeded 10000 steps: its references nest too deeply or fan out too widely`},
		{"anyOf fan-out of 5, 12 times",
			chain(12, 5, "anyOf"),
			`compile json schema: $ref resolution of #/$defs/d6 exceeded 10000 steps: its references nest too deeply or fan out too widely`},
		{"too many defs",
			chain(3000, 1, "allOf"),
			`compile json schema: the schema has more than 4096 objects and arrays`},
		{"nested too deep",
			strings.Repeat(`{"allOf":[`, 70) + "true" + strings.Repeat(`]}`, 70),
			`compile json schema: the schema nests deeper than 128 levels`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			within(t, func() {
				_, err := Compile([]byte(tt.schema))
				assert.EqualError(t, err, tt.want)
			})
		})
	}
}

// A long chain of $defs within the bounds compiles and is followed to its
// end by every reader.
func TestLongRefChain(t *testing.T) {
	within(t, func() {
		s, err := Compile([]byte(chain(1000, 1, "allOf")))
		require.NoError(t, err)
		assert.Equal(t, []string{"string"}, s.Type())
		_, res := s.Lookup([]any{"x"})
		assert.Equal(t, Missing, res)
		assert.EqualError(t, s.Validate(mustDecode(t, "1")), "must be a string, got number")
	})
}

// A schema whose alternatives both lead back to it as the value goes
// deeper applies it twice as often at each level: refused by Validate at
// the level where the count passes the bound, before the library starts.
func TestValidateBoundsPathsThroughReferences(t *testing.T) {
	s, err := Compile([]byte(`{"$defs":{"s":{"allOf":[` +
		`{"properties":{"x":{"$ref":"#/$defs/s"}}},` +
		`{"properties":{"x":{"$ref":"#/$defs/s"}}}]}},"$ref":"#/$defs/s"}`))
	require.NoError(t, err)

	shallow := mustDecode(t, strings.Repeat(`{"x":`, 5)+"1"+strings.Repeat(`}`, 5))
	assert.NoError(t, s.Validate(shallow))

	deep := mustDecode(t, strings.Repeat(`{"x":`, 40)+"1"+strings.Repeat(`}`, 40))
	within(t, func() {
		err := s.Validate(deep)
		assert.EqualError(t, err, "validate: $ref resolution at "+strings.TrimSuffix(strings.Repeat("x.", 12), ".")+
			" exceeded 10000 steps: the schema's references nest too deeply or fan out too widely")
	})
}

type boundsTree struct {
	Value    int           `json:"value"`
	Children []*boundsTree `json:"children"`
}

type boundsMap map[string]boundsMap

// The schemas SchemaOf makes for recursive Go types refer to themselves
// through a property or an item, never in place: they compile, answer
// lookups as before (into alternatives only to find a field missing
// everywhere) and validate nested values.
func TestRecursiveSchemasOfGoTypes(t *testing.T) {
	tree, err := Compile(plugins.SchemaOf(reflect.TypeFor[boundsTree]()))
	require.NoError(t, err)
	sub, res := tree.Lookup([]any{"children", 0})
	require.Equal(t, Exists, res)
	assert.Equal(t, []string{"null", "object"}, sub.Type())
	_, res = tree.Lookup([]any{"children", 0, "value"})
	assert.Equal(t, Unknown, res)
	_, res = tree.Lookup([]any{"children", "value"})
	assert.Equal(t, Missing, res)
	assert.NoError(t, tree.Validate(mustDecode(t, `{"value":1,"children":[{"value":2,"children":[null,{"value":3,"children":null}]}]}`)))
	assert.EqualError(t, tree.Validate(mustDecode(t, `{"value":1,"children":[{"value":2,"children":[{"value":"3","children":null}]}]}`)),
		"children[0].children[0].value: must be an integer, got string")

	m, err := Compile(plugins.SchemaOf(reflect.TypeFor[boundsMap]()))
	require.NoError(t, err)
	sub, res = m.Lookup([]any{"a", "b", "c", "d"})
	require.Equal(t, Exists, res)
	assert.Equal(t, []string{"null", "object"}, sub.Type())
	_, res = m.Lookup([]any{"a", "b", 0})
	assert.Equal(t, Missing, res)
	deep := strings.Repeat(`{"a":`, 200) + "null" + strings.Repeat(`}`, 200)
	assert.NoError(t, m.Validate(mustDecode(t, deep)))
}
