package tensor

import (
	"encoding/json"
	"testing"
)

// FuzzRows maps any request body, with binary data after its JSON or
// without, to rows, then stacks the rows back as outputs and answers them:
// none of it may panic, every row is a JSON object, and a batch of N rows
// makes N runs.
func FuzzRows(f *testing.F) {
	for _, seed := range []string{
		`{"inputs": [{"name": "times", "shape": [2], "datatype": "INT64", "data": [1, 2]}]}`,
		`{"inputs": [{"name": "times", "shape": [2, 1], "datatype": "UINT8", "data": [[1], [2]]}, {"name": "values", "shape": [2, 2], "datatype": "FP32", "data": [1, 2, 3, 4]}]}`,
		`{"inputs": [{"name": "times", "shape": [1], "datatype": "INT64", "data": [1]}, {"name": "meta", "shape": [1], "datatype": "BYTES", "data": ["{\"a\": 1}"]}]}`,
		`{"inputs": [{"name": "times", "shape": [1], "datatype": "INT64", "data": [1]}, {"name": "pair", "shape": [1, 2], "datatype": "INT64", "data": [[1, 2]]}]}`,
		`{"id": "1", "inputs": [{"name": "loud", "shape": [0], "datatype": "BOOL", "data": []}], "outputs": [{"name": "ok"}]}`,
		`{"inputs": [{"name": "times", "shape": [4294967296, 4294967296], "datatype": "INT64", "data": []}]}`,
		`{"inputs": [{"name": "times", "shape": [1], "datatype": "INT64", "data": [[[[1]]]]}]}`,
	} {
		f.Add([]byte(seed), NoBinary)
	}
	binary := `{"inputs": [{"name": "times", "shape": [1], "datatype": "INT32", "parameters": {"binary_data_size": 4}}, ` +
		`{"name": "name", "shape": [1], "datatype": "BYTES", "parameters": {"binary_data_size": 6}}], "parameters": {"binary_data_output": true}}`
	f.Add(append([]byte(binary), 7, 0, 0, 0, 2, 0, 0, 0, 'h', 'i'), len(binary))
	f.Fuzz(func(t *testing.T, body []byte, headerLen int) {
		req, err := DecodeRequest(body, headerLen)
		if err != nil {
			return
		}
		rows, err := calc.Rows(req.Inputs)
		if err != nil {
			return
		}
		want := int64(1)
		if len(req.Inputs) > 0 {
			want = req.Inputs[0].Shape[0]
		}
		if int64(len(rows)) != want {
			t.Fatalf("%d rows for a batch of %d", len(rows), want)
		}
		for _, r := range rows {
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(r, &obj); err != nil {
				t.Fatalf("row %s: %v", r, err)
			}
		}
		if specs, err := calc.Select(req.Outputs); err == nil {
			if tensors, err := Stack(specs, rows); err == nil {
				_, _ = req.Answer(tensors)
			}
		}
	})
}
