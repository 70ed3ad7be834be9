package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/python"
)

// pythonTools are the Python benchmarks' tools.
const pythonTools = `from weir import tool


@tool
def echo(text: str) -> str:
    return text


@tool
def upper(text: str) -> str:
    return text.upper()


@tool
def count(text: str) -> int:
    return len(text)
`

// benchPython is the interpreter the Python benchmarks run:
// $WEIR_BENCH_PYTHON, else python3 on PATH.
func benchPython(b *testing.B) string {
	name := os.Getenv("WEIR_BENCH_PYTHON")
	if name == "" {
		name = "python3"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		b.Skipf("no %s: %v", name, err)
	}
	return path
}

// pythonDir writes pythonTools into a folder of its own.
func pythonDir(b *testing.B) string {
	dir := b.TempDir()
	require.NoError(b, os.WriteFile(filepath.Join(dir, "tools.py"), []byte(pythonTools), 0o644))
	return dir
}

// openPython opens pythonTools with one process (calls one at a time) and
// returns its tools by name.
func openPython(b *testing.B, p *python.Provider, dir, interpreter string) (plugins.Plugin, map[string]plugins.Tool) {
	opts, _ := json.Marshal(map[string]any{"python": map[string]string{"path": dir, "interpreter": interpreter}, "limits": map[string]int{"instances": 1}})
	pl, err := p.Open(context.Background(), plugins.Spec{Name: "py", Kind: "python", Source: dir, Options: opts})
	require.NoError(b, err)
	tools := map[string]plugins.Tool{}
	for _, t := range pl.Tools() {
		tools[t.Contract().Name] = t
	}
	return pl, tools
}

// text64 is 64 bytes of inputs: {"text":"…"}.
var text64 = `{"text":"` + strings.Repeat("x", 64-len(`{"text":""}`)) + `"}`

// BenchmarkPythonCall is one call of a Python tool at 64 bytes of inputs:
// calling the function in-process in Python (inprocess, timed by Python's
// timeit, with the JSON decoding and encoding a call needs), against
// weir's Invoke of the same function in a warm process of the pool
// (weir). Their difference is what a call through weir costs.
//
//	go test -run '^$' -bench 'PythonCall' -benchtime 2000x -count 3 ./bench
func BenchmarkPythonCall(b *testing.B) {
	interpreter := benchPython(b)
	dir := pythonDir(b)
	b.Run("inprocess", func(b *testing.B) {
		script := fmt.Sprintf(`import json, sys, timeit
sys.path.insert(0, %q)
sys.modules["weir"] = type(sys)("weir")
sys.modules["weir"].tool = lambda f: f
import tools
req = %q
n = %d
t = timeit.timeit(lambda: json.dumps({"value": tools.echo(**json.loads(req))}), number=n)
print(int(t / n * 1e9))
`, dir, text64, b.N)
		out, err := exec.Command(interpreter, "-c", script).Output()
		require.NoError(b, err)
		ns, err := strconv.Atoi(strings.TrimSpace(string(out)))
		require.NoError(b, err)
		b.ReportMetric(float64(ns), "ns/op")
	})
	b.Run("weir", func(b *testing.B) {
		p := python.NewProvider(python.Options{CacheDir: b.TempDir()})
		defer p.Close()
		_, tools := openPython(b, p, dir, interpreter)
		in := []byte(text64)
		_, err := tools["echo"].Invoke(context.Background(), in) // starts the process
		require.NoError(b, err)
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if _, err := tools["echo"].Invoke(context.Background(), in); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPythonStart is the start of a plugin's first process: Open
// (contracts from the cache folder after the first op), the interpreter's
// start, the import of the tools and the first call, then Close
// (pool), against the interpreter's own start and exit (python).
//
//	go test -run '^$' -bench 'PythonStart' -benchtime 20x -count 3 ./bench
func BenchmarkPythonStart(b *testing.B) {
	interpreter := benchPython(b)
	dir := pythonDir(b)
	b.Run("python", func(b *testing.B) {
		for b.Loop() {
			require.NoError(b, exec.Command(interpreter, "-c", "pass").Run())
		}
	})
	b.Run("pool", func(b *testing.B) {
		p := python.NewProvider(python.Options{CacheDir: b.TempDir()})
		defer p.Close()
		for b.Loop() {
			pl, tools := openPython(b, p, dir, interpreter)
			if _, err := tools["echo"].Invoke(context.Background(), []byte(text64)); err != nil {
				b.Fatal(err)
			}
			require.NoError(b, pl.Close())
		}
	})
}

// BenchmarkPythonBatch is the throughput of a flow of three Python nodes
// over a batch of 10k lines, with the default pool (limits.instances) and
// batch concurrency; ns/op is per line.
//
//	go test -run '^$' -bench 'PythonBatch' -benchtime 1x -count 3 ./bench
func BenchmarkPythonBatch(b *testing.B) {
	interpreter := benchPython(b)
	dir := pythonDir(b)
	flow := fmt.Sprintf(`name: "py3"
plugins: py: python: {path: %q, interpreter: %q}
inputs: name: string
nodes: {
	a: {tool: "py.echo", inputs: text: "${inputs.name}"}
	b: {tool: "py.upper", inputs: text: "${a.output.value}"}
	c: {tool: "py.count", inputs: text: "${b.output.value}"}
}
outputs: {text: "${b.output.value}", n: "${c.output.value}"}
`, dir, interpreter)
	const lines = 10000
	data := filepath.Join(b.TempDir(), "data.jsonl")
	require.NoError(b, WriteDataset(data, lines))
	e, err := weir.New(engine.Options{Providers: weir.Providers(weir.Options{CacheDir: b.TempDir()})})
	require.NoError(b, err)
	defer e.Close()
	f, err := e.Parse(context.Background(), "py3.cue", []byte(flow))
	require.NoError(b, err)
	for b.Loop() {
		file, err := os.Open(data)
		require.NoError(b, err)
		batch, err := f.Batch(context.Background(), engine.JSONL(file), engine.BatchOptions{Concurrency: 8})
		require.NoError(b, err)
		sum, err := batch.Wait()
		file.Close()
		require.NoError(b, err)
		require.Equal(b, lines, sum.Succeeded)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*lines), "ns/op")
	b.ReportMetric(float64(b.N*lines)/b.Elapsed().Seconds(), "lines/s")
}
