package jinja

import (
	"fmt"
	"math"
	"math/big"
	"strings"
	"unicode/utf8"
)

type renderer struct {
	t         *Template
	out       strings.Builder
	maxOut    int
	itersLeft int
	// lines are the lists that print as ChatLists say (see markLines).
	lines map[linesKey]bool
}

// scope holds the variables of the template (the root) or of one loop
// iteration. As in jinja2, "set" inside a loop body does not outlive the
// iteration, and "if" opens no scope.
type scope struct {
	vars   map[string]any
	parent *scope
}

func (s *scope) lookup(name string) (any, bool) {
	for ; s != nil; s = s.parent {
		if v, ok := s.vars[name]; ok {
			return v, true
		}
	}
	return nil, false
}

func (r *renderer) write(pos int, s string) error {
	if r.out.Len()+len(s) > r.maxOut {
		return errAt(pos, "render: output passes %d bytes: %v", r.maxOut, ErrLimit)
	}
	r.out.WriteString(s)
	return nil
}

func (r *renderer) run(body []node, sc *scope) error {
	for _, n := range body {
		if err := r.exec(n, sc); err != nil {
			return err
		}
	}
	return nil
}

func (r *renderer) exec(n node, sc *scope) error {
	switch n := n.(type) {
	case *textNode:
		return r.write(0, n.text)
	case *outputNode:
		v, err := r.eval(n.x, sc)
		if err != nil {
			return err
		}
		return r.write(n.x.at(), r.str(v))
	case *ifNode:
		for i, c := range n.conds {
			v, err := r.eval(c, sc)
			if err != nil {
				return err
			}
			if truth(v) {
				return r.run(n.bodies[i], sc)
			}
		}
		return r.run(n.orElse, sc)
	case *setNode:
		v, err := r.eval(n.x, sc)
		if err != nil {
			return err
		}
		return assign(sc, n.pos, n.targets, v)
	case *forNode:
		return r.execFor(n, sc)
	}
	return fmt.Errorf("unknown node %T", n)
}

// isConstant reports whether x is made of literals only, an expression
// jinja2's optimizer folds into one constant (calls are never folded in
// its sandbox).
func isConstant(x expr) bool {
	all := func(xs []expr) bool {
		for _, e := range xs {
			if e != nil && !isConstant(e) {
				return false
			}
		}
		return true
	}
	switch x := x.(type) {
	case *literal:
		return true
	case *unaryExpr:
		return isConstant(x.x)
	case *binaryExpr:
		return isConstant(x.l) && isConstant(x.r)
	case *compareExpr:
		return isConstant(x.first) && all(x.rest)
	case *condExpr:
		return isConstant(x.cond) && isConstant(x.yes) && (x.no == nil || isConstant(x.no))
	case *listExpr:
		return all(x.items)
	case *dictExpr:
		return all(x.keys) && all(x.vals)
	case *filterExpr:
		return isConstant(x.x) && constArgs(x.args)
	case *testExpr:
		return isConstant(x.x) && constArgs(x.args)
	}
	return false
}

func constArgs(a callArgs) bool {
	for _, e := range a.pos {
		if !isConstant(e) {
			return false
		}
	}
	for _, kw := range a.kwargs {
		if !isConstant(kw.x) {
			return false
		}
	}
	return true
}

// assign binds one value, or unpacks it over several names.
func assign(sc *scope, pos int, targets []string, v any) error {
	if len(targets) == 1 {
		sc.vars[targets[0]] = v
		return nil
	}
	items, err := iterate(v)
	if err != nil {
		return errAt(pos, "%s", err)
	}
	if len(items) != len(targets) {
		if len(items) < len(targets) {
			return errAt(pos, "not enough values to unpack (expected %d, got %d)", len(targets), len(items))
		}
		return errAt(pos, "too many values to unpack (expected %d)", len(targets))
	}
	for i, name := range targets {
		sc.vars[name] = items[i]
	}
	return nil
}

// loopState is the "loop" variable of a for loop.
type loopState struct {
	index, length int
	items         []any
}

