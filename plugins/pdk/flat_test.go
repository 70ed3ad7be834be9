package pdk

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/weirflow/weir/internal/jsonscan"
)

type myString string

type zeroer int

func (zeroer) IsZero() bool { return true }

type textish struct{ A string }

func (*textish) UnmarshalText([]byte) error { return nil }

type flatIn struct {
	S          string  `json:"s"`
	B          bool    `json:"b,omitempty"`
	I          int     `json:"i"`
	I8         int8    `json:",omitzero"`
	I16        int16   `json:"i16"`
	I32        int32   `json:"i32"`
	I64        int64   `json:"i64"`
	U          uint    `json:"u"`
	U8         uint8   `json:"u8"`
	U16        uint16  `json:"u16"`
	U32        uint32  `json:"u32"`
	U64        uint64  `json:"u64"`
	F32        float32 `json:"f32"`
	F64        float64 `json:"f"`
	Named      myString
	Skip       string `json:"-"`
	Dash       string `json:"-,"`
	unexported string
}

func TestFlatOf(t *testing.T) {
	type embedded struct{ A string }
	cases := []struct {
		t    reflect.Type
		flat bool
	}{
		{reflect.TypeFor[flatIn](), true},
		{reflect.TypeFor[struct{}](), true},
		{reflect.TypeFor[textIO](), true},
		{reflect.TypeFor[struct{ A []string }](), false},
		{reflect.TypeFor[struct{ A *string }](), false},
		{reflect.TypeFor[struct{ A time.Time }](), false},
		{reflect.TypeFor[struct{ A time.Duration }](), true}, // an int64 to encoding/json
		{reflect.TypeFor[struct{ A json.Number }](), false},
		{reflect.TypeFor[struct {
			A int `json:"a,string"`
		}](), false},
		{reflect.TypeFor[struct {
			A int `json:"a b"`
		}](), false},
		{reflect.TypeFor[struct{ embedded }](), false},
		{reflect.TypeFor[struct {
			A string
			B string `json:"a"`
		}](), false},
		{reflect.TypeFor[map[string]any](), false},
		{reflect.TypeFor[json.RawMessage](), false},
		{reflect.TypeFor[struct{ A zeroer }](), false},
		{reflect.TypeFor[struct{ A textish }](), false},
		{reflect.TypeFor[textish](), false},
		{reflect.TypeFor[struct {
			A int `json:"a,omitempty,inline"`
		}](), false},
		{reflect.TypeFor[struct {
			A int `json:"é"`
		}](), false},
		{reflect.TypeFor[struct{ A, b, C int }](), true},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.flat, flatOf(tc.t) != nil, "%v", tc.t)
	}
}

func TestFlatDecode(t *testing.T) {
	d := &flatDecoder{flatType: flatOf(reflect.TypeFor[flatIn]())}
	cases := []struct {
		in   string
		fast bool
	}{
		{`{}`, true},
		{` { "s" : "héllo \"w\" \u00e9\ud83d\ude00\n" , "b":true, "i":-12, "I8":-128, "i16":32767, "u8":255,
			"u64":18446744073709551615, "f32":1.5e3, "f":-0.25E-2, "Named":"n", "-":"dash", "other":[{"x":null}, 1, "s"]} `, true},
		{`{"s":"a","s":null,"b":false,"i":-0}`, true},
		{"{\"s\":\"\xff\\ud800x\"}", true},
		{`{"s":"a"}`, true},
		{`null`, false},
		{`{"S":"case"}`, false},
		{`{"sé":"non-ASCII key"}`, false},
		{`{"s":1}`, false},
		{`{"i":1.5}`, false},
		{`{"i8":128}`, false},
		{`{"u":-1}`, false},
		{`{"f32":1e39}`, false},
		{`{"b":"true"}`, false},
		{`{"s":"a"`, false},
		{`{"s":"a"} {}`, false},
		{`{"s":"a",}`, false},
		{`{"x":` + deep(jsonscan.MaxDepth+1) + `}`, false},
		{`{"x":` + deep(jsonscan.MaxDepth) + `}`, true},
	}
	for _, tc := range cases {
		var fast flatIn
		ok := d.decode([]byte(tc.in), unsafe.Pointer(&fast))
		assert.Equal(t, tc.fast, ok, tc.in)
		if ok {
			var want flatIn
			require.NoError(t, json.Unmarshal([]byte(tc.in), &want), tc.in)
			assert.Equal(t, want, fast, tc.in)
		}
	}
}

func deep(n int) string {
	s := "1"
	for i := range n {
		if i%2 == 0 {
			s = "[" + s + "]"
		} else {
			s = `{"a":` + s + "}"
		}
	}
	return s
}

