// Package guard rewrites a Wasm module so that the resources wazero does not
// bound by itself are bounded: its tables cannot grow past a number of
// elements, its call stack cannot grow past a number of bytes, and a failed
// memory.grow is recorded where the host can read it.
//
// wazero caps linear memory (the runtime's memory limit) but not tables
// (table.grow appends to a Go slice) and not the call stack (which it grows
// up to about 100 MiB before it traps). The rewrite is done once per module,
// before compiling; the instructions it adds cost a few nanoseconds a call.
//
// The stack is metered at call sites: before each call of a function defined
// in the module, a global counter grows by the callee's frame cost and the
// call traps with unreachable when it passes the budget; after the call it
// shrinks again. The counter and the grow-failure flag are exported as
// globals (StackGlobal, GrowFailedGlobal) so that the host can tell, after a
// trap, whether a limit caused it.
package guard

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Version numbers the rewrite: a module rewritten by another version must
// be rewritten again.
const Version = 1

// Names of the globals the rewrite exports.
const (
	// StackGlobal is the i32 the frames in use add up to, in bytes as the
	// guard counts them; above the budget the guest trapped for its stack.
	StackGlobal = "weir:stack"
	// GrowFailedGlobal is an i32 with GrewMemory set when a memory.grow
	// failed, GrewTable when a table.grow did.
	GrowFailedGlobal = "weir:grow_failed"
)

// Bits of GrowFailedGlobal.
const (
	GrewMemory = 1
	GrewTable  = 2
)

// Limits say how far the module may go.
type Limits struct {
	// TableElements caps each table's size.
	TableElements uint32
	// StackBytes caps the frames of the call stack, as FrameCost counts
	// them.
	StackBytes uint32
}

// FrameCost is what the guard counts for a frame of a function with the
// given number of parameters and locals: a fixed part for the return
// address, saved registers and temporaries, and a slot per value.
func FrameCost(values int) uint32 {
	return uint32(min(64+16*int64(values), math.MaxInt32/2))
}

// maxLocals bounds the locals of all a module's functions together (a Go
// module of 4 MB declares about 10,000).
const maxLocals = 1 << 20

// ErrUnsupported is wrapped by errors about modules the guard cannot read.
var ErrUnsupported = errors.New("unsupported by weir's sandbox")

// Section ids, in the order a module must have them (tag sits between
// memory and global; data count between element and code).
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secGlobal    = 6
	secExport    = 7
	secCode      = 10
	secDataCount = 12
)

// order is each section's position in a valid module, for placing a new one.
var order = map[byte]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13}

type section struct {
	id   byte
	data []byte
}

// Rewrite returns the module with its tables capped, its calls metered and
// its memory.grow failures recorded. A module that starts with a table
// larger than the cap is refused. The input is not modified.
func Rewrite(bin []byte, l Limits) ([]byte, error) {
	if len(bin) < 8 || string(bin[:4]) != "\x00asm" {
		return nil, errors.New("not a WebAssembly module (no \\0asm header)")
	}
	if binary.LittleEndian.Uint32(bin[4:8]) != 1 {
		return nil, fmt.Errorf("WebAssembly binary version %d: %w", binary.LittleEndian.Uint32(bin[4:8]), ErrUnsupported)
	}
	var secs []section
	r := &reader{b: bin, pos: 8}
	for !r.done() {
		id := r.byte()
		n := r.u32()
		data := r.bytes(int(n))
		if r.err != nil {
			return nil, fmt.Errorf("read section %d: %w", id, r.err)
		}
		secs = append(secs, section{id: id, data: data})
	}

	m := &module{}
	for _, s := range secs {
		if err := checkCounts(s.id, s.data); err != nil {
			return nil, err
		}
		var err error
		switch s.id {
		case secType:
			err = m.readTypes(s.data)
		case secImport:
			err = m.readImports(s.data)
		case secFunction:
			err = m.readFunctions(s.data)
		case secGlobal:
			m.globals, err = vecLen(s.data)
		}
		if err != nil {
			return nil, err
		}
	}
	m.stackIndex = m.importedGlobals + m.globals
	m.tmpIndex = m.stackIndex + 1
	m.failedIndex = m.stackIndex + 2

	var out []section
	for _, s := range secs {
		switch {
		case s.id == secCustom && isDebugSection(s.data):
			// DWARF names code offsets, which the rewrite moves.
			continue
		case s.id == secTable:
			data, err := capTables(s.data, l.TableElements)
			if err != nil {
				return nil, err
			}
			s.data = data
		case s.id == secGlobal:
			s.data = appendGlobals(s.data)
		case s.id == secExport:
			s.data = m.appendExports(s.data)
		case s.id == secCode:
			data, err := m.rewriteCode(s.data, l.StackBytes)
			if err != nil {
				return nil, err
			}
			s.data = data
		}
		out = append(out, s)
	}
	if !has(out, secGlobal) {
		out = insert(out, section{id: secGlobal, data: appendGlobals(nil)})
	}
	if !has(out, secExport) {
		out = insert(out, section{id: secExport, data: m.appendExports(nil)})
	}

	size := 8
	for _, s := range out {
		size += 6 + len(s.data)
	}
	b := append(make([]byte, 0, size), bin[:8]...)
	for _, s := range out {
		b = append(b, s.id)
		b = binary.AppendUvarint(b, uint64(len(s.data)))
		b = append(b, s.data...)
	}
	return b, nil
}

