package tensor

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/builtin"
)

func TestSpecOf(t *testing.T) {
	t.Parallel()
	typed := func(dt string, shape ...int64) Spec { return Spec{Datatype: dt, Shape: shape} }
	jsonText := Spec{Datatype: Bytes, Shape: []int64{-1}, Parameters: jsonParameters}
	tests := []struct {
		name   string
		schema string
		types  []string
		want   Spec
	}{
		{"integer", `{"type": "integer"}`, nil, typed(Int64, -1)},
		{"number", `{"type": "number", "default": 1.5}`, nil, typed(FP64, -1)},
		{"boolean", `{"type": "boolean"}`, nil, typed(Bool, -1)},
		{"string", `{"type": "string", "not": {"const": ""}}`, nil, typed(Bytes, -1)},
		{"list of numbers", `{"type": "array", "items": {"type": "number"}}`, nil, typed(FP64, -1, -1)},
		{"list of integers", `{"type": "array", "items": {"type": "integer"}}`, nil, typed(Int64, -1, -1)},
		{"list of strings", `{"type": "array", "items": {"type": "string"}}`, nil, typed(Bytes, -1, -1)},
		{"list of lists", `{"type": "array", "items": {"type": "array", "items": {"type": "number"}}}`, nil, typed(FP64, -1, -1, -1)},
		{"pair", `{"type": "array", "prefixItems": [{"type": "number"}, {"type": "number"}], "items": false, "minItems": 2}`, nil, typed(FP64, -1, 2)},
		{"pair or less", `{"type": "array", "prefixItems": [{"type": "number"}, {"type": "number"}], "items": false}`, nil, typed(FP64, -1, -1)},
		{"mixed tuple", `{"type": "array", "prefixItems": [{"type": "number"}, {"type": "string"}], "items": false, "minItems": 2}`, nil, jsonText},
		{"tuple with a tail", `{"type": "array", "prefixItems": [{"type": "number"}], "items": {"type": "number"}}`, nil, jsonText},
		{"list of anything", `{"type": "array"}`, nil, jsonText},
		{"list of objects", `{"type": "array", "items": {"type": "object"}}`, nil, jsonText},
		{"object", `{"type": "object"}`, nil, jsonText},
		{"nullable", `{"type": ["integer", "null"]}`, nil, jsonText},
		{"anything", `{}`, nil, jsonText},
		{"no schema", ``, nil, jsonText},
		{"the engine's type", `{}`, []string{"string"}, typed(Bytes, -1)},
		{"the schema's type first", `{"type": "integer"}`, []string{"string"}, typed(Int64, -1)},
		{"the engine's union", `{}`, []string{"string", "null"}, jsonText},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := specOf(Field{Name: "x", Schema: json.RawMessage(tc.schema), Types: tc.types})
			tc.want.Name = "x"
			assert.Equal(t, tc.want, got)
		})
	}
	got := specOf(Field{Name: "x", Schema: json.RawMessage(`{"type": "string"}`), Nullable: true})
	assert.Equal(t, Spec{Name: "x", Datatype: Bytes, Shape: []int64{-1}, Parameters: jsonParameters}, got, "nullable whatever its type")
}

// calc is a model with an input of each kind.
var calc = New([]Field{
	{Name: "times", Schema: json.RawMessage(`{"type": "integer"}`), Required: true},
	{Name: "scale", Schema: json.RawMessage(`{"type": "number", "default": 1}`)},
	{Name: "values", Schema: json.RawMessage(`{"type": "array", "items": {"type": "number"}}`)},
	{Name: "pair", Schema: json.RawMessage(`{"type": "array", "prefixItems": [{"type": "integer"}, {"type": "integer"}], "items": false, "minItems": 2}`)},
	{Name: "loud", Schema: json.RawMessage(`{"type": "boolean"}`)},
	{Name: "name", Schema: json.RawMessage(`{"type": "string"}`)},
	{Name: "meta", Schema: json.RawMessage(`{"type": "object"}`)},
}, []Field{
	{Name: "total", Types: []string{"integer"}},
	{Name: "mean", Types: []string{"number"}},
	{Name: "ok", Types: []string{"boolean"}},
	{Name: "label", Types: []string{"string"}},
	{Name: "grid", Schema: json.RawMessage(`{"type": "array", "items": {"type": "array", "items": {"type": "integer"}}}`)},
	{Name: "pair", Schema: json.RawMessage(`{"type": "array", "prefixItems": [{"type": "number"}, {"type": "number"}], "items": false, "minItems": 2}`)},
	{Name: "raw"},
})

