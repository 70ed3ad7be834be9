package jsonscan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
)

// benchDoc is a tool output of about 4 KiB whose field "a" comes last, so
// that selecting a.b[0] skips over everything else: strings with escapes,
// nested objects and arrays, numbers and literals.
func benchDoc() []byte {
	var b bytes.Buffer
	b.WriteString(`{"id":"run-0001","meta":{"model":"m-large","tags":["x","y","z"],"score":0.97,"ok":true,"none":null},`)
	b.WriteString(`"items":[`)
	for i := range 24 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name":"item %d","text":"a \"quoted\" line with {brackets} and [more]\n","vals":[%d,%d.5,-%de3],"nested":{"k":[{"deep":[%d]}]}}`, i, i, i, i, i)
	}
	b.WriteString(`],"text":"`)
	for b.Len() < 4000 {
		b.WriteString(`lorem ipsum \"dolor\" sit amet \\ `)
	}
	b.WriteString(`","a":{"x":1,"b":[42,43]}}`)
	return b.Bytes()
}

func BenchmarkSelect(b *testing.B) {
	doc := benchDoc()
	b.Logf("document: %d bytes", len(doc))
	p := []Step{{Key: "a"}, {Key: "b"}, {Index: 0, IsIndex: true}}

	b.Run("a.b[0]", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(doc)))
		for b.Loop() {
			if _, err := Select(doc, p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("items[20].nested.k[0].deep[0]", func(b *testing.B) {
		p := []Step{{Key: "items"}, {Index: 20, IsIndex: true}, {Key: "nested"}, {Key: "k"}, {Index: 0, IsIndex: true}, {Key: "deep"}, {Index: 0, IsIndex: true}}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Select(doc, p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("first field", func(b *testing.B) {
		p := []Step{{Key: "id"}}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Select(doc, p); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The cost Select avoids: decoding the document to pick one value.
	b.Run("encoding/json baseline a.b[0]", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(doc)))
		for b.Loop() {
			var v map[string]any
			if err := json.Unmarshal(doc, &v); err != nil {
				b.Fatal(err)
			}
			_ = v["a"].(map[string]any)["b"].([]any)[0]
		}
	})
}

func BenchmarkAppendString(b *testing.B) {
	s := "Summarise the following text in \"one\" line:\n\tlorem ipsum dolor sit amet, café ünïcödé"
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		buf = AppendString(buf[:0], s)
	}
}

func BenchmarkAppendText(b *testing.B) {
	val := []byte(`"Summarise the following text in \"one\" line:\n\tlorem ipsum dolor sit amet, caf\u00e9"`)
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	b.SetBytes(int64(len(val)))
	for b.Loop() {
		buf = AppendText(buf[:0], val)
	}
}