func (r *renderer) execFor(n *forNode, sc *scope) error {
	seq, err := r.eval(n.iter, sc)
	if err != nil {
		return err
	}
	items, err := iterate(seq)
	if err != nil {
		return errAt(n.iter.at(), "%s", err)
	}
	if n.filter != nil {
		var kept []any
		for _, it := range items {
			inner := &scope{vars: map[string]any{}, parent: sc}
			if err := assign(inner, n.pos, n.targets, it); err != nil {
				return err
			}
			v, err := r.eval(n.filter, inner)
			if err != nil {
				return err
			}
			if truth(v) {
				kept = append(kept, it)
			}
		}
		items = kept
	}
	if len(items) == 0 {
		return r.run(n.orElse, sc)
	}
	loop := &loopState{length: len(items), items: items}
	for i, it := range items {
		r.itersLeft--
		if r.itersLeft < 0 {
			return errAt(n.pos, "render: loops pass %d iterations: %v", r.t.Limits.maxIterations(), ErrLimit)
		}
		loop.index = i
		inner := &scope{vars: map[string]any{"loop": loop}, parent: sc}
		if err := assign(inner, n.pos, n.targets, it); err != nil {
			return err
		}
		if err := r.run(n.body, inner); err != nil {
			return err
		}
	}
	return nil
}

func (l Limits) maxIterations() int {
	if l.MaxIterations <= 0 {
		return defaultMaxIterations
	}
	return l.MaxIterations
}

// iterate lists what "for" walks over: a list's items, a dict's keys, a
// string's characters; undefined is empty.
func iterate(v any) ([]any, error) {
	switch v := v.(type) {
	case []any:
		return v, nil
	case Tuple:
		return v, nil
	case view:
		return v.items, nil
	case *Dict:
		keys := make([]any, len(v.keys))
		for i, k := range v.keys {
			keys[i] = k
		}
		return keys, nil
	case string:
		chars := make([]any, 0, len(v))
		for _, c := range v {
			chars = append(chars, string(c))
		}
		return chars, nil
	case Undefined:
		return nil, nil
	}
	return nil, fmt.Errorf("'%s' object is not iterable", typeName(v))
}

