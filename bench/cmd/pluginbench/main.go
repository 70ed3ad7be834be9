// Command pluginbench measures weir's go-plugin tools side by side with the
// raw go-plugin call they wrap, and with the same function as a Wasm tool
// and as a native Go tool, in one process, and prints the ratios:
//
//   - per call, 64 B and 4 KiB: a raw go-plugin gRPC call (hashicorp's
//     client, the generated stub, nothing of weir's), a weir go-plugin tool
//     call, a weir go-plugin node in a 10-node chain, and the same echo as
//     a Wasm tool and node and as a native tool and node;
//   - the startup of a go-plugin plugin: spawn, handshake and first call,
//     through weir's provider and through go-plugin alone.
//
// Every scenario runs the same function, echo, which returns its inputs,
// on the same bytes. The guests are built into a temporary folder first
// (bench/guests/goecho and bench/guests/wasmecho), so it runs with no other
// step from the root of the repository. -json FILE also writes the figures
// as JSON (bench/figures.Plugin), for bench/cmd/report:
//
//	go run ./bench/cmd/pluginbench
package main

import (
	"bytes"
	"cmp"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/internal/toolpb"
	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/builtin"
	"github.com/weirflow/weir/plugins/goplugin"
	"github.com/weirflow/weir/plugins/wasm"

	"github.com/weirflow/weir/bench"
	"github.com/weirflow/weir/bench/figures"
)

// target is the bound on a go-plugin node call, as a multiple of
// the raw go-plugin call.
const target = 1.2

func main() {
	nodes := flag.Int("nodes", 10, "nodes per chain flow")
	rounds := flag.Int("rounds", 3, "rounds of the go-plugin scenarios, whose medians are printed")
	jsonFile := flag.String("json", "", "also write the figures as JSON to `FILE`")
	flag.Parse()
	testing.Init()
	dir, err := os.MkdirTemp("", "pluginbench")
	check(err)
	defer os.RemoveAll(dir)

	root, err := bench.ModuleRoot()
	check(err)
	goGuest := build(root, filepath.Join(dir, "goecho"), "./bench/guests/goecho")
	wasmGuest := build(root, filepath.Join(dir, "wasmecho.wasm"), "./bench/guests/wasmecho",
		"GOOS=wasip1", "GOARCH=wasm")
	fmt.Printf("weir go-plugin benchmarks: echo, %d-node chains, go-plugin rows the median of %d rounds (%s/%s, %d CPUs, %s)\n\n",
		*nodes, max(*rounds, 1), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())

	fig := &figures.Plugin{Header: figures.NewHeader("pluginbench"), Nodes: *nodes, Rounds: max(*rounds, 1), Target: target}
	calls(fig, dir, goGuest, wasmGuest)
	startup(fig, goGuest)
	if *jsonFile != "" {
		check(figures.Write(*jsonFile, fig))
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "pluginbench:", err)
		os.Exit(1)
	}
}

// build compiles pkg to out; env selects a Wasm build, which is a reactor
// module (c-shared) as weir loads it.
func build(root, out, pkg string, env ...string) string {
	args := []string{"build", "-o", out}
	if len(env) > 0 {
		args = append(args, "-buildmode=c-shared")
	}
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		check(fmt.Errorf("build %s: %v\n%s", pkg, err, b))
	}
	return out
}

// payload is a JSON object of n bytes, the inputs of every call.
func payload(n int) []byte {
	return []byte(`{"text":"` + strings.Repeat("x", n-11) + `"}`)
}

// echo is the native tool: the function both guests serve.
var echo = plugins.RawFunc(plugins.Contract{Name: "echo", Description: "Returns its inputs."},
	func(_ context.Context, in []byte) ([]byte, error) { return bytes.Clone(in), nil })