func has(secs []section, id byte) bool {
	for _, s := range secs {
		if s.id == id {
			return true
		}
	}
	return false
}

// insert places a new section before the first that must follow it.
func insert(secs []section, s section) []section {
	for i, o := range secs {
		if o.id != secCustom && order[o.id] > order[s.id] {
			return append(secs[:i], append([]section{s}, secs[i:]...)...)
		}
	}
	return append(secs, s)
}

func isDebugSection(data []byte) bool {
	r := &reader{b: data}
	name := r.name()
	return r.err == nil && len(name) > 7 && name[:7] == ".debug_"
}

// module is what the rewrite needs to know of a module.
type module struct {
	types           [][2]int // params and results of each type
	funcTypes       []uint32 // the type of each function, imports first
	importedFuncs   int
	importedGlobals uint32
	globals         uint32

	stackIndex, tmpIndex, failedIndex uint32
}

func (m *module) readTypes(data []byte) error {
	r := &reader{b: data}
	n := r.count()
	for range n {
		if form := r.byte(); form != 0x60 && r.err == nil {
			return fmt.Errorf("type form %#x: %w", form, ErrUnsupported)
		}
		params := r.u32()
		r.skip(int(params))
		results := r.u32()
		r.skip(int(results))
		m.types = append(m.types, [2]int{int(params), int(results)})
	}
	return r.check("type section")
}

func (m *module) readImports(data []byte) error {
	r := &reader{b: data}
	n := r.count()
	for range n {
		r.name()
		r.name()
		switch kind := r.byte(); kind {
		case 0x00: // function
			m.funcTypes = append(m.funcTypes, r.u32())
			m.importedFuncs++
		case 0x01: // table: reftype, limits
			r.byte()
			r.limits()
		case 0x02: // memory
			r.limits()
		case 0x03: // global: valtype, mutability
			r.byte()
			r.byte()
			m.importedGlobals++
		case 0x04: // tag
			r.byte()
			r.u32()
		default:
			if r.err == nil {
				return fmt.Errorf("import kind %#x: %w", kind, ErrUnsupported)
			}
		}
	}
	return r.check("import section")
}

func (m *module) readFunctions(data []byte) error {
	r := &reader{b: data}
	n := r.count()
	for range n {
		m.funcTypes = append(m.funcTypes, r.u32())
	}
	return r.check("function section")
}

func vecLen(data []byte) (uint32, error) {
	r := &reader{b: data}
	n := r.count()
	return n, r.check("section")
}

// capTables gives every table a maximum of at most max elements.
func capTables(data []byte, max uint32) ([]byte, error) {
	r := &reader{b: data}
	n := r.count()
	out := binary.AppendUvarint(nil, uint64(n))
	for i := range n {
		start := r.pos
		if r.peek() == 0x40 {
			// A table with an initializer expression (function references).
			return nil, fmt.Errorf("table %d has an initializer: %w", i, ErrUnsupported)
		}
		r.byte() // reftype
		out = append(out, data[start:r.pos]...)
		flags := r.byte()
		if flags > 1 {
			return nil, fmt.Errorf("table %d limits flags %#x: %w", i, flags, ErrUnsupported)
		}
		lo := r.u32()
		hi := uint32(math.MaxUint32)
		if flags == 1 {
			hi = r.u32()
		}
		if r.err != nil {
			return nil, r.check("table section")
		}
		if lo > max {
			return nil, &TableError{Index: int(i), Elements: lo, Max: max}
		}
		out = append(out, 1)
		out = binary.AppendUvarint(out, uint64(lo))
		out = binary.AppendUvarint(out, uint64(min(hi, max)))
	}
	if err := r.check("table section"); err != nil {
		return nil, err
	}
	return out, nil
}

