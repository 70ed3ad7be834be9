// Command servebench runs prompt flow's published serving scenario
// (benchmark/promptflow-serve in its repository) against weir serve, and
// prints weir's requests per second next to the scenario's arithmetic
// limit and prompt flow's own figures:
//
//   - the flow (bench/testdata/serve-flow.cue.tmpl): three nodes that wait
//     250 ms each, in parallel, then a builtin.http node that takes their
//     values and calls a mock API that answers after 1 s;
//   - the mock API: an HTTP server on loopback in this process;
//   - the server: the real weir binary, built first (CGO_ENABLED=0), running
//     weir serve --max-concurrent 2000 on the flow as a child process;
//   - the load: a closed loop in this process, 500 clients that each POST
//     /score and, once answered, POST again, for 30 s after a 3 s warm-up;
//     their first requests are spread over one 1.25 s cycle (-ramp), as
//     a load tool's spawn rate would, or they would stay in step.
//
// A request cannot take less than 1.25 s, so 500 clients cannot make more
// than 400 requests per second: weir's target is 95% of that, 380, with a
// p99 latency of at most 1.4 s, on the same machine as the load generator
// and the mock API. Prompt flow published 166 requests per second (FastAPI,
// async) and 41 (Flask) for the same scenario.
//
// Run it from anywhere in the repository; -quick is a smoke run of 50
// clients for 5 s; -json FILE also writes the figures as JSON
// (bench/figures.Serve), for bench/cmd/report:
//
//	go run ./bench/cmd/servebench
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/weirflow/weir/bench"
	"github.com/weirflow/weir/bench/figures"
)

// The scenario: what a request costs at the least, and what prompt flow
// published for it.
const (
	nodeSleep = 250 * time.Millisecond
	apiDelay  = time.Second
	floor     = nodeSleep + apiDelay

	pfFastAPI = 166.0 // requests/s, prompt flow serving with FastAPI (async)
	pfFlask   = 41.0  // requests/s, prompt flow serving with Flask
	pfClients = 500   // the concurrent users of prompt flow's runs

	// The targets: a share of the arithmetic limit, and a p99 latency.
	targetShare = 0.95
	targetP99   = 1400 * time.Millisecond
)

type config struct {
	clients          int
	duration, warmup time.Duration
	ramp             time.Duration
	cpuProfile       string
	jsonFile         string
}

func main() {
	var c config
	flag.IntVar(&c.clients, "clients", 500, "concurrent clients, each sending one request at a time")
	flag.DurationVar(&c.duration, "duration", 30*time.Second, "how long the measured load lasts")
	flag.DurationVar(&c.warmup, "warmup", 3*time.Second, "load before the measurement, not counted")
	flag.DurationVar(&c.ramp, "ramp", floor, "spread the clients' first requests over this long (0: all at once)")
	flag.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of this process (load generator and mock API) to `FILE`")
	flag.StringVar(&c.jsonFile, "json", "", "also write the figures as JSON to `FILE`")
	quick := flag.Bool("quick", false, "a smoke run: 50 clients for 5 s unless -clients or -duration is given")
	flag.Parse()
	if *quick {
		if !bench.FlagSet("clients") {
			c.clients = 50
		}
		if !bench.FlagSet("duration") {
			c.duration = 5 * time.Second
		}
	}
	if c.clients < 1 || c.duration <= 0 || c.warmup < 0 || c.ramp < 0 {
		fmt.Fprintln(os.Stderr, "servebench: -clients and -duration must be positive, -warmup and -ramp not negative")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "servebench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) (err error) {
	root, err := bench.ModuleRoot()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "servebench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	api, err := startMockAPI(apiDelay)
	if err != nil {
		return err
	}
	defer api.close()
	flow, err := writeFlow(root, dir, api)
	if err != nil {
		return err
	}
	exe := filepath.Join(dir, "weir")
	if err := bench.BuildWeir(ctx, root, exe); err != nil {
		return err
	}
	if err := validate(ctx, exe, flow); err != nil {
		return err
	}
	srv, err := startServe(ctx, exe, flow)
	if err != nil {
		return err
	}
	defer srv.kill()

	fmt.Printf("weir serve: prompt flow's serving scenario (%s/%s, %d CPUs, %s)\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	fmt.Printf("flow: 3 parallel builtin.sleep nodes of %s, then builtin.http to a mock API answering after %s\n", nodeSleep, apiDelay)
	fmt.Printf("load: %d closed-loop clients on POST /score, %s measured after a %s warm-up; weir, load and mock API share the machine\n\n", c.clients, c.duration, c.warmup)

	if c.cpuProfile != "" {
		f, err := os.Create(c.cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			err = errors.Join(err, f.Close())
		}()
	}
	res, err := measure(ctx, srv.url+"/score", c, srv.pid())
	if err != nil {
		return err
	}
	peak := srv.peakRSS() // before it stops: /proc forgets it after
	code, err := srv.stop(30 * time.Second)
	if err != nil {
		return err
	}
	report(res, c.clients, peak, api)
	if c.jsonFile != "" {
		if err := figures.Write(c.jsonFile, serveFigures(res, c.clients, peak)); err != nil {
			return err
		}
	}
	if code != 0 {
		return fmt.Errorf("weir serve exited %d after SIGTERM, not 0:\n%s", code, srv.stderr())
	}
	fmt.Println("weir serve exited 0 after SIGTERM")
	return nil
}
