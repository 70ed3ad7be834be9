package wasm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/weirflow/weir/plugins"
)

// instance is one instantiated reactor module. It serves one call at a
// time; the fields below the line belong to the call in progress.
type instance struct {
	plugin *Plugin
	mod    api.Module
	alloc  api.Function
	call   api.Function
	desc   api.Function
	stack  [4]uint64
	stderr *tail
	calls  int
	idle   int64 // unix nanos when put back in the pool
	// buf and bufCap are the guest's weir_alloc buffer, reused for every
	// call that fits, so that a call is a single wasm call.
	buf, bufCap uint32
	// deadline is when the watchdog stops the call (unix nanos, 0: idle).
	deadline atomic.Int64

	tool     string
	guestErr []byte
	httpReq  []byte
	httpResp []byte
}

var instanceSeq atomic.Uint64

// newInstance instantiates the module and runs its _initialize.
func (pl *Plugin) newInstance(ctx context.Context) (*instance, error) {
	in := &instance{plugin: pl, stderr: newTail(4 << 10)}
	name := fmt.Sprintf("%s#%d", pl.spec.Name, instanceSeq.Add(1))
	cfg := pl.moduleConfig(name, nil, newTail(4<<10), in.stderr).WithStartFunctions()
	mod, err := pl.rt.r.InstantiateModule(ctx, pl.mod, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: instantiate: %w", pl.name, err)
	}
	in.mod = mod
	pl.rt.hosts.instances.Store(mod, in)
	if init := mod.ExportedFunction("_initialize"); init != nil {
		if _, err := init.Call(ctx); err != nil {
			err = pl.explain(ctx, in, err)
			in.close()
			return nil, fmt.Errorf("%s: _initialize: %w", pl.name, err)
		}
	}
	in.alloc = mod.ExportedFunction("weir_alloc")
	in.call = mod.ExportedFunction("weir_invoke")
	in.desc = mod.ExportedFunction("weir_describe")
	return in, nil
}

func (in *instance) close() {
	in.plugin.rt.hosts.instances.Delete(in.mod)
	_ = in.mod.Close(context.Background())
}

// describe calls weir_describe and copies the contract out.
func (in *instance) describe(ctx context.Context) ([]byte, error) {
	if err := in.desc.CallWithStack(ctx, in.stack[:]); err != nil {
		return nil, err
	}
	return in.output(in.stack[0], maxContract)
}

// maxContract caps a contract, which limits.output does not bound.
const maxContract = 16 << 20

// invoke is one call: one copy of the tool name and inputs into the guest,
// weir_invoke, one copy of the outputs out.
func (in *instance) invoke(ctx context.Context, toolName string, input []byte) ([]byte, error) {
	in.calls++
	in.tool, in.guestErr = toolName, nil
	in.stderr.reset()
	in.httpReq, in.httpResp = nil, nil
	n := len(toolName) + len(input)
	if uint32(n) > in.bufCap || in.bufCap == 0 {
		in.stack[0] = uint64(n)
		if err := in.alloc.CallWithStack(ctx, in.stack[:]); err != nil {
			return nil, err
		}
		in.buf, in.bufCap = uint32(in.stack[0]), uint32(n)
	}
	ptr := in.buf
	mem := in.mod.Memory()
	if !mem.WriteString(ptr, toolName) || !mem.Write(ptr+uint32(len(toolName)), input) {
		return nil, fmt.Errorf("weir_alloc(%d) returned %#x, outside the guest's memory", n, ptr)
	}
	in.stack = [4]uint64{uint64(ptr), uint64(len(toolName)), uint64(ptr) + uint64(len(toolName)), uint64(len(input))}
	if err := in.call.CallWithStack(ctx, in.stack[:]); err != nil {
		return nil, err
	}
	if in.guestErr != nil {
		return nil, guestError(in.guestErr)
	}
	return in.output(in.stack[0], in.plugin.limits.Output)
}

// output copies ptr<<32|len out of guest memory, within limit bytes.
func (in *instance) output(packed uint64, limit int) ([]byte, error) {
	ptr, n := uint32(packed>>32), uint32(packed)
	if int(n) > limit {
		return nil, &limitError{what: "limits.output", value: formatBytes(int64(limit)),
			detail: fmt.Sprintf("the output is %s", formatBytes(int64(n)))}
	}
	b, ok := in.mod.Memory().Read(ptr, n)
	if !ok {
		return nil, fmt.Errorf("the output at %#x (%d bytes) is outside the guest's memory", ptr, n)
	}
	return bytes.Clone(b), nil
}

// toolError is an error a guest reported through weir.error: the tool
// failed, the instance is fine.
type toolError struct{ err error }

func (e *toolError) Error() string { return e.err.Error() }
func (e *toolError) Unwrap() error { return e.err }

var kinds = map[string]plugins.Kind{
	"internal":      plugins.Internal,
	"retryable":     plugins.Retryable,
	"timeout":       plugins.Timeout,
	"limit":         plugins.Limit,
	"invalid_input": plugins.InvalidInput,
}

// guestError reads the payload of weir.error.
func guestError(payload []byte) error {
	var e struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
	}
	if json.Unmarshal(payload, &e) != nil || e.Message == "" {
		return &toolError{err: errors.New(strings.TrimSpace(string(payload)))}
	}
	return &toolError{err: plugins.WithKind(kinds[e.Kind], errors.New(e.Message))}
}

// limitError says which limit a call hit, with its value.
type limitError struct {
	what, value, detail string
}

func (e *limitError) Error() string {
	msg := fmt.Sprintf("%s (%s) exceeded", e.what, e.value)
	if e.detail != "" {
		msg += ": " + e.detail
	}
	return msg
}

// exitTimeout is the exit code the watchdog closes an instance with when
// its call outlives limits.timeout.
const exitTimeout = 0xdead_7135

// explain turns what wazero returned for a failed call into an error that
// says what happened: a limit with its value, a trap, an exit.
func (pl *Plugin) explain(ctx context.Context, in *instance, err error) error {
	var le *limitError
	if errors.As(err, &le) {
		return plugins.WithKind(plugins.Limit, err)
	}
	var exit *sys.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == exitTimeout {
		return plugins.WithKind(plugins.Timeout, &limitError{what: "limits.timeout", value: pl.limits.Timeout.String(), detail: "the guest was stopped"})
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	limit := int64(pl.limits.MemoryPages) * pageSize
	if in != nil && in.mod != nil {
		if mem := in.mod.Memory(); mem != nil && int64(mem.Size())+pageSize > limit {
			return plugins.WithKind(plugins.Limit, &limitError{what: "limits.memory", value: formatBytes(limit), detail: firstLine(err.Error())})
		}
	}
	stderr := ""
	if in != nil {
		stderr = in.stderr.String()
	}
	if errors.As(err, &exit) {
		err = fmt.Errorf("guest exited with code %d", exit.ExitCode())
	} else {
		err = fmt.Errorf("guest trapped: %s", firstLine(err.Error()))
	}
	if stderr != "" {
		err = fmt.Errorf("%w; stderr: %s", err, stderr)
	}
	return err
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// tail keeps the last bytes written to it: a guest's stderr, for errors.
type tail struct {
	max int
	buf []byte
}

func newTail(max int) *tail { return &tail{max: max} }

func (t *tail) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tail) String() string { return strings.TrimSpace(string(t.buf)) }

func (t *tail) reset() { t.buf = t.buf[:0] }