func TestMetadata(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(calc.Metadata("calc", []string{"1", "2"}))
	require.NoError(t, err)
	assert.JSONEq(t, `{"name": "calc", "versions": ["1", "2"], "platform": "weir",
		"inputs": [
			{"name": "times", "datatype": "INT64", "shape": [-1]},
			{"name": "scale", "datatype": "FP64", "shape": [-1]},
			{"name": "values", "datatype": "FP64", "shape": [-1, -1]},
			{"name": "pair", "datatype": "INT64", "shape": [-1, 2]},
			{"name": "loud", "datatype": "BOOL", "shape": [-1]},
			{"name": "name", "datatype": "BYTES", "shape": [-1]},
			{"name": "meta", "datatype": "BYTES", "shape": [-1], "parameters": {"content_type": "json"}}
		],
		"outputs": [
			{"name": "total", "datatype": "INT64", "shape": [-1]},
			{"name": "mean", "datatype": "FP64", "shape": [-1]},
			{"name": "ok", "datatype": "BOOL", "shape": [-1]},
			{"name": "label", "datatype": "BYTES", "shape": [-1]},
			{"name": "grid", "datatype": "INT64", "shape": [-1, -1, -1]},
			{"name": "pair", "datatype": "FP64", "shape": [-1, 2]},
			{"name": "raw", "datatype": "BYTES", "shape": [-1], "parameters": {"content_type": "json"}}
		]}`, string(b))
}

// rows decodes a request body and maps it to rows.
func rows(m *Model, body string) ([]string, error) {
	req, err := DecodeRequest([]byte(body), NoBinary)
	if err != nil {
		return nil, err
	}
	rs, err := m.Rows(req.Inputs)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r)
	}
	return out, nil
}

