package guard

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
)

var limits = Limits{TableElements: 100, StackBytes: 1 << 16}

// Modules written out byte by byte: the sections that matter here.
var (
	header = []byte("\x00asm\x01\x00\x00\x00")
	// type 0: () -> ()
	types = []byte{1, 4, 1, 0x60, 0, 0}
	// function 0 of type 0
	funcs = []byte{3, 2, 1, 0}
	// a body that calls itself: call 0, end
	selfCall = []byte{10, 6, 1, 4, 0, 0x10, 0, 0x0B}
)

func wasmOf(sections ...[]byte) []byte {
	b := append([]byte(nil), header...)
	for _, s := range sections {
		b = append(b, s...)
	}
	return b
}

// compile validates and compiles bin with wazero's interpreter, which
// checks a module as fully as its compiler does, in a fraction of the time
// and memory (the fuzz target compiles thousands).
func compile(t *testing.T, bin []byte) error {
	t.Helper()
	r := wazero.NewRuntimeWithConfig(context.Background(), wazero.NewRuntimeConfigInterpreter())
	defer r.Close(context.Background())
	_, err := r.CompileModule(context.Background(), bin)
	return err
}

// A module with neither globals nor exports gets both, in their place,
// and the self-call is metered: the result compiles and traps when run.
func TestRewriteAddsSectionsAndMeters(t *testing.T) {
	out, err := Rewrite(wasmOf(types, funcs, selfCall), limits)
	require.NoError(t, err)
	require.NoError(t, compile(t, out))

	r := wazero.NewRuntime(context.Background())
	defer r.Close(context.Background())
	exported := wasmOf(types, funcs, []byte{7, 5, 1, 1, 'f', 0, 0}, selfCall)
	out, err = Rewrite(exported, limits)
	require.NoError(t, err)
	mod, err := r.Instantiate(context.Background(), out)
	require.NoError(t, err)
	_, err = mod.ExportedFunction("f").Call(context.Background())
	require.ErrorContains(t, err, "wasm error: unreachable")
	used := uint32(mod.ExportedGlobal(StackGlobal).Get())
	assert.Greater(t, used, limits.StackBytes, "the meter passed the budget")
	assert.Less(t, used, limits.StackBytes+FrameCost(0)+1, "and stopped at the first frame past it")
}

func TestRewriteCapsTables(t *testing.T) {
	// table 0: funcref, no maximum, 10 elements
	table := []byte{4, 4, 1, 0x70, 0, 10}
	out, err := Rewrite(wasmOf(types, funcs, table, selfCall), limits)
	require.NoError(t, err)
	require.NoError(t, compile(t, out))
	assert.Contains(t, string(out), string([]byte{4, 5, 1, 0x70, 1, 10, 100}), "the table's maximum is the cap")

	big := []byte{4, 5, 1, 0x70, 0, 0xC8, 0x01} // 200 elements
	_, err = Rewrite(wasmOf(types, funcs, big, selfCall), limits)
	assert.EqualError(t, err, "table 0 starts with 200 elements, over the 100 the memory limit allows")
	var te *TableError
	assert.True(t, errors.As(err, &te))
}

func TestRewriteRefusesWhatItCannotRead(t *testing.T) {
	cases := map[string][]byte{
		"not a WebAssembly module (no \\0asm header)":                            []byte("#!/bin/sh"),
		"WebAssembly binary version 2: unsupported by weir's sandbox":            []byte("\x00asm\x02\x00\x00\x00"),
		"read section 1: unexpected end":                                         wasmOf([]byte{1, 9, 1}),
		"function 0: at byte 1: instruction 0xd3: unsupported by weir's sandbox": wasmOf(types, funcs, []byte{10, 5, 1, 3, 0, 0xD3, 0x0B}),
		"read function section: a count of 4294967295, with 0 bytes left":        wasmOf(types, []byte{3, 5, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F}),
		// wazero makes room for what a count claims: 4 G element segments
		// or a 4 GiB data segment from a module of a few bytes.
		"read section 9: a count of 4294967295, with 0 bytes left":  wasmOf([]byte{9, 5, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F}),
		"read section 11: a count of 4294967295, with 0 bytes left": wasmOf([]byte{11, 7, 1, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F}),
		"code section has 2 bodies for 1 functions":                 wasmOf(types, funcs, []byte{10, 7, 2, 2, 0, 0x0B, 2, 0, 0x0B}),
	}
	for want, bin := range cases {
		_, err := Rewrite(bin, limits)
		assert.EqualError(t, err, want)
	}
}

// Whatever the rewrite accepts and wazero compiles, the rewrite of it
// compiles too; and no input makes the rewrite panic or ask for memory out
// of proportion.
func FuzzRewrite(f *testing.F) {
	f.Add(wasmOf(types, funcs, selfCall))
	f.Add(wasmOf(types, funcs, []byte{4, 4, 1, 0x70, 0, 10}, selfCall))
	for _, name := range []string{"../../testdata/wat/bounds.wasm", "../../testdata/wat/noisy.wasm", "../../testdata/wat/command.wasm"} {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, bin []byte) {
		out, err := Rewrite(bin, limits)
		if err != nil {
			// Refused: it never reaches wazero. (A refused count bomb
			// would make wazero itself ask for gigabytes here.)
			return
		}
		if compile(t, bin) != nil {
			return
		}
		require.NoError(t, compile(t, out), "wazero compiles the original, but not its rewrite")
	})
}

func BenchmarkRewrite(b *testing.B) {
	bin, err := os.ReadFile(os.Getenv("WEIR_BENCH_WASM"))
	if err != nil {
		b.Skip("set WEIR_BENCH_WASM to a module:", err)
	}
	b.SetBytes(int64(len(bin)))
	for b.Loop() {
		if _, err := Rewrite(bin, Limits{TableElements: 65536, StackBytes: 1 << 20}); err != nil {
			b.Fatal(err)
		}
	}
}
