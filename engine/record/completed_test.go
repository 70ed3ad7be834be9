package record_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/engine/record"
)

func collect(t testing.TB, seq func(func(engine.LineResult) bool)) []engine.LineResult {
	t.Helper()
	var out []engine.LineResult
	for lr := range seq {
		out = append(out, lr)
	}
	slices.SortFunc(out, func(a, b engine.LineResult) int { return a.Line - b.Line })
	return out
}

func done(line int, agg string) engine.LineResult {
	lr := engine.LineResult{Line: line, Status: engine.Succeeded}
	if agg != "" {
		lr.Aggregate = json.RawMessage(agg)
	}
	return lr
}

func TestCompletedResumeChain(t *testing.T) {
	s := newStore(t)
	// a ran lines 1-5, 2 and 4 failed; b resumed it and ran them again, 4
	// failed again; c resumed b and ran 4.
	finished(t, s, "a", "", ok(1, `{"n":1}`), bad(2), ok(3, `{"n":3}`), bad(4), ok(5, `{"n":5}`))
	finished(t, s, "b", "a", bad(4), ok(2, `{"n":2}`))
	finished(t, s, "c", "b", ok(4, `{"n":4}`))

	for id, want := range map[string][]engine.LineResult{
		"a": {done(1, `{"n":1}`), done(3, `{"n":3}`), done(5, `{"n":5}`)},
		"b": {done(1, `{"n":1}`), done(2, `{"n":2}`), done(3, `{"n":3}`), done(5, `{"n":5}`)},
		"c": {done(1, `{"n":1}`), done(2, `{"n":2}`), done(3, `{"n":3}`), done(4, `{"n":4}`), done(5, `{"n":5}`)},
	} {
		seq, err := s.Completed(id)
		require.NoError(t, err, id)
		assert.Equal(t, want, collect(t, seq), id)
		assert.Equal(t, want, collect(t, seq), "%s: ranged over again", id)
	}

	// Breaking out early stops.
	seq, err := s.Completed("c")
	require.NoError(t, err)
	n := 0
	for range seq {
		n++
		break
	}
	assert.Equal(t, 1, n)
}

// A kill can tear the last line of a run that had not finished, never of
// one that finished: there, a line without its end is damage.
func TestCompletedTornLastLineOfFinishedRun(t *testing.T) {
	s := newStore(t)
	finished(t, s, "a", "", ok(1, ""), ok(2, ""))
	f, err := os.OpenFile(filepath.Join(s.Dir(), "runs", "a", "outputs.jsonl"), os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"line":3,"status":"succ`)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	const want = `record of run "a" is damaged: outputs.jsonl:3 is cut off: the run finished, but the line has no end`
	_, err = s.Completed("a")
	require.EqualError(t, err, want)
	assert.ErrorIs(t, err, record.ErrDamaged)
	lines, err := readOutputs(s, "a")
	assert.Equal(t, []int{1, 2}, lines)
	require.EqualError(t, err, want)
}

// readOutputs returns the lines Outputs yields before its error, if any.
func readOutputs(s *record.Store, id string) ([]int, error) {
	var lines []int
	for o, err := range s.Outputs(id) {
		if err != nil {
			return lines, err
		}
		lines = append(lines, o.Line)
	}
	return lines, nil
}

// Outputs checks the file against the run's counts once it has yielded
// every line it could read: a file cut short, between lines or inside one,
// ends with an error that says so.
func TestOutputsCutShort(t *testing.T) {
	s := newStore(t)
	finished(t, s, "a", "", ok(1, ""), bad(2), ok(3, ""), ok(4, ""), bad(5))
	path := filepath.Join(s.Dir(), "runs", "a", "outputs.jsonl")
	whole := readFile(t, path)
	ends := []int{}
	for i, c := range whole {
		if c == '\n' {
			ends = append(ends, i+1)
		}
	}
	require.Len(t, ends, 5)

	tests := []struct {
		name  string
		size  int
		lines []int
		want  string
	}{
		{"whole", len(whole), []int{1, 2, 3, 4, 5}, ""},
		{"two lines gone", ends[2], []int{1, 2, 3},
			`record of run "a" is damaged: outputs.jsonl has 3 lines but the run recorded 5`},
		{"cut inside line 4", ends[2] + 10, []int{1, 2, 3},
			`record of run "a" is damaged: outputs.jsonl has 3 lines but the run recorded 5, and its line 4 is cut off`},
		{"empty", 0, nil,
			`record of run "a" is damaged: outputs.jsonl has 0 lines but the run recorded 5`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(path, []byte(whole[:tt.size]), 0o644))
			lines, err := readOutputs(s, "a")
			assert.Equal(t, tt.lines, lines)
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tt.want)
			assert.ErrorIs(t, err, record.ErrDamaged)
		})
	}
}

