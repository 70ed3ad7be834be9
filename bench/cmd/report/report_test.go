package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weirflow/weir/bench/figures"
)

func header(command string, args ...string) figures.Header {
	return figures.Header{Command: command, Args: args, Machine: figures.Machine{
		CPUs: 2, Model: "AMD EPYC", OS: "linux", Arch: "amd64", Go: "go1.26.8", Date: time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)}}
}

// TestWrite writes a report from fixed figures of every command but two:
// one that failed and one never run. Each chart is valid SVG with its
// title and series, and the report shows it, or says why it cannot.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	r := &report{dir: dir, failed: map[string]string{"poolbench": "go run ./bench/cmd/poolbench -quick: exit status 1: poolbench: start NATS: `no space`"}}
	if err := os.MkdirAll(r.chartDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(command string, v any) {
		if err := figures.Write(r.figuresFile(command), v); err != nil {
			t.Fatal(err)
		}
	}
	write("wasmbench", &figures.Wasm{Header: header("wasmbench", "-payloads", "64,4096"), Calls: []figures.WasmCall{
		{Scenario: "raw wazero", PayloadBytes: 64, NsPerCall: 340}, {Scenario: "raw wazero", PayloadBytes: 4096, NsPerCall: 1250},
		{Scenario: "Extism Go SDK", PayloadBytes: 64, NsPerCall: 22600, VsExtism: 1}, {Scenario: "Extism Go SDK", PayloadBytes: 4096, NsPerCall: 140000, VsExtism: 1},
	}, Startup: []figures.Step{{Step: "warm weir run hello (wall)", Error: "build weir: exit status 1"}}})
	write("pluginbench", &figures.Plugin{Header: header("pluginbench"), Nodes: 10, Rounds: 3, Target: 1.2, Calls: []figures.PluginCall{
		{Scenario: "raw go-plugin gRPC call", PayloadBytes: 64, NsPerCall: 500e3, VsRaw: 1},
		{Scenario: "weir go-plugin tool call", PayloadBytes: 64, NsPerCall: 550e3, VsRaw: 1.1},
		{Scenario: "native tool call (plugins.RawFunc)", PayloadBytes: 64, NsPerCall: 150, VsRaw: 0.0003},
	}})
	write("weirbench", &figures.Engine{Header: header("weirbench", "-nodes", "10,100"), Rows: []figures.EngineRow{
		{Scenario: "direct tool calls", Shape: "direct", Nodes: 10, CPUNsPerNode: 70},
		{Scenario: "chain of 10", Shape: "chain", Nodes: 10, CPUNsPerNode: 1000}, {Scenario: "fan-out of 10", Shape: "fanout", Nodes: 10, CPUNsPerNode: 1400},
		{Scenario: "chain of 100", Shape: "chain", Nodes: 100, CPUNsPerNode: 700}, {Scenario: "fan-out of 100", Shape: "fanout", Nodes: 100, CPUNsPerNode: 1100},
	}})
	write("loadbench", &figures.Load{Header: header("loadbench"), Rounds: 3, Rows: []figures.LoadRow{
		{Shape: "chain", Nodes: 1000, ValidateCPUNs: 112e6}, {Shape: "chain", Nodes: 10000, ValidateCPUNs: 720e6},
		{Shape: "fanout", Nodes: 1000, ValidateCPUNs: 106e6}, {Shape: "fanout", Nodes: 10000, ValidateCPUNs: 761e6},
	}})
	write("servebench", &figures.Serve{Header: header("servebench"), Clients: 500, DurationNs: 30e9, OK: 11970, RequestsPerSec: 399,
		P50Ns: 1253e6, P90Ns: 1258e6, P99Ns: 1265e6, MaxNs: 1300e6, FloorNs: 1250e6, LimitPerSec: 400,
		Published: []figures.Peer{{Name: "prompt flow, FastAPI (async)", RequestsPerSec: 166, Clients: 500}}})
	if err := r.write(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "REPORT.md"))
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	for _, want := range []string{
		"Measured with `cd bench/peers && go run ./cmd/wasmbench -payloads 64,4096` on 2 CPUs (AMD EPYC), linux/amd64, go1.26.8, 2026-12-03.",
		"![Wasm call cost by payload size](report/wasm.svg)",
		"| warm weir run hello (wall) | failed: build weir: exit status 1 |",
		"![go-plugin calls against the raw go-plugin call](report/goplugin.svg)",
		"| native tool call (plugins.RawFunc) | 64 B | 0.15 µs | 0.00x |",
		"Measured with `go run ./bench/cmd/weirbench -nodes 10,100`",
		"![Load time by flow size](report/load.svg)",
		"| weir serve | 399.0 | 1.00 |",
		"| arithmetic limit (500 clients) | 400.0 |  |",
		"Not measured on this machine: no figures in report/batchbench.json: run `go run ./bench/cmd/report -run batchbench`",
		"Not measured on this machine: go run ./bench/cmd/poolbench -quick: exit status 1: poolbench: start NATS: 'no space'",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("REPORT.md has no %q:\n%s", want, md)
		}
	}
	for file, want := range map[string][]string{
		"wasm.svg":          {"Wasm call cost by payload size: weir, raw wazero, Extism", "raw wazero", "Extism Go SDK", "payload (bytes)"},
		"goplugin.svg":      {"go-plugin tools against the raw go-plugin call", "raw go-plugin gRPC call", "weir go-plugin tool call", "64 B"},
		"engine.svg":        {"The engine's cost per node, by flow shape and size", "chain (each node uses the one before)", "nodes in the flow"},
		"load.svg":          {"Load time by flow size (weir validate)", "fan-out", "CPU time (ms)"},
		"serve.svg":         {"Serving prompt flow's scenario: requests per second", "weir serve", "requests/s"},
		"serve-latency.svg": {"Serving prompt flow's scenario: weir serve's latency", "the least a request takes", "p99"},
	} {
		b, err := os.ReadFile(filepath.Join(r.chartDir(), file))
		if err != nil {
			t.Fatal(err)
		}
		texts := svgTexts(t, b)
		wantTexts(t, texts, append(want, "2 CPUs (AMD EPYC), linux/amd64, go1.26.8, 2026-12-03")...)
	}
	for _, file := range []string{"batch-throughput.svg", "batch-memory.svg", "pool.svg"} {
		if _, err := os.Stat(filepath.Join(r.chartDir(), file)); !os.IsNotExist(err) {
			t.Errorf("%s of a command not measured: %v", file, err)
		}
	}
}