func TestRows(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		model *Model
		body  string
		want  []string
	}{
		{"a batch of scalars", calc, `{"inputs": [
			{"name": "name", "shape": [3], "datatype": "BYTES", "data": ["Ada", "Grace", "\"quoted\""]},
			{"name": "times", "shape": [3], "datatype": "INT64", "data": [1, 2, 3]},
			{"name": "loud", "shape": [3], "datatype": "BOOL", "data": [true, false, true]}]}`,
			[]string{`{"times":1,"loud":true,"name":"Ada"}`, `{"times":2,"loud":false,"name":"Grace"}`, `{"times":3,"loud":true,"name":"\"quoted\""}`}},
		{"scalars as [N, 1]", calc, `{"inputs": [{"name": "times", "shape": [2, 1], "datatype": "INT64", "data": [[1], [2]]}]}`,
			[]string{`{"times":1}`, `{"times":2}`}},
		{"integers widen", calc, `{"inputs": [
			{"name": "times", "shape": [2], "datatype": "UINT8", "data": [0, 255]},
			{"name": "scale", "shape": [2], "datatype": "INT32", "data": [-3, 4]}]}`,
			[]string{`{"times":0,"scale":-3}`, `{"times":255,"scale":4}`}},
		{"floats as they are written", calc, `{"inputs": [
			{"name": "times", "shape": [1], "datatype": "INT64", "data": [9007199254740993]},
			{"name": "scale", "shape": [1], "datatype": "FP32", "data": [0.1]}]}`,
			[]string{`{"times":9007199254740993,"scale":0.1}`}},
		{"lists, flat", calc, `{"inputs": [
			{"name": "times", "shape": [2], "datatype": "INT64", "data": [1, 2]},
			{"name": "values", "shape": [2, 3], "datatype": "FP64", "data": [1, 2, 3, 4.5, 5, 6]},
			{"name": "pair", "shape": [2, 2], "datatype": "INT64", "data": [1, 2, 3, 4]}]}`,
			[]string{`{"times":1,"values":[1,2,3],"pair":[1,2]}`, `{"times":2,"values":[4.5,5,6],"pair":[3,4]}`}},
		{"lists, nested", calc, `{"inputs": [
			{"name": "times", "shape": [2], "datatype": "INT64", "data": [[1], [2]]},
			{"name": "values", "shape": [2, 3], "datatype": "FP64", "data": [[1, 2, 3], [4.5, 5, 6]]}]}`,
			[]string{`{"times":1,"values":[1,2,3]}`, `{"times":2,"values":[4.5,5,6]}`}},
		{"empty lists", calc, `{"inputs": [
			{"name": "times", "shape": [2], "datatype": "INT64", "data": [1, 2]},
			{"name": "values", "shape": [2, 0], "datatype": "FP64", "data": []}]}`,
			[]string{`{"times":1,"values":[]}`, `{"times":2,"values":[]}`}},
		{"JSON texts", calc, `{"inputs": [
			{"name": "times", "shape": [2], "datatype": "INT64", "data": [1, 2]},
			{"name": "meta", "shape": [2], "datatype": "BYTES", "data": ["{\"a\": [1, 2]}", " null "]}]}`,
			[]string{`{"times":1,"meta":{"a": [1, 2]}}`, `{"times":2,"meta":null}`}},
		{"no inputs", New(nil, nil), `{"inputs": []}`, []string{`{}`}},
		{"only optional inputs", New([]Field{{Name: "x", Types: []string{"integer"}}}, nil), `{"inputs": []}`, []string{`{}`}},
		{"a list of lists", New([]Field{{Name: "g", Schema: json.RawMessage(`{"type": "array", "items": {"type": "array", "items": {"type": "boolean"}}}`)}}, nil),
			`{"inputs": [{"name": "g", "shape": [1, 2, 3], "datatype": "BOOL", "data": [true, false, true, false, true, false]}]}`,
			[]string{`{"g":[[true,false,true],[false,true,false]]}`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := rows(tc.model, tc.body)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			for _, r := range got {
				assert.True(t, json.Valid([]byte(r)), r)
			}
		})
	}
}

func TestRowsErrors(t *testing.T) {
	t.Parallel()
	one := func(name, shape, dt, data string) string {
		return `{"inputs": [{"name": "` + name + `", "shape": ` + shape + `, "datatype": "` + dt + `", "data": ` + data + `}]}`
	}
	tests := []struct {
		name, body, want string
	}{
		{"not JSON", `{"inputs": [`, "decode body: unexpected EOF"},
		{"two values", `{"inputs": []} {}`, "decode body: more than one JSON value"},
		{"no inputs", `{}`, `decode body: no "inputs": want {"inputs": [{"name", "shape", "datatype", "data"}, ...]}`},
		{"empty", ``, `decode body: the body is empty: want {"inputs": [{"name", "shape", "datatype", "data"}, ...]}`},
		{"not an object", `[1]`, `decode body: the body is an array: want {"inputs": [{"name", "shape", "datatype", "data"}, ...]}`},
		{"inputs not a list", `{"inputs": {}}`, "decode body: inputs is an object: want an array"},
		{"a shape of fractions", one("times", "[1.5]", "INT64", "[1]"), "decode body: inputs.shape is a number 1.5: want an integer"},
		{"a name of true", `{"inputs": [{"name": true}]}`, "decode body: inputs.name is a boolean: want a string"},
		{"an id of 7", `{"id": 7, "inputs": []}`, "decode body: id is a number: want a string"},
		{"no name", `{"inputs": [{"shape": [1], "datatype": "INT64", "data": [1]}]}`, "decode body: input 0 has no name"},
		{"no data", `{"inputs": [{"name": "times", "shape": [1], "datatype": "INT64"}]}`, `input "times": no "data"`},
		{"data not a list", one("times", "[1]", "INT64", "1"), `input "times": data is a number, not an array of elements`},
		{"data holds an object", one("times", "[1]", "INT64", `[{"a": 1}]`), `input "times": data holds {"a":1}: elements are booleans, numbers or strings`},
		{"data holds null", one("times", "[1]", "INT64", `[null]`), `input "times": data holds null: elements are booleans, numbers or strings`},
		{"unknown input", one("time", "[1]", "INT64", "[1]"), `input "time": the model has no such input (its inputs: times, scale, values, pair, loud, name, meta)`},
		{"unknown datatype", one("times", "[1]", "FLOAT", "[1]"), `input "times": datatype "FLOAT" is not one of the protocol's (BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, FP32, FP64, BYTES)`},
		{"wrong datatype", one("times", "[1]", "FP32", "[1]"), `input "times": datatype FP32 is not INT64`},
		{"bool for a number", one("scale", "[1]", "BOOL", "[true]"), `input "scale": datatype BOOL is not FP64`},
		{"numbers for a string", one("name", "[1]", "INT64", "[1]"), `input "name": datatype INT64 is not BYTES`},
		{"numbers for JSON", one("meta", "[1]", "INT64", "[1]"), `input "meta": datatype INT64 is not BYTES`},
		{"binary data without its header", `{"inputs": [{"name": "times", "shape": [1], "datatype": "INT64", "parameters": {"binary_data_size": 8}}]}`,
			`input "times": binary_data_size needs the Inference-Header-Content-Length header to find the binary data`},
		{"negative dimension", one("times", "[-1]", "INT64", "[1]"), `input "times": shape [-1]: dimensions are 0 or more`},
		{"no batch dimension", one("times", "[]", "INT64", "[1]"), `input "times": shape [] does not fit the input's [-1]`},
		{"a scalar's rank", one("times", "[1, 2]", "INT64", "[1, 2]"), `input "times": shape [1, 2] does not fit the input's [-1]`},
		{"a list's rank", one("values", "[2]", "FP64", "[1, 2]"), `input "values": shape [2] does not fit the input's [-1, -1]`},
		{"a fixed length", one("pair", "[1, 3]", "INT64", "[1, 2, 3]"), `input "pair": shape [1, 3] does not fit the input's [-1, 2]`},
		{"too many elements", one("name", "[2]", "BYTES", `["a", "b", "c"]`), `input "name": shape [2] holds 2 elements but data has 3`},
		{"too few elements", one("values", "[2, 2]", "FP64", `[[1, 2], [3]]`), `input "values": shape [2, 2] holds 4 elements but data has 3`},
		{"too many rows", one("values", "[65537, 0]", "FP64", `[]`), `input "values": shape [65537, 0]: a request takes at most 65536 rows`},
		{"a fraction for an integer", one("times", "[2]", "INT64", "[1, 1.5]"), `input "times": element 1 is 1.5, not an INT64`},
		{"a string for an integer", one("times", "[1]", "INT64", `["1"]`), `input "times": element 0 is "1", not an INT64`},
		{"past the range", one("times", "[2]", "INT8", "[127, 128]"), `input "times": element 1 is 128, out of the range of INT8`},
		{"negative unsigned", one("times", "[1]", "UINT16", "[-1]"), `input "times": element 0 is -1, not a UINT16`},
		{"a string for a number", one("scale", "[1]", "FP64", `["1.5"]`), `input "scale": element 0 is "1.5", not a number`},
		{"a number for a bool", one("loud", "[1]", "BOOL", "[1]"), `input "loud": element 0 is 1, not true or false`},
		{"a number for a string", one("name", "[1]", "BYTES", "[1]"), `input "name": element 0 is 1, not a string`},
		{"a bool for a string", one("name", "[1]", "BYTES", "[true]"), `input "name": element 0 is true, not a string`},
		{"not JSON text", one("meta", "[1]", "BYTES", `["{a}"]`), `input "meta": element 0 is not JSON: invalid character 'a' looking for beginning of object key string`},
		{"given twice", `{"inputs": [{"name": "times", "shape": [1], "datatype": "INT64", "data": [1]}, {"name": "times", "shape": [1], "datatype": "INT64", "data": [2]}]}`,
			`input "times": given twice`},
		{"batches differ", `{"inputs": [{"name": "times", "shape": [3], "datatype": "INT64", "data": [1, 2, 3]}, {"name": "name", "shape": [2], "datatype": "BYTES", "data": ["a", "b"]}]}`,
			`input "name": 2 rows, but input "times" has 3: the first dimension is the batch`},
		{"missing", one("name", "[1]", "BYTES", `["a"]`), `input "times" is missing: the model requires it`},
		{"empty batch", one("times", "[0]", "INT64", `[]`), "the batch is empty: the inputs' first dimension is 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rows(calc, tc.body)
			assert.EqualError(t, err, tc.want)
		})
	}
	_, err := rows(New(nil, nil), one("x", "[1]", "INT64", "[1]"))
	assert.EqualError(t, err, `input "x": the model has no such input (it has no inputs)`)
	grid := New([]Field{{Name: "g", Schema: json.RawMessage(`{"type": "array", "items": {"type": "array", "items": {"type": "number"}}}`)}}, nil)
	_, err = rows(grid, one("g", "[1, 4294967296, 4294967296]", "FP64", "[]"))
	assert.EqualError(t, err, `input "g": shape [1, 4294967296, 4294967296] holds 2^64 or more elements but data has 0`)
	_, err = rows(calc, one("times", "[1]", "INT64", `["`+strings.Repeat("x", 50)+`"]`))
	assert.EqualError(t, err, `input "times": element 0 is "`+strings.Repeat("x", 36)+`..., not an INT64`)
}

