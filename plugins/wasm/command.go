package wasm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/sys"

	"github.com/weirflow/weir/plugins"
)

// commandTool is the one tool of a command-mode module.
const commandTool = "run"

// contractSection is the custom section a command module may carry its
// contract in, as the JSON weir_describe would return.
const contractSection = "weir-contract"

var anyObject = json.RawMessage(`{"type":"object"}`)

// commandContract reads a command module's contract from its custom
// section, or makes one tool "run" that takes and returns any object.
func commandContract(name string, mod wazero.CompiledModule) (describeDoc, error) {
	for _, s := range mod.CustomSections() {
		if s.Name() != contractSection {
			continue
		}
		var doc describeDoc
		if err := json.Unmarshal(s.Data(), &doc); err != nil {
			return describeDoc{}, fmt.Errorf("%s: custom section %s is not a JSON contract: %w", name, contractSection, err)
		}
		if len(doc.Tools) != 1 || doc.Tools[0].Name != commandTool {
			return describeDoc{}, fmt.Errorf("%s: a command module has one tool, %q; its %s section describes %d", name, commandTool, contractSection, len(doc.Tools))
		}
		return doc, nil
	}
	return describeDoc{ABI: ABI, Tools: []plugins.Contract{{
		Name:        commandTool,
		Description: "Runs " + name + " with the inputs on stdin and reads the outputs from stdout.",
		Inputs:      anyObject,
		Outputs:     anyObject,
	}}}, nil
}

// runCommand runs a fresh instance of a command module: the inputs on
// stdin, the outputs from stdout, and the tail of stderr in the error of a
// non-zero exit.
func (pl *Plugin) runCommand(ctx context.Context, input []byte) ([]byte, error) {
	stdout := &capped{max: pl.limits.Output}
	stderr := newTail(4 << 10)
	cfg := pl.moduleConfig("", input, nil, stderr).WithStdout(stdout).WithStartFunctions("_start")
	mod, err := pl.rt.r.InstantiateModule(ctx, pl.mod, cfg)
	if mod != nil {
		defer mod.Close(context.Background())
	}
	var exit *sys.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 0 {
		err = nil
	}
	if err == nil && stdout.over {
		err = &limitError{what: "limits.output", value: formatBytes(int64(pl.limits.Output)), detail: "the module wrote more to stdout"}
	}
	if err != nil {
		in := &instance{mod: mod, stderr: stderr}
		return nil, pl.explain(ctx, in, err)
	}
	return stdout.buf, nil
}

// capped keeps up to max bytes and notes whether more came.
type capped struct {
	max  int
	buf  []byte
	over bool
}

func (c *capped) Write(p []byte) (int, error) {
	if len(c.buf)+len(p) > c.max {
		c.over = true
		return 0, errors.New("output limit")
	}
	c.buf = append(c.buf, p...)
	return len(p), nil
}
