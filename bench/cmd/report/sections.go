package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/weirflow/weir/bench/figures"
)

// Each section reads one command's figures, draws its charts and writes
// its tables.

func (r *report) wasm() error {
	var f figures.Wasm
	if !r.figures("wasmbench", &f) {
		return nil
	}
	var ss seriesSet
	var rows [][]string
	for _, c := range f.Calls {
		ss.add(c.Scenario, float64(c.PayloadBytes), c.NsPerCall/1e3)
		rows = append(rows, []string{c.Scenario, fmt.Sprintf("%d B", c.PayloadBytes), µs(c.NsPerCall),
			fmt.Sprintf("%+.2f µs", c.OverRawNs/1e3), fmt.Sprintf("%.1fx", c.VsExtism)})
	}
	err := r.chart("wasm.svg", "Wasm call cost by payload size", "The same guest function (it returns its inputs) called with the same bytes "+
		"through raw wazero, through weir as a tool call and as a node in a 10-node chain, and through Extism's Go SDK; both axes are logarithmic.",
		func(w io.Writer) error {
			return lines(w, chart{title: "Wasm call cost by payload size: weir, raw wazero, Extism", machine: f.Machine.String(),
				x: "payload (bytes)", y: "time per call (µs)"}, ss.all, true, true)
		})
	if err != nil {
		return err
	}
	r.table([]string{"per call", "payload", "time", "over raw wazero", "faster than Extism"}, rows)
	rows = nil
	for _, s := range f.Startup {
		v := ms(s.Ns)
		if s.Error != "" {
			v = "failed: " + oneLine(s.Error)
		}
		rows = append(rows, []string{s.Step, v})
	}
	r.table([]string{"startup", "time"}, rows)
	rows = nil
	for _, t := range f.Throughput {
		rows = append(rows, []string{fmt.Sprintf("concurrency %d", t.Concurrency), num(t.RunsPerSec), num(t.NodeCallsPerSec)})
	}
	r.table([]string{"10-node Wasm flow", "runs/s", "node calls/s"}, rows)
	return nil
}

func (r *report) goplugin() error {
	var f figures.Plugin
	if !r.figures("pluginbench", &f) {
		return nil
	}
	var groups []string
	var ss seriesSet
	var rows [][]string
	for _, c := range f.Calls {
		group := fmt.Sprintf("%d B", c.PayloadBytes)
		if !slices.Contains(groups, group) {
			groups = append(groups, group)
		}
		rows = append(rows, []string{c.Scenario, group, µs(c.NsPerCall), ratio(c.VsRaw)})
		if !strings.Contains(c.Scenario, "go-plugin") {
			continue // Wasm and native calls are 100 to 1000 times shorter: in the table
		}
		ss.add(c.Scenario, 0, c.NsPerCall/1e3)
	}
	err := r.chart("goplugin.svg", "go-plugin calls against the raw go-plugin call", fmt.Sprintf("The same echo function through a raw go-plugin gRPC call "+
		"(go-plugin's client and the generated stub), a weir go-plugin tool call and a weir go-plugin node in a %d-node chain; "+
		"the go-plugin rows are medians of %d round(s), and the target is a node at most %.1fx the raw call. "+
		"The same function as a Wasm and a native tool is in the table.", f.Nodes, f.Rounds, f.Target),
		func(w io.Writer) error {
			return bars(w, chart{title: "go-plugin tools against the raw go-plugin call", machine: f.Machine.String(),
				x: "payload", y: "time per call (µs)"}, groups, ss.all)
		})
	if err != nil {
		return err
	}
	r.table([]string{"per call", "payload", "time", "vs raw go-plugin"}, rows)
	rows = nil
	for _, s := range f.Startup {
		rows = append(rows, []string{s.Step, ms(s.MedianNs), ms(s.MinNs), ms(s.MaxNs)})
	}
	r.table([]string{"go-plugin startup", "median", "min", "max"}, rows)
	return nil
}

func (r *report) engine() error {
	var f figures.Engine
	if !r.figures("weirbench", &f) {
		return nil
	}
	chain, fanout := &series{name: "chain (each node uses the one before)"}, &series{name: "fan-out (every node uses the first)"}
	direct := &series{name: "the same tool call, made directly"}
	var directNs float64
	var rows [][]string
	for _, row := range f.Rows {
		rows = append(rows, []string{row.Scenario, num(row.NsPerNode), num(row.CPUNsPerNode), fmt.Sprintf("%.1f", row.AllocsPerNode),
			num(row.EngineNsPerNode), fmt.Sprintf("%.1fx", row.VsDirect)})
		switch row.Shape {
		case "direct":
			directNs = row.CPUNsPerNode
		case "chain":
			chain.x, chain.y = append(chain.x, float64(row.Nodes)), append(chain.y, row.CPUNsPerNode)
		case "fanout":
			fanout.x, fanout.y = append(fanout.x, float64(row.Nodes)), append(fanout.y, row.CPUNsPerNode)
		}
	}
	for _, x := range chain.x {
		direct.x, direct.y = append(direct.x, x), append(direct.y, directNs)
	}
	err := r.chart("engine.svg", "The engine's cost per node by flow shape and size", "Runs of flows of builtin.json no-op nodes, and the same "+
		"tool calls made directly: the CPU time of the whole process (all its threads) per node, which a busy machine blurs less than "+
		"the wall time; the gap between a flow and the direct calls is the engine's (scheduling, inputs, the run's checks).",
		func(w io.Writer) error {
			return lines(w, chart{title: "The engine's cost per node, by flow shape and size", machine: f.Machine.String(),
				x: "nodes in the flow", y: "CPU time per node (ns)"}, []series{*chain, *fanout, *direct}, true, false)
		})
	if err != nil {
		return err
	}
	r.table([]string{"scenario", "ns/node", "CPU ns/node", "allocs/node", "engine ns/node", "vs direct"}, rows)
	return nil
}

func (r *report) load() error {
	var f figures.Load
	if !r.figures("loadbench", &f) {
		return nil
	}
	byShape := map[string]*series{"chain": {name: "chain"}, "fanout": {name: "fan-out"}}
	var rows [][]string
	for _, row := range f.Rows {
		if s := byShape[row.Shape]; s != nil {
			s.x, s.y = append(s.x, float64(row.Nodes)), append(s.y, float64(row.ValidateCPUNs)/1e6)
		}
		rows = append(rows, []string{row.Shape, fmt.Sprint(row.Nodes), ms(row.ValidateWallNs), ms(row.ValidateCPUNs),
			mib(row.ValidatePeakRSS), mib(row.ParseAllocated)})
	}
	err := r.chart("load.svg", "Load time by flow size", fmt.Sprintf("`weir validate` of no-op flows as a chain and as a fan-out, "+
		"the weir binary as a child process, process start included: its CPU time (user and system), the median of %d round(s). "+
		"Both axes are logarithmic: linear loading is a line of slope 1.", f.Rounds),
		func(w io.Writer) error {
			return lines(w, chart{title: "Load time by flow size (weir validate)", machine: f.Machine.String(),
				x: "nodes in the flow", y: "CPU time (ms)"}, []series{*byShape["chain"], *byShape["fanout"]}, true, true)
		})
	if err != nil {
		return err
	}
	r.table([]string{"flow", "nodes", "validate wall", "validate CPU", "validate peak RSS", "engine.Parse allocates"}, rows)
	return nil
}

