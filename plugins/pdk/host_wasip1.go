//go:build wasip1

package pdk

import "unsafe"

// The imports of weir-abi-1, from module "weir". The linker keeps only the
// ones a plugin uses.

//go:wasmimport weir log
func weirLog(level int32, ptr unsafe.Pointer, n uint32)

//go:wasmimport weir error
func weirError(ptr unsafe.Pointer, n uint32)

//go:wasmimport weir config_get
func weirConfigGet(keyPtr unsafe.Pointer, keyLen uint32, bufPtr unsafe.Pointer, bufCap uint32) int32

//go:wasmimport weir http_request
func weirHTTPRequest(reqPtr unsafe.Pointer, reqLen uint32, bufPtr unsafe.Pointer, bufCap uint32) int32

var defaultHost host = wasmHost{}

// wasmHost calls the real imports.
type wasmHost struct{}

func (wasmHost) log(level Level, msg string) {
	weirLog(int32(level), unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg)))
}

func (wasmHost) error(payload []byte) {
	weirError(unsafe.Pointer(unsafe.SliceData(payload)), uint32(len(payload)))
}

func (wasmHost) configGet(key string, buf []byte) int32 {
	return weirConfigGet(unsafe.Pointer(unsafe.StringData(key)), uint32(len(key)),
		unsafe.Pointer(unsafe.SliceData(buf)), uint32(len(buf)))
}

func (wasmHost) httpRequest(req, buf []byte) int32 {
	return weirHTTPRequest(unsafe.Pointer(unsafe.SliceData(req)), uint32(len(req)),
		unsafe.Pointer(unsafe.SliceData(buf)), uint32(len(buf)))
}

// The exports of weir-abi-1. The runtime keeps them from running before
// _initialize, which runs every init function and so registers the tools.

//go:wasmexport weir_alloc
func weirAlloc(n uint32) uint32 {
	return addr(std.alloc(int(n)))
}

//go:wasmexport weir_describe
func weirDescribe() uint64 {
	return pack(std.describe())
}

//go:wasmexport weir_invoke
func weirInvoke(toolPtr, toolLen, inPtr, inLen uint32) uint64 {
	var base uint64
	if cap(std.in) > 0 {
		base = uint64(addr(std.in))
	}
	out := std.export(base, toolPtr, toolLen, inPtr, inLen)
	if out == nil {
		return 0
	}
	return pack(out)
}

// addr is the address of b's first byte in linear memory, which is 32-bit.
// b must have a capacity of at least one.
func addr(b []byte) uint32 {
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b[:1]))))
}

// pack is the ptr<<32 | len result of weir_describe and weir_invoke.
func pack(b []byte) uint64 {
	return uint64(addr(b))<<32 | uint64(len(b))
}