func TestChoose(t *testing.T) {
	got, err := choose("servebench, weirbench")
	if err != nil || len(got) != 2 || got[0].name != "servebench" || got[1].name != "weirbench" {
		t.Errorf("choose = %v, %v", got, err)
	}
	if got, err := choose("none"); err != nil || len(got) != 0 {
		t.Errorf("choose(none) = %v, %v", got, err)
	}
	if got, err := choose("all"); err != nil || len(got) != len(commands) {
		t.Errorf("choose(all) = %d commands, %v", len(got), err)
	}
	if _, err := choose("servebench,nobench"); err == nil || err.Error() != `-run: no benchmark command "nobench"` {
		t.Errorf("choose of an unknown command: %v", err)
	}
}

func TestCommandLine(t *testing.T) {
	c, _ := lookup("wasmbench")
	if got, want := c.line(true), "cd bench/peers && go run ./cmd/wasmbench -payloads 64,256,1024,4096,16384"; got != want {
		t.Errorf("full line %q, want %q", got, want)
	}
	c, _ = lookup("pluginbench")
	if got, want := c.line(true), "go run ./bench/cmd/pluginbench"; got != want {
		t.Errorf("full line %q, want %q", got, want)
	}
}

func TestLastLines(t *testing.T) {
	for in, want := range map[string]string{
		"":                        "",
		"one\n":                   ": one",
		"a\nb\nc\nd\n":            ": b / c / d",
		"\n  servebench: boom \n": ": servebench: boom",
	} {
		if got := lastLines(in, 3); got != want {
			t.Errorf("lastLines(%q) = %q, want %q", in, got, want)
		}
	}
}
