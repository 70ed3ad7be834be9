package inspect

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/engine/record"
	"github.com/weirflow/weir/plugins"
)

// lineJSON is one line of a run, as the page of a line shows it.
type lineJSON struct {
	Run        runJSON         `json:"run"`
	Line       int             `json:"line"`
	Status     engine.Status   `json:"status"`
	DurationMS float64         `json:"duration_ms"`
	Started    *time.Time      `json:"started,omitempty"`
	Outputs    json.RawMessage `json:"outputs,omitempty"`
	Error      string          `json:"error,omitempty"`
	ErrorKind  string          `json:"error_kind,omitempty"`
	Inputs     json.RawMessage `json:"inputs,omitempty"`
	Nodes      []lineNodeJSON  `json:"nodes"`
	TraceID    string          `json:"trace_id,omitempty"`
	TraceURL   string          `json:"trace_url,omitempty"`
}

// lineNodeJSON is what one node did in the line.
type lineNodeJSON struct {
	Node       string         `json:"node"`
	Tool       string         `json:"tool"`
	Status     engine.Status  `json:"status"`
	Attempts   int            `json:"attempts"`
	StartMS    *float64       `json:"start_ms,omitempty"` // nil when it never started
	DurationMS float64        `json:"duration_ms"`
	Cached     bool           `json:"cached,omitempty"`
	Error      string         `json:"error,omitempty"`
	Usage      *plugins.Usage `json:"usage,omitempty"`
	// Inputs and Outputs are there when the run kept the node's values.
	Inputs  json.RawMessage `json:"inputs,omitempty"`
	Outputs json.RawMessage `json:"outputs,omitempty"`
	// Logs are the lines its tool logged, kept as its values are.
	Logs []engine.LogLine `json:"logs,omitempty"`
}

func toLineJSON(l record.Line) lineJSON {
	j := lineJSON{
		Line: l.Line, Status: l.Status, DurationMS: ms(l.Duration), Outputs: l.Outputs,
		Inputs: l.Inputs, Nodes: []lineNodeJSON{}, TraceID: l.TraceID,
	}
	if !l.Started.IsZero() {
		j.Started = &l.Started
	}
	j.Error, j.ErrorKind = lineError(l.Err)
	for _, n := range l.Nodes {
		nj := lineNodeJSON{
			Node: n.Node, Tool: n.Tool, Status: n.Status, Attempts: n.Attempts, DurationMS: ms(n.Duration),
			Cached: n.Cached, Error: n.Error, Usage: n.Usage, Inputs: n.Inputs, Outputs: n.Outputs, Logs: n.Logs,
		}
		if n.HasStart {
			start := ms(n.Start)
			nj.StartMS = &start
		}
		j.Nodes = append(j.Nodes, nj)
	}
	return j
}

// lineError returns the text and the kind of a failed line's error; ""
// for a line that succeeded, and no kind for one an older weir recorded.
func lineError(err error) (msg, kind string) {
	var le *engine.LineError
	if !errors.As(err, &le) {
		return "", ""
	}
	if le.Kind != engine.UnknownFailure {
		kind = le.Kind.String()
	}
	return le.Err.Error(), kind
}
