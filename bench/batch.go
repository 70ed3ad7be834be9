package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/engine/record"
	"github.com/weirflow/weir/internal/testbuild"
	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/builtin"
	"github.com/weirflow/weir/plugins/wasm"
)

// The batch flows, bench/testdata/batch-<name>.cue: three nodes in a
// chain, of builtin tools or of the Go Wasm example plugin's.
const (
	BuiltinFlow = "builtin"
	WasmFlow    = "wasm"
)

// BatchFlowFile returns the path of a batch flow under the repository
// root.
func BatchFlowFile(root, name string) string {
	return filepath.Join(root, "bench", "testdata", "batch-"+name+".cue")
}

// WriteDataset writes a JSONL dataset of n lines that both batch flows
// take: {"id":1,"name":"Ada 1"}, {"id":2,"name":"Grace 2"}, ...
func WriteDataset(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write dataset: %w", err)
	}
	w := bufio.NewWriterSize(f, 256<<10)
	names := []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances"}
	var line []byte
	for i := 1; i <= n; i++ {
		line = strconv.AppendInt(append(line[:0], `{"id":`...), int64(i), 10)
		line = append(append(line, `,"name":"`...), names[i%len(names)]...)
		line = strconv.AppendInt(append(line, ' '), int64(i), 10)
		_, _ = w.Write(append(line, "\"}\n"...))
	}
	if err := errors.Join(w.Flush(), f.Close()); err != nil {
		return fmt.Errorf("write dataset: %w", err)
	}
	return nil
}

// Line is a line of a dataset written by WriteDataset, parsed: its
// columns' JSON, as the engine passes them on.
type Line struct {
	ID   json.RawMessage `json:"id"`
	Name json.RawMessage `json:"name"`
}

// ReadDataset parses a dataset written by WriteDataset.
func ReadDataset(path string) ([]Line, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read dataset: %w", err)
	}
	defer f.Close()
	var lines []Line
	s := bufio.NewScanner(f)
	for s.Scan() {
		var l Line
		if err := json.Unmarshal(s.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("read dataset: line %d: %w", len(lines)+1, err)
		}
		lines = append(lines, l)
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("read dataset: %w", err)
	}
	return lines, nil
}

// BatchFlow is one batch flow, loaded, with a run record to write, and the
// flow's tools opened a second time for direct calls: the two sides of
// the batch benchmarks. Run, Engine and Direct may be called any number
// of times; call them one at a time to measure them.
type BatchFlow struct {
	e      *engine.Engine
	flow   *engine.Flow
	store  *record.Store
	wasm   *wasm.Provider
	plugin plugins.Plugin
	chain  chain
	runs   atomic.Int64
}

// OpenBatchFlow loads the batch flow name from the repository at root,
// building the Wasm example plugin first if it is stale. The run record
// and the compiled Wasm modules go under dir. Close it when done.
func OpenBatchFlow(ctx context.Context, root, name, dir string) (_ *BatchFlow, err error) {
	c, ok := chains[name]
	if !ok {
		return nil, fmt.Errorf("open batch flow %q: no such flow", name)
	}
	f := &BatchFlow{chain: c, wasm: wasm.NewProvider(wasm.Options{CacheDir: filepath.Join(dir, "cache")})}
	defer func() {
		if err != nil {
			_ = f.Close()
		}
	}()
	spec := c.plugin
	if spec.Kind == "wasm" {
		if spec.Source, err = testbuild.TextPlugin(root); err != nil {
			return nil, err
		}
		if spec.Source, err = filepath.Abs(spec.Source); err != nil {
			return nil, err
		}
	}
	if f.e, err = engine.New(engine.Options{Providers: []plugins.Provider{builtin.NewProvider(), f.wasm}}); err != nil {
		return nil, err
	}
	if f.flow, err = f.e.Load(ctx, BatchFlowFile(root, name)); err != nil {
		return nil, err
	}
	if f.store, err = record.Open(filepath.Join(dir, "record")); err != nil {
		return nil, err
	}
	p := builtin.NewProvider()
	if spec.Kind == "wasm" {
		p = f.wasm
	}
	if f.plugin, err = p.Open(ctx, spec); err != nil {
		return nil, err
	}
	if err = f.chain.resolve(f.plugin.Tools()); err != nil {
		return nil, fmt.Errorf("open batch flow %q: %w", name, err)
	}
	return f, nil
}