func (r *renderer) eval(x expr, sc *scope) (any, error) {
	switch x := x.(type) {
	case *literal:
		return x.v, nil
	case *nameExpr:
		if v, ok := sc.lookup(x.name); ok {
			return v, nil
		}
		if x.name == "range" {
			return method{name: "range"}, nil
		}
		return Undefined{hint: fmt.Sprintf("'%s' is undefined", x.name)}, nil
	case *attrExpr:
		v, err := r.eval(x.x, sc)
		if err != nil {
			return nil, err
		}
		res, err := getAttr(v, x.name)
		if err != nil {
			return nil, errAt(x.pos, "%s", err)
		}
		return res, nil
	case *itemExpr:
		v, err := r.eval(x.x, sc)
		if err != nil {
			return nil, err
		}
		k, err := r.eval(x.item, sc)
		if err != nil {
			return nil, err
		}
		res, err := getItem(v, k)
		if err != nil {
			return nil, errAt(x.pos, "%s", err)
		}
		return res, nil
	case *sliceExpr:
		return r.evalSlice(x, sc)
	case *listExpr:
		items := make([]any, len(x.items))
		for i, e := range x.items {
			v, err := r.eval(e, sc)
			if err != nil {
				return nil, err
			}
			items[i] = v
		}
		if x.tuple {
			return Tuple(items), nil
		}
		return items, nil
	case *dictExpr:
		d := &Dict{}
		for i, ke := range x.keys {
			k, err := r.eval(ke, sc)
			if err != nil {
				return nil, err
			}
			ks, ok := k.(string)
			if !ok {
				return nil, errAt(ke.at(), "dict keys must be strings here, not %s", typeName(k))
			}
			v, err := r.eval(x.vals[i], sc)
			if err != nil {
				return nil, err
			}
			d.Set(ks, v)
		}
		return d, nil
	case *unaryExpr:
		v, err := r.eval(x.x, sc)
		if err != nil {
			return nil, err
		}
		if x.op == "not" {
			return !truth(v), nil
		}
		res, err := negate(x.op, v)
		if err != nil {
			return nil, errAt(x.pos, "%s", err)
		}
		return res, nil
	case *binaryExpr:
		l, err := r.eval(x.l, sc)
		if err != nil {
			return nil, err
		}
		switch x.op {
		case "and":
			if !truth(l) {
				return l, nil
			}
			return r.eval(x.r, sc)
		case "or":
			if truth(l) {
				return l, nil
			}
			return r.eval(x.r, sc)
		}
		rv, err := r.eval(x.r, sc)
		if err != nil {
			return nil, err
		}
		if x.op == "**" && isConstant(x.l) && !isConstant(x.r) {
			// jinja2 folds constants (both sides constant: the power
			// itself) and writes the literal into Python code, where a
			// negative one reads as -(2 ** n).
			if _, f, _, ok := numeric(l); ok && f < 0 {
				abs, _ := negate("-", l)
				res, err := binary("**", abs, rv)
				if err != nil {
					return nil, errAt(x.pos, "%s", err)
				}
				return negate("-", res)
			}
		}
		if x.op == "~" {
			// Here, where ChatLists are known, rather than in binary.
			l, rv = r.str(l), r.str(rv)
		}
		res, err := binary(x.op, l, rv)
		if err != nil {
			return nil, errAt(x.pos, "%s", err)
		}
		return res, nil
	case *compareExpr:
		l, err := r.eval(x.first, sc)
		if err != nil {
			return nil, err
		}
		for i, op := range x.ops {
			rv, err := r.eval(x.rest[i], sc)
			if err != nil {
				return nil, err
			}
			ok, err := compare(op, l, rv)
			if err != nil {
				return nil, errAt(x.pos, "%s", err)
			}
			if !ok {
				return false, nil
			}
			l = rv
		}
		return true, nil
	case *condExpr:
		c, err := r.eval(x.cond, sc)
		if err != nil {
			return nil, err
		}
		if truth(c) {
			return r.eval(x.yes, sc)
		}
		if x.no == nil {
			return Undefined{hint: "the inline if-expression on line evaluated to false and no else section was defined."}, nil
		}
		return r.eval(x.no, sc)
	case *filterExpr:
		v, err := r.eval(x.x, sc)
		if err != nil {
			return nil, err
		}
		args, kwargs, err := r.evalArgs(x.args, sc)
		if err != nil {
			return nil, err
		}
		res, err := filters[x.name](v, args, kwargs)
		if err != nil {
			return nil, errAt(x.pos, "filter %s: %s", x.name, err)
		}
		return res, nil
	case *testExpr:
		v, err := r.eval(x.x, sc)
		if err != nil {
			return nil, err
		}
		args, _, err := r.evalArgs(x.args, sc)
		if err != nil {
			return nil, err
		}
		ok, err := tests[x.name](v, args)
		if err != nil {
			return nil, errAt(x.pos, "test %s: %s", x.name, err)
		}
		return ok != x.negate, nil
	case *callExpr:
		fn, err := r.eval(x.fn, sc)
		if err != nil {
			return nil, err
		}
		args, kwargs, err := r.evalArgs(x.args, sc)
		if err != nil {
			return nil, err
		}
		res, err := call(fn, args, kwargs)
		if err != nil {
			return nil, errAt(x.pos, "%s", err)
		}
		return res, nil
	}
	return nil, fmt.Errorf("unknown expression %T", x)
}

func (r *renderer) evalArgs(a callArgs, sc *scope) ([]any, map[string]any, error) {
	var args []any
	for _, e := range a.pos {
		v, err := r.eval(e, sc)
		if err != nil {
			return nil, nil, err
		}
		args = append(args, v)
	}
	var kwargs map[string]any
	for _, kw := range a.kwargs {
		v, err := r.eval(kw.x, sc)
		if err != nil {
			return nil, nil, err
		}
		if kwargs == nil {
			kwargs = map[string]any{}
		}
		kwargs[kw.name] = v
	}
	return args, kwargs, nil
}

func (r *renderer) evalSlice(x *sliceExpr, sc *scope) (any, error) {
	v, err := r.eval(x.x, sc)
	if err != nil {
		return nil, err
	}
	var bounds [3]any
	for i, e := range []expr{x.lo, x.hi, x.step} {
		bounds[i] = nil
		if e != nil {
			if bounds[i], err = r.eval(e, sc); err != nil {
				return nil, err
			}
		}
	}
	res, err := slice(v, bounds)
	if err != nil {
		return nil, errAt(x.pos, "%s", err)
	}
	return res, nil
}

