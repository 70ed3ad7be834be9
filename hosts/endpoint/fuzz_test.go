package endpoint

import (
	"encoding/json"
	"testing"
)

// FuzzRunInputs: whatever the body of a run request, runInputs returns an
// error or JSON, and never panics.
func FuzzRunInputs(f *testing.F) {
	for _, seed := range []string{``, `{}`, `{"inputs": {"a": 1}}`, `{"inputs": null}`, `{"x": 1}`, `[1]`, `{"inputs": {`, ` "s" `, `{"inputs": 1, "inputs": 2}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := runInputs(body)
		if err == nil && !json.Valid(in) {
			t.Fatalf("runInputs(%q) = %q, not JSON", body, in)
		}
	})
}
