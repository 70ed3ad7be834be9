package jsonscan

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAppendText(t *testing.T) {
	tests := []struct {
		val, want string
	}{
		{`"hello"`, `hello`},
		{` "hello" `, `hello`},
		{`""`, ``},
		{`"a\"b\\c\/d"`, `a"b\c/d`},
		{`"\b\f\n\r\t"`, "\b\f\n\r\t"},
		{`"caf\u00e9 \u20ac"`, "café €"},
		{`"\ud83d\ude00"`, "😀"},
		{`"\ud83d"`, "\ufffd"},
		{`"\ude00\ud83d x"`, "\ufffd\ufffd x"},
		{`"\ud83d\u0041"`, "\ufffdA"},
		{"\"\xff\xfe\"", "\ufffd\ufffd"},
		{`"already €"`, "already €"},
		{`42`, `42`},
		{`-1.5e+3`, `-1.5e+3`},
		{`true`, `true`},
		{`null`, `null`},
		{`{ "a" : [ 1 , "x y" ] }`, `{"a":[1,"x y"]}`},
		{"[\n\t1,\r\n\t\"\\\" \"\n]", `[1,"\" "]`},
		{`{"a":"\u00e9"}`, `{"a":"\u00e9"}`},
	}
	for _, tt := range tests {
		t.Run(tt.val, func(t *testing.T) {
			got := AppendText([]byte("x="), []byte(tt.val))
			assert.Equal(t, "x="+tt.want, string(got))

			var v any
			require.NoError(t, json.Unmarshal([]byte(tt.val), &v))
			if s, ok := v.(string); ok {
				assert.Equal(t, s, tt.want, "encoding/json decodes the string differently")
			} else {
				var buf bytes.Buffer
				require.NoError(t, json.Compact(&buf, []byte(tt.val)))
				assert.Equal(t, buf.String(), tt.want, "encoding/json compacts differently")
			}
		})
	}
}

// TestAppendTextInvalid checks only that input which is not JSON is survived.
func TestAppendTextInvalid(t *testing.T) {
	for _, val := range []string{``, `"`, `"\`, `"\u12`, `"\ud800\u12"`, `"abc\"`, `{"a`, `[1, "x`, `"\q"`} {
		assert.NotPanics(t, func() { AppendText(nil, []byte(val)) }, val)
	}
}

func TestAppendString(t *testing.T) {
	tests := []struct {
		s, want string
	}{
		{``, `""`},
		{`plain text`, `"plain text"`},
		{`a"b\c`, `"a\"b\\c"`},
		{"\b\f\n\r\t", `"\b\f\n\r\t"`},
		{"\x00\x01\x1f\x7f", `"\u0000\u0001\u001f` + "\x7f" + `"`},
		{`<&>`, `"<&>"`},
		{"café 😀", `"café 😀"`},
		{"a\xffb\xc3", `"a\ufffdb\ufffd"`},
		{"\u2028\u2029", `"\u2028\u2029"`},
		{"\ufffd", "\"\ufffd\""},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			got := AppendString([]byte("x="), tt.s)
			assert.Equal(t, "x="+tt.want, string(got))
			assert.Equal(t, encodeString(t, tt.s), tt.want, "encoding/json escapes differently")
		})
	}
}

func TestAppendStringDoesNotAllocate(t *testing.T) {
	buf := make([]byte, 0, 256)
	allocs := testing.AllocsPerRun(100, func() {
		buf = AppendString(buf[:0], "a \"quoted\"\n line with \u2028 and \xff")
	})
	assert.Zero(t, allocs)
}

// encodeString is what encoding/json writes for s with HTML escaping off.
func encodeString(t testing.TB, s string) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return string(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}
