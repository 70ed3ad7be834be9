package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/weirflow/weir/engine/internal/jsonsel"
	"github.com/weirflow/weir/engine/internal/ref"
	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/internal/schemas"
	"github.com/weirflow/weir/internal/jsonschema"
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
func (e *Engine) load(ctx context.Context, path string, src []byte, stack []string) (*Flow, error) {
	var (
		spec *schemas.Flow
		err  error
	)
	if src == nil {
		spec, err = schemas.Load(path)
	} else {
		spec, err = schemas.Parse(path, src)
	}
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
		return nil, err
	}
	return f, nil
}

func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// toolEntry is a tool a flow can address, with its compiled contract.
type toolEntry struct {
	tool    plugins.Tool
	plugin  string
	kind    string
	in, out *jsonschema.Schema
}

type compiler struct {
	e     *Engine
	ctx   context.Context
	spec  *schemas.Flow
	stack []string
	errs  schemas.Errors

	tools   map[string]*toolEntry // "plugin.tool"
	entries []*toolEntry          // the tool of each node, nil if unresolved
	plugins map[string]bool       // plugin names a tool may start with
	nodes   map[string]int
	f       *Flow
}

func (c *compiler) compile() *Flow {
	s := c.spec
	c.f = &Flow{
		e:           c.e,
		name:        s.Name,
		file:        s.File,
		spec:        s,
		concurrency: cmpOr(s.Concurrency, c.e.defaults.Concurrency),
		timeout:     cmpOr(s.Timeout, c.e.defaults.RunTimeout),
	}
	c.f.timeoutCause = runTimeout(c.f.timeout)
	in, err := jsonschema.Compile(s.InputSchema)
	if err != nil {
		c.errs.Add(schemas.Pos{File: s.File}, "inputs: %v", err)
		return c.f
	}
	c.f.inputs = in
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
	}
	c.cycles()
	c.outputs()
	for _, n := range c.f.nodes {
		for _, d := range n.deps {
			dep := c.f.nodes[d]
			dep.dependents = append(dep.dependents, n.index)
		}
	}
	return c.f
}

func cmpOr[T comparable](a, b T) T {
	var zero T
	if a != zero {
		return a
	}
	return b
}

// openPlugins opens the flow's plugin entries, the implicit builtin plugin
// and the engine's registered tools, and indexes every tool by its address.
func (c *compiler) openPlugins() {
	c.tools = map[string]*toolEntry{}
	c.plugins = map[string]bool{}
	declared := map[string]bool{}
	for _, p := range c.spec.Plugins {
		declared[p.Spec.Name] = true
	}
	c.e.mu.Lock()
	native := make(map[string][]plugins.Tool, len(c.e.native))
	for k, v := range c.e.native {
		native[k] = v
	}
	c.e.mu.Unlock()
	for name, tools := range native {
		c.addTools(name, kindNative, tools, schemas.Pos{File: c.spec.File})
	}
	specs := c.spec.Plugins
	if !declared[builtinName] {
		specs = append(specs, schemas.Plugin{Pos: schemas.Pos{File: c.spec.File}, Spec: plugins.Spec{Name: builtinName, Kind: "builtin"}})
	}
	for _, p := range specs {
		if native[p.Spec.Name] != nil {
			c.errs.Add(p.Pos, "plugin %q: the program registered a plugin of that name; rename this entry", p.Spec.Name)
			continue
		}
		c.plugins[p.Spec.Name] = true
		op, err := c.e.open(c.ctx, p.Spec)
		if err != nil {
			c.errs.Add(p.Pos, "plugin %q: %v", p.Spec.Name, err)
			continue
		}
		c.addTools(p.Spec.Name, p.Spec.Kind, op.plugin.Tools(), p.Pos)
	}
}