// FuzzFlatDecode checks the fast path against encoding/json: whenever it
// decodes, encoding/json must decode to the same struct without error.
func FuzzFlatDecode(f *testing.F) {
	for _, s := range []string{
		`{"s":"x","i":1,"f":2.5,"b":true}`, `{"u8":256}`, `{"S":"x"}`, `{"s":"\ud83d\ude00\u0041"}`,
		`{"i64":-9223372036854775808,"u64":18446744073709551615}`, `{"f32":3.4028235e38}`,
		`{"s":"a","s":null}`, `{"x":[1,{"y":"z"}],"Named":"n"}`, "{\"s\":\"\xff\xfe\"}", `{"-":"d"}`,
	} {
		f.Add([]byte(s))
	}
	d := &flatDecoder{flatType: flatOf(reflect.TypeFor[flatIn]())}
	f.Fuzz(func(t *testing.T, in []byte) {
		var fast flatIn
		if !d.decode(in, unsafe.Pointer(&fast)) {
			return
		}
		var want flatIn
		require.NoError(t, json.Unmarshal(in, &want))
		assert.Equal(t, want, fast)
	})
}

func encodeJSON(t testing.TB, v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(v))
	return strings.TrimSuffix(buf.String(), "\n")
}

func TestFlatEncode(t *testing.T) {
	ft := flatOf(reflect.TypeFor[flatIn]())
	cases := []flatIn{
		{},
		{S: "a<b>&\"\\\n\u2028\x7f\xff", B: true, I: -1, I8: -128, I16: 1, I32: -2, I64: math.MinInt64,
			U: 1, U8: 255, U16: 65535, U32: 1 << 31, U64: math.MaxUint64, F32: 1.5, F64: 1e21, Named: "n", Skip: "x", Dash: "d"},
		{F64: 1e-7, F32: 3.4028235e38},
		{F64: 123456789.125, F32: -0.000001},
		{F64: math.Copysign(0, -1)},
		{F64: 5e-324},
	}
	for _, v := range cases {
		got, ok := ft.encode(nil, unsafe.Pointer(&v))
		require.True(t, ok)
		assert.Equal(t, encodeJSON(t, v), string(got))
	}
	for _, v := range []flatIn{{F64: math.NaN()}, {F32: float32(math.Inf(1))}, {F64: math.Inf(-1)}} {
		_, ok := ft.encode(nil, unsafe.Pointer(&v))
		assert.False(t, ok)
	}
}

// FuzzFlatEncode checks the fast path's outputs against encoding/json, byte
// for byte.
func FuzzFlatEncode(f *testing.F) {
	f.Add("hello", true, int64(-1), uint64(1), 1.5, float32(2.5))
	f.Add("", false, int64(0), uint64(0), 0.0, float32(0))
	f.Add("\xff\u2028\x00", true, int64(math.MaxInt64), uint64(math.MaxUint64), 1e-7, float32(1e21))
	ft := flatOf(reflect.TypeFor[flatIn]())
	f.Fuzz(func(t *testing.T, s string, b bool, i int64, u uint64, x float64, x32 float32) {
		v := flatIn{S: s, B: b, I: int(i), I8: int8(i), I16: int16(i), I32: int32(i), I64: i,
			U: uint(u), U8: uint8(u), U16: uint16(u), U32: uint32(u), U64: u, F32: x32, F64: x, Named: myString(s)}
		got, ok := ft.encode(nil, unsafe.Pointer(&v))
		if math.IsNaN(x) || math.IsInf(x, 0) || math.IsNaN(float64(x32)) || math.IsInf(float64(x32), 0) {
			assert.False(t, ok)
			return
		}
		require.True(t, ok)
		assert.Equal(t, encodeJSON(t, v), string(got))
	})
}

// The typed path gives what encoding/json gives, on the fast paths and off.
func TestTypedPaths(t *testing.T) {
	type out struct {
		Text  string  `json:"text,omitempty"`
		Ratio float64 `json:"ratio"`
	}
	r, h := testRegistry(t)
	addTool(r, "ratio", "", func(in flatIn) (out, error) {
		return out{Text: in.S, Ratio: float64(in.I) / float64(in.U)}, nil
	})
	cases := []struct{ in, want string }{
		{`{"s":"a","i":1,"u":4}`, `{"text":"a","ratio":0.25}`},
		{`{"S":"case","i":1,"u":4}`, `{"text":"case","ratio":0.25}`}, // encoding/json's case-insensitive match
		{`{"i":-1,"u":0}`, `{"kind":"internal","message":"encode outputs: json: unsupported value: -Inf"}`},
		{`{"i":0,"u":0}`, `{"kind":"internal","message":"encode outputs: json: unsupported value: NaN"}`},
		{`{"i":1.5}`, `{"kind":"invalid_input","message":"input \"i\": want integer, got number 1.5"}`},
		{`{"u":-1}`, `{"kind":"invalid_input","message":"input \"u\": want integer, got number -1"}`},
		{`{"s":"a"`, `{"kind":"invalid_input","message":"decode inputs: unexpected end of JSON input"}`},
	}
	for _, tc := range cases {
		h.errors = nil
		out, err := r.invoke([]byte("ratio"), []byte(tc.in))
		if err != nil {
			r.fail(err)
			assert.Equal(t, []string{tc.want}, h.errors, tc.in)
			continue
		}
		assert.Equal(t, tc.want, string(out), tc.in)
	}
}
