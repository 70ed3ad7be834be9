package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBinaryRunsOutputsDamaged runs a real batch with the built weir, cuts
// its outputs.jsonl short, between lines and then inside one, and reads it
// back: weir prints the lines it still has, names the damage and exits 1,
// where it used to print fewer lines and exit 0.
func TestBinaryRunsOutputsDamaged(t *testing.T) {
	t.Parallel()
	bin, root := weirBinary(t)
	home := t.TempDir()
	r := runBinary(t, bin, root, "batch", "--home", home, "cmd/weir/testdata/scores.cue", "--data", "cmd/weir/testdata/scores.jsonl")
	require.Equal(t, 1, r.code, "3 of the 6 lines fail: %s", r.stderr)
	id := runIDPattern.FindString(r.stdout)
	require.NotEmpty(t, id, r.stdout)
	path := filepath.Join(home, "runs", id, "outputs.jsonl")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	whole := strings.SplitAfter(string(b), "\n")
	whole = whole[:len(whole)-1] // after the last newline
	require.Len(t, whole, 6)

	r = runBinary(t, bin, root, "runs", "outputs", "--home", home, "-o", "jsonl", id)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, 6, strings.Count(r.stdout, "\n"))

	// lineNumbers returns the dataset lines of outputs.jsonl lines.
	lineNumbers := func(lines []string) []int {
		var out []int
		for _, l := range lines {
			var o struct{ Line int }
			require.NoError(t, json.Unmarshal([]byte(l), &o), l)
			out = append(out, o.Line)
		}
		return out
	}
	tests := []struct {
		name   string
		keep   string
		stderr string
	}{
		{"two lines gone", strings.Join(whole[:4], ""),
			`weir: record of run "` + id + `" is damaged: outputs.jsonl has 4 lines but the run recorded 6` + "\n"},
		{"cut inside line 5", strings.Join(whole[:4], "") + whole[4][:len(whole[4])/2],
			`weir: record of run "` + id + `" is damaged: outputs.jsonl has 4 lines but the run recorded 6, and its line 5 is cut off` + "\n"},
		{"last line without its end", strings.Join(whole[:5], "") + strings.TrimSuffix(whole[5], "\n"),
			`weir: record of run "` + id + `" is damaged: outputs.jsonl has 5 lines but the run recorded 6, and its line 6 is cut off` + "\n"},
	}
	for _, tt := range tests {
		require.NoError(t, os.WriteFile(path, []byte(tt.keep), 0o644))
		// The whole lines left, in line order.
		want := lineNumbers(whole[:strings.Count(tt.keep, "\n")])
		slices.Sort(want)

		r := runBinary(t, bin, root, "runs", "outputs", "--home", home, "-o", "jsonl", id)
		assert.Equal(t, 1, r.code, tt.name)
		assert.Equal(t, tt.stderr, r.stderr, tt.name)
		assert.Equal(t, want, lineNumbers(strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")), tt.name)

		// The table prints the same lines before the same error.
		r = runBinary(t, bin, root, "runs", "outputs", "--home", home, id)
		assert.Equal(t, 1, r.code, tt.name)
		assert.Equal(t, tt.stderr, r.stderr, tt.name)
		assert.Equal(t, len(want)+1, strings.Count(r.stdout, "\n"), "%s: a header and the lines:\n%s", tt.name, r.stdout)
	}
}
