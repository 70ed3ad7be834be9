package engine

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/weirflow/weir/internal/jsonschema"
	"github.com/weirflow/weir/internal/schemas"
)

const (
	builtinName = "builtin"
	// kindNative is the plugin kind of tools a program registered.
	kindNative = "native"
	// kindFlow is the plugin kind of a sub-flow node.
	kindFlow = "flow"
)

// Load reads the flow file at path (.cue, .yaml or .json), opens its plugins
// and checks everything that can be known before a run: names, tools,
// references, types against the tools' contracts, and cycles.
//
// A flow with problems returns FlowErrors listing all of them, each with
// its file:line:col; errors.As finds it.
func (e *Engine) Load(ctx context.Context, path string) (*Flow, error) {
	f, err := e.load(ctx, path, nil, nil)
	return f, flowErrors(err)
}

// Parse is Load for a flow that is not in a file: filename picks the syntax
// and names positions; relative paths resolve against its folder.
func (e *Engine) Parse(ctx context.Context, filename string, src []byte) (*Flow, error) {
	f, err := e.load(ctx, filename, src, nil)
	return f, flowErrors(err)
}

// load parses and compiles one flow file. stack holds the sub-flow files
// being loaded above this one, to refuse a flow that includes itself.
func (e *Engine) load(ctx context.Context, path string, src []byte, stack []string) (_ *Flow, err error) {
	var spec *schemas.Flow
	ctx, span := e.startSpan(ctx, "load", attrFlowFile.String(path))
	defer func() { endLoad(span, spec, err) }()
	if src == nil {
		if src, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("read flow: %w", err)
		}
	}
	spec, err = schemas.Parse(path, src)
	if spec == nil {
		return nil, err
	}
	c := &compiler{e: e, ctx: ctx, spec: spec, stack: append(stack, absPath(path))}
	if list, ok := err.(schemas.Errors); ok {
		// Go on: one pass reports every problem of the file.
		c.errs = list
	} else if err != nil {
		return nil, err
	}
	f := c.compile()
	if err := c.errs.Err(); err != nil {
		// A plugin that failed to open may have said a secret.
		for _, fe := range err.(schemas.Errors) {
			fe.Msg = e.redactor.String(fe.Msg)
		}
		return nil, err
	}
	f.src = src
	return f, nil
}

func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// compiler turns a parsed flow into a Flow in one pass that collects every
// problem. Its parts: tools.go resolves tools and sub-flows, nodes.go
// compiles nodes, when and outputs, refs.go checks references, typecheck.go
// compares bindings with contracts, cycles.go finds cycles.
type compiler struct {
	e     *Engine
	ctx   context.Context
	spec  *schemas.Flow
	stack []string
	errs  schemas.Errors

	tools    map[string]*toolEntry // "plugin.tool"
	entries  []*toolEntry          // the tool of each node, nil if unresolved
	plugins  map[string]bool       // plugin names a tool may start with
	unopened map[string]bool       // plugins that failed to open
	nodes    map[string]int
	f        *Flow
}

func (c *compiler) compile() *Flow {
	s := c.spec
	c.f = &Flow{
		e:           c.e,
		name:        s.Name,
		file:        s.File,
		spec:        s,
		concurrency: cmp.Or(s.Concurrency, c.e.defaults.Concurrency),
		timeout:     cmp.Or(s.Timeout, c.e.defaults.RunTimeout),
	}
	c.f.timeoutCause = runTimeout(c.f.timeout)
	in, err := jsonschema.Compile(s.InputSchema)
	if err != nil {
		c.errs.Add(schemas.Pos{File: s.File}, "inputs: %v", err)
		return c.f
	}
	c.f.inputs = in
	c.secrets()
	c.openPlugins()
	c.nodes = make(map[string]int, len(s.Nodes))
	for i, n := range s.Nodes {
		c.nodes[n.Name] = i
	}
	c.entries = make([]*toolEntry, len(s.Nodes))
	for i := range s.Nodes {
		c.entries[i] = c.resolveTool(&s.Nodes[i])
	}
	c.f.nodes = make([]*node, len(s.Nodes))
	for i := range s.Nodes {
		c.f.nodes[i] = c.node(i)
		if !c.f.nodes[i].aggregate {
			c.f.lineNodes = append(c.f.lineNodes, i)
		}
	}
	c.cycles()
	c.outputs()
	for _, n := range c.f.nodes {
		for _, d := range n.deps {
			dep := c.f.nodes[d]
			dep.dependents = append(dep.dependents, n.index)
		}
	}
	c.f.stream = c.streamable()
	return c.f
}
