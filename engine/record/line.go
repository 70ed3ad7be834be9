package record

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/internal/jsonscan"
	"github.com/weirflow/weir/plugins"
)

// Line is one dataset line of a run with what each of its nodes did: what
// an inspector shows of one run.
type Line struct {
	Output // its line of outputs.jsonl
	// Inputs are the flow inputs the line ran with; nil when it had none
	// (its inputs could not be built).
	Inputs json.RawMessage
	// Nodes are the line's nodes in flow order; nil when none ran.
	Nodes []Node
}

// Node is what one node did in a line: an entry of nodes.jsonl.
type Node struct {
	Node, Tool string
	Status     engine.Status
	Attempts   int
	// Start is the time from the line's start to the node's first
	// attempt, when HasStart: not for a node that never started
	// (bypassed, or canceled first), nor in records of older weirs.
	Start    time.Duration
	HasStart bool
	Duration time.Duration
	Cached   bool   // the outputs came from the node cache
	Error    string // why the node failed
	Usage    *plugins.Usage
	// Inputs and Outputs are the node's values, redacted, when the run
	// recorded them (see StartBatch and the package doc); nil otherwise.
	Inputs, Outputs json.RawMessage
	// Logs are the lines its tool logged, recorded as its values are.
	Logs []engine.LogLine
}

// nodeEntry is a Node as nodes.jsonl writes it.
type nodeEntry struct {
	Node       string           `json:"node"`
	Tool       string           `json:"tool"`
	Status     engine.Status    `json:"status"`
	Attempts   int              `json:"attempts"`
	StartMS    *float64         `json:"start_ms"`
	DurationMS float64          `json:"duration_ms"`
	Error      string           `json:"error"`
	Usage      *plugins.Usage   `json:"usage"`
	Cached     bool             `json:"cached"`
	Inputs     json.RawMessage  `json:"inputs"`
	Outputs    json.RawMessage  `json:"outputs"`
	Logs       []engine.LogLine `json:"logs"`
}

var nodesField = []jsonscan.Step{{Key: "nodes"}}

// Line returns dataset line n of run id as its files hold it. The line
// must have ended (be in outputs.jsonl): a line not there is an error
// wrapping ErrNoLine, an unknown run ErrNotFound, a missing file or a
// malformed line of the run's files ErrDamaged. It reads the three files
// from the start, as far as line n, and is safe to call while the run is
// running.
func (s *Store) Line(id string, n int) (Line, error) {
	in, err := s.Get(id)
	if err != nil {
		return Line{}, err
	}
	var l Line
	b, err := s.findLine(in, "outputs.jsonl", n)
	if err != nil {
		return Line{}, err
	}
	if b == nil {
		return Line{}, errorf(ErrNoLine, "run %q has no line %d", id, n)
	}
	if l.Output, err = parseOutput(b, true); err != nil {
		return Line{}, damaged(id, "outputs.jsonl: line %d: %v", n, err)
	}
	if b, err = s.findLine(in, "inputs.jsonl", n); err != nil {
		return Line{}, err
	}
	if b != nil {
		v, _ := jsonscan.Select(b, inputsField)
		l.Inputs = json.RawMessage(bytes.Clone(v))
	}
	if b, err = s.findLine(in, "nodes.jsonl", n); err != nil {
		return Line{}, err
	}
	if b != nil {
		v, _ := jsonscan.Select(b, nodesField)
		var entries []nodeEntry
		if err := json.Unmarshal(v, &entries); err != nil {
			return Line{}, damaged(id, "nodes.jsonl: line %d: %v", n, err)
		}
		l.Nodes = make([]Node, len(entries))
		for i, e := range entries {
			l.Nodes[i] = Node{
				Node: e.Node, Tool: e.Tool, Status: e.Status, Attempts: e.Attempts,
				Duration: fromMS(e.DurationMS), Cached: e.Cached, Error: e.Error, Usage: e.Usage,
				Inputs: e.Inputs, Outputs: e.Outputs, Logs: e.Logs,
			}
			if e.StartMS != nil {
				l.Nodes[i].Start, l.Nodes[i].HasStart = fromMS(*e.StartMS), true
			}
		}
	}
	return l, nil
}

// findLine returns the first whole line of the run's file name that is
// about dataset line n, a valid JSON object, or nil if none is.
func (s *Store) findLine(in Info, name string, n int) ([]byte, error) {
	path := filepath.Join(in.Dir, name)
	f, err := s.openJSONL(in.ID, path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	at := 0
	for b, err := range lines(f, nil) {
		at++
		if err != nil {
			return nil, fmt.Errorf("read run %q: %w", in.ID, err)
		}
		v, err := jsonscan.Select(b, lineField)
		if err != nil {
			return nil, damaged(in.ID, "%s:%d: no \"line\" field", name, at)
		}
		if line, err := strconv.Atoi(string(v)); err != nil || line != n {
			continue
		}
		if !json.Valid(b) {
			return nil, damaged(in.ID, "%s:%d: not valid JSON", name, at)
		}
		return bytes.Clone(b), nil
	}
	return nil, nil
}
