// Command wasmbench measures weir's Wasm tools side by side with their peers
// in one process and prints the ratios:
//
//   - per call, 64 B and 4 KiB: a weir Wasm node (in a 10-node chain), a weir
//     tool call, a raw wazero call of the same guest function with the same
//     bytes (write input, CallWithStack, read output), the same raw call with
//     the sandbox's termination checks on, and Extism's Go SDK;
//   - compiling a module cold and from the disk cache, instantiating it, and
//     a warm `weir run examples/hello/flow.cue`;
//   - a 10-node Wasm flow at concurrency 1, 2 and 8.
//
// -payloads chooses other payload sizes; -json FILE also writes the figures
// as JSON (bench/figures.Wasm), for bench/cmd/report.
//
// Run it from bench/peers: go run ./cmd/wasmbench
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"text/tabwriter"
	"time"

	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/weirflow/weir/bench/figures"
	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/builtin"
	"github.com/weirflow/weir/plugins/wasm"
)

func main() {
	root := flag.String("root", "../..", "the weir repository")
	payloads := flag.String("payloads", "64,4096", "payload sizes of the per-call rows, in bytes, separated by commas")
	jsonFile := flag.String("json", "", "also write the figures as JSON to `FILE`")
	flag.Parse()
	testing.Init()
	var sizes []int
	for _, s := range strings.Split(*payloads, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 16 {
			fmt.Fprintf(os.Stderr, "wasmbench: -payloads: %q is not a size of 16 bytes or more\n", s)
			os.Exit(2)
		}
		sizes = append(sizes, n)
	}
	dir, err := os.MkdirTemp("", "wasmbench")
	check(err)
	defer os.RemoveAll(dir)

	weirGuest := build(dir, "weirecho", "./guests/weirecho")
	extismGuest := build(dir, "extismecho", "./guests/extismecho")
	fmt.Printf("weir Wasm benchmarks (%s/%s, %d CPUs, %s)\n\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())

	fig := &figures.Wasm{Header: figures.NewHeader("wasmbench")}
	calls(fig, dir, weirGuest, extismGuest, sizes)
	startup(fig, dir, weirGuest, *root)
	throughput(fig, dir, weirGuest)
	if *jsonFile != "" {
		check(figures.Write(*jsonFile, fig))
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "wasmbench:", err)
		os.Exit(1)
	}
}

func build(dir, name, pkg string) string {
	out := filepath.Join(dir, name+".wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		check(fmt.Errorf("build %s: %v\n%s", pkg, err, b))
	}
	return out
}

// payload is a JSON object of about n bytes.
func payload(n int) []byte {
	return []byte(`{"text":"` + strings.Repeat("x", n-11) + `"}`)
}

func calls(fig *figures.Wasm, dir, weirGuest, extismGuest string, sizes []int) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "per call\tpayload\tns/call\tcalls/s\tvs raw wazero\tvs Extism\t")
	for _, size := range sizes {
		in := payload(size)
		raw := testing.Benchmark(rawCall(weirGuest, in, false))
		rawTerm := testing.Benchmark(rawCall(weirGuest, in, true))
		tool := testing.Benchmark(weirTool(dir, weirGuest, in))
		node := testing.Benchmark(weirNodes(dir, weirGuest, size))
		ext := testing.Benchmark(extismCall(extismGuest, in))
		base, peer := ns(raw), ns(ext)
		row := func(name string, v float64) {
			fmt.Fprintf(tw, "%s\t%d B\t%.0f\t%.0f\t%+.2f µs\t%.1fx faster\t\n", name, size, v, 1e9/v, (v-base)/1e3, peer/v)
			fig.Calls = append(fig.Calls, figures.WasmCall{Scenario: name, PayloadBytes: size,
				NsPerCall: v, CallsPerSec: 1e9 / v, OverRawNs: v - base, VsExtism: peer / v})
		}
		row("raw wazero", base)
		row("raw wazero, termination checks", ns(rawTerm))
		row("weir tool call", ns(tool))
		row("weir node (10-node chain)", ns(node)/10)
		row("Extism Go SDK", peer)
	}
	check(tw.Flush())
	fmt.Println()
}

func ns(r testing.BenchmarkResult) float64 { return float64(r.T.Nanoseconds()) / float64(r.N) }

