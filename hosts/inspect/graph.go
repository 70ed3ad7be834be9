package inspect

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/goccy/go-graphviz"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/internal/flowgraph"
	"github.com/weirflow/weir/plugins"
)

// flowKey names a snapshot of a flow: its original path and its digest.
type flowKey struct{ path, sha256 string }

// loaded is a flow the pages loaded once, or why it would not load.
type loaded struct {
	flow *engine.Flow
	svg  []byte
	err  error
}

// manifest is the part of a run's flow/manifest.json the pages read: the
// snapshot of the flow file is its first file.
type manifest struct {
	Files []struct {
		Path     string `json:"path"`
		Snapshot string `json:"snapshot"`
		SHA256   string `json:"sha256"`
	} `json:"files"`
}

// errNoLoader is the error of a flow page when Options.Load is nil.
var errNoLoader = errors.New("this inspector does not load flows")

// runFlow returns the flow run id ran, loaded from its snapshot, with its
// graph laid out; the first call for a snapshot loads it, the others wait
// for it and share it.
func (h *Handler) runFlow(ctx context.Context, id string) (*loaded, error) {
	if h.opts.Load == nil {
		return nil, errNoLoader
	}
	in, err := h.opts.Store.Get(id)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(in.Dir, "flow", "manifest.json"))
	if err != nil {
		return nil, fmt.Errorf("read the flow of run %q: %w", id, err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil || len(m.Files) == 0 {
		return nil, fmt.Errorf("read the flow of run %q: flow/manifest.json names no file", id)
	}
	first := m.Files[0]
	key := flowKey{first.Path, first.SHA256}
	h.mu.Lock()
	defer h.mu.Unlock()
	if l, ok := h.flows[key]; ok {
		return l, nil
	}
	l := &loaded{}
	src, err := os.ReadFile(filepath.Join(in.Dir, filepath.FromSlash(first.Snapshot)))
	if err != nil {
		return nil, fmt.Errorf("read the flow of run %q: %w", id, err)
	}
	// Under its original path, so that the paths of its plugins and
	// sub-flows resolve as they did when it ran.
	if l.flow, l.err = h.opts.Load(ctx, first.Path, src); l.err == nil {
		l.svg, l.err = layout(ctx, l.flow)
	}
	if ctx.Err() == nil {
		// A canceled load is not the flow's fault: the next page tries again.
		h.flows[key] = l
	}
	return l, nil
}

// layout draws f's graph as SVG with Graphviz; each box's group has the id
// flowgraph gives it.
func layout(ctx context.Context, f *engine.Flow) ([]byte, error) {
	var dot bytes.Buffer
	flowgraph.Of(f).WriteDot(&dot, flowgraph.DotOptions{Page: true})
	gv, err := graphviz.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("lay out flow %q: %w", f.Name(), err)
	}
	defer gv.Close()
	g, err := graphviz.ParseBytes(dot.Bytes())
	if err != nil {
		return nil, fmt.Errorf("lay out flow %q: %w", f.Name(), err)
	}
	defer g.Close()
	var svg bytes.Buffer
	if err := gv.Render(ctx, g, graphviz.SVG, &svg); err != nil {
		return nil, fmt.Errorf("lay out flow %q: %w", f.Name(), err)
	}
	return svg.Bytes(), nil
}

// serveGraph answers the SVG of a run's flow.
func (h *Handler) serveGraph(w http.ResponseWriter, r *http.Request) {
	l, ok := h.flowOf(w, r, true)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(l.svg)
}

// deployedFlow returns the flow of a version weir serve has deployed, with
// its graph laid out when graph is set.
func (h *Handler) deployedFlow(ctx context.Context, name, version string, graph bool) (*loaded, error) {
	if h.opts.DeployedFlow == nil {
		return nil, errNoDeployments
	}
	f, ok := h.opts.DeployedFlow(name, version)
	if !ok {
		return nil, fmt.Errorf("%w: flow %q has no version %q deployed", errNotDeployed, name, version)
	}
	l := &loaded{flow: f}
	if !graph {
		return l, nil
	}
	// One layout at a time, as runFlow's: go-graphviz keeps state of its
	// own that two at once race on.
	h.mu.Lock()
	defer h.mu.Unlock()
	l.svg, l.err = layout(ctx, f)
	return l, nil
}

