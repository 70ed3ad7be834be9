//go:build wasm

package jsonscan

import "unsafe"

// load64 reads the first eight bytes of b as one word, in an order that
// does not matter to its callers. Go does not combine byte loads into one
// in Wasm, where unaligned loads are allowed.
func load64(b []byte) uint64 {
	_ = b[7]
	return *(*uint64)(unsafe.Pointer(unsafe.SliceData(b)))
}