// slice is Python's v[lo:hi:step] for lists, tuples and strings.
func slice(v any, bounds [3]any) (any, error) {
	var n int
	var chars []rune
	switch s := v.(type) {
	case []any:
		n = len(s)
	case Tuple:
		n = len(s)
	case string:
		chars = []rune(s)
		n = len(chars)
	case Undefined:
		return nil, s.err()
	default:
		return nil, fmt.Errorf("'%s' object is not subscriptable", typeName(v))
	}
	idx := [3]int64{}
	set := [3]bool{}
	for i, b := range bounds {
		switch b := b.(type) {
		case nil:
		case int64:
			idx[i], set[i] = b, true
		case bool:
			idx[i], set[i] = boolInt(b), true
		default:
			return nil, fmt.Errorf("slice indices must be integers or None")
		}
	}
	step := int64(1)
	if set[2] {
		step = idx[2]
	}
	if step == 0 {
		return nil, fmt.Errorf("slice step cannot be zero")
	}
	lo, hi := sliceBounds(int64(n), idx[0], set[0], idx[1], set[1], step)
	var picked []int
	for i := lo; (step > 0 && i < hi) || (step < 0 && i > hi); i += step {
		picked = append(picked, int(i))
	}
	switch s := v.(type) {
	case []any:
		out := make([]any, len(picked))
		for i, p := range picked {
			out[i] = s[p]
		}
		return out, nil
	case Tuple:
		out := make(Tuple, len(picked))
		for i, p := range picked {
			out[i] = s[p]
		}
		return out, nil
	}
	var b strings.Builder
	for _, p := range picked {
		b.WriteRune(chars[p])
	}
	return b.String(), nil
}

