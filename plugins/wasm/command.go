package wasm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/weirflow/weir/internal/bytesize"
	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/wasm/internal/guard"
)

// commandTool is the one tool of a command-mode module.
const commandTool = "run"

// contractSection is the custom section a command module may carry its
// contract in, as the JSON weir_describe would return.
const contractSection = "weir-contract"

var anyObject = json.RawMessage(`{"type":"object"}`)

// commandContract reads a command module's contract, as JSON, from its
// custom section, or makes one tool "run" that takes and returns any object.
func commandContract(name string, mod wazero.CompiledModule) ([]byte, error) {
	for _, s := range mod.CustomSections() {
		if s.Name() != contractSection {
			continue
		}
		var doc describeDoc
		if err := json.Unmarshal(s.Data(), &doc); err != nil {
			return nil, fmt.Errorf("%s: custom section %s is not a JSON contract: %w", name, contractSection, err)
		}
		if len(doc.Tools) != 1 || doc.Tools[0].Name != commandTool {
			return nil, fmt.Errorf("%s: a command module has one tool, %q; its %s section describes %d", name, commandTool, contractSection, len(doc.Tools))
		}
		return s.Data(), nil
	}
	return json.Marshal(describeDoc{ABI: ABI, Tools: []plugins.Contract{{
		Name:        commandTool,
		Description: "Runs " + name + " with the inputs on stdin and reads the outputs from stdout.",
		Inputs:      anyObject,
		Outputs:     anyObject,
	}}})
}

// runCommand runs a fresh instance of a command module: the inputs on
// stdin, the outputs from stdout, and the tail of stderr in the error of a
// non-zero exit. It waits for one of limits.instances slots first, and
// stops the guest at limits.timeout or as soon as its output passes
// limits.output.
func (pl *Plugin) runCommand(ctx context.Context, input []byte) ([]byte, error) {
	select {
	case pl.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-pl.slots }()
	pl.commandRuns.Add(1)

	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	ctx, cancel := context.WithTimeoutCause(ctx, pl.limits.Timeout, errTimeout)
	defer cancel()
	stdout := &capped{max: pl.limits.Output, over: func() { stop(errOutputCap) }}
	in := &instance{plugin: pl, stderr: newTail(4 << 10)}
	// A granted sleep ends at the deadline; wazero's watch of the context
	// then stops the guest.
	deadline, _ := ctx.Deadline()
	sleep := func(ns int64) { sleepUntil(ns, deadline.UnixNano(), ctx.Done()) }
	cfg := pl.moduleConfig("", input, nil, in.stderr, sleep).WithStdout(stdout).WithStartFunctions("_start")
	mod, err := pl.rt.r.InstantiateModule(withMemory(ctx, func(m *linearMemory) { in.mem = m }), pl.mod, cfg)
	if mod != nil {
		defer mod.Close(context.Background())
		in.mod = mod
		in.stackUsed, _ = mod.ExportedGlobal(guard.StackGlobal).(api.MutableGlobal)
		in.growFailed, _ = mod.ExportedGlobal(guard.GrowFailedGlobal).(api.MutableGlobal)
	}
	var exit *sys.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 0 {
		err = nil
	}
	switch cause := context.Cause(ctx); {
	case stdout.n > pl.limits.Output || cause == errOutputCap:
		err = &limitError{what: "limits.output", value: bytesize.Format(int64(pl.limits.Output)), detail: "the module wrote more to stdout and was stopped"}
	case cause == errTimeout:
		// Ended, or ended late, past limits.timeout.
		err = errTimeout
	}
	if err != nil {
		return nil, pl.explain(ctx, in, err)
	}
	return stdout.buf, nil
}

// errOutputCap stops a command module whose output passed limits.output.
var errOutputCap = errors.New("output over the cap")

// capped keeps up to max bytes; past them it counts, calls over once and
// fails the write.
type capped struct {
	max  int
	buf  []byte
	n    int
	over func()
}

func (c *capped) Write(p []byte) (int, error) {
	c.n += len(p)
	if c.n > c.max {
		if c.over != nil {
			c.over()
			c.over = nil
		}
		return 0, errOutputCap
	}
	c.buf = append(c.buf, p...)
	return len(p), nil
}