func (c *compiler) addTools(plugin, kind string, tools []plugins.Tool, pos schemas.Pos) {
	c.plugins[plugin] = true
	for _, t := range tools {
		// Compiling a contract takes up to a fraction of a second: a
		// plugin with many large ones must not hold a canceled load.
		if c.ctx.Err() != nil {
			c.errs.Add(pos, "plugin %q: check contracts: %v", plugin, context.Cause(c.ctx))
			return
		}
		ct := t.Contract()
		te := &toolEntry{tool: t, plugin: plugin, kind: kind}
		var err error
		if te.in, err = compileContract(ct.Inputs); err != nil {
			c.errs.Add(pos, "plugin %q: tool %q publishes an invalid input schema: %v", plugin, ct.Name, err)
			continue
		}
		if te.out, err = compileContract(ct.Outputs); err != nil {
			c.errs.Add(pos, "plugin %q: tool %q publishes an invalid output schema: %v", plugin, ct.Name, err)
			continue
		}
		c.tools[plugin+"."+ct.Name] = te
	}
}

var anyObject = []byte(`{"type":"object"}`)

func compileContract(raw json.RawMessage) (*jsonschema.Schema, error) {
	if len(raw) == 0 {
		raw = anyObject
	}
	return jsonschema.Compile(raw)
}

// node checks one node and compiles its inputs.
func (c *compiler) node(i int) *node {
	sn := &c.spec.Nodes[i]
	n := &node{
		name:      sn.Name,
		index:     i,
		timeout:   cmpOr(sn.Timeout, cmpOr(c.spec.Defaults.Timeout, c.e.defaults.NodeTimeout)),
		retry:     schemas.Retry{Attempts: 1},
		aggregate: sn.Aggregate,
	}
	if r := cmpOr(sn.Retry, c.spec.Defaults.Retry); r != nil {
		n.retry = *r
	}
	if n.retry.MaxBackoff == 0 {
		n.retry.MaxBackoff = c.e.defaults.MaxBackoff
	}
	if n.retry.Backoff == 0 {
		n.retry.Backoff = 100 * time.Millisecond
	}
	te := c.entries[i]
	if te != nil {
		n.tool, n.toolName, n.plugin, n.kind = te.tool, sn.Tool, te.plugin, te.kind
		if sn.Flow != "" {
			n.toolName = filepath.Base(sn.Flow)
		}
	}
	deps := map[int]bool{}
	fields := make([]tmplField, 0, len(sn.Inputs))
	bound := map[string]bool{}
	for _, in := range sn.Inputs {
		bound[in.Name] = true
		var want *jsonschema.Schema
		if te != nil {
			sub, res := te.in.Lookup([]any{in.Name})
			if res == jsonschema.Missing {
				c.errs.Add(in.Pos, "node %q: %s has no input %q (its inputs: %s)%s", sn.Name, c.label(i), in.Name,
					listOf(te.in.Properties()), didYouMean(in.Name, te.in.Properties()))
			} else if res == jsonschema.Exists {
				want = sub
			}
		}
		fdeps := map[int]bool{}
		t := c.value(sn.Name, in.Name, in.Value, fdeps)
		for d := range fdeps {
			deps[d] = true
		}
		if t != nil && sn.Aggregate {
			n.aggFields = append(n.aggFields, c.aggField(sn, in, t))
		}
		if t != nil && want != nil && !sn.Aggregate {
			c.checkType(sn, c.label(i), in, t, want)
		}
		if t != nil {
			fields = append(fields, tmplField{key: fieldKey(in.Name), val: t})
		}
	}
	if te != nil {
		for _, req := range te.in.Required() {
			if !bound[req] {
				c.errs.Add(sn.Pos, "node %q: missing input %q required by %s", sn.Name, req, c.label(i))
			}
		}
	}
	n.inputs = objectTmpl(fields)
	if sn.When != nil && sn.Aggregate {
		c.errs.Add(sn.When.Ref.Pos, "node %q: an aggregate node runs once per batch and cannot have when", sn.Name)
	} else if sn.When != nil {
		n.when = c.when(sn, deps)
	}
	for d := range deps {
		if d == i {
			c.errs.Add(sn.Pos, "cycle: %s -> %s: a node cannot use its own output", sn.Name, sn.Name)
			continue
		}
		n.deps = append(n.deps, d)
		if c.spec.Nodes[d].Aggregate && !sn.Aggregate {
			c.errs.Add(sn.Pos, "node %q: references aggregate node %q, which runs once per batch after every line; only other aggregate nodes can use it", sn.Name, c.spec.Nodes[d].Name)
		}
	}
	slices.Sort(n.deps)
	return n
}