// sliceBounds clamps slice bounds the way Python's slice.indices does.
func sliceBounds(n, lo int64, loSet bool, hi int64, hiSet bool, step int64) (int64, int64) {
	clamp := func(i int64, set bool, def int64) int64 {
		if !set {
			return def
		}
		if i < 0 {
			i += n
			if i < 0 {
				if step < 0 {
					return -1
				}
				return 0
			}
		}
		if i >= n {
			if step < 0 {
				return n - 1
			}
			return n
		}
		return i
	}
	if step > 0 {
		return clamp(lo, loSet, 0), clamp(hi, hiSet, n)
	}
	return clamp(lo, loSet, n-1), clamp(hi, hiSet, -1)
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// getAttr is jinja2's getattr: a.b looks for an attribute first (a dict's
// methods, a string's methods, loop's fields), then for an item.
func getAttr(v any, name string) (any, error) {
	switch o := v.(type) {
	case Undefined:
		return nil, o.err()
	case *loopState:
		return o.attr(name), nil
	case *Dict:
		if dictMethods[name] {
			return method{recv: o, name: name}, nil
		}
		if x, ok := o.vals[name]; ok {
			return x, nil
		}
	case string:
		if strMethods[name] {
			return method{recv: o, name: name}, nil
		}
	}
	return Undefined{hint: fmt.Sprintf("'%s' has no attribute '%s'", objName(v), name)}, nil
}

// getItem is jinja2's getitem: a[k] looks for an item first, then for an
// attribute when k is a string.
func getItem(v any, k any) (any, error) {
	switch o := v.(type) {
	case Undefined:
		return nil, o.err()
	case *Dict:
		if ks, ok := k.(string); ok {
			if x, ok := o.vals[ks]; ok {
				return x, nil
			}
		}
	case []any, Tuple, string:
		var n int64
		var chars []rune
		switch o := o.(type) {
		case []any:
			n = int64(len(o))
		case Tuple:
			n = int64(len(o))
		case string:
			chars = []rune(o)
			n = int64(len(chars))
		}
		var i int64
		switch k := k.(type) {
		case int64:
			i = k
		case bool:
			i = boolInt(k)
		default:
			if ks, ok := k.(string); ok {
				return getAttr(v, ks)
			}
			return Undefined{hint: fmt.Sprintf("'%s' has no attribute %s", objName(v), str(reprOf(k)))}, nil
		}
		if i < 0 {
			i += n
		}
		if i < 0 || i >= n {
			return Undefined{hint: fmt.Sprintf("'%s' has no attribute %d", objName(v), k)}, nil
		}
		switch o := o.(type) {
		case []any:
			return o[i], nil
		case Tuple:
			return o[i], nil
		}
		return string(chars[i]), nil
	}
	if ks, ok := k.(string); ok {
		return getAttr(v, ks)
	}
	return Undefined{hint: fmt.Sprintf("'%s' has no attribute %s", objName(v), str(reprOf(k)))}, nil
}

func reprOf(v any) string {
	var b strings.Builder
	repr(&b, v)
	return b.String()
}

// objName names a value in an undefined-attribute message: "'dict object'".
func objName(v any) string {
	if v == nil {
		return "None"
	}
	return typeName(v) + " object"
}

func (l *loopState) attr(name string) any {
	switch name {
	case "index":
		return int64(l.index + 1)
	case "index0":
		return int64(l.index)
	case "revindex":
		return int64(l.length - l.index)
	case "revindex0":
		return int64(l.length - l.index - 1)
	case "first":
		return l.index == 0
	case "last":
		return l.index == l.length-1
	case "length":
		return int64(l.length)
	case "previtem":
		if l.index == 0 {
			return Undefined{hint: "there is no previous item"}
		}
		return l.items[l.index-1]
	case "nextitem":
		if l.index == l.length-1 {
			return Undefined{hint: "there is no next item"}
		}
		return l.items[l.index+1]
	case "cycle":
		return method{recv: l, name: "cycle"}
	}
	return Undefined{hint: fmt.Sprintf("'LoopContext object' has no attribute '%s'", name)}
}

func negate(op string, v any) (any, error) {
	switch v := v.(type) {
	case int64:
		if op == "-" {
			if v == math.MinInt64 {
				return new(big.Int).Neg(big.NewInt(v)), nil
			}
			return -v, nil
		}
		return v, nil
	case bool:
		if op == "-" {
			return -boolInt(v), nil
		}
		return boolInt(v), nil
	case float64:
		if op == "-" {
			return -v, nil
		}
		return v, nil
	case *big.Int:
		if op == "-" {
			return new(big.Int).Neg(v), nil
		}
		return v, nil
	case Undefined:
		return nil, v.err()
	}
	return nil, fmt.Errorf("bad operand type for unary %s: '%s'", op, typeName(v))
}

// numeric reads an int (bool counts as one, as in Python) or a float.
func numeric(v any) (i int64, f float64, isFloat, ok bool) {
	switch v := v.(type) {
	case int64:
		return v, float64(v), false, true
	case bool:
		return boolInt(v), float64(boolInt(v)), false, true
	case float64:
		return 0, v, true, true
	}
	return 0, 0, false, false
}

// binary applies an arithmetic operator or "~".
func binary(op string, l, r any) (any, error) {
	if op == "~" {
		return joinLimited(str(l), str(r))
	}
	if u, ok := l.(Undefined); ok {
		return nil, u.err()
	}
	if _, ok := l.(string); ok && op == "%" {
		return percentFormat(l.(string), r)
	}
	if u, ok := r.(Undefined); ok {
		return nil, u.err()
	}
	li, lf, lfloat, lok := numeric(l)
	ri, rf, rfloat, rok := numeric(r)
	if lok && rok {
		if lfloat || rfloat || op == "/" {
			return floatOp(op, lf, rf)
		}
		return intOp(op, li, ri)
	}
	switch op {
	case "+":
		switch lv := l.(type) {
		case string:
			if rv, ok := r.(string); ok {
				return joinLimited(lv, rv)
			}
		case []any:
			if rv, ok := r.([]any); ok {
				if len(lv)+len(rv) > maxRange {
					return nil, fmt.Errorf("concatenate: list passes %d items: %w", maxRange, ErrLimit)
				}
				return append(append([]any{}, lv...), rv...), nil
			}
		case Tuple:
			if rv, ok := r.(Tuple); ok {
				return append(append(Tuple{}, lv...), rv...), nil
			}
		}
	case "*":
		if s, n, ok := repeatArgs(l, r); ok {
			return repeat(s, n)
		}
	}
	return nil, fmt.Errorf("unsupported operand type(s) for %s: '%s' and '%s'", op, typeName(l), typeName(r))
}

// joinLimited concatenates two strings unless the result would pass the
// default output bound: a template that doubles a string in a few sets
// must not take the process's memory.
func joinLimited(a, b string) (any, error) {
	if len(a)+len(b) > defaultMaxOutput {
		return nil, fmt.Errorf("concatenate: text passes %d bytes: %w", defaultMaxOutput, ErrLimit)
	}
	return a + b, nil
}

// repeatArgs reads "seq * n" or "n * seq", where n may be a bool, as in
// Python.
func repeatArgs(l, r any) (any, int64, bool) {
	count := func(v any) (int64, bool) {
		switch n := v.(type) {
		case int64:
			return n, true
		case bool:
			return boolInt(n), true
		}
		return 0, false
	}
	isSeq := func(v any) bool {
		switch v.(type) {
		case string, []any, Tuple:
			return true
		}
		return false
	}
	if n, ok := count(r); ok && isSeq(l) {
		return l, n, true
	}
	if n, ok := count(l); ok && isSeq(r) {
		return r, n, true
	}
	return nil, 0, false
}

func repeat(v any, n int64) (any, error) {
	n = max(n, 0)
	if s, ok := v.(string); ok {
		if int64(len(s))*n > defaultMaxOutput {
			return nil, fmt.Errorf("repeat: result passes %d bytes: %w", defaultMaxOutput, ErrLimit)
		}
		return strings.Repeat(s, int(n)), nil
	}
	items, _ := iterate(v)
	if int64(len(items))*n > maxRange {
		return nil, fmt.Errorf("repeat: list passes %d items: %w", maxRange, ErrLimit)
	}
	out := make([]any, 0, len(items)*int(n))
	for range n {
		out = append(out, items...)
	}
	if _, ok := v.(Tuple); ok {
		return Tuple(out), nil
	}
	return out, nil
}

func intOp(op string, a, b int64) (any, error) {
	ba, bb := big.NewInt(a), big.NewInt(b)
	var res *big.Int
	switch op {
	case "+":
		res = new(big.Int).Add(ba, bb)
	case "-":
		res = new(big.Int).Sub(ba, bb)
	case "*":
		res = new(big.Int).Mul(ba, bb)
	case "//", "%":
		if b == 0 {
			return nil, fmt.Errorf("integer division or modulo by zero")
		}
		q, m := new(big.Int).DivMod(ba, bb, new(big.Int)) // Euclidean
		// Python floors: the remainder takes the divisor's sign.
		if m.Sign() != 0 && bb.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
			m.Add(m, bb)
		}
		res = q
		if op == "%" {
			res = m
		}
	case "**":
		if b < 0 {
			return floatOp(op, float64(a), float64(b))
		}
		if b > 4096 {
			return nil, fmt.Errorf("power: exponent %d is too large: %w", b, ErrLimit)
		}
		res = new(big.Int).Exp(ba, bb, nil)
	default:
		return nil, fmt.Errorf("unknown operator %s", op)
	}
	if res.IsInt64() {
		return res.Int64(), nil
	}
	if res.BitLen() > 1<<16 {
		return nil, fmt.Errorf("integer result too large: %w", ErrLimit)
	}
	return res, nil
}

