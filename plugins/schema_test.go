package plugins

import (
	"bytes"
	"encoding/json"
	"math/big"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type schemaBasic struct {
	Name    string         `json:"name" desc:"Who to greet; <b> & co stay as they are."`
	Times   int            `json:"times,omitempty"`
	Ratio   float64        `json:"ratio,omitzero"`
	OK      bool           `json:"ok"`
	Count   uint8          `json:"count"`
	Maybe   *string        `json:"maybe"`
	Tags    []string       `json:"tags"`
	Raw     []byte         `json:"raw"`
	Pair    [2]int         `json:"pair"`
	Attrs   map[string]int `json:"attrs"`
	ByID    map[int]string `json:"by_id"`
	Any     any            `json:"any"`
	Doc     json.RawMessage
	When    time.Time     `json:"when"`
	Wait    time.Duration `json:"wait"`
	IP      net.IP        `json:"ip"`
	Big     *big.Int      `json:"big"`
	Num     json.Number   `json:"num"`
	Quoted  int64         `json:"quoted,string"`
	Skipped string        `json:"-"`
	Dash    string        `json:"-,"`
	hidden  string
}

type Inner struct {
	A string `json:"a"`
	B string `json:"b"`
}

type innerPtr struct {
	P string `json:"p"`
}

type schemaEmbed struct {
	Inner
	*innerPtr
	B     int   `json:"b"` // hides Inner.B: shallower
	Named Inner `json:"named"`
}

type left struct{ X, Y string }
type right struct {
	X string
	Y string `json:"Y"`
}

type schemaConflict struct {
	left
	right
}

type tree struct {
	Value    int     `json:"value"`
	Children []*tree `json:"children,omitempty"`
}

type list struct {
	Head *node `json:"head"`
	Tail *node `json:"tail"`
}

type jsonTree map[string]jsonTree

type nested []nested

type selfPtr *selfPtr

type withNested struct {
	N  nested   `json:"n"`
	P  selfPtr  `json:"p"`
	N2 []nested `json:"n2"`
}

type node struct {
	V    string `json:"v"`
	Next *node  `json:"next"`
}

func TestSchemaOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		typ  reflect.Type
		want string
	}{
		{"nil", nil, `{}`},
		{"string", reflect.TypeFor[string](), `{"type":"string"}`},
		{"int", reflect.TypeFor[int32](), `{"type":"integer"}`},
		{"uint", reflect.TypeFor[uint](), `{"type":"integer","minimum":0}`},
		{"float", reflect.TypeFor[float32](), `{"type":"number"}`},
		{"bool pointer", reflect.TypeFor[**bool](), `{"type":["boolean","null"]}`},
		{"any", reflect.TypeFor[any](), `{}`},
		{"map any", reflect.TypeFor[map[string]any](), `{"type":["object","null"],"additionalProperties":{}}`},
		{"empty struct", reflect.TypeFor[struct{}](), `{"type":"object","additionalProperties":false}`},
		{"slice of structs", reflect.TypeFor[[]Inner](),
			`{"type":["array","null"],"items":{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}},"required":["a","b"],"additionalProperties":false}}`},
		{"basic", reflect.TypeFor[schemaBasic](), `{"type":"object","properties":{` +
			`"name":{"type":"string","description":"Who to greet; <b> & co stay as they are."},` +
			`"times":{"type":"integer"},` +
			`"ratio":{"type":"number"},` +
			`"ok":{"type":"boolean"},` +
			`"count":{"type":"integer","minimum":0},` +
			`"maybe":{"type":["string","null"]},` +
			`"tags":{"type":["array","null"],"items":{"type":"string"}},` +
			`"raw":{"type":["string","null"],"contentEncoding":"base64"},` +
			`"pair":{"type":"array","items":{"type":"integer"}},` +
			`"attrs":{"type":["object","null"],"additionalProperties":{"type":"integer"}},` +
			`"by_id":{"type":["object","null"],"additionalProperties":{"type":"string"}},` +
			`"any":{},` +
			`"Doc":{},` +
			`"when":{"type":"string","format":"date-time"},` +
			`"wait":{"type":"integer"},` +
			`"ip":{"type":"string"},` +
			`"big":{},` +
			`"num":{"type":"number"},` +
			`"quoted":{"type":"string"},` +
			`"-":{"type":"string"}},` +
			`"required":["name","ok","count","tags","raw","pair","attrs","by_id","any","Doc","when","wait","ip","num","quoted","-"],` +
			`"additionalProperties":false}`},
		{"embedded", reflect.TypeFor[schemaEmbed](), `{"type":"object","properties":{` +
			`"a":{"type":"string"},` +
			`"p":{"type":"string"},` +
			`"b":{"type":"integer"},` +
			`"named":{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}},"required":["a","b"],"additionalProperties":false}},` +
			`"required":["a","b","named"],"additionalProperties":false}`},
		{"conflict", reflect.TypeFor[schemaConflict](),
			`{"type":"object","properties":{"Y":{"type":"string"}},"required":["Y"],"additionalProperties":false}`},
		{"recursive root", reflect.TypeFor[tree](), `{"type":"object","properties":{` +
			`"value":{"type":"integer"},"children":{"type":["array","null"],"items":{"anyOf":[{"$ref":"#"},{"type":"null"}]}}},` +
			`"required":["value"],"additionalProperties":false}`},
		{"recursive inner", reflect.TypeFor[list](), `{"type":"object","properties":{` +
			`"head":{"anyOf":[{"$ref":"#/$defs/node"},{"type":"null"}]},"tail":{"anyOf":[{"$ref":"#/$defs/node"},{"type":"null"}]}},` +
			`"additionalProperties":false,` +
			`"$defs":{"node":{"type":"object","properties":{"v":{"type":"string"},"next":{"anyOf":[{"$ref":"#/$defs/node"},{"type":"null"}]}},"required":["v"],"additionalProperties":false}}}`},
		{"recursive map", reflect.TypeFor[jsonTree](), `{"type":["object","null"],"additionalProperties":{"$ref":"#"}}`},
		{"recursive slice and pointer", reflect.TypeFor[withNested](), `{"type":"object","properties":{` +
			`"n":{"$ref":"#/$defs/nested"},"p":{},"n2":{"type":["array","null"],"items":{"$ref":"#/$defs/nested"}}},` +
			`"required":["n","n2"],"additionalProperties":false,` +
			`"$defs":{"nested":{"type":["array","null"],"items":{"$ref":"#/$defs/nested"}}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := SchemaOf(tc.typ)
			assert.Equal(t, tc.want, string(got))
			compileSchema(t, got)
		})
	}
}

// The engine compares contracts by bytes, so they must not depend on map
// order or on which goroutine asked first.
func TestSchemaOfDeterministic(t *testing.T) {
	typ := reflect.TypeFor[schemaBasic]()
	want := string(SchemaOf(typ))
	schemaCache.Delete(typ)

	var wg sync.WaitGroup
	got := make([]string, 32)
	for i := range got {
		wg.Go(func() { got[i] = string(SchemaOf(typ)) })
	}
	wg.Wait()
	for _, g := range got {
		assert.Equal(t, want, g)
	}
}

func TestSchemaOfReturnsCopy(t *testing.T) {
	typ := reflect.TypeFor[Inner]()
	a := SchemaOf(typ)
	a[0] = 'X'
	assert.Equal(t, byte('{'), SchemaOf(typ)[0])
}

func TestSchemaOfUnsupported(t *testing.T) {
	type withChan struct {
		C chan int `json:"c"`
	}
	type withKey struct {
		M map[[2]int]string `json:"m"`
	}
	assert.PanicsWithValue(t,
		`plugins: SchemaOf(plugins.withChan): field "c" has type chan int, which encoding/json cannot encode`,
		func() { SchemaOf(reflect.TypeFor[withChan]()) })
	assert.PanicsWithValue(t,
		`plugins: SchemaOf(plugins.withKey): field "m" has type map[[2]int]string, which encoding/json cannot encode`,
		func() { SchemaOf(reflect.TypeFor[withKey]()) })
	assert.PanicsWithValue(t,
		`plugins: SchemaOf(func()) has type func(), which encoding/json cannot encode`,
		func() { SchemaOf(reflect.TypeFor[func()]()) })

	type skipped struct {
		C chan int `json:"-"`
	}
	assert.Equal(t, `{"type":"object","additionalProperties":false}`, string(SchemaOf(reflect.TypeFor[skipped]())))
}

// The schema must describe what encoding/json really writes; this checks the
// property names and required fields against a marshalled zero value.
func TestSchemaOfMatchesEncoding(t *testing.T) {
	for _, v := range []any{schemaBasic{}, schemaEmbed{innerPtr: &innerPtr{}}, schemaConflict{}} {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		var encoded map[string]any
		require.NoError(t, json.Unmarshal(b, &encoded))

		var s struct {
			Properties map[string]any `json:"properties"`
			Required   []string       `json:"required"`
		}
		require.NoError(t, json.Unmarshal(SchemaOf(reflect.TypeOf(v)), &s))
		for name := range encoded {
			assert.Contains(t, s.Properties, name, "%T", v)
		}
		for _, name := range s.Required {
			assert.Contains(t, encoded, name, "%T", v)
		}
	}
}

// Schemas with $ref must resolve and accept what encoding/json writes.
func TestSchemaOfValidates(t *testing.T) {
	for _, v := range []any{
		tree{Value: 1, Children: []*tree{{Value: 2}, {Value: 3, Children: []*tree{{Value: 4}}}}},
		list{Head: &node{V: "a", Next: &node{V: "b"}}},
		jsonTree{"a": {"b": {}}},
		withNested{N: nested{{}, {{}}}},
		schemaBasic{Tags: []string{"x"}, When: time.Unix(0, 0).UTC()},
	} {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		require.NoError(t, err)
		assert.NoError(t, compileSchema(t, SchemaOf(reflect.TypeOf(v))).Validate(doc), "%T %s", v, b)
	}

	bad, err := jsonschema.UnmarshalJSON(strings.NewReader(`{"value":1,"children":[{"value":"x"}]}`))
	require.NoError(t, err)
	assert.Error(t, compileSchema(t, SchemaOf(reflect.TypeFor[tree]())).Validate(bad), "nested values are checked through $ref")
}

func compileSchema(t *testing.T, schema json.RawMessage) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	require.NoError(t, err, "schema is valid JSON")
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	require.NoError(t, c.AddResource("mem:///schema.json", doc))
	s, err := c.Compile("mem:///schema.json")
	require.NoError(t, err, "schema %s", schema)
	return s
}

func BenchmarkSchemaOfCached(b *testing.B) {
	typ := reflect.TypeFor[schemaBasic]()
	for b.Loop() {
		SchemaOf(typ)
	}
}
