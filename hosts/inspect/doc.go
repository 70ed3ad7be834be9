// Package inspect is the run inspector: an http.Handler that serves web
// pages of weir's run record (the runs, a batch as it runs, one line's DAG
// and timeline, a flow's graph and its tools' contracts) and, inside
// weir serve, the deployments and the work pool.
//
// It reads the record through package engine/record and loads flows with
// the engine's public API; Graphviz, compiled to Wasm, lays out each
// flow's graph as SVG on the server. The pages are plain HTML, CSS and
// JavaScript embedded in the binary; they fetch JSON from the handler's
// api/ paths and follow a running batch through a stream of server-sent
// events. The handler is read-only: it answers GET and HEAD only.
//
// Routes, under the prefix the handler is mounted at (/ui/ in weir serve
// and weir ui):
//
//	/                              the runs, newest first
//	run.html?run=ID                a batch: progress, latency, nodes, lines
//	line.html?run=ID&line=N        one line: DAG, timeline, each node's data
//	flow.html?run=ID               the flow a run ran, as it was snapshotted
//	flow.html?flow=F&version=V     a version weir serve has deployed
//	deployments.html               deployments and the pool (weir serve)
//	api/runs[?status=S&flow=F]     the runs as JSON
//	api/runs/ID                    a run, its metrics, lines and latencies
//	api/runs/ID/events             its progress as server-sent events
//	api/runs/ID/lines/N            one line: inputs, outputs, nodes, logs
//	api/runs/ID/flow               the run's flow: inputs, nodes, contracts
//	api/runs/ID/graph.svg          the run's flow laid out by Graphviz
//	api/deployments, api/pool      what weir serve passes in, when it does
//	api/deployments/F/V/flow       a deployed version's flow, and graph.svg
//
// # Security
//
// Every answer carries a Content-Security-Policy that allows only the
// handler's own scripts, styles and fetches: the pages have no inline
// script or event handler. Without Options.Token the handler answers only
// requests whose Host is a loopback address or localhost (as the admin
// API does without a token, against DNS rebinding); with one, every
// request needs it, as a bearer token or as the password of HTTP basic
// authentication, which a browser asks for.
package inspect