var (
	errNoDeployments = errors.New("no deployments here: the inspector shows them inside weir serve")
	errNotDeployed   = errors.New("not deployed")
)

// flowOf returns the flow of the request's run, or of the deployed version
// it names (its graph laid out when graph is set: a run's always is, once),
// or answers why there is none and returns false: 404 when the handler
// loads no flows or the run or version is unknown, 422 when the flow does
// not load (its plugins moved, a file is gone), 500 otherwise.
func (h *Handler) flowOf(w http.ResponseWriter, r *http.Request, graph bool) (*loaded, bool) {
	var l *loaded
	var err error
	if name := r.PathValue("flow"); name != "" {
		l, err = h.deployedFlow(r.Context(), name, r.PathValue("version"), graph)
	} else {
		l, err = h.runFlow(r.Context(), r.PathValue("id"))
	}
	if err == nil {
		err = l.err
	}
	if err == nil {
		return l, true
	}
	var fe engine.FlowErrors
	switch {
	case errors.Is(err, errNoLoader), errors.Is(err, errNoDeployments), errors.Is(err, errNotDeployed):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.As(err, &fe):
		writeError(w, http.StatusUnprocessableEntity, "load the flow: "+err.Error())
	default:
		h.writeFailure(w, r, err)
	}
	return nil, false
}

// flowJSON is a flow as its page shows it.
type flowJSON struct {
	Name        string          `json:"name"`
	File        string          `json:"file"`
	Description string          `json:"description,omitempty"`
	Inputs      []inputJSON     `json:"inputs"`
	Outputs     []outputJSON    `json:"outputs"`
	Nodes       []nodeJSON      `json:"nodes"`
	SubFlows    []subflowJSON   `json:"subflows"`
	InputSchema json.RawMessage `json:"input_schema,omitempty"`
}

type inputJSON struct {
	Name     string   `json:"name"`
	Types    []string `json:"types,omitempty"`
	Required bool     `json:"required"`
}

type outputJSON struct {
	Name   string   `json:"name"`
	Nodes  []string `json:"nodes,omitempty"`
	Inputs []string `json:"inputs,omitempty"`
	Types  []string `json:"types,omitempty"`
}

type nodeJSON struct {
	Name        string           `json:"name"`
	Tool        string           `json:"tool"`
	Kind        string           `json:"kind"`
	Deps        []string         `json:"deps,omitempty"`
	Inputs      []string         `json:"inputs,omitempty"`
	Conditional bool             `json:"conditional,omitempty"`
	Aggregate   bool             `json:"aggregate,omitempty"`
	Contract    plugins.Contract `json:"contract"`
}

type subflowJSON struct {
	Node string `json:"node"`
	File string `json:"file"`
}

// serveFlow answers the flow a run ran: its inputs, outputs, nodes with
// their tools' contracts, and sub-flows.
func (h *Handler) serveFlow(w http.ResponseWriter, r *http.Request) {
	l, ok := h.flowOf(w, r, false)
	if !ok {
		return
	}
	f := l.flow
	j := flowJSON{Name: f.Name(), File: f.File(), Description: f.Description(), InputSchema: f.InputSchema(),
		Inputs: []inputJSON{}, Outputs: []outputJSON{}, Nodes: []nodeJSON{}, SubFlows: []subflowJSON{}}
	for _, in := range f.Inputs() {
		j.Inputs = append(j.Inputs, inputJSON{in.Name, in.Types, in.Required})
	}
	for _, o := range f.Outputs() {
		j.Outputs = append(j.Outputs, outputJSON{o.Name, o.Nodes, o.Inputs, o.Types})
	}
	for _, n := range f.Nodes() {
		c, _ := f.Contract(n.Name)
		j.Nodes = append(j.Nodes, nodeJSON{n.Name, n.Tool, n.Kind, n.Deps, n.Inputs, n.Conditional, n.Aggregate, c})
	}
	if files := f.FlowFiles(); len(files) > 0 {
		for _, s := range files[0].SubFlows {
			j.SubFlows = append(j.SubFlows, subflowJSON{s.Node, s.Written})
		}
	}
	writeJSON(w, http.StatusOK, j)
}