// calls prints the per-call table. The three go-plugin scenarios, whose
// ratios are the target, run interleaved in rounds and show their medians:
// a process round trip on a busy machine drifts more than the gaps between
// them.
func calls(fig *figures.Plugin, dir, goGuest, wasmGuest string) {
	n, rounds := fig.Nodes, fig.Rounds
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "per call\tpayload\tns/call\tcalls/s\tvs raw go-plugin\t")
	var verdicts []string
	for _, size := range []int{64, 4096} {
		in := payload(size)
		goEntry := fmt.Sprintf("plugins: bench: goplugin: %q\n", goGuest)
		wasmEntry := fmt.Sprintf("plugins: bench: wasm: %q\n", wasmGuest)

		var raws, tools, nodes []float64
		for range rounds {
			raws = append(raws, ns(testing.Benchmark(rawCall(goGuest, in))))
			tools = append(tools, ns(testing.Benchmark(providerCall(goplugin.NewProvider(goplugin.Options{}), "goplugin", goGuest, in))))
			nodes = append(nodes, ns(testing.Benchmark(chain(dir, goEntry, "bench.echo", n, size)))/float64(n))
		}
		base, node := median(raws), median(nodes)
		row := func(name string, v float64) {
			fmt.Fprintf(tw, "%s\t%d B\t%.0f\t%.0f\t%.2fx\t\n", name, size, v, 1e9/v, v/base)
			fig.Calls = append(fig.Calls, figures.PluginCall{Scenario: name, PayloadBytes: size, NsPerCall: v, CallsPerSec: 1e9 / v, VsRaw: v / base})
		}
		row("raw go-plugin gRPC call", base)
		row("weir go-plugin tool call", median(tools))
		row(fmt.Sprintf("weir go-plugin node (%d-node chain)", n), node)
		row("weir Wasm tool call", ns(testing.Benchmark(providerCall(wasm.NewProvider(wasm.Options{CacheDir: filepath.Join(dir, "cache")}), "wasm", wasmGuest, in))))
		row(fmt.Sprintf("weir Wasm node (%d-node chain)", n), ns(testing.Benchmark(chain(dir, wasmEntry, "bench.echo", n, size)))/float64(n))
		row("native tool call (plugins.RawFunc)", ns(testing.Benchmark(nativeCall(in))))
		row(fmt.Sprintf("native node (%d-node chain)", n), ns(testing.Benchmark(chain(dir, "", "native.echo", n, size)))/float64(n))

		verdict := "met"
		if node/base > target {
			verdict = "missed"
		}
		verdicts = append(verdicts, fmt.Sprintf("%d B: %.2fx, %s", size, node/base, verdict))
	}
	check(tw.Flush())
	fmt.Printf("\ntarget: a go-plugin node call at most %.1fx the raw go-plugin call (%s)\n\n",
		target, strings.Join(verdicts, "; "))
}

func median[T cmp.Ordered](xs []T) T {
	slices.Sort(xs)
	return xs[len(xs)/2]
}

func ns(r testing.BenchmarkResult) float64 { return float64(r.T.Nanoseconds()) / float64(r.N) }

// rawPlugin is the host's half of a go-plugin plugin serving
// weir.tool.v1.Tools, with nothing of weir's in it.
type rawPlugin struct{ plugin.NetRPCUnsupportedPlugin }

func (rawPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error { return nil }

func (rawPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return toolpb.NewToolsClient(c), nil
}

// startRaw starts the executable with go-plugin's client alone: gRPC,
// AutoMTLS, weir's handshake.
func startRaw(exe string) (*plugin.Client, toolpb.ToolsClient, error) {
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  goplugin.Handshake,
		Plugins:          plugin.PluginSet{"tools": rawPlugin{}},
		Cmd:              exec.Command(exe),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		Logger:           hclog.NewNullLogger(),
	})
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		return nil, nil, fmt.Errorf("start %s: %w", exe, err)
	}
	raw, err := rpc.Dispense("tools")
	if err != nil {
		client.Kill()
		return nil, nil, fmt.Errorf("dispense %s: %w", exe, err)
	}
	return client, raw.(toolpb.ToolsClient), nil
}

// rawCall is the floor: the generated stub's Invoke over go-plugin's
// connection, and nothing else.
func rawCall(exe string, in []byte) func(b *testing.B) {
	return func(b *testing.B) {
		client, tools, err := startRaw(exe)
		check(err)
		defer client.Kill()
		ctx := context.Background()
		b.ResetTimer()
		for b.Loop() {
			resp, err := tools.Invoke(ctx, &toolpb.InvokeRequest{Tool: "echo", Inputs: in})
			if err != nil {
				b.Fatal(err)
			}
			if resp.Error != nil {
				b.Fatal(resp.Error.Message)
			}
		}
	}
}

