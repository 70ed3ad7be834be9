package builtin

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/plugins"
)

func TestJSON(t *testing.T) {
	tool := toolNamed(t, "json", plugins.Grants{})
	for _, tc := range []struct{ name, in, want string }{
		{"identity keeps the bytes", `{"value": {"b": 1, "a": [true, null]}}`, `{"value":{"b": 1, "a": [true, null]}}`},
		{"identity scalar", `{"value":"x"}`, `{"value":"x"}`},
		{"no value", `{}`, `{"value":null}`},
		{"null value", `{"value":null}`, `{"value":null}`},
		{"merge into nothing", `{"merge":[{"a":1},{"b":2}]}`, `{"value":{"a":1,"b":2}}`},
		{"merge empty", `{"merge":[]}`, `{"value":{}}`},
		{"merge later wins, first order kept", `{"value":{"z":0,"a":1},"merge":[{"a":2,"m":3},{"z":4}]}`, `{"value":{"z":4,"a":2,"m":3}}`},
		{"merge is shallow", `{"value":{"o":{"x":1}},"merge":[{"o":{"y":2}}]}`, `{"value":{"o":{"y":2}}}`},
		{"merge skips null", `{"value":null,"merge":[null,{"a":1},null]}`, `{"value":{"a":1}}`},
		{"merge keys with html", `{"merge":[{"<a>&":1}]}`, `{"value":{"<a>&":1}}`},
		{"merge duplicate keys", `{"merge":[{"a":1,"a":2}]}`, `{"value":{"a":2}}`},
		{"pick field", `{"value":{"a":{"b":[10,{"c":"x"}]}},"pick":"a.b[1].c"}`, `{"value":"x"}`},
		{"pick index first", `{"value":[[1,2],[3,4]],"pick":"[1][0]"}`, `{"value":3}`},
		{"pick quoted key", `{"value":{"odd key.[]":{"x":true}},"pick":"[\"odd key.[]\"].x"}`, `{"value":true}`},
		{"pick escaped key", `{"value":{"a\"b":1},"pick":"[\"a\\\"b\"]"}`, `{"value":1}`},
		{"pick null leaf", `{"value":{"a":null},"pick":"a"}`, `{"value":null}`},
		{"pick subtree", `{"value":{"a":{"b": [1, 2]}},"pick":"a"}`, `{"value":{"b": [1, 2]}}`},
		{"pick empty is all", `{"value":[1],"pick":""}`, `{"value":[1]}`},
		{"merge then pick", `{"value":{"a":1},"merge":[{"b":{"c":2}}],"pick":"b.c"}`, `{"value":2}`},
		{"unicode field", `{"value":{"名前":"x"},"pick":"[\"名前\"]"}`, `{"value":"x"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := call(t, tool, tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.want, out)
		})
	}
}

func TestJSONErrors(t *testing.T) {
	tool := toolNamed(t, "json", plugins.Grants{})
	for _, tc := range []struct{ name, in, want string }{
		{"missing field", `{"value":{"a":{"b":1}},"pick":"a.c"}`, `pick "a.c": no field "c" in object at "a"`},
		{"missing top field", `{"value":{"a":1},"pick":"c"}`, `pick "c": no field "c" in object`},
		{"field of array", `{"value":{"a":[1]},"pick":"a.b"}`, `pick "a.b": no field "b" in array at "a"`},
		{"field of string", `{"value":{"a":{"b":"s"}},"pick":"a.b.x"}`, `pick "a.b.x": no field "x" in string at "a.b"`},
		{"field of null", `{"pick":"a"}`, `pick "a": no field "a" in null`},
		{"index out of range", `{"value":{"a":{"b":[1,2]}},"pick":"a.b[2]"}`, `pick "a.b[2]": no index 2 in array of length 2 at "a.b"`},
		{"index of object", `{"value":{"a":{}},"pick":"a[0]"}`, `pick "a[0]": no index 0 in object at "a"`},
		{"quoted key missing", `{"value":{"x":{}},"pick":"x[\"k y\"]"}`, `pick "x[\"k y\"]": no field "k y" in object at "x"`},
		{"bad path", `{"value":{},"pick":"a["}`, `pick "a[": invalid path: bad index "[" in "a[": use [0], [1], ... or ["key"]`},
		{"a key that is not a name", `{"value":{"名前":1},"pick":"名前"}`, `pick "名前": invalid path: bad path "名前": expected a name at the start, such as a.b[0]; write ["key"] for a key that is not a name`},
		{"index of null", `{"value":{"a":null},"pick":"a[0].b"}`, `pick "a[0].b": no index 0 in null at "a"`},
		{"odd key in the place", `{"value":{"k y":[]},"pick":"[\"k y\"][1]"}`, `pick "[\"k y\"][1]": no index 1 in array of length 0 at "[\"k y\"]"`},
		{"value not object for merge", `{"value":[1],"merge":[{}]}`, `input "value": want object when merge is given, got array`},
		{"merge item not object", `{"merge":[{},"x"]}`, `input "merge[1]": want object, got string`},
		{"merge not a list", `{"merge":{}}`, `input "merge": want array, got object`},
		{"pick not a string", `{"pick":1}`, `input "pick": want string, got number`},
		{"inputs not an object", `"x"`, `inputs: want object, got string`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := call(t, tool, tc.in)
			require.EqualError(t, err, tc.want)
			assert.Equal(t, plugins.InvalidInput, plugins.KindOf(err))
		})
	}
}

// The tool must not keep or change the caller's buffer.
func TestJSONDoesNotAliasInput(t *testing.T) {
	tool := toolNamed(t, "json", plugins.Grants{})
	in := []byte(`{"value":{"a":"xyz"}}`)
	out, err := tool.Invoke(t.Context(), in)
	require.NoError(t, err)
	copy(in, strings.Repeat("!", len(in)))
	assert.Equal(t, `{"value":{"a":"xyz"}}`, string(out))
}

func TestJSONIdentityFastPath(t *testing.T) {
	for _, tc := range []struct {
		in   string
		fast bool
	}{
		{`{"value":1}`, true},
		{` { "value" : [1, {"a": "}]\\\""}] } `, true},
		{`{"value":"a\"b"}`, true},
		{`{"value":-1.5e3}`, true},
		{`{"value":true}`, true},
		{`{"value":null}`, true},
		{`{"value":{}}`, true},
		{`{"Value":1}`, false},
		{`{"value":1,"pick":""}`, false},
		{`{"pick":"a","value":{"a":1}}`, false},
		{`{"value":1,"value":2}`, false},
		{`{"value":1`, false},
		{`{"value":1}x`, false},
		{`[]`, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			v, ok := onlyValue([]byte(tc.in))
			assert.Equal(t, tc.fast, ok)
			if ok {
				slow, err := reshape([]byte(tc.in))
				require.NoError(t, err)
				assert.Equal(t, string(slow), string(wrapValue(v)))
			}
		})
	}
}

// The fast path must answer exactly as the decoding one whenever it answers.
func FuzzJSONIdentity(f *testing.F) {
	for _, s := range []string{`{"value":1}`, `{"value":{"a":[1,"]}"]}}`, `{"value":"\\"}`, `{"value":1,"x":2}`, ` {"value" : null } `} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		v, ok := onlyValue([]byte(in))
		if !ok {
			return
		}
		slow, err := reshape([]byte(in))
		if err != nil {
			t.Fatalf("fast path took %q, slow path failed: %v", in, err)
		}
		if fast := wrapValue(v); string(fast) != string(slow) {
			t.Fatalf("%q: fast %s, slow %s", in, fast, slow)
		}
	})
}

func BenchmarkJSONIdentity(b *testing.B) {
	tool := Tools(plugins.Grants{})[1]
	in := []byte(`{"value":{"id":12345,"name":"Ada Lovelace","tags":["a","b","c"],"score":0.97}}`)
	for b.Loop() {
		if _, err := tool.Invoke(b.Context(), in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJSONDecodingPath(b *testing.B) {
	in := []byte(`{"value":{"id":12345,"name":"Ada Lovelace","tags":["a","b","c"],"score":0.97}}`)
	for b.Loop() {
		if _, err := reshape(in); err != nil {
			b.Fatal(err)
		}
	}
}