func TestSelect(t *testing.T) {
	t.Parallel()
	all, err := calc.Select(nil)
	require.NoError(t, err)
	require.Len(t, all, len(calc.Outputs))
	assert.Equal(t, "total", all[0].Name)
	some, err := calc.Select([]RequestOutput{{Name: "raw"}, {Name: "total"}})
	require.NoError(t, err)
	assert.Equal(t, []*Spec{&calc.Outputs[6], &calc.Outputs[0]}, some, "in the request's order")
	_, err = calc.Select([]RequestOutput{{Name: "sum"}})
	assert.EqualError(t, err, `output "sum": the model has no such output (its outputs: total, mean, ok, label, grid, pair, raw)`)
	_, err = calc.Select([]RequestOutput{{Name: "ok"}, {Name: "ok"}})
	assert.EqualError(t, err, `output "ok": asked for twice`)
}

func TestStack(t *testing.T) {
	t.Parallel()
	specs, err := calc.Select(nil)
	require.NoError(t, err)
	got, err := Stack(specs, [][]byte{
		[]byte(`{"total": 1, "mean": 1.5, "ok": true, "label": "a", "grid": [[1, 2], [3, 4], [5, 6]], "pair": [1, 2], "raw": {"x": [1]}}`),
		[]byte(`{"total": -2, "mean": 2, "ok": false, "label": "b\"", "grid": [[7, 8], [9, 10], [11, 12]], "pair": [0.5, 1e3], "raw": null}`),
	})
	require.NoError(t, err)
	b, err := json.Marshal(got)
	require.NoError(t, err)
	assert.JSONEq(t, `[
		{"name": "total", "shape": [2], "datatype": "INT64", "data": [1, -2]},
		{"name": "mean", "shape": [2], "datatype": "FP64", "data": [1.5, 2]},
		{"name": "ok", "shape": [2], "datatype": "BOOL", "data": [true, false]},
		{"name": "label", "shape": [2], "datatype": "BYTES", "data": ["a", "b\""]},
		{"name": "grid", "shape": [2, 3, 2], "datatype": "INT64", "data": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]},
		{"name": "pair", "shape": [2, 2], "datatype": "FP64", "data": [1, 2, 0.5, 1e3]},
		{"name": "raw", "shape": [2], "datatype": "BYTES", "parameters": {"content_type": "json"}, "data": ["{\"x\":[1]}", "null"]}
	]`, string(b))

	empty, err := Stack(specs[4:5], [][]byte{[]byte(`{"grid": []}`), []byte(`{"grid": []}`)})
	require.NoError(t, err)
	assert.Equal(t, []int64{2, 0, 0}, empty[0].Shape)

	tests := []struct {
		name, output, rows, want string
	}{
		{"a fraction", "total", `{"total": 1}|{"total": 1.5}`, `output "total": row 1 is 1.5, not an integer (INT64)`},
		{"null", "label", `{"label": null}`, `output "label": row 0 is null, not a string (BYTES)`},
		{"missing", "ok", `{}`, `output "ok": row 0 is null, not true or false (BOOL)`},
		{"a string", "mean", `{"mean": "1"}`, `output "mean": row 0 is "1", not a number (FP64)`},
		{"not a list", "grid", `{"grid": 1}`, `output "grid": row 0 is 1, not a list`},
		{"an element", "grid", `{"grid": [[1, "x"]]}`, `output "grid": row 0 holds "x", not an integer (INT64)`},
		{"ragged", "grid", `{"grid": [[1, 2], [3]]}`, `output "grid": row 0 is a ragged list: its elements have shapes [2] and [1]`},
		{"rows differ", "grid", `{"grid": [[1, 2]]}|{"grid": [[1, 2], [3, 4]]}`, `output "grid": row 1 has shape [2, 2] but row 0 [1, 2]: the rows of a tensor have one shape`},
		{"a fixed length", "pair", `{"pair": [1, 2, 3]}`, `output "pair": row 0 has 3 elements, not 2`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			specs, err := calc.Select([]RequestOutput{{Name: tc.output}})
			require.NoError(t, err)
			var rows [][]byte
			for _, r := range strings.Split(tc.rows, "|") {
				rows = append(rows, []byte(r))
			}
			_, err = Stack(specs, rows)
			assert.EqualError(t, err, tc.want)
		})
	}
}

