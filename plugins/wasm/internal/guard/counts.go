package guard

import "fmt"

// checkCounts walks the sections the rewrite passes on unread (memory,
// globals, exports, elements, data, tags) far enough to check that no count
// in them claims more elements than there are bytes left. wazero makes room
// for what a count claims before it reads the elements, so a module of a
// few bytes could otherwise ask the host for gigabytes.
func checkCounts(id byte, data []byte) error {
	r := &reader{b: data}
	switch id {
	case 5: // memory: limits
		for range r.count() {
			r.limits()
		}
	case 6: // global: valtype, mutability, expression
		for range r.count() {
			r.byte()
			r.byte()
			r.expr()
		}
	case 7: // export: name, kind, index
		for range r.count() {
			r.name()
			r.byte()
			r.u32()
		}
	case 9: // element segments
		for range r.count() {
			r.element()
		}
	case 11: // data segments
		for range r.count() {
			switch r.u32() {
			case 0:
				r.expr()
			case 2:
				r.u32()
				r.expr()
			}
			r.skip(int(r.count()))
		}
	case 13: // tags: attribute, type
		for range r.count() {
			r.byte()
			r.u32()
		}
	default:
		return nil
	}
	if r.err != nil {
		return fmt.Errorf("read section %d: %w", id, r.err)
	}
	return nil
}

// element reads one element segment (its eight encodings).
func (r *reader) element() {
	flags := r.u32()
	if r.err != nil {
		return
	}
	if flags > 7 {
		r.fail(fmt.Errorf("element segment flags %d", flags))
		return
	}
	if flags&2 != 0 && flags&1 == 0 { // active with a table index
		r.u32()
	}
	if flags&1 == 0 { // active: an offset expression
		r.expr()
	}
	if flags&3 != 0 { // an element kind or reference type
		r.byte()
	}
	n := r.count()
	for range n {
		if flags&4 != 0 {
			r.expr()
		} else {
			r.u32()
		}
		if r.err != nil {
			return
		}
	}
}

// expr reads a constant expression up to its end.
func (r *reader) expr() {
	for r.err == nil {
		op := r.byte()
		if op == 0x0B {
			return
		}
		if err := r.immediates(op); err != nil {
			r.fail(err)
		}
	}
}
