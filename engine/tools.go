package engine

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"

	"github.com/weirflow/weir/internal/jsonschema"
	"github.com/weirflow/weir/internal/makehint"
	"github.com/weirflow/weir/internal/schemas"
	"github.com/weirflow/weir/plugins"
)

// toolEntry is a tool a flow can address, with its compiled contract.
type toolEntry struct {
	tool    plugins.Tool
	plugin  string
	kind    string
	in, out *jsonschema.Schema
	// opened is the plugin entry the tool comes from, nil for registered
	// tools and sub-flows.
	opened *openPlugin
}

// openPlugins opens the flow's plugin entries, the implicit builtin plugin
// and the engine's registered tools, and indexes every tool by its address.
func (c *compiler) openPlugins() {
	c.tools = map[string]*toolEntry{}
	c.plugins = map[string]bool{}
	c.unopened = map[string]bool{}
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
		c.addTools(name, kindNative, tools, nil, schemas.Pos{File: c.spec.File})
	}
	specs := c.spec.Plugins
	// The builtin plugin is implicit where the engine has its kind.
	if _, ok := c.e.providers[builtinName]; ok && !declared[builtinName] {
		specs = append(specs, schemas.Plugin{Pos: schemas.Pos{File: c.spec.File}, Spec: plugins.Spec{Name: builtinName, Kind: "builtin"}})
	}
	for _, p := range specs {
		if native[p.Spec.Name] != nil {
			c.errs.Add(p.Pos, "plugin %q: the program registered a plugin of that name; rename this entry", p.Spec.Name)
			continue
		}
		c.plugins[p.Spec.Name] = true
		if !c.pluginSecrets(&p) {
			c.unopened[p.Spec.Name] = true
			continue
		}
		op, err := c.e.open(c.ctx, p.Spec)
		if err != nil {
			c.errs.Add(p.Pos, "plugin %q: %v%s", p.Spec.Name, err, makehint.Hint(p.Spec.Source))
			c.unopened[p.Spec.Name] = true
			continue
		}
		c.addTools(p.Spec.Name, p.Spec.Kind, op.plugin.Tools(), op, p.Pos)
	}
}

func (c *compiler) addTools(plugin, kind string, tools []plugins.Tool, op *openPlugin, pos schemas.Pos) {
	c.plugins[plugin] = true
	for _, t := range tools {
		// Compiling a contract takes up to a fraction of a second: a
		// plugin with many large ones must not hold a canceled load.
		if c.ctx.Err() != nil {
			c.errs.Add(pos, "plugin %q: check contracts: %v", plugin, context.Cause(c.ctx))
			return
		}
		ct := t.Contract()
		te := &toolEntry{tool: t, plugin: plugin, kind: kind, opened: op}
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
	if !c.plugins[plugin] && plugin == builtinName {
		c.errs.Add(sn.ToolPos, "node %q: tool %q: %v", sn.Name, sn.Tool, c.e.noProvider(builtinName))
		return nil
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
	if c.unopened[plugin] {
		return nil // the plugin's own error says why it has no tools
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
