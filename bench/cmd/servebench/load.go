package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

// body is what each client posts: the flow's one input.
var body = []byte(`{"question":"What is weir?"}`)

// result is what the measured window saw.
type result struct {
	window    time.Duration
	latencies []time.Duration // of the 200 answers that came in the window, sorted
	errors    int             // non-200 answers and transport errors in the window
	firstErr  string          // one of them, to say what went wrong

	// CPU time over the window, of weir serve and of this process (load
	// generator and mock API); ok is false where /proc does not say.
	serverCPU, selfCPU time.Duration
	cpuOK              bool

	dials int64 // connections the clients opened to weir, warm-up included
}

// client is one closed-loop client's tally: no locks, merged at the end.
type client struct {
	latencies []time.Duration
	errors    int
	firstErr  string
}

// load runs c.clients closed-loop clients against url: each posts, waits
// for the answer, reads it, and posts again. Their first requests are
// spread over c.ramp, as a load tool's spawn rate does, so that they do not
// all stay in step. Answers that come during the c.duration after c.warmup
// are counted; when it ends, clients send no more and load waits for the
// requests in flight, so that the server stops with nothing to drain.
func load(ctx context.Context, url string, c config, serverPID int) (*result, error) {
	var dials atomic.Int64
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	hc := &http.Client{
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				dials.Add(1)
				return dialer.DialContext(ctx, network, addr)
			},
			MaxIdleConns:        c.clients,
			MaxIdleConnsPerHost: c.clients,
			MaxConnsPerHost:     0,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
		Timeout: time.Minute,
	}
	defer hc.CloseIdleConnections()

	start := time.Now()
	from := start.Add(c.warmup)
	to := from.Add(c.duration)
	tallies := make([]client, c.clients)
	var wg sync.WaitGroup
	for i := range tallies {
		t := &tallies[i]
		delay := c.ramp * time.Duration(i) / time.Duration(c.clients)
		wg.Go(func() {
			if !sleepUntil(ctx, start.Add(delay)) {
				return
			}
			for ctx.Err() == nil && time.Now().Before(to) {
				sent := time.Now()
				err := post(ctx, hc, url)
				done := time.Now()
				if done.Before(from) || !done.Before(to) {
					continue
				}
				if err != nil {
					t.errors++
					if t.firstErr == "" {
						t.firstErr = err.Error()
					}
					continue
				}
				t.latencies = append(t.latencies, done.Sub(sent))
			}
		})
	}

	res := &result{window: c.duration}
	var cpu0, self0 time.Duration
	var ok0 bool
	if sleepUntil(ctx, from) {
		cpu0, ok0 = cpuTime(serverPID)
		self0, _ = cpuTime(os.Getpid())
	}
	if sleepUntil(ctx, to) {
		cpu1, ok1 := cpuTime(serverPID)
		self1, _ := cpuTime(os.Getpid())
		res.serverCPU, res.selfCPU, res.cpuOK = cpu1-cpu0, self1-self0, ok0 && ok1
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, t := range tallies {
		res.latencies = append(res.latencies, t.latencies...)
		res.errors += t.errors
		if res.firstErr == "" {
			res.firstErr = t.firstErr
		}
	}
	slices.Sort(res.latencies)
	res.dials = dials.Load()
	return res, nil
}

// post sends one request and reads its answer whole, so that the
// connection is kept for the next one.
func post(ctx context.Context, hc *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	switch {
	case err != nil:
		return err
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("status %s: %s", resp.Status, bytes.TrimSpace(b))
	}
	return nil
}

func sleepUntil(ctx context.Context, t time.Time) bool {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// report prints the figures, the limit and the peers, and the verdict.
func report(r *result, clients int, peakRSS int64, api *mockAPI) {
	n := len(r.latencies)
	rps := float64(n) / r.window.Seconds()
	limit := float64(clients) / floor.Seconds()
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "requests/s\tp50\tp90\tp99\tmax\tok\terrors\t\n")
	fmt.Fprintf(tw, "%.1f\t%s\t%s\t%s\t%s\t%d\t%d\t\n", rps,
		ms(pct(r.latencies, 50)), ms(pct(r.latencies, 90)), ms(pct(r.latencies, 99)), ms(pct(r.latencies, 100)), n, r.errors)
	tw.Flush()
	if r.firstErr != "" {
		fmt.Printf("first error: %s\n", r.firstErr)
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
		var sum time.Duration
		for _, l := range r.latencies {
			sum += l
		}
		mean := sum / time.Duration(n)
		fmt.Printf("mean latency %s: %s over the %s floor\n", ms(mean), ms(mean-floor), floor)
	}
	if r.cpuOK {
		fmt.Printf("CPU over the window: weir serve %.1f s (%.0f µs a request), load generator and mock API %.1f s, of %.0f s on %d CPUs\n",
			r.serverCPU.Seconds(), perRequest(r.serverCPU, n), r.selfCPU.Seconds(), r.window.Seconds()*float64(runtime.NumCPU()), runtime.NumCPU())
	}
	if peakRSS > 0 {
		fmt.Printf("weir serve peak RSS: %.1f MiB\n", float64(peakRSS)/(1<<20))
	}
	fmt.Printf("connections, warm-up included: %d from the clients to weir, %d from weir to the mock API for its %d calls\n",
		r.dials, api.conns.Load(), api.served.Load())
	verdict := "met"
	if rps < targetShare*limit || pct(r.latencies, 99) > targetP99 || r.errors > 0 {
		verdict = "missed"
	}
	fmt.Printf("target: at least %.0f requests/s (%.0f%% of the limit), p99 at most %s, no errors: %s\n",
		targetShare*limit, 100*targetShare, ms(targetP99), verdict)
}

// pct is the p-th percentile of sorted, by nearest rank.
func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func perRequest(d time.Duration, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(d.Microseconds()) / float64(n)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }
