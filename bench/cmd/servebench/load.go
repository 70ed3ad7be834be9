package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/weirflow/weir/bench/load"
)

// body is what each client posts: the flow's one input.
var body = []byte(`{"question":"What is weir?"}`)

// result is what the measured window saw.
type result struct {
	*load.Result[struct{}]

	// CPU time over the window, of weir serve and of this process (load
	// generator and mock API); ok is false where /proc does not say.
	serverCPU, selfCPU time.Duration
	cpuOK              bool

	dials int64 // connections the clients opened to weir, warm-up included
}

// measure puts c.clients closed-loop clients on url: each posts, waits for the
// answer, reads it, and posts again. Their first requests are spread over
// c.ramp, as a load tool's spawn rate does, so that they do not all stay
// in step. Answers that come during the c.duration after c.warmup are
// counted; when it ends, clients send no more and the load waits for the
// requests in flight, so that the server stops with nothing to drain.
func measure(ctx context.Context, url string, c config, serverPID int) (*result, error) {
	var dials atomic.Int64
	hc := load.NewHTTPClient(c.clients, time.Minute, &dials)
	defer hc.CloseIdleConnections()

	res := &result{}
	var cpu0, self0 time.Duration
	var ok0 bool
	mark := func(open bool) {
		cpu, ok := cpuTime(serverPID)
		self, _ := cpuTime(os.Getpid())
		if open {
			cpu0, self0, ok0 = cpu, self, ok
			return
		}
		res.serverCPU, res.selfCPU, res.cpuOK = cpu-cpu0, self-self0, ok0 && ok
	}
	opts := load.Options{Clients: c.clients, WarmupTime: c.warmup, Duration: c.duration, Ramp: c.ramp, Mark: mark}
	r, err := load.Run(ctx, opts, func(ctx context.Context, _ int) (struct{}, error) {
		_, err := load.Post(ctx, hc, url, body)
		return struct{}{}, err
	})
	if err != nil {
		return nil, err
	}
	res.Result = r
	res.dials = dials.Load()
	return res, nil
}

// report prints the figures, the limit and the peers, and the verdict.
func report(r *result, clients int, peakRSS int64, api *mockAPI) {
	n := len(r.Latencies)
	rps := r.Rate()
	limit := float64(clients) / floor.Seconds()
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "requests/s\tp50\tp90\tp99\tmax\tok\terrors\t\n")
	fmt.Fprintf(tw, "%.1f\t%s\t%s\t%s\t%s\t%d\t%d\t\n", rps,
		ms(load.Percentile(r.Latencies, 50)), ms(load.Percentile(r.Latencies, 90)), ms(load.Percentile(r.Latencies, 99)), ms(load.Percentile(r.Latencies, 100)), n, r.Errors)
	tw.Flush()
	if r.FirstErr != nil {
		fmt.Printf("first error: %s\n", r.FirstErr)
	}
	fmt.Println()

	tw = tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "against\trequests/s\tweir's ratio\t\n")
	fmt.Fprintf(tw, "arithmetic limit (%d clients / %s)\t%.1f\t%.3f\t\n", clients, floor, limit, rps/limit)
	fmt.Fprintf(tw, "prompt flow, FastAPI (async), published\t%.0f\t%.2fx\t\n", pfFastAPI, rps/pfFastAPI)
	fmt.Fprintf(tw, "prompt flow, Flask, published\t%.0f\t%.2fx\t\n", pfFlask, rps/pfFlask)
	tw.Flush()
	if clients != pfClients {
		fmt.Printf("(prompt flow's figures are for %d clients, not %d)\n", pfClients, clients)
	}
	fmt.Println()

	if n > 0 {
		mean := load.Mean(r.Latencies)
		fmt.Printf("mean latency %s: %s over the %s floor\n", ms(mean), ms(mean-floor), floor)
	}
	if r.cpuOK {
		fmt.Printf("CPU over the window: weir serve %.1f s (%.0f µs a request), load generator and mock API %.1f s, of %.0f s on %d CPUs\n",
			r.serverCPU.Seconds(), perRequest(r.serverCPU, n), r.selfCPU.Seconds(), r.Window.Seconds()*float64(runtime.NumCPU()), runtime.NumCPU())
	}
	if peakRSS > 0 {
		fmt.Printf("weir serve peak RSS: %.1f MiB\n", float64(peakRSS)/(1<<20))
	}
	fmt.Printf("connections, warm-up included: %d from the clients to weir, %d from weir to the mock API for its %d calls\n",
		r.dials, api.conns.Load(), api.served.Load())
	verdict := "met"
	if rps < targetShare*limit || load.Percentile(r.Latencies, 99) > targetP99 || r.Errors > 0 {
		verdict = "missed"
	}
	fmt.Printf("target: at least %.0f requests/s (%.0f%% of the limit), p99 at most %s, no errors: %s\n",
		targetShare*limit, 100*targetShare, ms(targetP99), verdict)
}

func perRequest(d time.Duration, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(d.Microseconds()) / float64(n)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }
