package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestBinaryJSONEdges runs the real weir on values that a round trip
// through Go maps would change: a number beyond a float64's precision, keys
// in an order other than their names', and <, > and &.
func TestBinaryJSONEdges(t *testing.T) {
	t.Parallel()
	bin, root := weirBinary(t)
	const flow = "cmd/weir/testdata/edges.cue"
	tests := []struct {
		name   string
		args   []string
		stdin  string
		stdout string
	}{
		{
			name:   "a big integer keeps its digits",
			args:   []string{"run", "-o", "json", "--input", "big=9007199254740993", "--input", "text=t", "--input", "meta={}", flow},
			stdout: "{\n  \"text\": \"t\",\n  \"big\": 9007199254740993,\n  \"meta\": {\n    \"tag\": \"<none>\"\n  }\n}\n",
		},
		{
			name:   "outputs in the flow's order, object members in the input's",
			args:   []string{"run", "-o", "json", "--input", "big=1", "--input", "text=t", "--input", `meta={"z":1,"a":2,"tag":"x"}`, flow},
			stdout: "{\n  \"text\": \"t\",\n  \"big\": 1,\n  \"meta\": {\n    \"z\": 1,\n    \"a\": 2,\n    \"tag\": \"x\"\n  }\n}\n",
		},
		{
			name:   "<, > and & as they are",
			args:   []string{"run", "-o", "json", "--input", "big=1", "--input", "text=<a&b>", "--input", `meta={"tag":"<i>"}`, flow},
			stdout: "{\n  \"text\": \"<a&b>\",\n  \"big\": 1,\n  \"meta\": {\n    \"tag\": \"<i>\"\n  }\n}\n",
		},
		{
			name:   "an inputs file keeps its bytes too",
			args:   []string{"run", "-o", "json", "--inputs", "-", flow},
			stdin:  `{"meta": {"b": 1e400, "a": "\u003c"}, "text": "<&>", "big": -9007199254740993}`,
			stdout: "{\n  \"text\": \"<&>\",\n  \"big\": -9007199254740993,\n  \"meta\": {\n    \"b\": 1e400,\n    \"a\": \"\\u003c\",\n    \"tag\": \"<none>\"\n  }\n}\n",
		},
		{
			name:   "the table lists outputs in the flow's order",
			args:   []string{"run", "--input", "big=9007199254740993", "--input", "text=<a&b>", "--input", "meta={}", flow},
			stdout: "OUTPUT  VALUE\ntext    <a&b>\nbig     9007199254740993\nmeta    {\"tag\":\"<none>\"}\n\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := runBinaryIn(t, bin, root, tc.stdin, tc.args...)
			// The node table, with its durations, follows the outputs'.
			got.stdout, _, _ = strings.Cut(got.stdout, "NODE ")
			assert.Equal(t, tc.stdout, got.stdout, "stdout")
			assert.Equal(t, "", got.stderr, "stderr")
			assert.Equal(t, 0, got.code, "exit code")
		})
	}
}