// aggField compiles an input of an aggregate node. An input that refers to
// the flow's inputs or to per-line nodes receives the list of its values
// over the lines; one that refers to other aggregate nodes, or to nothing,
// receives one value.
func (c *compiler) aggField(sn *schemas.Node, in schemas.Field, t *tmpl) aggField {
	var line, agg []string
	t.walk(func(s *selector) {
		switch {
		case s.node == inputsNode || !c.spec.Nodes[s.node].Aggregate:
			line = append(line, s.text)
		default:
			agg = append(agg, s.text)
		}
	})
	if len(line) > 0 && len(agg) > 0 {
		c.errs.Add(in.Value.Pos, "node %q: input %q mixes per-line values (%s) with aggregate nodes (%s): give each its own input", sn.Name, in.Name, line[0], agg[0])
	}
	return aggField{name: in.Name, key: fieldKey(in.Name), val: t, perLine: len(line) > 0}
}

func (c *compiler) resolveTool(sn *schemas.Node) *toolEntry {
	if sn.Flow != "" {
		return c.subflow(sn)
	}
	if sn.Tool == "" {
		return nil // reported by schemas
	}
	plugin, _, ok := strings.Cut(sn.Tool, ".")
	if !ok {
		c.errs.Add(sn.ToolPos, "node %q: tool %q must be \"<plugin>.<tool>\", as in \"builtin.template\"", sn.Name, sn.Tool)
		return nil
	}
	if te := c.tools[sn.Tool]; te != nil {
		return te
	}
	if !c.plugins[plugin] {
		names := make([]string, 0, len(c.plugins))
		for p := range c.plugins {
			names = append(names, p)
		}
		c.errs.Add(sn.ToolPos, "node %q: unknown plugin %q in tool %q: declare it under plugins (declared: %s)%s",
			sn.Name, plugin, sn.Tool, listOf(names), didYouMean(plugin, names))
		return nil
	}
	var names []string
	for addr := range c.tools {
		if strings.HasPrefix(addr, plugin+".") {
			names = append(names, addr)
		}
	}
	c.errs.Add(sn.ToolPos, "node %q: unknown tool %q (plugin %s has: %s)%s", sn.Name, sn.Tool,
		plugin, listOf(names), didYouMean(sn.Tool, names))
	return nil
}

// subflow loads the flow file a node runs and makes it a tool.
func (c *compiler) subflow(sn *schemas.Node) *toolEntry {
	abs := absPath(sn.Flow)
	if i := slices.Index(c.stack, abs); i >= 0 {
		chain := append(append([]string(nil), c.stack[i:]...), abs)
		for j := range chain {
			chain[j] = filepath.Base(chain[j])
		}
		c.errs.Add(sn.FlowPos, "node %q: sub-flow cycle: %s: a flow cannot include itself", sn.Name, strings.Join(chain, " -> "))
		return nil
	}
	sub, err := c.e.load(c.ctx, sn.Flow, nil, c.stack)
	if err != nil {
		if list, ok := err.(schemas.Errors); ok {
			c.errs = append(c.errs, list...)
			c.errs.Add(sn.FlowPos, "node %q: sub-flow %s has %d error(s), listed with its own positions", sn.Name, filepath.Base(sn.Flow), len(list))
		} else {
			c.errs.Add(sn.FlowPos, "node %q: %v", sn.Name, err)
		}
		return nil
	}
	t := &subflowTool{flow: sub}
	return &toolEntry{tool: t, plugin: sub.name, kind: kindFlow, in: sub.inputs, out: sub.outputSchema()}
}

