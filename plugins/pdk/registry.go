package pdk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"runtime/debug"
	"unsafe"

	"github.com/weirflow/weir/internal/jsonscan"
	"github.com/weirflow/weir/plugins"
)

// abi is the version of the guest/host contract the PDK implements.
const abi = "weir-abi-1"

// registry holds a module's tools and the buffers of weir-abi-1. The exports
// use the package's std registry; tests make their own.
//
// A registry is not safe for concurrent use: the host never makes two calls
// on one instance at once, and Wasm runs one goroutine at a time.
type registry struct {
	host    host
	replies replies

	tools  []*tool
	byName map[string]*tool
	// last is the tool called last. An instance usually serves one node, so
	// it saves the map lookup, which costs more than a call's other work in
	// Wasm.
	last *tool
	// contract is the weir_describe JSON, built on first use.
	contract []byte

	// in is the weir_alloc buffer, reused between calls.
	in []byte
	// out holds typed tools' outputs encoded by encoding/json, which enc
	// writes; flat holds those encoded by the fast path.
	out  bytes.Buffer
	enc  *json.Encoder
	flat []byte
	// result is the output last handed to the host, kept reachable until the
	// next call so that the garbage collector leaves it alone.
	result []byte
	// errBuf holds the error JSON passed to weir.error.
	errBuf []byte
}

type tool struct {
	contract plugins.Contract
	call     func(in []byte) ([]byte, error)
}

func newRegistry(h host) *registry {
	return &registry{host: h, byName: make(map[string]*tool)}
}

// add registers a tool; caller names the public function for panics.
func (r *registry) add(caller string, c plugins.Contract, call func([]byte) ([]byte, error)) {
	if !validName(c.Name) {
		panic(fmt.Sprintf("pdk.%s: tool name %q must be letters, digits, _ and - (weir-abi-1)", caller, c.Name))
	}
	if r.byName[c.Name] != nil {
		panic(fmt.Sprintf("pdk.%s: tool %q is registered twice", caller, c.Name))
	}
	t := &tool{contract: c, call: call}
	r.tools = append(r.tools, t)
	r.byName[c.Name] = t
	r.contract = nil
}

// addTool registers a typed tool: the generic half of Tool.
func addTool[In, Out any](r *registry, name, description string, fn func(In) (Out, error)) {
	if fn == nil {
		panic(fmt.Sprintf("pdk.Tool(%q): nil function", name))
	}
	// plugins.Func checks the types and builds the schemas, so a Wasm tool
	// publishes exactly what a native one would.
	var c plugins.Contract
	if validName(name) {
		c = plugins.Func(name, description, adapt(fn)).Contract()
	} else {
		c.Name = name
	}
	r.add("Tool", c, typedCall(r, fn))
}

// typedCall is the call of a typed tool: the flat fast paths where In and
// Out allow them, encoding/json otherwise.
func typedCall[In, Out any](r *registry, fn func(In) (Out, error)) func([]byte) ([]byte, error) {
	var dec *flatDecoder
	if ft := flatOf(reflect.TypeFor[In]()); ft != nil {
		dec = &flatDecoder{flatType: ft}
	}
	enc := flatOf(reflect.TypeFor[Out]())
	return func(in []byte) ([]byte, error) {
		var v In
		if dec == nil || !dec.decode(in, unsafe.Pointer(&v)) {
			// A variable of its own, so that v stays off the heap when the
			// fast path works.
			var w In
			if err := plugins.DecodeInputs(in, &w); err != nil {
				return nil, err
			}
			v = w
		}
		out, err := fn(v)
		if err != nil {
			return nil, err
		}
		if enc != nil {
			b, ok := enc.encode(r.flat[:0], unsafe.Pointer(&out))
			r.flat = b
			if ok {
				return b, nil
			}
		}
		return r.encode(out)
	}
}

// addRawTool registers a raw tool: RawTool for a registry.
func (r *registry) addRawTool(c plugins.Contract, fn func(in []byte) ([]byte, error)) {
	if fn == nil {
		panic(fmt.Sprintf("pdk.RawTool(%q): nil function", c.Name))
	}
	if validName(c.Name) {
		// plugins.RawFunc fills in missing schemas and checks that they are JSON.
		c = plugins.RawFunc(c, func(context.Context, []byte) ([]byte, error) { return nil, nil }).Contract()
	}
	r.add("RawTool", c, fn)
}

