package wasm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
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
func read(m api.Module, ptr, n uint64) ([]byte, bool) {
	b, ok := m.Memory().Read(uint32(ptr), uint32(n))
	if !ok {
		return nil, false
	}
	return bytes.Clone(b), true
}

var levels = []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError}

func (h *hostFuncs) log(ctx context.Context, m api.Module, stack []uint64) {
	in := h.instance(m)
	msg, ok := read(m, stack[1], stack[2])
	if in == nil || !ok {
		return
	}
	level := slog.LevelInfo
	if l := int(int32(stack[0])); l >= 0 && l < len(levels) {
		level = levels[l]
	}
	in.plugin.log.Log(ctx, level, string(msg), "tool", in.tool)
}

func (h *hostFuncs) error(_ context.Context, m api.Module, stack []uint64) {
	in := h.instance(m)
	payload, ok := read(m, stack[0], stack[1])
	if in == nil || !ok {
		return
	}
	in.guestErr = payload
}

// answer writes v to the guest's buffer when it fits and returns its length,
// the protocol config_get and http_request share.
func answer(m api.Module, v []byte, buf, capacity uint64) uint64 {
	if uint64(len(v)) <= capacity {
		if !m.Memory().Write(uint32(buf), v) {
			return api.EncodeI32(-2)
		}
	}
	return api.EncodeI32(int32(len(v)))
}

func (h *hostFuncs) configGet(_ context.Context, m api.Module, stack []uint64) {
	in := h.instance(m)
	key, ok := read(m, stack[0], stack[1])
	if in == nil || !ok {
		stack[0] = api.EncodeI32(-1)
		return
	}
	v, set := in.plugin.config[string(key)]
	if !set {
		stack[0] = api.EncodeI32(-1)
		return
	}
	stack[0] = answer(m, []byte(v), stack[2], stack[3])
}

// httpRequest performs the request through the builtin http tool, which
// checks the plugin's granted hosts. The response is kept for the call so
// that a guest whose buffer was too small gets it again, not a new request.
func (h *hostFuncs) httpRequest(ctx context.Context, m api.Module, stack []uint64) {
	in := h.instance(m)
	req, ok := read(m, stack[0], stack[1])
	if in == nil || !ok {
		stack[0] = api.EncodeI32(-1)
		return
	}
	if in.httpReq == nil || !bytes.Equal(in.httpReq, req) {
		in.httpReq, in.httpResp = req, in.plugin.doHTTP(ctx, req)
	}
	stack[0] = answer(m, in.httpResp, stack[2], stack[3])
}

// httpError is the response JSON of a request that was refused or failed.
func httpError(err error) []byte {
	b, _ := json.Marshal(map[string]string{"error": err.Error()})
	return b
}