// value compiles a literal of the flow, whose strings may hold references,
// into a tmpl, recording the nodes it references in deps.
func (c *compiler) value(node, field string, v schemas.Value, deps map[int]bool) *tmpl {
	switch v.Kind {
	case schemas.Scalar:
		return litTmpl([]byte(v.Text))
	case schemas.List:
		items := make([]*tmpl, 0, len(v.Items))
		for _, item := range v.Items {
			if t := c.value(node, field, item, deps); t != nil {
				items = append(items, t)
			}
		}
		return listTmpl(items)
	case schemas.Object:
		fields := make([]tmplField, 0, len(v.Fields))
		for _, f := range v.Fields {
			if t := c.value(node, field, f.Value, deps); t != nil {
				fields = append(fields, tmplField{key: fieldKey(f.Name), val: t})
			}
		}
		return objectTmpl(fields)
	}
	parsed, err := ref.Parse(v.Text)
	if err != nil {
		se := err.(*ref.SyntaxError)
		c.errs.Add(v.PosAt(se.Offset), "%s: %s", c.where(node, field), se.Msg)
		return nil
	}
	if parsed.IsLiteral() {
		text := ""
		if len(parsed.Parts) == 1 {
			text = parsed.Parts[0].Text
		}
		return stringLit(text)
	}
	t := &tmpl{kind: tmplInterp}
	for _, p := range parsed.Parts {
		if p.Ref == nil {
			t.parts = append(t.parts, part{text: p.Text})
			continue
		}
		sel := c.selector(node, field, *p.Ref, v, deps)
		if sel == nil {
			return nil
		}
		t.parts = append(t.parts, part{sel: sel})
	}
	if parsed.IsRef() {
		return &tmpl{kind: tmplSel, sel: t.parts[0].sel}
	}
	return t
}

// where names the part of the flow a message is about.
func (c *compiler) where(node, field string) string {
	switch node {
	case "":
		return fmt.Sprintf("output %q", field)
	default:
		if field == "" {
			return fmt.Sprintf("node %q", node)
		}
		return fmt.Sprintf("node %q: input %q", node, field)
	}
}

// selector checks one reference and compiles it.
func (c *compiler) selector(node, field string, r ref.Ref, v schemas.Value, deps map[int]bool) *selector {
	pos := v.PosAt(r.Offset)
	where := c.where(node, field)
	text := refText(r)
	if r.Root == "inputs" {
		if len(r.Steps) == 0 {
			return &selector{node: inputsNode, text: text}
		}
		first := r.Steps[0]
		names := c.inputNames()
		if first.IsIndex || !slices.Contains(names, first.Key) {
			c.errs.Add(pos, "%s: %s: the flow has no input %q (inputs: %s)%s", where, text, first.Key, listOf(names), didYouMean(first.Key, names))
			return nil
		}
		if !c.pathExists(pos, where, text, c.f.inputs, r.Steps, "input schema") {
			return nil
		}
		return &selector{node: inputsNode, steps: r.Steps, text: text}
	}
	i, ok := c.nodes[r.Root]
	if !ok {
		names := make([]string, 0, len(c.nodes))
		for n := range c.nodes {
			names = append(names, n)
		}
		hint := didYouMean(r.Root, names)
		if r.Root == "data" {
			hint = "; ${data.col} is for --map of weir batch, not for flow files"
		} else if hint == "" {
			hint = "; refer to an input as ${inputs.x} and to a node as ${node.output}"
		}
		c.errs.Add(pos, "%s: %s: unknown node %q%s", where, text, r.Root, hint)
		return nil
	}
	if len(r.Steps) == 0 || r.Steps[0].IsIndex || r.Steps[0].Key != "output" {
		c.errs.Add(pos, "%s: %s: a node reference starts with \"output\": write ${%s.output} or ${%s.output.field}", where, text, r.Root, r.Root)
		return nil
	}
	deps[i] = true
	steps := r.Steps[1:]
	if te := c.toolOf(i); te != nil && len(steps) > 0 {
		if !c.pathExists(pos, where, text, te.out, steps, "outputs of "+c.label(i)) {
			return nil
		}
	}
	return &selector{node: i, steps: steps, text: text}
}

