package python

import (
	"context"
	"fmt"
	"os/exec"

	"github.com/weirflow/weir/plugins"
)

// ToolInfo is what the source says about one tool beyond its contract:
// what a converter of other engines' flows needs to bind it.
type ToolInfo struct {
	Contract plugins.Contract
	// File is the tool's file, relative to the plugin's folder, and Line
	// the line of its def.
	File string
	Line int
	// Connections maps each parameter annotated with a connection class
	// to the class's name ("CustomConnection").
	Connections map[string]string
}

// Inspect reads the tools of the .py file or folder at path from their
// source, as Open does, without opening a plugin. interpreter is the Python
// that parses them ("" for the Provider's).
func (p *Provider) Inspect(ctx context.Context, path, interpreter string) ([]ToolInfo, error) {
	t, err := readTree(path)
	if err != nil {
		return nil, fmt.Errorf("read Python tools: %w", err)
	}
	if interpreter == "" {
		interpreter = p.opts.Interpreter
	}
	base, err := exec.LookPath(interpreter)
	if err != nil {
		return nil, fmt.Errorf("find the Python interpreter: %w", err)
	}
	specs, err := p.readContracts(ctx, base, t)
	if err != nil {
		return nil, err
	}
	tools := make([]ToolInfo, len(specs))
	for i, s := range specs {
		tools[i] = ToolInfo{Contract: s.contract(), File: s.File, Line: s.Line, Connections: s.Connections}
	}
	return tools, nil
}
