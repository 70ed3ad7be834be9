package pdk

import (
	"context"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/weirflow/weir/plugins"
)

// BenchmarkInvoke measures what the PDK adds to a call on the host build:
// the export logic, decoding and encoding, without Wasm. The raw tools show
// the dispatch alone; upper shows encoding/json's reflection on top.
func BenchmarkInvoke(b *testing.B) {
	r, _ := testRegistry(b)
	addTool(r, "empty", "", func(in struct{}) (struct{}, error) { return in, nil })
	long := strings.Repeat("the quick brown fox jumps over the lazy dog ", 100)
	cases := []struct{ name, tool, in string }{
		{"raw/none", "none", `{}`},
		{"raw/echo-64B", "echo", `{"text":"the quick brown fox jumps over the lazy dog","times":1}`},
		{"raw/echo-4KiB", "echo", `{"text":"` + long + `","times":1}`},
		{"typed/empty", "empty", `{}`},
		{"typed/upper-64B", "upper", `{"text":"the quick brown fox jumps over the lazy dog","times":1}`},
		{"typed/upper-4KiB", "upper", `{"text":"` + long + `","times":1}`},
	}
	const base = 0x10000
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			msg := []byte(tc.tool + tc.in)
			n := uint32(len(tc.tool))
			b.SetBytes(int64(len(tc.in)))
			b.ReportAllocs()
			for b.Loop() {
				copy(r.alloc(len(msg)), msg)
				if r.export(base, base, n, base+n, uint32(len(msg))-n) == nil {
					b.Fatal("call failed")
				}
			}
		})
	}
}

// BenchmarkNativeFunc is the same upper tool as a native plugins.Func, for
// comparison with BenchmarkInvoke/typed.
func BenchmarkNativeFunc(b *testing.B) {
	tool := plugins.Func("upper", "", func(_ context.Context, in timesIn) (textIO, error) {
		return textIO{Text: strings.Repeat(strings.ToUpper(in.Text), max(in.Times, 1))}, nil
	})
	in := []byte(`{"text":"the quick brown fox jumps over the lazy dog","times":1}`)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tool.Invoke(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecode compares the two ways a typed tool's inputs are decoded:
// the flat fast path and encoding/json (plugins.DecodeInputs), which the
// fast path falls back to.
func BenchmarkDecode(b *testing.B) {
	long := strings.Repeat("the quick brown fox jumps over the lazy dog ", 100)
	inputs := []struct{ name, in string }{
		{"64B", `{"text":"the quick brown fox jumps over the lazy dog","times":1}`},
		{"4KiB", `{"text":"` + long + `","times":1}`},
	}
	d := &flatDecoder{flatType: flatOf(reflect.TypeFor[timesIn]())}
	for _, tc := range inputs {
		in := []byte(tc.in)
		b.Run("flat/"+tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				var v timesIn
				if !d.decode(in, unsafe.Pointer(&v)) {
					b.Fatal("not decoded")
				}
			}
		})
		b.Run("encoding-json/"+tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				var v timesIn
				if err := plugins.DecodeInputs(in, &v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncode is the encoding of a typed tool's outputs.
func BenchmarkEncode(b *testing.B) {
	r := newRegistry(&fakeHost{})
	long := strings.Repeat("the quick brown fox jumps over the lazy dog ", 100)
	for _, text := range []string{"the quick brown fox jumps over the lazy dog", long} {
		b.Run(strconv.Itoa(len(text))+"B", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.encode(textIO{Text: text}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