// TableError is a module whose table starts larger than the cap.
type TableError struct {
	Index         int
	Elements, Max uint32
}

func (e *TableError) Error() string {
	return fmt.Sprintf("table %d starts with %d elements, over the %d the memory limit allows", e.Index, e.Elements, e.Max)
}

// appendGlobals adds the stack counter, a scratch value and the grow flag:
// three mutable i32 globals starting at zero.
func appendGlobals(data []byte) []byte {
	var n uint32
	r := &reader{b: data}
	if len(data) > 0 {
		n = r.u32()
	}
	out := binary.AppendUvarint(nil, uint64(n+3))
	out = append(out, data[r.pos:]...)
	for range 3 {
		out = append(out, 0x7F, 0x01, 0x41, 0x00, 0x0B)
	}
	return out
}

func (m *module) appendExports(data []byte) []byte {
	var n uint32
	r := &reader{b: data}
	if len(data) > 0 {
		n = r.u32()
	}
	out := binary.AppendUvarint(nil, uint64(n+2))
	out = append(out, data[r.pos:]...)
	for _, e := range []struct {
		name  string
		index uint32
	}{{StackGlobal, m.stackIndex}, {GrowFailedGlobal, m.failedIndex}} {
		out = binary.AppendUvarint(out, uint64(len(e.name)))
		out = append(out, e.name...)
		out = append(out, 0x03)
		out = binary.AppendUvarint(out, uint64(e.index))
	}
	return out
}

// rewriteCode meters the calls and memory.grow of every function body.
func (m *module) rewriteCode(data []byte, budget uint32) ([]byte, error) {
	r := &reader{b: data}
	n := r.count()
	if err := r.check("code section"); err != nil {
		return nil, err
	}
	if int(n) != len(m.funcTypes)-m.importedFuncs {
		return nil, fmt.Errorf("code section has %d bodies for %d functions", n, len(m.funcTypes)-m.importedFuncs)
	}
	bodies := make([][]byte, n)
	costs := make([]uint32, len(m.funcTypes))
	// The worst frame of each signature, for call_indirect.
	byType := map[uint32]uint32{}
	allLocals := 0
	for i := range n {
		size := r.u32()
		bodies[i] = r.bytes(int(size))
		if err := r.check("code section"); err != nil {
			return nil, err
		}
		locals, err := countLocals(bodies[i])
		if err != nil {
			return nil, fmt.Errorf("function %d: %w", m.importedFuncs+int(i), err)
		}
		// Compiling costs memory for every local of every function: a
		// small module could declare enough to exhaust the host's.
		if allLocals += locals; allLocals > maxLocals {
			return nil, fmt.Errorf("the module declares over %d locals in all: %w", maxLocals, ErrUnsupported)
		}
		f := m.importedFuncs + int(i)
		t := m.funcTypes[f]
		if int(t) >= len(m.types) {
			return nil, fmt.Errorf("function %d has type %d of %d", f, t, len(m.types))
		}
		costs[f] = FrameCost(m.types[t][0] + m.types[t][1] + locals)
		byType[t] = max(byType[t], costs[f])
	}
	// Types that are the same signature share their worst frame.
	sig := map[[2]int]uint32{}
	for t, c := range byType {
		k := m.types[t]
		sig[k] = max(sig[k], c)
	}
	indirect := make([]uint32, len(m.types))
	for t, k := range m.types {
		indirect[t] = sig[k]
	}

	// Metering adds about a sixth to Go's code; room for a quarter.
	out := binary.AppendUvarint(make([]byte, 0, len(data)+len(data)/4), uint64(n))
	var body []byte
	for i, b := range bodies {
		var err error
		body, err = m.rewriteBody(body[:0], b, costs, indirect, budget)
		if err != nil {
			return nil, fmt.Errorf("function %d: %w", m.importedFuncs+i, err)
		}
		out = binary.AppendUvarint(out, uint64(len(body)))
		out = append(out, body...)
	}
	return out, nil
}

func countLocals(body []byte) (int, error) {
	r := &reader{b: body}
	groups := r.count()
	total := 0
	for range groups {
		total += int(r.u32())
		r.byte()
		if total > 50000 {
			// wazero refuses functions with more locals than this.
			return 0, fmt.Errorf("%d locals: %w", total, ErrUnsupported)
		}
	}
	return total, r.check("locals")
}