func TestCompletedDamaged(t *testing.T) {
	line := func(n int, status string) string {
		return `{"line":` + itoa(n) + `,"status":"` + status + `","duration_ms":1}` + "\n"
	}
	tests := []struct {
		name string
		// outputs replaces the outputs.jsonl of the run "b" (resuming "a",
		// which succeeded lines 1 and 2), ok and failed on 3 and 4.
		outputs string
		// tamper, when set, damages the record instead.
		tamper func(t *testing.T, dir string)
		want   string
	}{
		{
			name:    "invalid JSON",
			outputs: line(3, "succeeded") + `{"line":4,` + "\n",
			want:    `record of run "b" is damaged: outputs.jsonl:2: not valid JSON`,
		},
		{
			name:    "blank line",
			outputs: line(3, "succeeded") + "\n" + line(4, "failed"),
			want:    `record of run "b" is damaged: outputs.jsonl:2: not valid JSON`,
		},
		{
			name:    "not an object",
			outputs: `[3,"succeeded"]` + "\n" + line(4, "failed"),
			want:    `record of run "b" is damaged: outputs.jsonl:1: not a JSON object`,
		},
		{
			name:    "no line",
			outputs: line(3, "succeeded") + `{"status":"failed"}` + "\n",
			want:    `record of run "b" is damaged: outputs.jsonl:2: no "line" field`,
		},
		{
			name:    "line not a number",
			outputs: `{"line":"3","status":"failed"}` + "\n" + line(4, "failed"),
			want:    `record of run "b" is damaged: outputs.jsonl:1: "line" is "3", not a whole number from 1`,
		},
		{
			name:    "line zero",
			outputs: `{"line":0,"status":"failed"}` + "\n" + line(4, "failed"),
			want:    `record of run "b" is damaged: outputs.jsonl:1: "line" is 0, not a whole number from 1`,
		},
		{
			name:    "line fraction",
			outputs: `{"line":3.5,"status":"failed"}` + "\n" + line(4, "failed"),
			want:    `record of run "b" is damaged: outputs.jsonl:1: "line" is 3.5, not a whole number from 1`,
		},
		{
			name:    "no status",
			outputs: `{"line":3}` + "\n" + line(4, "failed"),
			want:    `record of run "b" is damaged: outputs.jsonl:1: no "status" field`,
		},
		{
			name:    "unknown status",
			outputs: line(3, "done") + line(4, "failed"),
			want:    `record of run "b" is damaged: outputs.jsonl:1: "status" is "done", not "succeeded" or "failed"`,
		},
		{
			name:    "line twice in the run",
			outputs: line(3, "failed") + line(3, "succeeded"),
			want:    `record of run "b" is damaged: outputs.jsonl:2: dataset line 3 is recorded twice`,
		},
		{
			name:    "line done by the run resumed",
			outputs: line(3, "succeeded") + line(2, "failed"),
			want:    `record of run "b" is damaged: outputs.jsonl:2: dataset line 2 already succeeded in run "a"`,
		},
		{
			name:    "fewer lines than counted",
			outputs: line(3, "succeeded"),
			want:    `record of run "b" is damaged: outputs.jsonl has 1 lines but the run recorded 2`,
		},
		{
			name:    "fewer lines than counted, the last cut",
			outputs: line(3, "succeeded") + `{"line":4,"sta`,
			want:    `record of run "b" is damaged: outputs.jsonl has 1 lines but the run recorded 2, and its line 2 is cut off`,
		},
		{
			name:    "more lines than counted",
			outputs: line(3, "succeeded") + line(4, "failed") + line(5, "failed"),
			want:    `record of run "b" is damaged: outputs.jsonl has 3 lines but the run recorded 2`,
		},
		{
			name: "outputs.jsonl missing",
			tamper: func(t *testing.T, dir string) {
				require.NoError(t, os.Remove(filepath.Join(dir, "runs", "b", "outputs.jsonl")))
			},
			want: `record of run "b" is damaged: runs/b/outputs.jsonl is missing`,
		},
		{
			name:   "folder missing",
			tamper: func(t *testing.T, dir string) { require.NoError(t, os.RemoveAll(filepath.Join(dir, "runs", "b"))) },
			want:   `record of run "b" is damaged: runs/b is missing`,
		},
		{
			name: "ancestor damaged",
			tamper: func(t *testing.T, dir string) {
				writeFile(t, line(1, "succeeded")+"}\n", dir, "runs", "a", "outputs.jsonl")
			},
			want: `record of run "a" is damaged: outputs.jsonl:2: not valid JSON`,
		},
		{
			name:   "ancestor folder missing",
			tamper: func(t *testing.T, dir string) { require.NoError(t, os.RemoveAll(filepath.Join(dir, "runs", "a"))) },
			want:   `record of run "a" is damaged: runs/a is missing`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			finished(t, s, "a", "", ok(1, ""), ok(2, ""))
			finished(t, s, "b", "a", ok(3, ""), bad(4))
			if tt.tamper != nil {
				tt.tamper(t, s.Dir())
			} else {
				writeFile(t, tt.outputs, s.Dir(), "runs", "b", "outputs.jsonl")
			}
			seq, err := s.Completed("b")
			require.EqualError(t, err, tt.want)
			assert.ErrorIs(t, err, record.ErrDamaged)
			assert.Nil(t, seq)

			// Reading the rest of the record still works, and changes
			// nothing.
			_, err = s.Get("b")
			require.NoError(t, err)
			_, err = s.List()
			require.NoError(t, err)
		})
	}
}