// Close closes the engine, the record and the tools.
func (f *BatchFlow) Close() error {
	var errs []error
	if f.e != nil {
		errs = append(errs, f.e.Close())
	}
	if f.store != nil {
		errs = append(errs, f.store.Close())
	}
	if f.plugin != nil {
		errs = append(errs, f.plugin.Close())
	}
	return errors.Join(append(errs, f.wasm.Close())...)
}

// Store returns the run record that Run writes to.
func (f *BatchFlow) Store() *record.Store { return f.store }

// Run does what weir batch does, but for starting a process, loading the
// flow and opening the record: it reads the dataset at data once for its
// SHA-256, then runs it into a new run of the record with
// record.Store.StartBatch, concurrency lines at a time. A line that failed
// is an error.
func (f *BatchFlow) Run(ctx context.Context, data string, concurrency int) (*engine.BatchSummary, error) {
	return f.batch(ctx, data, concurrency, true, nil)
}

// Engine streams the dataset through the flow as Run does, and drops each
// line's result: Run without the run record.
func (f *BatchFlow) Engine(ctx context.Context, data string, concurrency int) (*engine.BatchSummary, error) {
	return f.batch(ctx, data, concurrency, false, nil)
}

// batch runs the dataset, its lines here or, with remote, where remote
// sends them.
func (f *BatchFlow) batch(ctx context.Context, data string, concurrency int, keep bool, remote func(context.Context, int, json.RawMessage) (engine.LineResult, error)) (*engine.BatchSummary, error) {
	var sha string
	if keep {
		d, err := record.ScanDataset(data)
		if err != nil {
			return nil, err
		}
		sha = d.SHA256
	}
	file, err := os.Open(data)
	if err != nil {
		return nil, fmt.Errorf("read dataset: %w", err)
	}
	defer file.Close()
	id := fmt.Sprintf("%s-%d", f.flow.Name(), f.runs.Add(1))
	opts := engine.BatchOptions{RunID: id, Concurrency: concurrency, Remote: remote}
	var sum *engine.BatchSummary
	if keep {
		b, serr := f.store.StartBatch(ctx, f.flow, engine.JSONL(file), record.Meta{ID: id, Data: data, DataSHA256: sha}, opts)
		if serr != nil {
			return nil, serr
		}
		sum, err = b.Wait(nil)
	} else {
		b, berr := f.flow.Batch(ctx, engine.JSONL(file), opts)
		if berr != nil {
			return nil, berr
		}
		sum, err = b.Wait()
	}
	if err == nil && sum.Failed > 0 {
		err = fmt.Errorf("batch %s: %d of %d lines failed", id, sum.Failed, sum.Lines())
	}
	return sum, err
}