// label names node i's tool in messages: "tool text.upper" or
// "sub-flow child.cue".
func (c *compiler) label(i int) string {
	sn := &c.spec.Nodes[i]
	if sn.Flow != "" {
		return "sub-flow " + filepath.Base(sn.Flow)
	}
	return "tool " + sn.Tool
}

// toolOf returns the tool of node i, or nil when it did not resolve (that
// error is reported at the node itself).
func (c *compiler) toolOf(i int) *toolEntry { return c.entries[i] }

// pathExists reports an error when schema says path cannot exist.
func (c *compiler) pathExists(pos schemas.Pos, where, text string, schema *jsonschema.Schema, path []jsonsel.Step, what string) bool {
	cur := schema
	for k, step := range path {
		var elem any = step.Key
		if step.IsIndex {
			elem = step.Index
		}
		sub, res := cur.Lookup([]any{elem})
		switch res {
		case jsonschema.Unknown:
			return true
		case jsonschema.Missing:
			if step.IsIndex {
				c.errs.Add(pos, "%s: %s: cannot index %s: the %s say it is not a list", where, text, stepsText(path[:k]), what)
			} else {
				props := cur.Properties()
				c.errs.Add(pos, "%s: %s: no field %q in the %s (fields: %s)%s", where, text, step.Key, what, listOf(props), didYouMean(step.Key, props))
			}
			return false
		}
		cur = sub
	}
	return true
}

func stepsText(steps []jsonsel.Step) string {
	if len(steps) == 0 {
		return "the value"
	}
	var b strings.Builder
	for i, s := range steps {
		switch {
		case s.IsIndex:
			fmt.Fprintf(&b, "[%d]", s.Index)
		case i == 0:
			b.WriteString(s.Key)
		default:
			b.WriteString("." + s.Key)
		}
	}
	return quote(b.String())
}

func (c *compiler) inputNames() []string {
	names := make([]string, len(c.spec.Inputs))
	for i, in := range c.spec.Inputs {
		names[i] = in.Name
	}
	return names
}

// checkType compares what a tool input wants with what its binding gives,
// when both are known: a literal is validated against the contract, and a
// reference whose type the contracts make knowable must be compatible.
func (c *compiler) checkType(sn *schemas.Node, label string, in schemas.Field, t *tmpl, want *jsonschema.Schema) {
	switch t.kind {
	case tmplLit:
		doc, err := jsonschema.Decode(t.lit)
		if err != nil {
			return
		}
		var ve *jsonschema.ValidationError
		if err := want.Validate(doc); errors.As(err, &ve) {
			c.errs.Add(in.Value.Pos, "node %q: input %q: %s breaks the contract of %s: %v", sn.Name, in.Name, t.lit, label, err)
		} else if err != nil {
			c.errs.Add(in.Value.Pos, "node %q: input %q: cannot check %s against the contract of %s: %v", sn.Name, in.Name, t.lit, label, err)
		}
	case tmplInterp:
		if !typesMeet(want.Type(), []string{"string"}) {
			c.errs.Add(in.Value.Pos, "node %q: input %q: %s wants %s, but an interpolated string is a string", sn.Name, in.Name, label, strings.Join(want.Type(), " or "))
		}
	case tmplSel:
		got := c.selectorType(t.sel)
		if !typesMeet(want.Type(), got) {
			c.errs.Add(in.Value.Pos, "node %q: input %q: %s wants %s, but %s is %s", sn.Name, in.Name, label,
				strings.Join(want.Type(), " or "), t.sel.text, strings.Join(got, " or "))
		}
	}
}

// selectorType is the JSON types the selected value may have, or nil when
// that is not known. A node's output may be null when the node is bypassed.
func (c *compiler) selectorType(s *selector) []string {
	var schema *jsonschema.Schema
	if s.node == inputsNode {
		schema = c.f.inputs
	} else if te := c.toolOf(s.node); te != nil {
		schema = te.out
	}
	if schema == nil {
		return nil
	}
	for _, step := range s.steps {
		var elem any = step.Key
		if step.IsIndex {
			elem = step.Index
		}
		sub, res := schema.Lookup([]any{elem})
		if res != jsonschema.Exists {
			return nil
		}
		schema = sub
	}
	return schema.Type()
}