// providerCall calls the tool through a weir provider: for go-plugin its
// process supervision, limits, tracing hooks and error mapping; for Wasm
// its pool and sandbox.
func providerCall(p plugins.Provider, kind, source string, in []byte) func(b *testing.B) {
	return func(b *testing.B) {
		if c, ok := p.(interface{ Close() error }); ok {
			defer c.Close()
		}
		pl, err := p.Open(context.Background(), plugins.Spec{Name: "bench", Kind: kind, Source: source})
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

func nativeCall(in []byte) func(b *testing.B) {
	return func(b *testing.B) {
		ctx := context.Background()
		for b.Loop() {
			if _, err := echo.Invoke(ctx, in); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// chainFlow is n nodes of tool, each passing the text on to the next;
// entry declares the tool's plugin unless it is registered.
func chainFlow(entry, tool string, n int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "name: \"chain\"\n%sinputs: text: string\nnodes: {\n", entry)
	fmt.Fprintf(&b, "\tn0: {tool: %q, inputs: text: \"${inputs.text}\"}\n", tool)
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "\tn%d: {tool: %q, inputs: text: \"${n%d.output.text}\"}\n", i, tool, i-1)
	}
	fmt.Fprintf(&b, "}\noutputs: text: \"${n%d.output.text}\"\n", n-1)
	return []byte(b.String())
}

// chain runs an n-node chain of the echo tool on a payload of size bytes:
// the cost of a node in a real run, scheduling and the run's own work
// included. Each benchmark has its own engine, so a go-plugin process
// starts when the flow is parsed, before the timer.
func chain(dir, entry, tool string, n, size int) func(b *testing.B) {
	return func(b *testing.B) {
		e, err := engine.New(engine.Options{Providers: []plugins.Provider{
			builtin.NewProvider(),
			wasm.NewProvider(wasm.Options{CacheDir: filepath.Join(dir, "cache")}),
			goplugin.NewProvider(goplugin.Options{}),
		}})
		check(err)
		defer e.Close()
		check(e.Register("native", echo))
		f, err := e.Parse(context.Background(), filepath.Join(dir, "chain.cue"), chainFlow(entry, tool, n))
		check(err)
		in := payload(size)
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

// startup times a go-plugin plugin from nothing to its first answer, each
// time with a fresh provider, and the same through go-plugin alone.
func startup(fig *figures.Plugin, exe string) {
	const runs = 5
	in := payload(64)
	ctx := context.Background()
	var opens, firsts, totals, raws []time.Duration
	for range runs {
		p := goplugin.NewProvider(goplugin.Options{})
		start := time.Now()
		pl, err := p.Open(ctx, plugins.Spec{Name: "bench", Kind: "goplugin", Source: exe})
		check(err)
		opened := time.Now()
		_, err = pl.Tools()[0].Invoke(ctx, in)
		check(err)
		end := time.Now()
		check(p.Close())
		opens, firsts, totals = append(opens, opened.Sub(start)), append(firsts, end.Sub(opened)), append(totals, end.Sub(start))

		start = time.Now()
		client, tools, err := startRaw(exe)
		check(err)
		_, err = tools.Invoke(ctx, &toolpb.InvokeRequest{Tool: "echo", Inputs: in})
		raws = append(raws, time.Since(start))
		client.Kill()
		check(err)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "go-plugin startup (median of %d)\ttime\tmin\tmax\t\n", runs)
	row := func(name string, ds []time.Duration) {
		r := func(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
		m := median(ds)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", name, r(m), r(ds[0]), r(ds[len(ds)-1]))
		fig.Startup = append(fig.Startup, figures.PluginStartup{Step: name,
			MedianNs: m.Nanoseconds(), MinNs: ds[0].Nanoseconds(), MaxNs: ds[len(ds)-1].Nanoseconds()})
	}
	row("weir: Open (spawn, handshake, Describe)", opens)
	row("weir: first call", firsts)
	row("weir: spawn to first answer", totals)
	row("raw go-plugin: spawn to first answer", raws)
	check(tw.Flush())
}