// validName reports whether name is a tool name of weir-abi-1.
func validName(name string) bool {
	if name == "" {
		return false
	}
	for i := range len(name) {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// describe returns the weir_describe JSON, built once.
func (r *registry) describe() []byte {
	if r.contract != nil {
		return r.contract
	}
	doc := struct {
		ABI   string             `json:"abi"`
		Tools []plugins.Contract `json:"tools"`
	}{ABI: abi, Tools: r.contracts()}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		// Schemas were checked when the tools were registered.
		panic("pdk: encode contract: " + err.Error())
	}
	r.contract = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	return r.contract
}

func (r *registry) contracts() []plugins.Contract {
	cs := make([]plugins.Contract, len(r.tools))
	for i, t := range r.tools {
		cs[i] = t.contract
	}
	return cs
}

// minAlloc is the first size of the weir_alloc buffer, enough for the
// inputs of most calls.
const minAlloc = 4 << 10

// alloc is weir_alloc: a buffer of n bytes, reused while it is large enough.
// Its first byte is always addressable, even for n == 0.
func (r *registry) alloc(n int) []byte {
	if n > cap(r.in) {
		r.in = make([]byte, max(n, 2*cap(r.in), minAlloc))
	} else if r.in == nil {
		r.in = make([]byte, minAlloc)
	}
	return r.in[:n]
}

// export is weir_invoke once the host's pointers are known: base is the
// address of the weir_alloc buffer, and the tool's name and inputs must lie
// in it, as the ABI says. It returns the outputs, valid until the next call,
// or nil after reporting the error to the host.
func (r *registry) export(base uint64, toolPtr, toolLen, inPtr, inLen uint32) []byte {
	r.result = nil
	name, ok1 := r.region(base, toolPtr, toolLen)
	in, ok2 := r.region(base, inPtr, inLen)
	if !ok1 || !ok2 {
		r.fail(plugins.Errorf(plugins.Internal, "weir_invoke: the tool name and inputs must be in the buffer from weir_alloc"))
		return nil
	}
	out, err := r.invoke(name, in)
	if err != nil {
		r.fail(err)
		return nil
	}
	r.result = out
	return out
}

// region is the n bytes at address ptr, if they lie in the alloc buffer at
// address base. Checking keeps a stray pointer from becoming a Go slice
// that the garbage collector would trip over.
func (r *registry) region(base uint64, ptr, n uint32) ([]byte, bool) {
	off := uint64(ptr) - base // wraps to a huge offset when ptr < base
	if off > uint64(cap(r.in)) || uint64(n) > uint64(cap(r.in))-off {
		return nil, false
	}
	return r.in[off : off+uint64(n) : off+uint64(n)], true
}

// emptyObject is the outputs of a raw tool that returns none.
var emptyObject = []byte("{}")

// invoke runs the named tool on in. A panic in the tool becomes an internal
// error, and its stack is logged.
func (r *registry) invoke(name, in []byte) (out []byte, err error) {
	t := r.last
	if t == nil || t.contract.Name != string(name) {
		if t = r.byName[string(name)]; t == nil {
			return nil, plugins.Errorf(plugins.Internal, "unknown tool %q", name)
		}
		r.last = t
	}
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, r.panicked(t.contract.Name, p)
		}
	}()
	out, err = t.call(in)
	if err == nil && len(out) == 0 {
		out = emptyObject
	}
	return out, err
}

func (r *registry) panicked(name string, p any) error {
	var err error
	if e, ok := p.(error); ok {
		err = plugins.Errorf(plugins.Internal, "tool %q panicked: %w", name, e)
	} else {
		err = plugins.Errorf(plugins.Internal, "tool %q panicked: %v", name, p)
	}
	r.host.log(Error, err.Error()+"\n\n"+string(debug.Stack()))
	return err
}

// encode writes a typed tool's outputs to the reused output buffer, the way
// plugins.Func does: without HTML escaping, and "{}" for null.
func (r *registry) encode(v any) ([]byte, error) {
	if r.enc == nil {
		r.enc = json.NewEncoder(&r.out)
		r.enc.SetEscapeHTML(false)
	}
	r.out.Reset()
	if err := r.enc.Encode(v); err != nil {
		return nil, plugins.Errorf(plugins.Internal, "encode outputs: %w", err)
	}
	b := r.out.Bytes()
	b = b[:len(b)-1] // Encode's newline
	switch k := jsonscan.Type(b); k {
	case "object":
		return b, nil
	case "null":
		return emptyObject, nil
	default:
		return nil, plugins.Errorf(plugins.Internal, "encode outputs: want object, got %s", k)
	}
}

// kindNames are the kinds of the error JSON, by plugins.Kind.
var kindNames = [...]string{
	plugins.Internal:     "internal",
	plugins.Retryable:    "retryable",
	plugins.Timeout:      "timeout",
	plugins.Limit:        "limit",
	plugins.InvalidInput: "invalid_input",
}

// fail reports err to the host through weir.error.
func (r *registry) fail(err error) {
	r.errBuf = appendError(r.errBuf[:0], err)
	r.host.error(r.errBuf)
}

// appendError appends the error JSON of weir-abi-1 for err to b.
func appendError(b []byte, err error) []byte {
	kind := kindNames[plugins.Internal]
	if k := plugins.KindOf(err); int(k) < len(kindNames) {
		kind = kindNames[k]
	}
	b = append(b, `{"kind":"`...)
	b = append(b, kind...)
	b = append(b, `","message":`...)
	b = jsonscan.AppendString(b, err.Error())
	return append(b, '}')
}

// adapt gives fn the signature plugins.Func takes.
func adapt[In, Out any](fn func(In) (Out, error)) func(context.Context, In) (Out, error) {
	return func(_ context.Context, in In) (Out, error) { return fn(in) }
}
