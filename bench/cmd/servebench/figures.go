package main

import (
	"github.com/weirflow/weir/bench/figures"
	"github.com/weirflow/weir/bench/load"
)

// serveFigures is what report prints, as -json writes it.
func serveFigures(r *result, clients int, peakRSS int64) *figures.Serve {
	n := len(r.Latencies)
	fig := &figures.Serve{
		Header:         figures.NewHeader("servebench"),
		Clients:        clients,
		DurationNs:     r.Window.Nanoseconds(),
		OK:             n,
		Errors:         r.Errors,
		RequestsPerSec: r.Rate(),
		P50Ns:          load.Percentile(r.Latencies, 50).Nanoseconds(),
		P90Ns:          load.Percentile(r.Latencies, 90).Nanoseconds(),
		P99Ns:          load.Percentile(r.Latencies, 99).Nanoseconds(),
		MaxNs:          load.Percentile(r.Latencies, 100).Nanoseconds(),
		FloorNs:        floor.Nanoseconds(),
		LimitPerSec:    float64(clients) / floor.Seconds(),
		PeakRSS:        peakRSS,
		Published: []figures.Peer{
			{Name: "prompt flow, FastAPI (async)", RequestsPerSec: pfFastAPI, Clients: pfClients},
			{Name: "prompt flow, Flask", RequestsPerSec: pfFlask, Clients: pfClients},
		},
	}
	if n > 0 {
		fig.MeanNs = load.Mean(r.Latencies).Nanoseconds()
	}
	if r.cpuOK {
		fig.ServerCPUNs = r.serverCPU.Nanoseconds()
	}
	return fig
}
