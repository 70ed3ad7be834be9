package endpoint

import (
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/weirflow/weir/engine"
)

// metrics are the server's Prometheus metrics, in a registry of its own so
// that two servers in one process do not collide. A series is made when it
// has something to count, never beforehand: a deployed flow adds none until
// it runs, and a node only the statuses it ended in.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.HistogramVec // method, route, code
	grpc     *prometheus.HistogramVec // method, code
	runs     *prometheus.CounterVec   // protocol, flow, version, status
	runTime  *prometheus.HistogramVec // protocol, flow, version, status
	nodeTime *prometheus.HistogramVec // flow, node, tool, plugin, status
	attempts *prometheus.CounterVec   // flow, node, tool, plugin
	retries  *prometheus.CounterVec   // flow, node, tool, plugin
	tokens   *prometheus.CounterVec   // plugin, type
	handler  http.Handler

	// nodes holds the series of each node that ran, by nodeKey: resolved
	// once, not per run.
	nodes sync.Map
}

// durations are the buckets of the run and node histograms, in seconds:
// from a builtin tool's tenth of a millisecond to a model's minute.
var durations = []float64{.0001, .0005, .001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

func newMetrics(s *Server) *metrics {
	node := []string{"flow", "node", "tool", "plugin"}
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "weir_http_request_duration_seconds",
			Help:    "Latency of HTTP requests by method, route and status code; 499 is a client that went away, route other a path no route has.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"method", "route", "code"}),
		grpc: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "weir_grpc_request_duration_seconds",
			Help:    "Latency of gRPC calls by method (/package.Service/Method) and status code (OK, NOT_FOUND, ...).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"method", "code"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weir_runs_total",
			Help: "Runs by the protocol of their request (http, grpc), flow, version and status.",
		}, []string{"protocol", "flow", "version", "status"}),
		runTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "weir_run_duration_seconds",
			Help:    "Latency of runs, from the inputs' check to the outputs, by the protocol of their request (http, grpc), flow, version and status.",
			Buckets: durations,
		}, []string{"protocol", "flow", "version", "status"}),
		nodeTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "weir_node_duration_seconds",
			Help:    "Latency of the nodes that ran, their retries included, by flow (a sub-flow's own name for its nodes), node, tool, plugin and status.",
			Buckets: durations,
		}, append(node, "status")),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weir_node_attempts_total",
			Help: "Calls of the nodes' tools, first attempts and retries, by flow, node, tool and plugin.",
		}, node),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weir_node_retries_total",
			Help: "Calls of the nodes' tools after a failed attempt, by flow, node, tool and plugin.",
		}, node),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weir_tokens_total",
			Help: "Tokens that the tools' calls of models used, as the tools reported them (builtin.llm does), by plugin and type (input or output).",
		}, []string{"plugin", "type"}),
	}
	m.reg.MustRegister(m.requests, m.grpc, m.runs, m.runTime, m.nodeTime, m.attempts, m.retries, m.tokens,
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

// observe records a run of version v that a request of protocol asked
// for, its nodes and its sub-flows'.
func (m *metrics) observe(protocol string, v *version, res *engine.Result) {
	if res == nil {
		return
	}
	st := string(res.Status)
	m.runs.WithLabelValues(protocol, v.flow.Name(), v.name, st).Inc()
	m.runTime.WithLabelValues(protocol, v.flow.Name(), v.name, st).Observe(res.Duration.Seconds())
	m.observeNodes(res)
}

// observeNodes records the nodes of a run that ran, and those of its
// sub-flows under their own flow's name.
func (m *metrics) observeNodes(res *engine.Result) {
	for _, n := range res.Nodes {
		if n.Start.IsZero() {
			continue // bypassed, or never started
		}
		m.series(nodeKey{res.Flow, n.Node, n.Tool, n.Plugin}).observe(n)
		if u := n.Usage; u != nil {
			m.tokens.WithLabelValues(n.Plugin, "input").Add(float64(u.InputTokens))
			m.tokens.WithLabelValues(n.Plugin, "output").Add(float64(u.OutputTokens))
		}
		if sub := res.Subflows[n.Node]; sub != nil {
			m.observeNodes(sub)
		}
	}
}

// nodeKey names a node's series.
type nodeKey struct{ flow, node, tool, plugin string }

// nodeSeries are the series of one node.
type nodeSeries struct {
	m        *metrics
	key      nodeKey
	attempts prometheus.Counter
	byStatus sync.Map // engine.Status -> prometheus.Observer
	retries  atomic.Pointer[prometheus.Counter]
}

func (m *metrics) series(k nodeKey) *nodeSeries {
	if ns, ok := m.nodes.Load(k); ok {
		return ns.(*nodeSeries)
	}
	ns, _ := m.nodes.LoadOrStore(k, &nodeSeries{m: m, key: k, attempts: m.attempts.WithLabelValues(k.flow, k.node, k.tool, k.plugin)})
	return ns.(*nodeSeries)
}

func (ns *nodeSeries) observe(n engine.NodeResult) {
	k := ns.key
	o, ok := ns.byStatus.Load(n.Status)
	if !ok {
		o, _ = ns.byStatus.LoadOrStore(n.Status, ns.m.nodeTime.WithLabelValues(k.flow, k.node, k.tool, k.plugin, string(n.Status)))
	}
	o.(prometheus.Observer).Observe(n.Duration.Seconds())
	ns.attempts.Add(float64(n.Attempts))
	if n.Attempts > 1 {
		r := ns.retries.Load()
		if r == nil {
			c := ns.m.retries.WithLabelValues(k.flow, k.node, k.tool, k.plugin)
			ns.retries.CompareAndSwap(nil, &c)
			r = ns.retries.Load()
		}
		(*r).Add(float64(n.Attempts - 1))
	}
}

// methodLabel is the method label of a request: one of HTTP's methods, or
// _OTHER, as OpenTelemetry's conventions say, so that a client cannot
// make series of its own.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return method
	}
	return "_OTHER"
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
