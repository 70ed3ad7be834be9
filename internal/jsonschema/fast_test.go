package jsonschema

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// flatSchema is the shape FromCUE gives typical flow inputs.
const flatSchema = `{"additionalProperties":false,"properties":{"any":{},"loud":{"default":false,"type":"boolean"},` +
	`"mode":{"default":"a","enum":["a","b"]},"n":{"default":1,"maximum":5,"minimum":1,"type":"integer"},` +
	`"name":{"not":{"const":""},"type":"string"},"r":{"exclusiveMinimum":0,"type":"number"},` +
	`"code":{"pattern":"^[a-z]+$","type":"string","maxLength":4},"tags":{"items":{"type":"string"},"type":"array"}},` +
	`"required":["name","r"],"type":"object"}`

// slowCheck is Check without its fast path.
func slowCheck(s *Schema, raw []byte) ([]byte, error) {
	fast := s.fast
	s.fast = nil
	defer func() { s.fast = fast }()
	return s.Check(raw)
}

func TestCheckFastPathAgreesWithTheFullCheck(t *testing.T) {
	s, err := Compile([]byte(flatSchema))
	require.NoError(t, err)
	require.NotNil(t, s.fast, "the flat schema gets a fast check")
	for _, in := range checkSeeds {
		fast, ferr := s.Check([]byte(in))
		slow, serr := slowCheck(s, []byte(in))
		if serr != nil {
			require.Error(t, ferr, in)
			assert.Equal(t, serr.Error(), ferr.Error(), in)
			continue
		}
		require.NoError(t, ferr, in)
		assert.Equal(t, compact(t, slow), compact(t, fast), in)
	}
}

// compact is b without white space between its tokens.
func compact(t testing.TB, b []byte) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatalf("not JSON: %s", b)
	}
	return buf.String()
}

func TestCheckKeepsTheBytes(t *testing.T) {
	s, err := Compile([]byte(`{"type":"object","properties":{"big":{"type":"integer"},` +
		`"meta":{"type":"object","properties":{"k":{"type":"string","default":"<d>"},"z":{"type":"integer"}}},` +
		`"list":{"type":"array","items":{"type":"object","properties":{"x":{"default":1}}}}}}`))
	require.NoError(t, err)
	require.Nil(t, s.fast, "nested objects take the full check")
	out, err := s.Check([]byte(`{"z": "<a&b>", "big": 9007199254740993, "meta": {"z": 1}, "list": [{}, {"x": 2.50}]}`))
	require.NoError(t, err)
	assert.Equal(t, `{"z":"<a&b>","big":9007199254740993,"meta":{"z":1,"k":"<d>"},"list":[{"x":1},{"x":2.50}]}`, string(out),
		"members in their order, numbers and strings as written, defaults after the members")
}

func TestCheckFastPathKeepsTheBytes(t *testing.T) {
	s, err := Compile([]byte(flatSchema))
	require.NoError(t, err)
	in := []byte(`{"name":"Ada","r":0.5,"n":2,"mode":"b","loud":true}`)
	out, err := s.Check(in)
	require.NoError(t, err)
	assert.Equal(t, string(in), string(out), "nothing to add: the input is used as it is")
	out, err = s.Check([]byte(` { "name" : "Ada", "r": 1 } `))
	require.NoError(t, err)
	assert.Equal(t, ` { "name" : "Ada", "r": 1 ,"loud":false,"mode":"a","n":1}`, string(out))
	assert.True(t, json.Valid(out))
	assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = s.Check(in) }))
}

var checkSeeds = []string{
	`{"name":"Ada","r":1}`,
	`{"name":"","r":1}`,
	`{"name":"Ada","r":0}`,
	`{"name":"Ada","r":-1}`,
	`{"name":"Ada"}`,
	`{"name":"Ada","r":1,"n":7}`,
	`{"name":"Ada","r":1,"n":1.0}`,
	`{"name":"Ada","r":1,"n":1e0}`,
	`{"name":"Ada","r":1,"mode":"c"}`,
	`{"name":"Ada","r":1,"mode":1}`,
	`{"name":"Ada","r":1,"nmae":1}`,
	`{"name":"Ada","r":1,"name":""}`,
	`{"name":"A\u0064a","r":1}`,
	`{"n\u0061me":"Ada","r":1}`,
	`{"name":"Ada","r":1,"code":"abc"}`,
	`{"name":"Ada","r":1,"code":"abcde"}`,
	`{"name":"Ada","r":1,"code":"ABC"}`,
	`{"name":"Ada","r":1,"tags":["a","b"]}`,
	`{"name":"Ada","r":1,"tags":["a",2]}`,
	`{"name":"Ada","r":1,"any":{"x":[1,{"y":null}]}}`,
	`{"name":"Ada","r":1,"any":{"x":[1,}]}}`,
	`{"name":"Ada","r":1,"loud":"yes"}`,
	`{"name":"Ada","r":1} x`,
	`{"name":"Ada","r":01}`,
	`{"name":"Ada\x01","r":1}`,
	`{"name":"Ada\q","r":1}`,
	`[1]`,
	`null`,
	`{}`,
	` {"name" : "Ada" , "r" : 1e300 } `,
	`{"name":"Ada","r":1,}`,
}

func FuzzCheck(f *testing.F) {
	for _, s := range checkSeeds {
		f.Add([]byte(s))
	}
	s, err := Compile([]byte(flatSchema))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		fast, ferr := s.Check(in)
		slow, serr := slowCheck(s, in)
		if (ferr == nil) != (serr == nil) {
			t.Fatalf("fast: %v, full: %v", ferr, serr)
		}
		if serr != nil {
			if ferr.Error() != serr.Error() {
				t.Fatalf("fast: %v, full: %v", ferr, serr)
			}
			return
		}
		if compact(t, fast) != compact(t, slow) {
			t.Fatalf("fast %s, full %s", fast, slow)
		}
	})
}

func TestCheckFastPathAddsDefaultsAsWritten(t *testing.T) {
	s, err := Compile([]byte(`{"type":"object","properties":{"tag":{"type":"string","default":"<a&b>"},"n":{"type":"integer"}}}`))
	require.NoError(t, err)
	require.NotNil(t, s.fast)
	out, err := s.Check([]byte(`{"n":9007199254740993}`))
	require.NoError(t, err)
	assert.Equal(t, `{"n":9007199254740993,"tag":"<a&b>"}`, string(out))
}
