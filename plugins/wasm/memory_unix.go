//go:build unix

package wasm

import (
	"context"
	"sync/atomic"
	"syscall"

	"github.com/tetratelabs/wazero/experimental"
)

// linearMemory backs a guest's memory with an anonymous mapping of its
// whole limit, reserved but not committed: growing it copies nothing, the
// process pays only for the pages the guest touches, and closing the
// instance gives them back to the kernel at once. (wazero's default, a Go
// slice grown by append, holds the old copies until the next GC: three to
// four times the limit at the peak.)
//
// The watchdog closes an instance from another goroutine while its call
// may still run, so unmapping waits for the call to end: see enter.
type linearMemory struct {
	buf    []byte
	mapped bool // else a Go slice, when mmap failed
	state  atomic.Int32
}

const (
	memIdle int32 = iota
	memBusy
	memBusyFreed // Free came during a call: unmap when it ends
	memFreed
)

// withMemory makes the instances created with the returned context back
// their memory with a linearMemory, which set receives.
func withMemory(ctx context.Context, set func(*linearMemory)) context.Context {
	return experimental.WithMemoryAllocator(ctx, experimental.MemoryAllocatorFunc(func(_, max uint64) experimental.LinearMemory {
		m := newLinearMemory(max)
		set(m)
		return m
	}))
}

func newLinearMemory(max uint64) *linearMemory {
	buf, err := syscall.Mmap(-1, 0, int(max), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON|mapNoReserve)
	if err != nil || max == 0 {
		return &linearMemory{buf: make([]byte, 0, max)}
	}
	return &linearMemory{buf: buf[:0], mapped: true}
}

// Reallocate grows the memory in place; wazero has checked the limit.
func (m *linearMemory) Reallocate(size uint64) []byte {
	if size > uint64(cap(m.buf)) {
		return nil
	}
	m.buf = m.buf[:size]
	return m.buf
}

// Free unmaps the memory, or marks it to be unmapped when the call that
// uses it ends.
func (m *linearMemory) Free() {
	for {
		switch s := m.state.Load(); s {
		case memIdle:
			if m.state.CompareAndSwap(memIdle, memFreed) {
				m.unmap()
				return
			}
		case memBusy:
			if m.state.CompareAndSwap(memBusy, memBusyFreed) {
				return
			}
		default:
			return
		}
	}
}

// enter marks a call on the memory. It reports false when the memory was
// freed already: the instance is closed and must not be called.
func (m *linearMemory) enter() bool { return m == nil || m.state.CompareAndSwap(memIdle, memBusy) }

// leave ends the call, unmapping the memory if it was freed meanwhile.
func (m *linearMemory) leave() {
	if m != nil && !m.state.CompareAndSwap(memBusy, memIdle) && m.state.CompareAndSwap(memBusyFreed, memFreed) {
		m.unmap()
	}
}

func (m *linearMemory) unmap() {
	if m.mapped {
		_ = syscall.Munmap(m.buf[:cap(m.buf)])
	}
	m.buf = nil
}
