package guard

import (
	"errors"
	"fmt"
)

var errEOF = errors.New("unexpected end")

// reader reads the binary format. The first error sticks; reads after it
// return zeros, so that callers check once.
type reader struct {
	b       []byte
	pos     int
	err     error
	lastU32 uint32 // what u32 read last
}

func (r *reader) done() bool { return r.err != nil || r.pos >= len(r.b) }

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *reader) check(what string) error {
	if r.err != nil {
		return fmt.Errorf("read %s: %w", what, r.err)
	}
	return nil
}

func (r *reader) peek() byte {
	if r.pos >= len(r.b) {
		return 0
	}
	return r.b[r.pos]
}

func (r *reader) byte() byte {
	if r.err != nil || r.pos >= len(r.b) {
		r.fail(errEOF)
		return 0
	}
	c := r.b[r.pos]
	r.pos++
	return c
}

func (r *reader) skip(n int) {
	if r.err != nil || n < 0 || n > len(r.b)-r.pos {
		r.fail(errEOF)
		return
	}
	r.pos += n
}

func (r *reader) bytes(n int) []byte {
	start := r.pos
	r.skip(n)
	if r.err != nil {
		return nil
	}
	return r.b[start:r.pos]
}

func (r *reader) name() string { return string(r.bytes(int(r.u32()))) }

// uleb reads an unsigned LEB128 of at most bits bits.
func (r *reader) uleb(bits uint) uint64 {
	var v uint64
	for shift := uint(0); ; shift += 7 {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		if shift >= bits {
			r.fail(errors.New("integer too long"))
			return 0
		}
		v |= uint64(c&0x7F) << shift
		if c&0x80 == 0 {
			return v
		}
	}
}

// count reads the length of a vector, which cannot be more than the bytes
// left, as every element takes at least one: a count that claims more is
// refused before anything loops over it or makes room for it.
func (r *reader) count() uint32 {
	n := r.u32()
	if r.err == nil && int64(n) > int64(len(r.b)-r.pos) {
		r.fail(fmt.Errorf("a count of %d, with %d bytes left", n, len(r.b)-r.pos))
		return 0
	}
	return n
}

func (r *reader) u32() uint32 {
	// Most are one byte.
	if r.pos < len(r.b) && r.b[r.pos] < 0x80 {
		r.lastU32 = uint32(r.b[r.pos])
		r.pos++
		return r.lastU32
	}
	r.lastU32 = uint32(r.uleb(35))
	return r.lastU32
}

// sleb skips a signed LEB128 of at most bits bits.
func (r *reader) sleb(bits uint) { r.uleb(bits + 6) }

func (r *reader) limits() {
	flags := r.byte()
	r.uleb(64)
	if flags&1 != 0 {
		r.uleb(64)
	}
}

func (r *reader) memarg() {
	align := r.u32()
	if align&0x40 != 0 { // multi-memory: a memory index follows
		r.u32()
	}
	r.uleb(64)
}

// What follows an opcode, for the common cases rewriteBody handles itself;
// the rest go through immediates.
const (
	immOther = iota
	immNone
	immU32
	immCallIndirect
	immMisc
)

var immediates = func() (t [256]byte) {
	for op := range 256 {
		switch {
		case op == 0x00, op == 0x01, op == 0x05, op == 0x0A, op == 0x0B, op == 0x0F,
			op == 0x19, op == 0x1A, op == 0x1B, op == 0xD1,
			op >= 0x45 && op <= 0xC4:
			t[op] = immNone
		case op == 0x07, op == 0x08, op == 0x09, op == 0x0C, op == 0x0D, op == 0x10, op == 0x12, op == 0x18,
			op >= 0x20 && op <= 0x26, op == 0x3F, op == 0x40, op == 0xD2:
			t[op] = immU32
		case op == 0x11, op == 0x13:
			t[op] = immCallIndirect
		case op == 0xFC:
			t[op] = immMisc
		}
	}
	return t
}()

// immediates skips the immediates of an instruction whose opcode was read.
// An opcode it does not know is an error: the rewrite cannot see past it.
func (r *reader) immediates(op byte) error {
	switch {
	case op == 0x00, op == 0x01, op == 0x05, op == 0x0A, op == 0x0B, op == 0x0F,
		op == 0x19, op == 0x1A, op == 0x1B, op == 0xD1,
		op >= 0x45 && op <= 0xC4:
		// no immediates
	case op == 0x02, op == 0x03, op == 0x04, op == 0x06: // block, loop, if, try
		r.sleb(33)
	case op == 0x07, op == 0x08, op == 0x09, op == 0x0C, op == 0x0D, op == 0x12, op == 0x18,
		op >= 0x20 && op <= 0x26, op == 0x3F, op == 0x40, op == 0xD2:
		r.u32()
	case op == 0x0E: // br_table
		n := r.count()
		for range n {
			r.u32()
		}
		r.u32()
	case op == 0x11, op == 0x13: // call_indirect, return_call_indirect
		r.u32()
		r.u32()
	case op == 0x1C: // select with types
		n := r.u32()
		r.skip(int(n))
	case op == 0x1F: // try_table
		r.sleb(33)
		n := r.count()
		for range n {
			switch r.byte() {
			case 0x00, 0x01: // catch, catch_ref: tag, label
				r.u32()
				r.u32()
			default: // catch_all, catch_all_ref: label
				r.u32()
			}
		}
	case op >= 0x28 && op <= 0x3E:
		r.memarg()
	case op == 0x41:
		r.sleb(32)
	case op == 0x42:
		r.sleb(64)
	case op == 0x43:
		r.skip(4)
	case op == 0x44:
		r.skip(8)
	case op == 0xD0: // ref.null
		r.sleb(33)
	case op == 0xFC:
		return r.miscImmediates(r.u32())
	case op == 0xFD:
		return r.vectorImmediates(r.u32())
	case op == 0xFE:
		return r.atomicImmediates(r.u32())
	default:
		return fmt.Errorf("instruction %#x: %w", op, ErrUnsupported)
	}
	return nil
}

func (r *reader) miscImmediates(sub uint32) error {
	switch {
	case sub <= 7: // saturating truncations
	case sub == 8, sub == 10, sub == 12, sub == 14: // memory.init, memory.copy, table.init, table.copy
		r.u32()
		r.u32()
	case sub == 9, sub == 11, sub == 13, sub >= 15 && sub <= 17:
		r.u32()
	default:
		return fmt.Errorf("instruction 0xfc %d: %w", sub, ErrUnsupported)
	}
	return nil
}

func (r *reader) vectorImmediates(sub uint32) error {
	switch {
	case sub <= 11, sub == 92, sub == 93: // loads and stores
		r.memarg()
	case sub == 12, sub == 13: // v128.const, i8x16.shuffle
		r.skip(16)
	case sub >= 21 && sub <= 34: // lane extract and replace
		r.skip(1)
	case sub >= 84 && sub <= 91: // lane loads and stores
		r.memarg()
		r.skip(1)
	case sub <= 0x113:
		// the rest of SIMD and relaxed SIMD: no immediates
	default:
		return fmt.Errorf("instruction 0xfd %d: %w", sub, ErrUnsupported)
	}
	return nil
}

func (r *reader) atomicImmediates(sub uint32) error {
	switch {
	case sub == 0x03: // atomic.fence
		r.skip(1)
	case sub <= 0x02, sub >= 0x10 && sub <= 0x4E:
		r.memarg()
	default:
		return fmt.Errorf("instruction 0xfe %d: %w", sub, ErrUnsupported)
	}
	return nil
}
