package wasm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/weirflow/weir/internal/bytesize"
	"github.com/weirflow/weir/internal/inert"
	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/wasm/internal/guard"
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
	// cctx is the context tool calls run with; halted is why the watchdog
	// stopped the call, if it did (exitTimeout, exitCanceled).
	cctx   callContext
	halted atomic.Uint32
	// mem backs the guest's memory (nil if it has none); stackUsed and
	// growFailed are the globals the guard added (see internal/guard).
	mem        *linearMemory
	stackUsed  api.MutableGlobal
	growFailed api.MutableGlobal

	tool        string
	guestErr    []byte
	guestErrLen int // the payload's length, of which guestErr may hold less
	logs        int
	droppedLogs int
	httpReq     []byte
	httpResp    []byte
}

var instanceSeq atomic.Uint64

// newInstance instantiates the module and runs its _initialize, under
// limits.timeout.
func (pl *Plugin) newInstance(ctx context.Context) (*instance, error) {
	in := &instance{plugin: pl, stderr: newTail(4 << 10), cctx: callContext{stop: make(chan struct{})}}
	name := fmt.Sprintf("%s#%d", pl.spec.Name, instanceSeq.Add(1))
	cfg := pl.moduleConfig(name, nil, newTail(4<<10), in.stderr, in.sleep).WithStartFunctions()
	mod, err := pl.rt.r.InstantiateModule(withMemory(ctx, func(m *linearMemory) { in.mem = m }), pl.mod, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: instantiate: %w", pl.name, err)
	}
	in.mod = mod
	in.stackUsed, _ = mod.ExportedGlobal(guard.StackGlobal).(api.MutableGlobal)
	in.growFailed, _ = mod.ExportedGlobal(guard.GrowFailedGlobal).(api.MutableGlobal)
	pl.rt.hosts.instances.Store(mod, in)
	if init := mod.ExportedFunction("_initialize"); init != nil {
		err := in.timed(ctx, func(ctx context.Context) error {
			_, err := init.Call(ctx)
			return err
		})
		if err != nil {
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

// sleep is a granted sleep, which ends at the call's deadline, or when the
// watchdog stops the call, and then stops the guest as the watchdog would.
func (in *instance) sleep(ns int64) {
	if sleepUntil(ns, in.deadline.Load(), in.cctx.stop) {
		in.halt(exitTimeout)
	}
}

// callContext is the context of a tool call: the caller's, for its values,
// but done only when the watchdog halts the call. wazero watches it during
// the call and, once it is done, stops the guest at its next check and
// closes the instance's resources after the guest is out of the host.
// (CloseWithExitCode would close them at once, under a guest that may be
// inside a WASI call.) The caller's own end reaches the call through the
// watchdog, which looks at the caller's context too.
type callContext struct {
	context.Context
	stop chan struct{}
}

func (c *callContext) Done() <-chan struct{} { return c.stop }

func (c *callContext) Err() error {
	select {
	case <-c.stop:
		return context.Canceled
	default:
		return nil
	}
}

// errHalted stands for a call the watchdog halted; instance.halted says why.
var errHalted = errors.New("halted")

// halt stops the call in progress, for why; the first reason stays.
func (in *instance) halt(why uint32) {
	if in.halted.CompareAndSwap(0, why) {
		close(in.cctx.stop)
	}
}

// timed runs a call that is not a tool call (_initialize, weir_describe)
// under limits.timeout, through wazero's own context watch: these are rare
// enough not to need the pool's watchdog.
func (in *instance) timed(ctx context.Context, call func(context.Context) error) error {
	if !in.mem.enter() {
		return errInstanceClosed
	}
	defer in.mem.leave()
	ctx, cancel := context.WithTimeoutCause(ctx, in.plugin.limits.Timeout, errTimeout)
	defer cancel()
	in.deadline.Store(time.Now().Add(in.plugin.limits.Timeout).UnixNano())
	defer in.deadline.Store(0)
	err := call(ctx)
	if err != nil && context.Cause(ctx) == errTimeout {
		return errTimeout
	}
	return err
}

// errTimeout stands for limits.timeout where wazero's context watch
// enforces it: _initialize, weir_describe and command modules.
var errTimeout = errors.New("load timeout")

// errInstanceClosed is a call on an instance whose memory was freed: the
// plugin or the provider was closed under it.
var errInstanceClosed = sys.NewExitError(exitClosed)

func (in *instance) close() {
	in.plugin.rt.hosts.instances.Delete(in.mod)
	_ = in.mod.Close(context.Background())
}

// describe calls weir_describe and copies the contract out.
func (in *instance) describe(ctx context.Context) (out []byte, err error) {
	err = in.timed(ctx, func(ctx context.Context) error {
		if err := in.desc.CallWithStack(ctx, in.stack[:]); err != nil {
			return err
		}
		out, err = in.output(in.stack[0], maxContract)
		return err
	})
	return out, err
}

// maxContract caps a contract, which limits.output does not bound.
const maxContract = 16 << 20

// invoke is one call: one copy of the tool name and inputs into the guest,
// weir_invoke, one copy of the outputs out.
func (in *instance) invoke(ctx context.Context, toolName string, input []byte) ([]byte, error) {
	if !in.mem.enter() {
		return nil, errInstanceClosed
	}
	defer in.mem.leave()
	if in.growFailed != nil && in.growFailed.Get() != 0 {
		in.growFailed.Set(0) // a failure the guest survived in an earlier call
	}
	if in.stackUsed != nil && in.stackUsed.Get() != 0 {
		in.stackUsed.Set(0) // frames an exception unwound past their meter
	}
	in.cctx.Context = ctx
	ctx = &in.cctx
	in.calls++
	in.tool, in.guestErr = toolName, nil
	in.logs, in.droppedLogs = 0, 0
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
		return nil, guestError(in.guestErr, in.guestErrLen)
	}
	return in.output(in.stack[0], in.plugin.limits.Output)
}

// output copies ptr<<32|len out of guest memory, within limit bytes.
func (in *instance) output(packed uint64, limit int) ([]byte, error) {
	ptr, n := uint32(packed>>32), uint32(packed)
	if int(n) > limit {
		return nil, &limitError{what: "limits.output", value: bytesize.Format(int64(limit)),
			detail: fmt.Sprintf("the output is %s", bytesize.Format(int64(n)))}
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

// guestError reads the payload of weir.error, of which payload holds the
// first bytes of total. The message is cut and escaped (inert.Text): a
// guest cannot make an error of many megabytes, or one that writes to a
// terminal or forges a log line when it is shown.
func guestError(payload []byte, total int) error {
	var e struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
	}
	if len(payload) < total || json.Unmarshal(payload, &e) != nil || e.Message == "" {
		msg := strings.TrimSpace(string(payload))
		if len(payload) < total || len(msg) > maxMessage {
			cut := min(len(msg), maxMessage)
			return &toolError{err: errors.New(inert.Text(msg[:cut], 0) + fmt.Sprintf("… (%d bytes more)", total-cut))}
		}
		return &toolError{err: errors.New(inert.Text(msg, 0))}
	}
	return &toolError{err: plugins.WithKind(kinds[e.Kind], errors.New(inert.Text(e.Message, maxMessage)))}
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

// Why a call was stopped: it outlived limits.timeout, its caller's context
// ended, or the instance was closed under it.
const (
	exitTimeout  = 0xdead_7135
	exitCanceled = 0xdead_ca11
	exitClosed   = 0xdead_c105
)

// explain turns what wazero returned for a failed call into an error that
// says what happened: a limit with its value, a trap, an exit.
func (pl *Plugin) explain(ctx context.Context, in *instance, err error) error {
	var le *limitError
	if errors.As(err, &le) {
		return plugins.WithKind(plugins.Limit, err)
	}
	var halted uint32
	if in != nil {
		halted = in.halted.Load()
	}
	if err == errTimeout || halted == exitTimeout {
		return plugins.WithKind(plugins.Timeout, &limitError{what: "limits.timeout", value: pl.limits.Timeout.String(), detail: "the guest was stopped"})
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if halted == exitCanceled {
		return context.Canceled
	}
	var exit *sys.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == exitClosed {
		return errClosed
	}
	if err := pl.memoryExceeded(in); err != nil {
		return plugins.WithKind(plugins.Limit, err)
	}
	stderr := ""
	if in != nil {
		stderr = inert.Text(in.stderr.String(), 0)
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

// memoryExceeded says which part of limits.memory a failed call ran into,
// from the guard's globals and the memory's size, or returns nil.
func (pl *Plugin) memoryExceeded(in *instance) error {
	if in == nil || in.mod == nil {
		return nil
	}
	limit := int64(pl.limits.MemoryPages) * pageSize
	var size int64
	if mem := in.mod.Memory(); mem != nil {
		size = int64(mem.Size())
	}
	var failed uint64
	if in.growFailed != nil {
		failed = in.growFailed.Get()
	}
	le := &limitError{what: "limits.memory", value: bytesize.Format(limit)}
	switch {
	case in.stackUsed != nil && uint32(in.stackUsed.Get()) > pl.guard.StackBytes:
		le.detail = "the call stack passed its share of " + bytesize.Format(int64(pl.guard.StackBytes))
	case failed&guard.GrewTable != 0:
		le.detail = fmt.Sprintf("a table could not grow past %d elements", pl.guard.TableElements)
	case failed&guard.GrewMemory != 0 || size+pageSize > limit:
		le.detail = "the memory could not grow past " + bytesize.Format(size)
	default:
		return nil
	}
	return le
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
