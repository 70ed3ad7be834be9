package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/pdk"
)

func TestGreet(t *testing.T) {
	out, err := greet(GreetIn{Name: "Ada"})
	require.NoError(t, err)
	assert.Equal(t, "Hello, Ada!", out.Message)

	_, err = greet(GreetIn{})
	assert.EqualError(t, err, `input "name" is empty`)
	assert.Equal(t, plugins.InvalidInput, plugins.KindOf(err))
}

func TestUpperLower(t *testing.T) {
	out, err := upper(Text{Text: "Straße & co"})
	require.NoError(t, err)
	assert.Equal(t, "STRAßE & CO", out.Text)
	out, err = lower(Text{Text: "ÀB C"})
	require.NoError(t, err)
	assert.Equal(t, "àb c", out.Text)
}

func TestCount(t *testing.T) {
	cases := []struct {
		in, want, err string
	}{
		{`{"text":"one two  three"}`, `{"words":3,"chars":14}`, ""},
		{`{"text":""}`, `{"words":0,"chars":0}`, ""},
		{`{}`, `{"words":0,"chars":0}`, ""},
		{`null`, `{"words":0,"chars":0}`, ""},
		{`{"text":null}`, `{"words":0,"chars":0}`, ""},
		{` { "other" : [1, {"text": 5}], "text" : "héllo\twörld\n" } `, `{"words":2,"chars":12}`, ""},
		{`{"text":"\u00e9t\u00e9 \ud83d\ude00"}`, `{"words":2,"chars":5}`, ""},
		{`{"text":"a\ud800b"}`, `{"words":1,"chars":3}`, ""},
		{`{"TEXT":"a b","text":"c"}`, `{"words":1,"chars":1}`, ""},
		{`{"text":"a","text":null}`, `{"words":1,"chars":1}`, ""},
		{`{"text":5}`, "", `input "text": want string, got number`},
		{`{"text":{"a":"b"}}`, "", `input "text": want string, got object`},
		{`{"text":true}`, "", `input "text": want string, got boolean`},
		{`[1]`, "", `inputs: want object, got array`},
		{`"text"`, "", `inputs: want object, got string`},
		{`{"text":"a"`, "", `decode inputs: unexpected end of JSON input`},
		{`{"text":"a"} x`, "", "decode inputs: invalid character 'x' after top-level value"},
		{`{"text":5,}`, "", "decode inputs: invalid character '}' looking for beginning of object key string"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			out, err := pdk.Call("count", []byte(tc.in))
			if tc.err != "" {
				assert.EqualError(t, err, tc.err)
				assert.Equal(t, plugins.InvalidInput, plugins.KindOf(err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(out))
		})
	}
}

// The tools as weir calls them: registered by init, through the PDK's
// decoding and encoding.
func TestRegistered(t *testing.T) {
	var names []string
	for _, c := range pdk.Contracts() {
		names = append(names, c.Name)
	}
	assert.Equal(t, []string{"greet", "upper", "lower", "count"}, names)
	assert.Equal(t, `{"type":"object","properties":{"words":{"type":"integer","description":"Runs of characters between white space."},"chars":{"type":"integer","description":"Unicode code points."}},"required":["words","chars"],"additionalProperties":false}`,
		string(pdk.Contracts()[3].Outputs))

	cases := []struct{ tool, in, want, err string }{
		{"greet", `{"name":"Ada"}`, `{"message":"Hello, Ada!"}`, ""},
		{"greet", `{"name":1}`, "", `input "name": want string, got number`},
		{"upper", `{"text":"a<b>"}`, `{"text":"A<B>"}`, ""},
		{"lower", `{"text":"ABC"}`, `{"text":"abc"}`, ""},
		{"count", `{"text":"a b"}`, `{"words":2,"chars":3}`, ""},
	}
	for _, tc := range cases {
		out, err := pdk.Call(tc.tool, []byte(tc.in))
		if tc.err != "" {
			assert.EqualError(t, err, tc.err, tc.tool)
			continue
		}
		require.NoError(t, err, tc.tool)
		assert.Equal(t, tc.want, string(out), tc.tool)
	}
}