// rawCall is the floor: the guest's weir_invoke called straight through
// wazero, with the inputs written and the outputs copied, and nothing else.
func rawCall(path string, in []byte, terminate bool) func(b *testing.B) {
	return func(b *testing.B) {
		ctx := context.Background()
		r := rawRuntime(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(terminate))
		defer r.Close(ctx)
		bin, err := os.ReadFile(path)
		check(err)
		mod, err := r.InstantiateWithConfig(ctx, bin, wazero.NewModuleConfig().WithStartFunctions("_initialize"))
		check(err)
		alloc, invoke := mod.ExportedFunction("weir_alloc"), mod.ExportedFunction("weir_invoke")
		tool := "echo"
		stack := make([]uint64, 4)
		stack[0] = uint64(len(tool) + len(in))
		check(alloc.CallWithStack(ctx, stack))
		ptr := uint32(stack[0])
		mem := mod.Memory()
		b.ResetTimer()
		for b.Loop() {
			mem.WriteString(ptr, tool)
			mem.Write(ptr+uint32(len(tool)), in)
			stack[0], stack[1], stack[2], stack[3] = uint64(ptr), uint64(len(tool)), uint64(ptr)+uint64(len(tool)), uint64(len(in))
			if err := invoke.CallWithStack(ctx, stack); err != nil {
				b.Fatal(err)
			}
			out, _ := mem.Read(uint32(stack[0]>>32), uint32(stack[0]))
			_ = bytes.Clone(out)
		}
	}
}

// rawRuntime is a bare wazero runtime with WASI and the two weir imports
// the echo guest uses, stubbed.
func rawRuntime(ctx context.Context, cfg wazero.RuntimeConfig) wazero.Runtime {
	r := wazero.NewRuntimeWithConfig(ctx, cfg)
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	stub := func(context.Context, api.Module, []uint64) {}
	hb := r.NewHostModuleBuilder("weir")
	i32 := api.ValueTypeI32
	hb.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(stub), []api.ValueType{i32, i32, i32}, nil).Export("log")
	hb.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(stub), []api.ValueType{i32, i32}, nil).Export("error")
	_, err := hb.Instantiate(ctx)
	check(err)
	return r
}