func floatOp(op string, a, b float64) (any, error) {
	switch op {
	case "+":
		return a + b, nil
	case "-":
		return a - b, nil
	case "*":
		return a * b, nil
	case "/":
		if b == 0 {
			return nil, fmt.Errorf("division by zero")
		}
		return a / b, nil
	case "//":
		if b == 0 {
			return nil, fmt.Errorf("float floor division by zero")
		}
		return math.Floor(a / b), nil
	case "%":
		if b == 0 {
			return nil, fmt.Errorf("float modulo")
		}
		m := math.Mod(a, b)
		switch {
		case m == 0:
			m = math.Copysign(0, b) // Python's zero takes the divisor's sign
		case (m < 0) != (b < 0):
			m += b
		}
		return m, nil
	case "**":
		if a == 0 && b < 0 {
			return nil, fmt.Errorf("0.0 cannot be raised to a negative power")
		}
		p := math.Pow(a, b)
		if math.IsInf(p, 0) && !math.IsInf(a, 0) && !math.IsInf(b, 0) {
			return nil, fmt.Errorf("power: numerical result out of range")
		}
		return p, nil
	}
	return nil, fmt.Errorf("unknown operator %s", op)
}

// equal is Python's ==.
func equal(a, b any) bool {
	ai, af, afl, aok := numeric(a)
	bi, bf, bfl, bok := numeric(b)
	if aok && bok {
		if afl || bfl {
			return af == bf
		}
		return ai == bi
	}
	switch av := a.(type) {
	case nil:
		return b == nil
	case string:
		bv, ok := b.(string)
		return ok && av == bv
	case *big.Int:
		bv, ok := b.(*big.Int)
		return ok && av.Cmp(bv) == 0
	case []any:
		bv, ok := b.([]any)
		return ok && equalItems(av, bv)
	case Tuple:
		bv, ok := b.(Tuple)
		return ok && equalItems(av, bv)
	case *Dict:
		bv, ok := b.(*Dict)
		if !ok || av.Len() != bv.Len() {
			return false
		}
		for _, k := range av.keys {
			x, ok := bv.vals[k]
			if !ok || !equal(av.vals[k], x) {
				return false
			}
		}
		return true
	case Undefined:
		_, ok := b.(Undefined)
		return ok
	case view:
		bv, ok := b.(view)
		return ok && av.kind == "range" && bv.kind == "range" && equalItems(av.items, bv.items)
	}
	return false
}