// TestForFlow maps a flow the engine loaded: its inputs and outputs in the
// flow's order, and the output of a node with a when, or after only such
// nodes, as JSON, since it is null when the node is bypassed.
func TestForFlow(t *testing.T) {
	t.Parallel()
	e, err := engine.New(engine.Options{Providers: []plugins.Provider{builtin.NewProvider()}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	f, err := e.Parse(context.Background(), "flow.cue", []byte(`name: "m"
inputs: {
	word: string
	times: int | *1
	values: [...number]
	meta: {...}
}
nodes: {
	greet: {tool: "builtin.template", inputs: {template: "Hi {{.w}}", w: "${inputs.word}"}}
	maybe: {tool: "builtin.template", inputs: {template: "{{.w}}", w: "${greet.output.text}"}, when: {ref: "${inputs.times}", is: 2}}
	after: {tool: "builtin.template", inputs: {template: "{{.w}}", w: "${maybe.output.text}"}}
	both: {tool: "builtin.template", inputs: {template: "{{.a}}{{.b}}", a: "${greet.output.text}", b: "${maybe.output.text}"}}
}
outputs: {
	text: "${greet.output.text}"
	maybe: "${maybe.output.text}"
	after: "${after.output.text}"
	both: "${both.output.text}"
	times: "${inputs.times}"
}
`))
	require.NoError(t, err)
	m := ForFlow(f)
	b, err := json.Marshal(m.Metadata("m", nil))
	require.NoError(t, err)
	assert.JSONEq(t, `{"name": "m", "platform": "weir",
		"inputs": [
			{"name": "word", "datatype": "BYTES", "shape": [-1]},
			{"name": "times", "datatype": "INT64", "shape": [-1]},
			{"name": "values", "datatype": "FP64", "shape": [-1, -1]},
			{"name": "meta", "datatype": "BYTES", "shape": [-1], "parameters": {"content_type": "json"}}
		],
		"outputs": [
			{"name": "text", "datatype": "BYTES", "shape": [-1]},
			{"name": "maybe", "datatype": "BYTES", "shape": [-1], "parameters": {"content_type": "json"}},
			{"name": "after", "datatype": "BYTES", "shape": [-1], "parameters": {"content_type": "json"}},
			{"name": "both", "datatype": "BYTES", "shape": [-1]},
			{"name": "times", "datatype": "INT64", "shape": [-1]}
		]}`, string(b))
	_, err = m.Rows([]Tensor{{Name: "times", Shape: []int64{1}, Datatype: Int64, Data: []any{json.Number("1")}}})
	assert.EqualError(t, err, `input "word" is missing: the model requires it`)
}