// rewriteBody copies one function body, adding the stack meter around each
// call of a function of the module and the grow check after memory.grow and
// table.grow. Runs of instructions it leaves alone are copied at once.
func (m *module) rewriteBody(out, body []byte, costs, indirect []uint32, budget uint32) ([]byte, error) {
	r := &reader{b: body}
	groups := r.count()
	for range groups {
		r.u32()
		r.byte()
	}
	if err := r.check("locals"); err != nil {
		return nil, err
	}
	copied := 0
	for r.pos < len(body) {
		start := r.pos
		op := body[r.pos]
		r.pos++
		cost := uint32(0)
		grow := byte(0) // the flag bit of a grow instruction
		switch immediates[op] {
		case immNone:
			continue
		case immU32:
			r.u32()
			if op == 0x10 { // call
				f := r.lastU32
				if int(f) >= len(costs) {
					return nil, fmt.Errorf("call of function %d of %d", f, len(costs))
				}
				cost = costs[f] // zero for imports: the host's functions
			} else if op == 0x40 { // memory.grow
				grow = GrewMemory
			}
		case immCallIndirect:
			t := r.u32()
			r.u32()
			if op == 0x11 {
				if int(t) >= len(indirect) {
					return nil, fmt.Errorf("call_indirect of type %d of %d", t, len(indirect))
				}
				cost = indirect[t]
			}
		case immMisc:
			sub := r.u32()
			if sub == 15 { // table.grow
				grow = GrewTable
			}
			if err := r.miscImmediates(sub); err != nil {
				return nil, fmt.Errorf("at byte %d: %w", start, err)
			}
		default:
			if err := r.immediates(op); err != nil {
				return nil, fmt.Errorf("at byte %d: %w", start, err)
			}
		}
		if r.err != nil {
			return nil, r.check("code")
		}
		if cost == 0 && grow == 0 {
			continue
		}
		out = append(out, body[copied:start]...)
		if cost > 0 {
			out = m.meterEnter(out, cost, budget)
		}
		out = append(out, body[start:r.pos]...)
		if cost > 0 {
			out = m.meterLeave(out, cost)
		}
		if grow != 0 {
			out = m.recordGrow(out, grow)
		}
		copied = r.pos
	}
	if r.err != nil {
		return nil, r.check("code")
	}
	return append(out, body[copied:]...), nil
}

// meterEnter: stack += cost; if stack > budget { unreachable }
func (m *module) meterEnter(out []byte, cost, budget uint32) []byte {
	out = m.addStack(out, cost, 0x6A) // i32.add
	out = append(out, 0x23)
	out = binary.AppendUvarint(out, uint64(m.stackIndex))
	out = append(out, 0x41)
	out = appendSigned(out, int64(int32(budget)))
	return append(out, 0x4B, 0x04, 0x40, 0x00, 0x0B) // i32.gt_u if unreachable end
}

// meterLeave: stack -= cost
func (m *module) meterLeave(out []byte, cost uint32) []byte {
	return m.addStack(out, cost, 0x6B) // i32.sub
}

func (m *module) addStack(out []byte, cost uint32, op byte) []byte {
	out = append(out, 0x23)
	out = binary.AppendUvarint(out, uint64(m.stackIndex))
	out = append(out, 0x41)
	out = appendSigned(out, int64(int32(cost)))
	out = append(out, op, 0x24)
	return binary.AppendUvarint(out, uint64(m.stackIndex))
}

// recordGrow keeps a grow's result on the stack and ORs "it was -1" into
// the flag's bit: tmp = r; failed |= (tmp == -1) * bit; push tmp.
func (m *module) recordGrow(out []byte, bit byte) []byte {
	global := func(op byte, i uint32) {
		out = append(out, op)
		out = binary.AppendUvarint(out, uint64(i))
	}
	global(0x24, m.tmpIndex)
	global(0x23, m.tmpIndex)
	global(0x23, m.tmpIndex)
	out = append(out, 0x41, 0x7F, 0x46) // i32.const -1, i32.eq
	if bit != 1 {
		out = append(out, 0x41, bit, 0x6C) // i32.const bit, i32.mul
	}
	global(0x23, m.failedIndex)
	out = append(out, 0x72) // i32.or
	global(0x24, m.failedIndex)
	return out
}

func appendSigned(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7F)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
