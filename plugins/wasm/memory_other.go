//go:build !unix

package wasm

import "context"

// linearMemory is wazero's own where there is no mmap: calls need no
// bracketing.
type linearMemory struct{}

func withMemory(ctx context.Context, set func(*linearMemory)) context.Context { return ctx }

func (m *linearMemory) enter() bool { return true }
func (m *linearMemory) leave()      {}
