package cache

import (
	"encoding/json"
	"testing"
)

// FuzzParse: an entry file, whatever its bytes, parses or is refused,
// never panics, and a parsed one's outputs are one JSON value.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"key":"00ab","tool":"t.x","created":"2026-05-06T07:08:09.000000000Z","output":{"a":1}}` + "\n"))
	f.Add([]byte(`{"key":"00ab","created":"2026-05-06T07:08:09Z","output":{"a":[1,{"b":"\u00e9"}]}}`))
	f.Add([]byte(`{"key":"00ab","created":"2026-05-06T07:08:09Z","output":{"a":1`))
	f.Add([]byte(`{"output":null,"created":"x"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, ok := parse(b)
		if ok && !json.Valid(e.output) {
			t.Fatalf("parsed outputs %q are not JSON", e.output)
		}
	})
}