// typesMeet reports whether a value of one of the types got can satisfy a
// schema of one of the types want. Unknown (empty) matches anything.
func typesMeet(want, got []string) bool {
	if len(want) == 0 || len(got) == 0 {
		return true
	}
	for _, w := range want {
		for _, g := range got {
			if w == g || (w == "number" && g == "integer") || (w == "integer" && g == "number") {
				return true
			}
		}
	}
	return false
}

func (c *compiler) when(sn *schemas.Node, deps map[int]bool) *condition {
	w := sn.When
	parsed, err := ref.Parse(w.Ref.Text)
	if w.Ref.Kind != schemas.String || err != nil || !parsed.IsRef() {
		c.errs.Add(w.Ref.Pos, "node %q: when.ref must be one reference, as in \"${inputs.mode}\"", sn.Name)
		return nil
	}
	sel := c.selector(sn.Name, "", *parsed.Parts[0].Ref, w.Ref, deps)
	if sel == nil {
		return nil
	}
	is := c.value(sn.Name, "", w.Is, deps)
	if is == nil {
		return nil
	}
	if !is.literal() {
		c.errs.Add(w.Is.Pos, "node %q: when.is must be a literal value, not a reference", sn.Name)
		return nil
	}
	want, err := jsonschema.Decode(is.lit)
	if err != nil {
		return nil
	}
	return &condition{sel: sel, is: normalize(want)}
}

// outputs compiles the flow's outputs; each must reference something.
func (c *compiler) outputs() {
	fields := make([]tmplField, 0, len(c.spec.Outputs))
	deps := map[int]bool{}
	for _, o := range c.spec.Outputs {
		before := len(c.errs)
		t := c.value("", o.Name, o.Value, deps)
		if t == nil {
			continue
		}
		if t.literal() && len(c.errs) == before {
			c.errs.Add(o.Value.Pos, "output %q references nothing: set it to a reference such as \"${node.output}\" or \"${inputs.%s}\"", o.Name, o.Name)
			continue
		}
		fields = append(fields, tmplField{key: fieldKey(o.Name), val: t})
	}
	for d := range deps {
		if c.spec.Nodes[d].Aggregate {
			c.errs.Add(c.spec.Nodes[d].Pos, "node %q: aggregate nodes cannot feed the flow's outputs; their outputs are the batch's metrics", c.spec.Nodes[d].Name)
		}
	}
	c.f.outputs = objectTmpl(fields)
}

// cycles reports every cycle among the nodes once, naming each node on it.
func (c *compiler) cycles() {
	const (
		unseen = iota
		onStack
		done
	)
	state := make([]int, len(c.f.nodes))
	var stack []int
	var visit func(i int)
	visit = func(i int) {
		state[i] = onStack
		stack = append(stack, i)
		for _, d := range c.f.nodes[i].deps {
			switch state[d] {
			case unseen:
				visit(d)
			case onStack:
				start := slices.Index(stack, d)
				names := make([]string, 0, len(stack)-start+1)
				for _, k := range stack[start:] {
					names = append(names, c.f.nodes[k].name)
				}
				// Dependencies point backwards: print the flow of data,
				// from the node that comes first in the file.
				slices.Reverse(names)
				first := 0
				for k, name := range names {
					if c.nodes[name] < c.nodes[names[first]] {
						first = k
					}
				}
				names = append(names[first:], names[:first]...)
				names = append(names, names[0])
				c.errs.Add(c.spec.Nodes[c.nodes[names[0]]].Pos, "cycle: %s: break it by removing one of these references", strings.Join(names, " -> "))
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = done
	}
	for i := range c.f.nodes {
		if state[i] == unseen {
			visit(i)
		}
	}
}
