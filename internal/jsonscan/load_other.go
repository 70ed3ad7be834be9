//go:build !wasm

package jsonscan

import "encoding/binary"

// load64 reads the first eight bytes of b as one word, in an order that
// does not matter to its callers. The compiler makes it one load where the
// machine allows unaligned ones.
func load64(b []byte) uint64 {
	return binary.LittleEndian.Uint64(b)
}