func equalItems(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func compare(op string, a, b any) (bool, error) {
	switch op {
	case "==":
		return equal(a, b), nil
	case "!=":
		return !equal(a, b), nil
	case "in", "notin":
		in, err := contains(b, a)
		if err != nil {
			return false, err
		}
		return in == (op == "in"), nil
	}
	c, err := order(a, b, op)
	if err != nil {
		return false, err
	}
	switch op {
	case "<":
		return c < 0, nil
	case "<=":
		return c <= 0, nil
	case ">":
		return c > 0, nil
	}
	return c >= 0, nil
}

// order compares numbers with numbers and strings with strings (by code
// point, as Python does), lists item by item.
func order(a, b any, op string) (int, error) {
	ai, af, afl, aok := numeric(a)
	bi, bf, bfl, bok := numeric(b)
	if aok && bok {
		if afl || bfl {
			switch {
			case af < bf:
				return -1, nil
			case af > bf:
				return 1, nil
			}
			return 0, nil
		}
		switch {
		case ai < bi:
			return -1, nil
		case ai > bi:
			return 1, nil
		}
		return 0, nil
	}
	if as, ok := a.(string); ok {
		if bs, ok := b.(string); ok {
			return strings.Compare(as, bs), nil
		}
	}
	if al, bl, ok := sameSequences(a, b); ok {
		for i := 0; i < len(al) && i < len(bl); i++ {
			if equal(al[i], bl[i]) {
				continue
			}
			return order(al[i], bl[i], op)
		}
		return len(al) - len(bl), nil
	}
	if u, ok := a.(Undefined); ok {
		return 0, u.err()
	}
	if u, ok := b.(Undefined); ok {
		return 0, u.err()
	}
	return 0, fmt.Errorf("'%s' not supported between instances of '%s' and '%s'", op, typeName(a), typeName(b))
}

// sameSequences returns the items of a and b when both are lists or both
// are tuples, which Python orders item by item.
func sameSequences(a, b any) ([]any, []any, bool) {
	switch a := a.(type) {
	case []any:
		b, ok := b.([]any)
		return a, b, ok
	case Tuple:
		b, ok := b.(Tuple)
		return a, b, ok
	}
	return nil, nil, false
}

// contains is Python's "needle in hay".
func contains(hay, needle any) (bool, error) {
	switch h := hay.(type) {
	case string:
		n, ok := needle.(string)
		if !ok {
			if u, isU := needle.(Undefined); isU {
				return false, u.err()
			}
			return false, fmt.Errorf("'in <string>' requires string as left operand, not %s", typeName(needle))
		}
		return strings.Contains(h, n), nil
	case *Dict:
		k, ok := needle.(string)
		if !ok {
			switch needle.(type) {
			case []any, *Dict:
				return false, fmt.Errorf("unhashable type: '%s'", typeName(needle))
			}
			return false, nil
		}
		_, in := h.vals[k]
		return in, nil
	case Undefined:
		return false, nil
	}
	items, err := iterate(hay)
	if err != nil {
		return false, fmt.Errorf("argument of type '%s' is not iterable", typeName(hay))
	}
	for _, it := range items {
		if equal(it, needle) {
			return true, nil
		}
	}
	return false, nil
}

// length is Python's len().
func length(v any) (int, error) {
	switch v := v.(type) {
	case string:
		return utf8.RuneCountInString(v), nil
	case []any:
		return len(v), nil
	case Tuple:
		return len(v), nil
	case *Dict:
		return v.Len(), nil
	case view:
		return len(v.items), nil
	case Undefined:
		return 0, nil
	}
	return 0, fmt.Errorf("object of type '%s' has no len()", typeName(v))
}
