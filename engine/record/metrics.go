package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/weirflow/weir/engine"
)

// Metrics is what a finished run did: the Go form of its metrics.json. Its
// JSON encoding is that file's: durations in milliseconds (fields ending in
// _ms), names in snake_case.
type Metrics struct {
	RunID  string
	Flow   string
	Status engine.Status
	Error  string
	Lines  LineCounts
	// Duration is the batch's, from its start to its end.
	Duration time.Duration
	// LinesPerSecond is Lines.Ran over Duration.
	LinesPerSecond float64
	// Latency is over the lines this run ran.
	Latency engine.Latency
	// Nodes are the per-line nodes in flow order.
	Nodes []engine.NodeStats
	// Aggregates maps each aggregate node that succeeded to its outputs;
	// nil when the flow has none.
	Aggregates json.RawMessage
	// AggregateNodes are the aggregate nodes' results; only Node, Tool,
	// Status, Attempts, Duration and Error are kept.
	AggregateNodes []engine.NodeResult
	// Metrics is the flat object of the metrics the aggregate nodes logged
	// (engine.BatchSummary.Metrics): prompt flow's metrics.json. Nil when
	// they logged none.
	Metrics json.RawMessage
}

// LineCounts count a run's lines.
type LineCounts struct {
	Total     int // Ran + Carried
	Ran       int // Succeeded + Failed: the lines of outputs.jsonl
	Succeeded int
	Failed    int
	Carried   int // done by the runs this one resumes
}

// msec is a duration that encodes as a number of milliseconds.
type msec time.Duration

func (d msec) MarshalJSON() ([]byte, error) { return appendMS(nil, time.Duration(d)), nil }

func (d *msec) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("milliseconds: %s is not a number", b)
	}
	*d = msec(fromMS(f))
	return nil
}

type latencyJSON struct {
	P50 msec `json:"p50"`
	P95 msec `json:"p95"`
	P99 msec `json:"p99"`
	Max msec `json:"max"`
}

func toLatencyJSON(l engine.Latency) latencyJSON {
	return latencyJSON{msec(l.P50), msec(l.P95), msec(l.P99), msec(l.Max)}
}

func (l latencyJSON) latency() engine.Latency {
	return engine.Latency{P50: time.Duration(l.P50), P95: time.Duration(l.P95), P99: time.Duration(l.P99), Max: time.Duration(l.Max)}
}

type metricsJSON struct {
	RunID  string        `json:"run_id"`
	Flow   string        `json:"flow"`
	Status engine.Status `json:"status"`
	Error  string        `json:"error,omitempty"`
	Lines  struct {
		Total     int `json:"total"`
		Ran       int `json:"ran"`
		Succeeded int `json:"succeeded"`
		Failed    int `json:"failed"`
		Carried   int `json:"carried"`
	} `json:"lines"`
	Duration       msec                `json:"duration_ms"`
	LinesPerSecond float64             `json:"lines_per_second"`
	Latency        latencyJSON         `json:"latency_ms"`
	Nodes          []nodeStatsJSON     `json:"nodes"`
	Aggregates     json.RawMessage     `json:"aggregates,omitempty"`
	AggregateNodes []aggregateNodeJSON `json:"aggregate_nodes,omitempty"`
	Metrics        json.RawMessage     `json:"metrics,omitempty"`
}

type nodeStatsJSON struct {
	Node     string      `json:"node"`
	Runs     int         `json:"runs"`
	Failed   int         `json:"failed"`
	Bypassed int         `json:"bypassed"`
	Canceled int         `json:"canceled"`
	Cached   int         `json:"cached,omitempty"`
	Latency  latencyJSON `json:"latency_ms"`
	// Tokens, when the node's tool reported usage.
	InputTokens  int64 `json:"input_tokens,omitempty"`
	OutputTokens int64 `json:"output_tokens,omitempty"`
}

type aggregateNodeJSON struct {
	Node     string        `json:"node"`
	Tool     string        `json:"tool"`
	Status   engine.Status `json:"status"`
	Attempts int           `json:"attempts"`
	Duration msec          `json:"duration_ms"`
	Error    string        `json:"error,omitempty"`
}

