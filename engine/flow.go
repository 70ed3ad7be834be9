package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/weirflow/weir/internal/jsonschema"
	"github.com/weirflow/weir/internal/schemas"
	"github.com/weirflow/weir/plugins"
)

// Flow is a loaded and checked flow. It is immutable and safe for concurrent
// runs.
type Flow struct {
	e      *Engine
	name   string
	file   string
	spec   *schemas.Flow
	src    []byte // the file's content, as parsed
	inputs *jsonschema.Schema
	nodes  []*node
	// lineNodes are the indexes of the nodes that run per line of a batch,
	// in flow order: all but the aggregate nodes.
	lineNodes   []int
	outputs     *tmpl
	outputTypes [][]string // of each output, as Output.Types
	concurrency int
	timeout     time.Duration
	cached      bool // some node has a cache
	// timeoutCause is the error of a run that hits timeout, made once.
	timeoutCause error
	// secrets are the values of the secrets the flow declares, by name;
	// declared are their declarations, in file order.
	secrets  map[string]string
	declared []Secret
	stream   streamOut // see StreamOutput
}

// node is one compiled node: its tool, its inputs as a tmpl, its
// dependencies, and its limits.
type node struct {
	name       string
	index      int
	tool       plugins.Tool
	toolName   string // the address used in the flow: "text.upper"
	plugin     string // the plugin's name in the flow
	kind       string // the plugin's kind
	inputs     *tmpl
	when       *condition
	deps       []int // nodes this node references, sorted
	dependents []int // nodes that reference this node
	timeout    time.Duration
	retry      schemas.Retry
	aggregate  bool
	aggFields  []aggField // the inputs of an aggregate node
	cache      *nodeCache // nil when the node is not cached
}

// aggField is one input of an aggregate node.
type aggField struct {
	name    string
	key     []byte // `"name":`
	val     *tmpl
	perLine bool // a list of the value over the batch's lines
}

// condition is a node's when: it runs only if the selected value, or the
// literal when.value, equals is.
type condition struct {
	sel *selector // nil for a literal when.value
	is  any       // normalized
	// holds is whether when.value equals is, for a literal condition,
	// decided when the flow loads.
	holds bool
}

// Name returns the flow's name.
func (f *Flow) Name() string { return f.name }

// File returns the path the flow was loaded from.
func (f *Flow) File() string { return f.file }

// Files returns the paths of FlowFiles, then of the files they embed, each
// once: what a snapshot of the flow must hold besides its plugins.
func (f *Flow) Files() []string {
	files := f.FlowFiles()
	paths := make([]string, len(files))
	for i, ff := range files {
		paths[i] = ff.Path
	}
	for _, ff := range files {
		for _, em := range ff.Embeds {
			if !slices.Contains(paths, em.Path) {
				paths = append(paths, em.Path)
			}
		}
	}
	return paths
}

// Description returns the flow's description, if it has one.
func (f *Flow) Description() string { return f.spec.Description }

// InputSchema returns the JSON Schema of the flow's inputs object, derived
// from their CUE types.
func (f *Flow) InputSchema() json.RawMessage { return json.RawMessage(f.spec.InputSchema) }

// OutputSchema returns the JSON Schema of the flow's outputs object.
func (f *Flow) OutputSchema() json.RawMessage {
	names := make([]string, len(f.spec.Outputs))
	props := map[string]any{}
	for i, o := range f.spec.Outputs {
		names[i] = o.Name
		props[o.Name] = map[string]any{}
	}
	slices.Sort(names)
	b, _ := json.Marshal(map[string]any{"type": "object", "properties": props, "required": names, "additionalProperties": false})
	return b
}

func (f *Flow) outputSchema() *jsonschema.Schema {
	s, err := jsonschema.Compile(f.OutputSchema())
	if err != nil {
		panic("engine: outputs schema does not compile: " + err.Error())
	}
	return s
}

// Input describes one input of a flow.
type Input struct {
	Name string
	// Types are the JSON types the input accepts ("string", "integer", ...);
	// empty when any value is accepted.
	Types    []string
	Required bool
}

// Inputs lists the flow's inputs in file order.
func (f *Flow) Inputs() []Input {
	required := f.inputs.Required()
	ins := make([]Input, len(f.spec.Inputs))
	for i, in := range f.spec.Inputs {
		ins[i] = Input{Name: in.Name, Required: slices.Contains(required, in.Name)}
		if sub, res := f.inputs.Lookup([]any{in.Name}); res == jsonschema.Exists {
			ins[i].Types = sub.Type()
		}
	}
	return ins
}

// Chat names the inputs and output of a chat flow, as its chat field
// does: the input that takes the user's message, the output that answers
// it, and the input that takes the history of the chat ("" when the flow
// names none). ok is false for a flow that is not a chat flow.
func (f *Flow) Chat() (input, output, history string, ok bool) {
	c := f.spec.Chat
	if c == nil {
		return "", "", "", false
	}
	return c.Input, c.Output, c.History, true
}

// Node describes one node of a flow, for drawing and listing.
type Node struct {
	Name string
	// Tool is the tool's address ("text.upper"), or the sub-flow's file name.
	Tool string
	// Kind is the plugin kind of the tool ("wasm", "builtin"), or "flow"
	// for a sub-flow.
	Kind string
	// Deps are the nodes this node references, and Inputs the flow's
	// inputs (in its inputs, its when or its aggregate fields).
	Deps        []string
	Inputs      []string
	Conditional bool
	Aggregate   bool
}

// Nodes lists the flow's nodes in file order.
func (f *Flow) Nodes() []Node {
	out := make([]Node, len(f.nodes))
	for i, n := range f.nodes {
		out[i] = Node{Name: n.name, Tool: n.toolName, Kind: n.kind, Inputs: f.nodeInputs(n), Conditional: n.when != nil, Aggregate: n.aggregate}
		for _, d := range n.deps {
			out[i].Deps = append(out[i].Deps, f.nodes[d].name)
		}
	}
	return out
}

// Contract returns the contract of the tool that node runs, as its
// plugin describes it (a sub-flow's is its inputs and outputs), and false
// when the flow has no such node.
func (f *Flow) Contract(node string) (plugins.Contract, bool) {
	for _, n := range f.nodes {
		if n.name == node {
			return n.tool.Contract(), true
		}
	}
	return plugins.Contract{}, false
}

// subflow runs sub-flow node n, and keeps the sub-flow's run in the
// result of r, for metrics and records to see its nodes.
func (r *run) subflow(ctx context.Context, n *node, in []byte) ([]byte, error) {
	var sub *Result
	out, err := r.retry(context.WithValue(ctx, subResult{}, &sub), n, in)
	if sub != nil {
		r.mu.Lock()
		if r.res.Subflows == nil {
			r.res.Subflows = map[string]*Result{}
		}
		r.res.Subflows[n.name] = sub
		r.mu.Unlock()
	}
	return out, err
}

// subflowTool runs a flow as a node of another flow.
type subflowTool struct{ flow *Flow }

func (t *subflowTool) Contract() plugins.Contract {
	return plugins.Contract{
		Name:        t.flow.name,
		Description: t.flow.spec.Description,
		Inputs:      t.flow.InputSchema(),
		Outputs:     t.flow.OutputSchema(),
	}
}

// subResult is the context key under which a run leaves a sub-flow node
// the place for its sub-flow's Result.
type subResult struct{}

func (t *subflowTool) Invoke(ctx context.Context, in []byte) ([]byte, error) {
	// Not RunWith: the parent flow's nodes get the sub-flow's outputs as
	// they are; the parent's run redacts what it returns.
	r, err := t.flow.run(ctx, json.RawMessage(in), RunOptions{}, nil)
	res := r.res
	if p, ok := ctx.Value(subResult{}).(**Result); ok {
		*p = res
	}
	if err != nil {
		return nil, fmt.Errorf("sub-flow %q: %w", t.flow.name, err)
	}
	return res.Outputs, nil
}

var _ plugins.Tool = (*subflowTool)(nil)
