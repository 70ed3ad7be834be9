package wasm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/weirflow/weir/internal/inert"
)

// hostFuncs is the host module "weir" of one runtime. A host function finds
// the instance that called it, and through it the call and the plugin, from
// the calling module.
type hostFuncs struct {
	instances sync.Map // api.Module -> *instance
}

const i32 = api.ValueTypeI32

func instantiateHost(ctx context.Context, r wazero.Runtime) (*hostFuncs, error) {
	h := &hostFuncs{}
	b := r.NewHostModuleBuilder("weir")
	fn := func(name string, f api.GoModuleFunc, params int, result bool) {
		ps := make([]api.ValueType, params)
		for i := range ps {
			ps[i] = i32
		}
		var rs []api.ValueType
		if result {
			rs = []api.ValueType{i32}
		}
		b.NewFunctionBuilder().WithGoModuleFunction(f, ps, rs).Export(name)
	}
	fn("log", h.log, 3, false)
	fn("error", h.error, 2, false)
	fn("config_get", h.configGet, 4, true)
	fn("http_request", h.httpRequest, 4, true)
	if _, err := b.Instantiate(ctx); err != nil {
		return nil, fmt.Errorf("start host module weir: %w", err)
	}
	return h, nil
}

func (h *hostFuncs) instance(m api.Module) *instance {
	v, ok := h.instances.Load(m)
	if !ok {
		return nil
	}
	return v.(*instance)
}

// read copies guest memory; a range outside memory reads as nothing.
//
// The i32 arguments of a host function arrive in uint64 slots whose upper
// half wazero leaves undefined: they are decoded with api.DecodeU32 before
// any use, or a guest's length of 11 could read as billions.
func read(m api.Module, ptr, n uint32) ([]byte, bool) {
	b, ok := m.Memory().Read(ptr, n)
	if !ok {
		return nil, false
	}
	return bytes.Clone(b), true
}

var levels = []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError}

// Bounds on what a guest can make the host say: a log line or an error
// message is cut at maxMessage bytes, a call logs at most maxLogsPerCall
// lines, and a plugin at most logsPerSecond a second (with a burst of as
// many); what is over is counted and reported in one line after the call.
const (
	maxMessage      = 4 << 10
	maxErrorPayload = 64 << 10
	maxLogsPerCall  = 100
	logsPerSecond   = 100
)

// log writes a guest's line as a record of the plugin's logger, escaped so
// that it cannot forge another record or reach the terminal.
func (h *hostFuncs) log(ctx context.Context, m api.Module, stack []uint64) {
	in := h.instance(m)
	if in == nil {
		return
	}
	if in.logs >= maxLogsPerCall || !in.plugin.logRate.Allow() {
		in.droppedLogs++
		return
	}
	in.logs++
	msg, ok := read(m, api.DecodeU32(stack[1]), min(api.DecodeU32(stack[2]), maxMessage+1))
	if !ok {
		return
	}
	level := slog.LevelInfo
	if l := int(int32(stack[0])); l >= 0 && l < len(levels) {
		level = levels[l]
	}
	text := inert.Text(string(msg), maxMessage)
	if n := uint32(stack[2]); n > maxMessage {
		text = inert.Text(string(msg[:maxMessage]), 0) + fmt.Sprintf("… (%d bytes more)", n-maxMessage)
	}
	in.plugin.log.Log(ctx, level, text, "tool", in.tool)
}

// error keeps the call's error payload, at most maxErrorPayload bytes of it.
func (h *hostFuncs) error(_ context.Context, m api.Module, stack []uint64) {
	in := h.instance(m)
	n := uint32(stack[1])
	payload, ok := read(m, api.DecodeU32(stack[0]), min(n, maxErrorPayload))
	if in == nil || !ok {
		return
	}
	in.guestErr, in.guestErrLen = payload, int(n)
}

// answer writes v to the guest's buffer when it fits and returns its length,
// the protocol config_get and http_request share.
func answer(m api.Module, v []byte, buf, capacity uint32) uint64 {
	if uint64(len(v)) <= uint64(capacity) {
		if !m.Memory().Write(buf, v) {
			return api.EncodeI32(-2)
		}
	}
	return api.EncodeI32(int32(len(v)))
}

func (h *hostFuncs) configGet(_ context.Context, m api.Module, stack []uint64) {
	in := h.instance(m)
	key, ok := read(m, api.DecodeU32(stack[0]), api.DecodeU32(stack[1]))
	if in == nil || !ok {
		stack[0] = api.EncodeI32(-1)
		return
	}
	v, set := in.plugin.config[string(key)]
	if !set {
		stack[0] = api.EncodeI32(-1)
		return
	}
	stack[0] = answer(m, []byte(v), api.DecodeU32(stack[2]), api.DecodeU32(stack[3]))
}

// httpRequest performs the request through the http tool the builtin
// plugin has too, which checks the plugin's granted hosts. The response is kept for the call so
// that a guest whose buffer was too small gets it again, not a new request.
func (h *hostFuncs) httpRequest(ctx context.Context, m api.Module, stack []uint64) {
	in := h.instance(m)
	req, ok := read(m, api.DecodeU32(stack[0]), api.DecodeU32(stack[1]))
	if in == nil || !ok {
		stack[0] = api.EncodeI32(-1)
		return
	}
	if in.httpReq == nil || !bytes.Equal(in.httpReq, req) {
		// The call's time runs while the host waits on the network; when it
		// runs out there, the guest is stopped as the watchdog would.
		// The request runs under the caller's context, not the call's,
		// whose end only the watchdog decides.
		if cc, ok := ctx.(*callContext); ok {
			ctx = cc.Context
		}
		d := in.deadline.Load()
		if d != 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, time.Unix(0, d))
			defer cancel()
		}
		in.httpReq, in.httpResp = req, in.plugin.doHTTP(ctx, req)
		if d != 0 && time.Now().UnixNano() >= d {
			in.halt(exitTimeout)
		}
	}
	stack[0] = answer(m, in.httpResp, api.DecodeU32(stack[2]), api.DecodeU32(stack[3]))
}

// httpError is the response JSON of a request that was refused or failed.
func httpError(err error) []byte {
	b, _ := json.Marshal(map[string]string{"error": err.Error()})
	return b
}