func (r *report) serve() error {
	var f figures.Serve
	if !r.figures("servebench", &f) {
		return nil
	}
	groups := []string{fmt.Sprintf("arithmetic limit\n(%d clients)", f.Clients), "weir serve"}
	rps := []float64{f.LimitPerSec, f.RequestsPerSec}
	share := func(v float64) string { return fmt.Sprintf("%.2f", v/f.LimitPerSec) }
	rows := [][]string{{fmt.Sprintf("arithmetic limit (%d clients)", f.Clients), fmt.Sprintf("%.1f", f.LimitPerSec), ""},
		{"weir serve", fmt.Sprintf("%.1f", f.RequestsPerSec), share(f.RequestsPerSec)}}
	for _, p := range f.Published {
		groups = append(groups, p.Name+"\n(published)")
		rps = append(rps, p.RequestsPerSec)
		rows = append(rows, []string{fmt.Sprintf("%s, published (%d clients)", p.Name, p.Clients), num(p.RequestsPerSec), share(p.RequestsPerSec)})
	}
	caption := fmt.Sprintf("Prompt flow's published serving scenario: three parallel 250 ms nodes, then an HTTP call to a mock API that answers "+
		"after 1 s, served by the weir binary to %d closed-loop clients for %.0f s; a request cannot take less than %s, so the "+
		"limit is %.0f requests/s. The load generator and the mock API share the machine with weir.", f.Clients, float64(f.DurationNs)/1e9,
		ms(f.FloorNs), f.LimitPerSec)
	if slices.ContainsFunc(f.Published, func(p figures.Peer) bool { return p.Clients != f.Clients }) {
		caption += " Prompt flow's figures are for its own number of clients, in the table."
	}
	err := r.chart("serve.svg", "Serving: requests per second", caption, func(w io.Writer) error {
		return bars(w, chart{title: "Serving prompt flow's scenario: requests per second", machine: f.Machine.String(),
			y: "requests/s"}, groups, []series{{name: "requests/s", y: rps}})
	})
	if err != nil {
		return err
	}
	r.table([]string{"server", "requests/s", "of the limit"}, rows)
	lat := []float64{float64(f.P50Ns) / 1e6, float64(f.P90Ns) / 1e6, float64(f.P99Ns) / 1e6, float64(f.MaxNs) / 1e6}
	floor := float64(f.FloorNs) / 1e6
	err = r.chart("serve-latency.svg", "Serving: latency", fmt.Sprintf("weir serve's latency percentiles in the same run (%d answers, %d errors), "+
		"against the %s a request takes at the least. Prompt flow published no latencies for the scenario.", f.OK, f.Errors, ms(f.FloorNs)),
		func(w io.Writer) error {
			return bars(w, chart{title: "Serving prompt flow's scenario: weir serve's latency", machine: f.Machine.String(),
				x: "percentile", y: "latency (ms)"}, []string{"p50", "p90", "p99", "max"},
				[]series{{name: "the least a request takes", y: []float64{floor, floor, floor, floor}}, {name: "weir serve", y: lat}})
		})
	if err != nil {
		return err
	}
	r.table([]string{"weir serve", "p50", "p90", "p99", "max", "CPU a request", "peak RSS"}, [][]string{{
		fmt.Sprintf("%d clients", f.Clients), ms(f.P50Ns), ms(f.P90Ns), ms(f.P99Ns), ms(f.MaxNs),
		fmt.Sprintf("%.0f µs", float64(f.ServerCPUNs)/1e3/float64(max(f.OK, 1))), mib(f.PeakRSS)}})
	return nil
}

func (r *report) batch() error {
	var f figures.Batch
	if !r.figures("batchbench", &f) {
		return nil
	}
	var groups []string
	weir, noRecord, direct := series{name: "weir batch, run record included"}, series{name: "weir batch without its run record"}, series{name: "the same tool calls, made directly"}
	var rows [][]string
	for _, t := range f.Throughput {
		groups = append(groups, fmt.Sprintf("%s\nconcurrency %d", t.Flow, t.Concurrency))
		weir.y, noRecord.y, direct.y = append(weir.y, t.WeirLinesPerSec), append(noRecord.y, t.NoRecordLinesPerSec), append(direct.y, t.DirectLinesPerSec)
		rows = append(rows, []string{t.Flow, fmt.Sprint(t.Concurrency), num(t.WeirLinesPerSec), num(t.DirectLinesPerSec),
			fmt.Sprintf("%.2f", t.WeirOverDirect), num(t.NoRecordLinesPerSec)})
	}
	if len(groups) > 0 {
		err := r.chart("batch-throughput.svg", "Batch throughput", fmt.Sprintf("Lines per second of %d lines through a 3-node flow of builtin tools and "+
			"one of Wasm tools, along the whole path of weir batch but process start, next to the same three tool calls per line made "+
			"directly by as many goroutines; medians of %d round(s).", f.Lines, f.Rounds),
			func(w io.Writer) error {
				return bars(w, chart{title: "Batch throughput: weir batch against direct tool calls", machine: f.Machine.String(),
					y: "lines/s"}, groups, []series{weir, noRecord, direct})
			})
		if err != nil {
			return err
		}
		r.table([]string{"flow", "concurrency", "weir lines/s", "direct lines/s", "weir/direct", "no record lines/s"}, rows)
	}
	var ss seriesSet
	rows = nil
	for _, m := range f.Memory {
		peak := mib(m.PeakRSS)
		if !m.PeakExact {
			peak = "at most " + mib(m.FloorRSS)
		}
		rows = append(rows, []string{m.Flow, fmt.Sprint(m.Lines), ms(m.WallNs), num(m.LinesPerSec), peak, fmt.Sprintf("%.0f MB", float64(m.RecordBytes)/1e6)})
		if !m.PeakExact {
			continue
		}
		ss.add(m.Flow+" flow", float64(m.Lines), float64(m.PeakRSS)/(1<<20))
	}
	if len(ss.all) > 0 {
		err := r.chart("batch-memory.svg", "Batch memory by lines", "The weir binary running `weir batch --concurrency 8` as a child process "+
			"over datasets of each size, its Wasm modules compiled beforehand: its peak RSS, which should stay flat as the lines grow "+
			"(and under 256 MiB). The table has its lines per second.",
			func(w io.Writer) error {
				return lines(w, chart{title: "weir batch: peak memory by dataset size", machine: f.Machine.String(),
					x: "lines", y: "peak RSS (MiB)"}, ss.all, true, false)
			})
		if err != nil {
			return err
		}
	}
	if len(rows) > 0 {
		r.table([]string{"weir batch", "lines", "wall", "lines/s", "peak RSS", "run record"}, rows)
	}
	return nil
}

