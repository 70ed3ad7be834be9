package tensor

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// le writes values little-endian, as the binary form wants them.
func le(vals ...any) []byte {
	var b []byte
	for _, v := range vals {
		b, _ = binary.Append(b, binary.LittleEndian, v)
	}
	return b
}

// strs writes BYTES elements: each its length in 4 bytes, then itself.
func strs(ss ...string) []byte {
	var b []byte
	for _, s := range ss {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	return b
}

// binaryBody is a request of the binary tensor data extension: its JSON,
// then the binary data; and the JSON's length.
func binaryBody(header string, data ...[]byte) ([]byte, int) {
	b := []byte(header)
	for _, d := range data {
		b = append(b, d...)
	}
	return b, len(header)
}

// TestDecodeBinary reads inputs from binary data after the JSON, in the
// inputs' order, next to inputs whose elements are in "data".
func TestDecodeBinary(t *testing.T) {
	t.Parallel()
	body, n := binaryBody(`{"inputs": [
		{"name": "times", "shape": [2], "datatype": "INT32", "parameters": {"binary_data_size": 8}},
		{"name": "loud", "shape": [2], "datatype": "BOOL", "data": [true, false]},
		{"name": "name", "shape": [2], "datatype": "BYTES", "parameters": {"binary_data_size": 16}},
		{"name": "scale", "shape": [2], "datatype": "FP16", "parameters": {"binary_data_size": 4}}]}`,
		le(int32(3), int32(-1)), strs("Ada", "Grace"), le(uint16(0x3c00), uint16(0xc100)))
	req, err := DecodeRequest(body, n)
	require.NoError(t, err)
	got, err := calc.Rows(req.Inputs)
	require.NoError(t, err)
	assert.Equal(t, [][]byte{
		[]byte(`{"times":3,"scale":1,"loud":true,"name":"Ada"}`),
		[]byte(`{"times":-1,"scale":-2.5,"loud":false,"name":"Grace"}`),
	}, got)
}

func TestDecodeBinaryErrors(t *testing.T) {
	t.Parallel()
	times := func(params string) string {
		return `{"inputs": [{"name": "times", "shape": [2], "datatype": "INT64", "parameters": ` + params + `}]}`
	}
	two := le(int64(1), int64(2))
	both := `{"inputs": [{"name": "times", "shape": [1], "datatype": "INT64", "data": [1], "parameters": {"binary_data_size": 0}}]}`
	name := `{"inputs": [{"name": "name", "shape": [1], "datatype": "BYTES", "parameters": {"binary_data_size": 5}}]}`
	tests := []struct {
		name string
		body []byte
		n    int
		want string
	}{
		{"a header longer than the body", []byte(`{}`), 3, "decode body: Inference-Header-Content-Length is 3, but the body has 2 bytes"},
		{"a size past the data", append([]byte(times(`{"binary_data_size": 17}`)), two...), len(times(`{"binary_data_size": 17}`)),
			`input "times": binary_data_size is 17, but 16 bytes of binary data are left`},
		{"data left over", append([]byte(times(`{"binary_data_size": 8}`)), two...), len(times(`{"binary_data_size": 8}`)),
			"decode body: 8 bytes of binary data follow the inputs' binary_data_size"},
		{"a size that is no number", []byte(times(`{"binary_data_size": "16"}`)), len(times(`{"binary_data_size": "16"}`)),
			`input "times": binary_data_size is "16": want a whole number of bytes`},
		{"a negative size", []byte(times(`{"binary_data_size": -1}`)), len(times(`{"binary_data_size": -1}`)),
			`input "times": binary_data_size is -1: want a whole number of bytes`},
		{"data and binary data", []byte(both), len(both), `input "times": its elements are in "data" and in binary data: send one`},
		{"a partial element", append([]byte(times(`{"binary_data_size": 3}`)), 1, 2, 3), len(times(`{"binary_data_size": 3}`)),
			`input "times": raw contents of 3 bytes are not a whole number of INT64 elements of 8 bytes`},
		{"a text past its end", append([]byte(name), 9, 0, 0, 0, 'a'), len(name), `input "name": raw element 0: its length runs past the raw contents`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeRequest(tc.body, tc.n)
			assert.EqualError(t, err, tc.want)
		})
	}
}