// weirTool calls the tool through weir's Wasm provider: pool, sandbox,
// limits and error handling included.
func weirTool(dir, path string, in []byte) func(b *testing.B) {
	return func(b *testing.B) {
		p := wasm.NewProvider(wasm.Options{CacheDir: filepath.Join(dir, "cache")})
		defer p.Close()
		pl, err := p.Open(context.Background(), plugins.Spec{Name: "bench", Kind: "wasm", Source: path})
		check(err)
		defer pl.Close()
		tool := pl.Tools()[0]
		ctx := context.Background()
		// A call first, untimed: a Wasm plugin loads its compiled code at
		// its first call, which one call of a short benchmark would count.
		if _, err := tool.Invoke(ctx, in); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for b.Loop() {
			if _, err := tool.Invoke(ctx, in); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// chainFlow is n echo nodes, each passing the text on to the next.
func chainFlow(path string, n int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "name: \"chain\"\nplugins: bench: wasm: %q\ninputs: text: string\nnodes: {\n", path)
	b.WriteString("\tn0: {tool: \"bench.echo\", inputs: text: \"${inputs.text}\"}\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "\tn%d: {tool: \"bench.echo\", inputs: text: \"${n%d.output.text}\"}\n", i, i-1)
	}
	fmt.Fprintf(&b, "}\noutputs: text: \"${n%d.output.text}\"\n", n-1)
	return []byte(b.String())
}

func newEngine(dir string) *engine.Engine {
	e, err := engine.New(engine.Options{Providers: []plugins.Provider{
		builtin.NewProvider(), wasm.NewProvider(wasm.Options{CacheDir: filepath.Join(dir, "cache")})}})
	check(err)
	return e
}

// weirNodes runs a 10-node chain of the echo tool: the cost of a node in a
// real run, scheduling and the run's own work included.
func weirNodes(dir, path string, size int) func(b *testing.B) {
	return func(b *testing.B) {
		e := newEngine(dir)
		defer e.Close()
		f, err := e.Parse(context.Background(), filepath.Join(dir, "chain.cue"), chainFlow(path, 10))
		check(err)
		in := []byte(fmt.Sprintf(`{"text":%q}`, strings.Repeat("x", size-11)))
		ctx := context.Background()
		// A run first, untimed: a Wasm plugin loads its compiled code at
		// its first call, which one run of a short benchmark would count.
		if _, err := f.Run(ctx, in); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for b.Loop() {
			if _, err := f.Run(ctx, in); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func extismCall(path string, in []byte) func(b *testing.B) {
	return func(b *testing.B) {
		ctx := context.Background()
		manifest := extism.Manifest{Wasm: []extism.Wasm{extism.WasmFile{Path: path}}}
		p, err := extism.NewPlugin(ctx, manifest, extism.PluginConfig{EnableWasi: true}, nil)
		check(err)
		defer p.Close(ctx)
		b.ResetTimer()
		for b.Loop() {
			if _, _, err := p.Call("echo", in); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func startup(fig *figures.Wasm, dir, guest, root string) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "startup\ttime\t")
	// Cold: a fresh cache folder each time. Warm: the folder filled once.
	cold := median(5, func() time.Duration {
		return timeOpen(filepath.Join(dir, fmt.Sprintf("cold-%d", time.Now().UnixNano())), guest)
	})
	warmDir := filepath.Join(dir, "warm")
	timeOpen(warmDir, guest)
	warm := median(5, func() time.Duration { return timeOpen(warmDir, guest) })
	inst := median(5, func() time.Duration { return timeInstantiate(guest) })
	fmt.Fprintf(tw, "compile, cold (no cache)\t%s\t\n", cold.Round(time.Millisecond))
	fmt.Fprintf(tw, "compile, warm (disk cache)\t%s\t\n", warm.Round(100*time.Microsecond))
	fmt.Fprintf(tw, "instantiate + _initialize\t%s\t\n", inst.Round(10*time.Microsecond))
	fig.Startup = append(fig.Startup, figures.Step{Step: "compile, cold (no cache)", Ns: cold.Nanoseconds()},
		figures.Step{Step: "compile, warm (disk cache)", Ns: warm.Nanoseconds()},
		figures.Step{Step: "instantiate + _initialize", Ns: inst.Nanoseconds()})
	if run, err := warmRun(dir, root); err != nil {
		fmt.Fprintf(tw, "warm weir run hello\t%v\t\n", err)
		fig.Startup = append(fig.Startup, figures.Step{Step: "warm weir run hello (wall)", Error: err.Error()})
	} else {
		fmt.Fprintf(tw, "warm weir run hello (wall)\t%s\t\n", run.Round(time.Millisecond))
		fig.Startup = append(fig.Startup, figures.Step{Step: "warm weir run hello (wall)", Ns: run.Nanoseconds()})
	}
	check(tw.Flush())
	fmt.Println()
}

func median(n int, f func() time.Duration) time.Duration {
	ds := make([]time.Duration, n)
	for i := range ds {
		ds[i] = f()
	}
	slices.Sort(ds)
	return ds[n/2]
}

// timeOpen opens the guest with a new provider: read, compile (or load from
// the cache), instantiate one instance and read the contract.
func timeOpen(cache, guest string) time.Duration {
	p := wasm.NewProvider(wasm.Options{CacheDir: cache})
	defer p.Close()
	start := time.Now()
	pl, err := p.Open(context.Background(), plugins.Spec{Name: "bench", Kind: "wasm", Source: guest})
	d := time.Since(start)
	check(err)
	check(pl.Close())
	return d
}

func timeInstantiate(guest string) time.Duration {
	ctx := context.Background()
	r := rawRuntime(ctx, wazero.NewRuntimeConfig())
	defer r.Close(ctx)
	bin, err := os.ReadFile(guest)
	check(err)
	mod, err := r.CompileModule(ctx, bin)
	check(err)
	start := time.Now()
	m, err := r.InstantiateModule(ctx, mod, wazero.NewModuleConfig().WithStartFunctions("_initialize").WithName(""))
	d := time.Since(start)
	check(err)
	check(m.Close(ctx))
	return d
}

// warmRun builds weir and the hello example's plugin, runs the hello flow
// once to fill the cache, then times five more runs and returns the median
// wall time of a whole process.
func warmRun(dir, root string) (time.Duration, error) {
	bin := filepath.Join(dir, "weir")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/weir")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("build weir: %v\n%s", err, out)
	}
	cmd = exec.Command("make", "-s", "examples/plugins/text/text.wasm")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("build the text plugin: %v\n%s", err, out)
	}
	run := func() (time.Duration, error) {
		cmd := exec.Command(bin, "run", "--cache-dir", filepath.Join(dir, "hello-cache"), "examples/hello/flow.cue", "--input", "name=Ada")
		cmd.Dir = root
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			return 0, fmt.Errorf("weir run: %v\n%s", err, out)
		}
		return time.Since(start), nil
	}
	if _, err := run(); err != nil {
		return 0, err
	}
	var firstErr error
	d := median(5, func() time.Duration {
		d, err := run()
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return d
	})
	return d, firstErr
}

// throughput runs the 10-node chain from several goroutines for a second.
func throughput(fig *figures.Wasm, dir, guest string) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "10-node Wasm flow\truns/s\tnode calls/s\t")
	e := newEngine(dir)
	defer e.Close()
	f, err := e.Parse(context.Background(), filepath.Join(dir, "chain.cue"), chainFlow(guest, 10))
	check(err)
	in := []byte(`{"text":"` + strings.Repeat("x", 53) + `"}`)
	for _, workers := range []int{1, 2, 8} {
		var runs atomic.Int64
		deadline := time.Now().Add(time.Second)
		var wg sync.WaitGroup
		start := time.Now()
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(deadline) {
					if _, err := f.Run(context.Background(), in); err != nil {
						check(err)
					}
					runs.Add(1)
				}
			}()
		}
		wg.Wait()
		rate := float64(runs.Load()) / time.Since(start).Seconds()
		fmt.Fprintf(tw, "concurrency %d\t%.0f\t%.0f\t\n", workers, rate, rate*10)
		fig.Throughput = append(fig.Throughput, figures.WasmThroughput{Concurrency: workers, RunsPerSec: rate, NodeCallsPerSec: rate * 10})
	}
	check(tw.Flush())
}