func (r *report) pool() error {
	var f figures.Pool
	if !r.figures("poolbench", &f) {
		return nil
	}
	if o := f.Overhead; o != nil {
		r.table([]string{"overhead", "local lines/s", "pool lines/s", "pool/local", "added per line"}, [][]string{{
			fmt.Sprintf("builtin flow, %d lines, one worker", o.Lines), num(o.LocalLinesPerSec), num(o.PoolLinesPerSec),
			fmt.Sprintf("%.2f", o.PoolLinesPerSec/o.LocalLinesPerSec), µs(1e9/o.PoolLinesPerSec - 1e9/o.LocalLinesPerSec)}})
	}
	if len(f.Scaling) > 0 {
		measured, ideal := series{name: "weir worker processes"}, series{name: "N times one worker"}
		var rows [][]string
		one := f.Scaling[0].LinesPerSec / float64(f.Scaling[0].Workers)
		for _, s := range f.Scaling {
			measured.x, measured.y = append(measured.x, float64(s.Workers)), append(measured.y, s.LinesPerSec)
			ideal.x, ideal.y = append(ideal.x, float64(s.Workers)), append(ideal.y, one*float64(s.Workers))
			rows = append(rows, []string{fmt.Sprint(s.Workers), num(s.LinesPerSec), fmt.Sprintf("%.2f", s.OfNTimesOne)})
		}
		err := r.chart("pool.svg", "Pool scaling by workers", fmt.Sprintf("A flow whose one node waits %s a line, on 1, 2 and 4 `weir worker` "+
			"processes of concurrency %d each, through a NATS server embedded in the submitting process: lines per second against "+
			"N times one worker's (the target is at least 0.9 of it).", ms(f.ScalingWaitNs), f.Concurrency),
			func(w io.Writer) error {
				return lines(w, chart{title: "Work pool scaling by workers", machine: f.Machine.String(),
					x: "workers", y: "lines/s"}, []series{measured, ideal}, false, false)
			})
		if err != nil {
			return err
		}
		r.table([]string{"workers", "lines/s", "of N x one"}, rows)
	}
	var rows [][]string
	for _, rc := range f.Recovery {
		rows = append(rows, []string{ms(rc.AckWaitNs), ms(rc.RedeliveredNs), ms(rc.DoneNs)})
	}
	if len(rows) > 0 {
		r.table([]string{"a worker SIGKILLed: ack wait", "to redelivery", "to the lines' results"}, rows)
	}
	rows = nil
	for _, m := range f.Memory {
		rows = append(rows, []string{fmt.Sprint(m.Lines), mib(m.RSS), mib(m.PeakRSS)})
	}
	if len(rows) > 0 {
		r.table([]string{"a worker's memory: lines", "RSS", "peak RSS"}, rows)
	}
	return nil
}

// seriesSet gathers points into series by name, in the order the names
// first come.
type seriesSet struct{ all []series }

func (ss *seriesSet) add(name string, x, y float64) {
	i := slices.IndexFunc(ss.all, func(s series) bool { return s.name == name })
	if i < 0 {
		ss.all = append(ss.all, series{name: name})
		i = len(ss.all) - 1
	}
	s := &ss.all[i]
	s.x, s.y = append(s.x, x), append(s.y, y)
}