// Direct makes the flow's three tool calls for every line, with the bytes
// a run passes them, on the tools themselves: no engine, no record, lines
// already in memory. concurrency goroutines take the lines in turn. It is
// the limit that Run's throughput is measured against.
func (f *BatchFlow) Direct(ctx context.Context, lines []Line, concurrency int) error {
	var next atomic.Int64
	errs := make([]error, concurrency)
	var wg sync.WaitGroup
	for w := range concurrency {
		wg.Go(func() {
			var buf []byte
			for {
				i := int(next.Add(1)) - 1
				if i >= len(lines) {
					return
				}
				if _, errs[w] = f.chain.line(ctx, lines[i], &buf); errs[w] != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// DirectLine makes the three calls for one line and returns the last
// call's outputs.
func (f *BatchFlow) DirectLine(ctx context.Context, l Line) ([]byte, error) {
	var buf []byte
	return f.chain.line(ctx, l, &buf)
}

// chain is a batch flow's three calls as Direct makes them. Each call's
// outputs are an object of one field, whose value the next call takes.
type chain struct {
	plugin plugins.Spec
	calls  [3]call
}

type call struct {
	tool string
	// in appends the call's inputs, from the line and the value the call
	// before returned, to dst.
	in func(dst []byte, l Line, prev []byte) []byte
	// out is the one field of the call's outputs.
	out string

	impl   plugins.Tool
	prefix []byte // {"out":
}

// chains are the calls of bench/testdata/batch-*.cue: keep them in step.
var chains = map[string]chain{
	BuiltinFlow: {
		plugin: plugins.Spec{Name: "builtin", Kind: "builtin"},
		calls: [3]call{
			{tool: "template", out: "text", in: func(dst []byte, l Line, _ []byte) []byte {
				return splice(dst, `{"template":"Hello, {{.name}}!","name":`, l.Name, `}`)
			}},
			{tool: "template", out: "text", in: func(dst []byte, _ Line, prev []byte) []byte {
				return splice(dst, `{"template":"{{upper .text}}","text":`, prev, `}`)
			}},
			{tool: "json", out: "value", in: func(dst []byte, l Line, prev []byte) []byte {
				return splice(splice(dst, `{"value":{"id":`, l.ID, `,"message":`), ``, prev, `}}`)
			}},
		},
	},
	WasmFlow: {
		plugin: plugins.Spec{Name: "text", Kind: "wasm"},
		calls: [3]call{
			{tool: "greet", out: "message", in: func(dst []byte, l Line, _ []byte) []byte {
				return splice(dst, `{"name":`, l.Name, `}`)
			}},
			{tool: "upper", out: "text", in: func(dst []byte, _ Line, prev []byte) []byte {
				return splice(dst, `{"text":`, prev, `}`)
			}},
			{tool: "lower", out: "text", in: func(dst []byte, _ Line, prev []byte) []byte {
				return splice(dst, `{"text":`, prev, `}`)
			}},
		},
	},
}

func splice(dst []byte, before string, v []byte, after string) []byte {
	return append(append(append(dst, before...), v...), after...)
}

// resolve finds each call's tool among the plugin's.
func (c *chain) resolve(tools []plugins.Tool) error {
	for i := range c.calls {
		for _, t := range tools {
			if t.Contract().Name == c.calls[i].tool {
				c.calls[i].impl = t
			}
		}
		if c.calls[i].impl == nil {
			return fmt.Errorf("plugin %q has no tool %q", c.plugin.Name, c.calls[i].tool)
		}
		c.calls[i].prefix = []byte(`{"` + c.calls[i].out + `":`)
	}
	return nil
}

// line makes the three calls for l, building inputs in *buf, and returns
// the last call's outputs.
func (c *chain) line(ctx context.Context, l Line, buf *[]byte) ([]byte, error) {
	var out, prev []byte
	for _, k := range c.calls {
		*buf = k.in((*buf)[:0], l, prev)
		var err error
		if out, err = k.impl.Invoke(ctx, *buf); err != nil {
			return nil, fmt.Errorf("%s.%s: %w", c.plugin.Name, k.tool, err)
		}
		if prev = field(out, k.prefix); prev == nil {
			return nil, fmt.Errorf("%s.%s: outputs %s are not {%q: value}", c.plugin.Name, k.tool, out, k.out)
		}
	}
	return out, nil
}

// field returns the value of outputs {"name": value}, prefix being
// {"name":, or nil when they are not an object of that one field.
func field(out, prefix []byte) []byte {
	rest, ok := bytes.CutPrefix(out, prefix)
	if !ok || len(rest) < 2 || rest[len(rest)-1] != '}' {
		return nil
	}
	return rest[:len(rest)-1]
}
