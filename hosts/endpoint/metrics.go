package endpoint

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/weirflow/weir/engine"
)

// metrics are the server's Prometheus metrics, in a registry of its own so
// that two servers in one process do not collide.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.HistogramVec // route, code
	nodes    *prometheus.HistogramVec // flow, node, status
	runs     *prometheus.CounterVec   // flow, version, status
	handler  http.Handler
}

func newMetrics(s *Server) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "weir_http_request_duration_seconds",
			Help:    "Latency of HTTP requests by route and status code; 499 is a client that went away.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"route", "code"}),
		nodes: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "weir_node_duration_seconds",
			Help:    "Latency of the nodes that ran, by flow, node and status.",
			Buckets: []float64{.0001, .0005, .001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"flow", "node", "status"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weir_runs_total",
			Help: "Runs by flow, version and status.",
		}, []string{"flow", "version", "status"}),
	}
	m.reg.MustRegister(m.requests, m.nodes, m.runs,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "weir_runs_in_flight",
			Help: "Runs in progress, those whose request body is being read included.",
		}, func() float64 { return float64(s.inflight.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "weir_bundles_loading",
			Help: "Bundles being extracted and loaded (plugins described, contracts checked), from uploads or DeployBundle.",
		}, func() float64 { return float64(s.uploads.loading.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "weir_ready",
			Help: "1 when the server is ready for traffic (see /readyz).",
		}, func() float64 {
			if s.Ready() {
				return 1
			}
			return 0
		}),
		pluginCollector{
			e: s.opts.Engine,
			instances: prometheus.NewDesc("weir_plugin_instances",
				"Instances of each Wasm plugin and processes of each go-plugin the engine opened; state is live (all of them) or idle (Wasm instances waiting for a call).",
				[]string{"kind", "plugin", "state"}, nil),
		},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return m
}

// observe records a run's nodes and outcome on version v.
func (v *version) observe(res *engine.Result) {
	if res == nil {
		return
	}
	v.runs[statusIndex(res.Status)].Inc()
	for i, n := range res.Nodes {
		if n.Start.IsZero() || i >= v.nodes {
			continue // bypassed, or never started
		}
		v.nodeObs[i*len(statuses)+statusIndex(n.Status)].Observe(n.Duration.Seconds())
	}
}

// pluginCollector reports the engine's plugin pools at each scrape.
type pluginCollector struct {
	e         *engine.Engine
	instances *prometheus.Desc
}

func (c pluginCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.instances }

func (c pluginCollector) Collect(ch chan<- prometheus.Metric) {
	// The engine opens a file once per set of options, so two flows may
	// hold two plugins of one label: a series must be unique, so theirs
	// add up, or every scrape would fail.
	type series struct {
		kind, plugin string
		live, idle   int
	}
	var all []*series
	byLabel := map[[2]string]*series{}
	for _, p := range c.e.Plugins() {
		// The plugin's name, never its path, which would tell a scraper
		// where the server keeps its files.
		k := [2]string{p.Kind, p.Name}
		sr := byLabel[k]
		if sr == nil {
			sr = &series{kind: p.Kind, plugin: p.Name}
			byLabel[k] = sr
			all = append(all, sr)
		}
		sr.live += p.Live
		sr.idle += p.Idle
	}
	for _, sr := range all {
		ch <- prometheus.MustNewConstMetric(c.instances, prometheus.GaugeValue, float64(sr.live), sr.kind, sr.plugin, "live")
		if sr.kind == "wasm" {
			ch <- prometheus.MustNewConstMetric(c.instances, prometheus.GaugeValue, float64(sr.idle), sr.kind, sr.plugin, "idle")
		}
	}
}