// MarshalJSON encodes m as metrics.json has it.
func (m Metrics) MarshalJSON() ([]byte, error) {
	j := metricsJSON{
		RunID: m.RunID, Flow: m.Flow, Status: m.Status, Error: m.Error,
		Duration: msec(m.Duration), LinesPerSecond: m.LinesPerSecond, Latency: toLatencyJSON(m.Latency),
		Nodes: make([]nodeStatsJSON, len(m.Nodes)), Aggregates: m.Aggregates, Metrics: m.Metrics,
	}
	j.Lines.Total, j.Lines.Ran, j.Lines.Succeeded, j.Lines.Failed, j.Lines.Carried =
		m.Lines.Total, m.Lines.Ran, m.Lines.Succeeded, m.Lines.Failed, m.Lines.Carried
	for i, n := range m.Nodes {
		j.Nodes[i] = nodeStatsJSON{n.Node, n.Runs, n.Failed, n.Bypassed, n.Canceled, n.Cached, toLatencyJSON(n.Latency), n.InputTokens, n.OutputTokens}
	}
	for _, n := range m.AggregateNodes {
		j.AggregateNodes = append(j.AggregateNodes, aggregateNodeJSON{n.Node, n.Tool, n.Status, n.Attempts, msec(n.Duration), n.Error})
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes metrics.json.
func (m *Metrics) UnmarshalJSON(b []byte) error {
	var j metricsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*m = Metrics{
		RunID: j.RunID, Flow: j.Flow, Status: j.Status, Error: j.Error,
		Lines:    LineCounts{j.Lines.Total, j.Lines.Ran, j.Lines.Succeeded, j.Lines.Failed, j.Lines.Carried},
		Duration: time.Duration(j.Duration), LinesPerSecond: j.LinesPerSecond, Latency: j.Latency.latency(),
	}
	var err error
	if m.Aggregates, err = compact(j.Aggregates); err != nil {
		return err
	}
	if m.Metrics, err = compact(j.Metrics); err != nil {
		return err
	}
	for _, n := range j.Nodes {
		m.Nodes = append(m.Nodes, engine.NodeStats{Node: n.Node, Runs: n.Runs, Failed: n.Failed, Bypassed: n.Bypassed, Canceled: n.Canceled, Cached: n.Cached, Latency: n.Latency.latency(),
			InputTokens: n.InputTokens, OutputTokens: n.OutputTokens})
	}
	for _, n := range j.AggregateNodes {
		m.AggregateNodes = append(m.AggregateNodes, engine.NodeResult{Node: n.Node, Tool: n.Tool, Status: n.Status, Attempts: n.Attempts, Duration: time.Duration(n.Duration), Error: n.Error})
	}
	return nil
}

// compact returns v without spaces; nil for nothing.
func compact(v json.RawMessage) (json.RawMessage, error) {
	if len(v) == 0 {
		return nil, nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeMetrics writes metrics.json from the summary of the batch and the
// counts of the record, atomically.
func (r *Run) writeMetrics(sum *engine.BatchSummary, status engine.Status, msg string) error {
	ran := r.done.succeeded + r.done.failed
	m := Metrics{
		RunID: r.id, Flow: sum.Flow, Status: status, Error: msg,
		Lines:    LineCounts{Total: ran + sum.Carried, Ran: ran, Succeeded: r.done.succeeded, Failed: r.done.failed, Carried: sum.Carried},
		Duration: sum.Duration, Latency: sum.Latency, Nodes: sum.Nodes,
		Aggregates: sum.Aggregates, AggregateNodes: sum.AggregateNodes, Metrics: sum.Metrics,
	}
	if s := sum.Duration.Seconds(); s > 0 {
		m.LinesPerSecond = float64(ran) / s
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("write metrics.json: %w", err)
	}
	path := filepath.Join(r.dir, "metrics.json")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write metrics.json: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write metrics.json: %w", err)
	}
	return nil
}

// Metrics returns the metrics of the finished run id. A run that did not
// finish (running, interrupted, never started) has none: the error wraps
// ErrNoMetrics.
func (s *Store) Metrics(id string) (*Metrics, error) {
	in, err := s.Get(id)
	if err != nil {
		return nil, err
	}
	if unfinished(in.Status) {
		return nil, errorf(ErrNoMetrics, "run %q has no metrics yet: it is still running", id)
	}
	b, err := os.ReadFile(filepath.Join(in.Dir, "metrics.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errorf(ErrNoMetrics, "run %q has no metrics: it did not finish", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read metrics of run %q: %w", id, err)
	}
	var m Metrics
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, damaged(id, "metrics.json: %v", err)
	}
	return &m, nil
}
