package main

import (
	"time"

	"github.com/weirflow/weir/bench/figures"
)

// serveFigures is what report prints, as -json writes it.
func serveFigures(r *result, clients int, peakRSS int64) *figures.Serve {
	n := len(r.latencies)
	fig := &figures.Serve{
		Header:         figures.NewHeader("servebench"),
		Clients:        clients,
		DurationNs:     r.window.Nanoseconds(),
		OK:             n,
		Errors:         r.errors,
		RequestsPerSec: float64(n) / r.window.Seconds(),
		P50Ns:          pct(r.latencies, 50).Nanoseconds(),
		P90Ns:          pct(r.latencies, 90).Nanoseconds(),
		P99Ns:          pct(r.latencies, 99).Nanoseconds(),
		MaxNs:          pct(r.latencies, 100).Nanoseconds(),
		FloorNs:        floor.Nanoseconds(),
		LimitPerSec:    float64(clients) / floor.Seconds(),
		PeakRSS:        peakRSS,
		Published: []figures.Peer{
			{Name: "prompt flow, FastAPI (async)", RequestsPerSec: pfFastAPI, Clients: pfClients},
			{Name: "prompt flow, Flask", RequestsPerSec: pfFlask, Clients: pfClients},
		},
	}
	if n > 0 {
		var sum time.Duration
		for _, l := range r.latencies {
			sum += l
		}
		fig.MeanNs = (sum / time.Duration(n)).Nanoseconds()
	}
	if r.cpuOK {
		fig.ServerCPUNs = r.serverCPU.Nanoseconds()
	}
	return fig
}