// TestAnswerBinary answers the outputs a request asks for as binary data
// after the JSON, each measured by its binary_data_size, and the others
// in "data"; a request that asks for none has no binary data.
func TestAnswerBinary(t *testing.T) {
	t.Parallel()
	specs, err := calc.Select(nil)
	require.NoError(t, err)
	tensors, err := Stack(specs, [][]byte{
		[]byte(`{"total": 1, "mean": 1.5, "ok": true, "label": "a", "grid": [[1]], "pair": [1, 2], "raw": {"x": 1}}`),
		[]byte(`{"total": -2, "mean": 0.1, "ok": false, "label": "bc", "grid": [[2]], "pair": [3, 4], "raw": null}`),
	})
	require.NoError(t, err)
	answer := func(body string) (string, []byte) {
		req, err := DecodeRequest([]byte(body), NoBinary)
		require.NoError(t, err)
		outputs, data := req.Answer(tensors)
		b, err := json.Marshal(outputs)
		require.NoError(t, err)
		return string(b), data
	}

	js, data := answer(`{"inputs": [], "parameters": {"binary_data_output": true}, "outputs": [{"name": "grid", "parameters": {"binary_data": false}}]}`)
	assert.JSONEq(t, `[
		{"name": "total", "shape": [2], "datatype": "INT64", "parameters": {"binary_data_size": 16}},
		{"name": "mean", "shape": [2], "datatype": "FP64", "parameters": {"binary_data_size": 16}},
		{"name": "ok", "shape": [2], "datatype": "BOOL", "parameters": {"binary_data_size": 2}},
		{"name": "label", "shape": [2], "datatype": "BYTES", "parameters": {"binary_data_size": 11}},
		{"name": "grid", "shape": [2, 1, 1], "datatype": "INT64", "data": [1, 2]},
		{"name": "pair", "shape": [2, 2], "datatype": "FP64", "parameters": {"binary_data_size": 32}},
		{"name": "raw", "shape": [2], "datatype": "BYTES", "parameters": {"content_type": "json", "binary_data_size": 19}}
	]`, js)
	want := le(int64(1), int64(-2), 1.5, 0.1, true, false)
	want = append(want, strs("a", "bc")...)
	want = append(want, le(1.0, 2.0, 3.0, 4.0)...)
	want = append(want, strs(`{"x":1}`, "null")...)
	assert.Equal(t, want, data)
	for _, s := range specs {
		assert.NotContains(t, s.Parameters, "binary_data_size", "the model's own parameters are left as they were")
	}

	_, data = answer(`{"inputs": [], "outputs": [{"name": "ok", "parameters": {"binary_data": true}}, {"name": "total"}]}`)
	assert.Equal(t, le(true, false), data, "only the output asked for as binary")
	_, data = answer(`{"inputs": []}`)
	assert.Nil(t, data)
}

// TestRawRoundTrip: what AppendRaw writes, DecodeRaw reads back.
func TestRawRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range []Tensor{
		{Datatype: Int64, Data: []any{json.Number("0"), json.Number(strconv.FormatInt(math.MinInt64, 10)), json.Number(strconv.FormatInt(math.MaxInt64, 10))}},
		{Datatype: FP64, Data: []any{json.Number("0.1"), json.Number("-1e+300"), json.Number("5e-324")}},
		{Datatype: Bool, Data: []any{true, false}},
		{Datatype: Bytes, Data: []any{"", "héllo", `{"a":[1]}`}},
	} {
		got, err := DecodeRaw(tc.Datatype, AppendRaw(nil, tc))
		require.NoError(t, err)
		assert.Equal(t, tc.Data, got, tc.Datatype)
	}
}