func TestOutputsDamaged(t *testing.T) {
	s := newStore(t)
	finished(t, s, "a", "", ok(1, ""), ok(2, ""))
	writeFile(t, `{"line":1,"status":"failed","duration_ms":1}`+"\n"+`{"line":2,"status":"failed","duration_ms":"x"}`+"\n", s.Dir(), "runs", "a", "outputs.jsonl")
	var errs []string
	n := 0
	for _, err := range s.Outputs("a") {
		n++
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
	assert.Equal(t, 2, n)
	assert.Equal(t, []string{`record of run "a" is damaged: outputs.jsonl:2: "duration_ms" is "x", not a number`}, errs)
}

// Outputs yields lines by dataset line, not in the order they ended; a
// malformed line ends the lines read, which come sorted, then the error.
func TestOutputsByLine(t *testing.T) {
	s := newStore(t)
	finished(t, s, "a", "", ok(3, ""), bad(1), ok(4, ""), ok(2, ""))
	lines, err := readOutputs(s, "a")
	require.NoError(t, err)
	assert.Equal(t, []int{1, 2, 3, 4}, lines)

	path := filepath.Join(s.Dir(), "runs", "a", "outputs.jsonl")
	whole := strings.SplitAfter(readFile(t, path), "\n")
	whole[2] = "{oops\n"
	writeFile(t, strings.Join(whole, ""), path)
	lines, err = readOutputs(s, "a")
	assert.Equal(t, []int{1, 3}, lines)
	require.EqualError(t, err, `record of run "a" is damaged: outputs.jsonl:3: not valid JSON`)
}

func TestUnknownRun(t *testing.T) {
	s := newStore(t)
	const want = `no run "nope" in the record; see weir runs list`
	check := func(what string, err error) {
		t.Helper()
		require.EqualError(t, err, want, what)
		assert.ErrorIs(t, err, record.ErrNotFound, what)
	}
	_, err := s.Get("nope")
	check("Get", err)
	_, err = s.Metrics("nope")
	check("Metrics", err)
	_, err = s.Completed("nope")
	check("Completed", err)
	check("Delete", s.Delete("nope"))
	for _, err := range s.Outputs("nope") {
		check("Outputs", err)
	}
}

func TestLongLines(t *testing.T) {
	s := newStore(t)
	big := ok(2, `{"big":"`+strings.Repeat("x", 200<<10)+`"}`)
	big.Outputs = json.RawMessage(`{"text":"` + strings.Repeat("y", 300<<10) + `"}`)
	finished(t, s, "a", "", ok(1, ""), big, ok(3, ""))
	seq, err := s.Completed("a")
	require.NoError(t, err)
	assert.Equal(t, []engine.LineResult{done(1, ""), done(2, string(big.Aggregate)), done(3, "")}, collect(t, seq))
	var outs []record.Output
	for o, err := range s.Outputs("a") {
		require.NoError(t, err)
		outs = append(outs, o)
	}
	require.Len(t, outs, 3)
	assert.Equal(t, string(big.Outputs), string(outs[1].Outputs))
}
