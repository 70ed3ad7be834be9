package jinja

import (
	"math/big"
	"strconv"
)

// maxDepth bounds the nesting of expressions and blocks, so that a hostile
// template cannot exhaust the stack of the parser or of Render.
const maxDepth = 100

// Statements.
type (
	node interface{}

	textNode struct{ text string }

	outputNode struct{ x expr }

	ifNode struct {
		conds  []expr
		bodies [][]node
		orElse []node
	}

	forNode struct {
		pos     int
		targets []string
		iter    expr
		filter  expr // nil when the loop has no "if"
		body    []node
		orElse  []node
	}

	setNode struct {
		pos     int
		targets []string
		x       expr
	}
)

// Expressions. Each carries the offset of its first token for errors.
type (
	expr interface{ at() int }

	literal struct {
		pos int
		v   any
	}
	nameExpr struct {
		pos  int
		name string
	}
	attrExpr struct {
		pos  int
		x    expr
		name string
	}
	itemExpr struct {
		pos  int
		x    expr
		item expr
	}
	sliceExpr struct {
		pos          int
		x            expr
		lo, hi, step expr // each may be nil
	}
	callExpr struct {
		pos  int
		fn   expr
		args callArgs
	}
	filterExpr struct {
		pos  int
		x    expr
		name string
		args callArgs
	}
	testExpr struct {
		pos    int
		x      expr
		name   string
		args   callArgs
		negate bool
	}
	unaryExpr struct {
		pos int
		op  string // "-", "+", "not"
		x   expr
	}
	binaryExpr struct {
		pos  int
		op   string // + - * / // % ** ~ and or
		l, r expr
	}
	compareExpr struct {
		pos   int
		first expr
		ops   []string // == != < <= > >= in notin
		rest  []expr
	}
	condExpr struct {
		pos     int
		cond    expr
		yes, no expr // no may be nil
	}
	listExpr struct {
		pos   int
		items []expr
		tuple bool
	}
	dictExpr struct {
		pos        int
		keys, vals []expr
	}
)

type callArgs struct {
	pos    []expr
	kwargs []kwarg
}

type kwarg struct {
	name string
	x    expr
}

func (e *literal) at() int     { return e.pos }
func (e *nameExpr) at() int    { return e.pos }
func (e *attrExpr) at() int    { return e.pos }
func (e *itemExpr) at() int    { return e.pos }
func (e *sliceExpr) at() int   { return e.pos }
func (e *callExpr) at() int    { return e.pos }
func (e *filterExpr) at() int  { return e.pos }
func (e *testExpr) at() int    { return e.pos }
func (e *unaryExpr) at() int   { return e.pos }
func (e *binaryExpr) at() int  { return e.pos }
func (e *compareExpr) at() int { return e.pos }
func (e *condExpr) at() int    { return e.pos }
func (e *listExpr) at() int    { return e.pos }
func (e *dictExpr) at() int    { return e.pos }

type parser struct {
	src   string
	toks  []token
	i     int
	depth int
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) isOp(op string) bool {
	t := p.peek()
	return t.kind == tOp && t.val == op
}

func (p *parser) isName(name string) bool {
	t := p.peek()
	return t.kind == tName && t.val == name
}

func (p *parser) skipOp(op string) bool {
	if p.isOp(op) {
		p.i++
		return true
	}
	return false
}

func (p *parser) skipName(name string) bool {
	if p.isName(name) {
		p.i++
		return true
	}
	return false
}

func (p *parser) expectOp(op string) error {
	if !p.skipOp(op) {
		return p.unexpected("'" + op + "'")
	}
	return nil
}

func (p *parser) expectKind(k tokKind) error {
	if p.peek().kind != k {
		return p.unexpected("'" + tokNames[k] + "'")
	}
	p.i++
	return nil
}

func (p *parser) unexpected(want string) error {
	t := p.peek()
	if t.kind == tEOF {
		return errAt(t.pos, "unexpected end of template, expected %s", want)
	}
	return errAt(t.pos, "expected token %s, got %s", want, t)
}

func (p *parser) enter(pos int) error {
	p.depth++
	if p.depth > maxDepth {
		return errAt(pos, "template nests deeper than %d levels", maxDepth)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

// parseBody reads nodes until a block tag whose name is in ends (returned,
// with the parser after the name), or the end of the template when ends is
// empty. open is the tag that the last of ends closes.
func (p *parser) parseBody(open token, ends ...string) ([]node, string, error) {
	var body []node
	for {
		t := p.next()
		switch t.kind {
		case tEOF:
			if len(ends) == 0 {
				return body, "", nil
			}
			line, _ := position(p.src, open.pos)
			return nil, "", errAt(t.pos, "unexpected end of template, expected %q to close the %q on line %d",
				ends[len(ends)-1], open.val, line)
		case tData:
			body = append(body, &textNode{text: t.val})
		case tVarBegin:
			x, err := p.parseTuple(false)
			if err != nil {
				return nil, "", err
			}
			if err := p.expectKind(tVarEnd); err != nil {
				return nil, "", err
			}
			body = append(body, &outputNode{x: x})
		case tBlockBegin:
			name := p.peek()
			if name.kind != tName {
				return nil, "", errAt(name.pos, "expected a statement name, got %s", name)
			}
			for _, e := range ends {
				if name.val == e {
					p.i++
					return body, e, nil
				}
			}
			if len(ends) > 0 && !statements[name.val] {
				line, _ := position(p.src, open.pos)
				return nil, "", errAt(name.pos, "encountered unknown tag %q, expected %q to close the %q on line %d",
					name.val, ends[len(ends)-1], open.val, line)
			}
			n, err := p.parseStatement()
			if err != nil {
				return nil, "", err
			}
			if n != nil {
				body = append(body, n)
			}
		default:
			return nil, "", errAt(t.pos, "unexpected %s", t)
		}
	}
}

// statements are the tags that open a statement.
var statements = map[string]bool{"if": true, "for": true, "set": true}

func (p *parser) parseStatement() (node, error) {
	t := p.next()
	if err := p.enter(t.pos); err != nil {
		return nil, err
	}
	defer p.leave()
	switch t.val {
	case "if":
		return p.parseIf(t)
	case "for":
		return p.parseFor(t)
	case "set":
		return p.parseSet(t.pos)
	case "elif", "else", "endif", "endfor":
		return nil, errAt(t.pos, "encountered unknown tag %q: no block is open that it could close", t.val)
	}
	return nil, errAt(t.pos, "encountered unknown tag %q; supported: if, for, set, raw", t.val)
}

func (p *parser) parseIf(open token) (node, error) {
	n := &ifNode{}
	for {
		cond, err := p.parseTuple(false)
		if err != nil {
			return nil, err
		}
		if err := p.expectKind(tBlockEnd); err != nil {
			return nil, err
		}
		body, end, err := p.parseBody(open, "elif", "else", "endif")
		if err != nil {
			return nil, err
		}
		n.conds = append(n.conds, cond)
		n.bodies = append(n.bodies, body)
		switch end {
		case "elif":
			continue
		case "else":
			if err := p.expectKind(tBlockEnd); err != nil {
				return nil, err
			}
			n.orElse, _, err = p.parseBody(open, "endif")
			if err != nil {
				return nil, err
			}
		}
		return n, p.expectKind(tBlockEnd)
	}
}

func (p *parser) parseFor(open token) (node, error) {
	pos := open.pos
	targets, err := p.parseTargets()
	if err != nil {
		return nil, err
	}
	if !p.skipName("in") {
		return nil, p.unexpected("'in'")
	}
	// The iterable stops before "if", which filters the items.
	iter, err := p.parseTupleNoCond()
	if err != nil {
		return nil, err
	}
	n := &forNode{pos: pos, targets: targets, iter: iter}
	if p.skipName("if") {
		if n.filter, err = p.parseTuple(false); err != nil {
			return nil, err
		}
	}
	if p.isName("recursive") {
		return nil, errAt(p.peek().pos, "recursive loops are not supported")
	}
	if err := p.expectKind(tBlockEnd); err != nil {
		return nil, err
	}
	body, end, err := p.parseBody(open, "else", "endfor")
	if err != nil {
		return nil, err
	}
	n.body = body
	if end == "else" {
		if err := p.expectKind(tBlockEnd); err != nil {
			return nil, err
		}
		if n.orElse, _, err = p.parseBody(open, "endfor"); err != nil {
			return nil, err
		}
	}
	return n, p.expectKind(tBlockEnd)
}

// parseTargets reads "x" or "k, v" (optionally in parentheses).
func (p *parser) parseTargets() ([]string, error) {
	paren := p.skipOp("(")
	var names []string
	for {
		t := p.peek()
		if t.kind != tName {
			return nil, p.unexpected("a name")
		}
		p.i++
		names = append(names, t.val)
		if !p.skipOp(",") {
			break
		}
		if p.peek().kind != tName {
			break
		}
	}
	if paren {
		if err := p.expectOp(")"); err != nil {
			return nil, err
		}
	}
	return names, nil
}

func (p *parser) parseSet(pos int) (node, error) {
	targets, err := p.parseTargets()
	if err != nil {
		return nil, err
	}
	if p.isOp(".") {
		return nil, errAt(p.peek().pos, "setting attributes (namespace) is not supported")
	}
	if !p.skipOp("=") {
		if p.peek().kind == tBlockEnd {
			return nil, errAt(p.peek().pos, "block assignments ({%% set x %%}...{%% endset %%}) are not supported")
		}
		return nil, p.unexpected("'='")
	}
	x, err := p.parseTuple(false)
	if err != nil {
		return nil, err
	}
	return &setNode{pos: pos, targets: targets, x: x}, p.expectKind(tBlockEnd)
}

// parseTuple reads an expression, or a tuple when commas follow it.
func (p *parser) parseTuple(noCond bool) (expr, error) {
	pos := p.peek().pos
	first, err := p.parseExprMaybeNoCond(noCond)
	if err != nil {
		return nil, err
	}
	if !p.isOp(",") {
		return first, nil
	}
	items := []expr{first}
	for p.skipOp(",") {
		if !p.startsExpr() {
			break
		}
		x, err := p.parseExprMaybeNoCond(noCond)
		if err != nil {
			return nil, err
		}
		items = append(items, x)
	}
	return &listExpr{pos: pos, items: items, tuple: true}, nil
}

func (p *parser) parseTupleNoCond() (expr, error) { return p.parseTuple(true) }

func (p *parser) parseExprMaybeNoCond(noCond bool) (expr, error) {
	if noCond {
		return p.parseOr()
	}
	return p.parseExpr()
}

// startsExpr reports whether the next token can begin an expression.
func (p *parser) startsExpr() bool {
	t := p.peek()
	switch t.kind {
	case tName, tString, tInt, tFloat:
		return true
	case tOp:
		switch t.val {
		case "(", "[", "{", "-", "+":
			return true
		}
	}
	return false
}

func (p *parser) parseExpr() (expr, error) {
	pos := p.peek().pos
	if err := p.enter(pos); err != nil {
		return nil, err
	}
	defer p.leave()
	x, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	for p.skipName("if") {
		cond, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		c := &condExpr{pos: pos, cond: cond, yes: x}
		if p.skipName("else") {
			if c.no, err = p.parseExpr(); err != nil {
				return nil, err
			}
		}
		x = c
	}
	return x, nil
}

func (p *parser) parseOr() (expr, error) {
	pos := p.peek().pos
	l, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.skipName("or") {
		r, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		l = &binaryExpr{pos: pos, op: "or", l: l, r: r}
	}
	return l, nil
}

func (p *parser) parseAnd() (expr, error) {
	pos := p.peek().pos
	l, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	for p.skipName("and") {
		r, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		l = &binaryExpr{pos: pos, op: "and", l: l, r: r}
	}
	return l, nil
}

func (p *parser) parseNot() (expr, error) {
	pos := p.peek().pos
	if p.skipName("not") {
		if err := p.enter(pos); err != nil {
			return nil, err
		}
		defer p.leave()
		x, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		return &unaryExpr{pos: pos, op: "not", x: x}, nil
	}
	return p.parseCompare()
}

func (p *parser) parseCompare() (expr, error) {
	pos := p.peek().pos
	first, err := p.parseMath1()
	if err != nil {
		return nil, err
	}
	c := &compareExpr{pos: pos, first: first}
	for {
		t := p.peek()
		var op string
		switch {
		case t.kind == tOp && (t.val == "==" || t.val == "!=" || t.val == "<" || t.val == "<=" || t.val == ">" || t.val == ">="):
			op = t.val
			p.i++
		case t.kind == tName && t.val == "in":
			op = "in"
			p.i++
		case t.kind == tName && t.val == "not" && p.toks[p.i+1].kind == tName && p.toks[p.i+1].val == "in":
			op = "notin"
			p.i += 2
		default:
			if len(c.ops) == 0 {
				return first, nil
			}
			return c, nil
		}
		r, err := p.parseMath1()
		if err != nil {
			return nil, err
		}
		c.ops = append(c.ops, op)
		c.rest = append(c.rest, r)
	}
}

// binaryLevel parses one left-associative level of operators.
func (p *parser) binaryLevel(ops []string, operand func() (expr, error)) (expr, error) {
	pos := p.peek().pos
	l, err := operand()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		found := ""
		if t.kind == tOp {
			for _, op := range ops {
				if t.val == op {
					found = op
				}
			}
		}
		if found == "" {
			return l, nil
		}
		p.i++
		r, err := operand()
		if err != nil {
			return nil, err
		}
		l = &binaryExpr{pos: pos, op: found, l: l, r: r}
	}
}

func (p *parser) parseMath1() (expr, error) {
	return p.binaryLevel([]string{"+", "-"}, p.parseConcat)
}

func (p *parser) parseConcat() (expr, error) {
	return p.binaryLevel([]string{"~"}, p.parseMath2)
}

func (p *parser) parseMath2() (expr, error) {
	return p.binaryLevel([]string{"*", "/", "//", "%"}, p.parsePow)
}

func (p *parser) parsePow() (expr, error) {
	return p.binaryLevel([]string{"**"}, func() (expr, error) { return p.parseUnary(true) })
}

func (p *parser) parseUnary(withFilter bool) (expr, error) {
	t := p.peek()
	if err := p.enter(t.pos); err != nil {
		return nil, err
	}
	defer p.leave()
	var x expr
	var err error
	if t.kind == tOp && (t.val == "-" || t.val == "+") {
		p.i++
		inner, err := p.parseUnary(false)
		if err != nil {
			return nil, err
		}
		x = &unaryExpr{pos: t.pos, op: t.val, x: inner}
	} else {
		if x, err = p.parsePrimary(); err != nil {
			return nil, err
		}
		if x, err = p.parsePostfix(x); err != nil {
			return nil, err
		}
	}
	if withFilter {
		return p.parseFilterExpr(x)
	}
	return x, nil
}

func (p *parser) parsePrimary() (expr, error) {
	t := p.next()
	switch t.kind {
	case tName:
		switch t.val {
		case "true", "True":
			return &literal{pos: t.pos, v: true}, nil
		case "false", "False":
			return &literal{pos: t.pos, v: false}, nil
		case "none", "None":
			return &literal{pos: t.pos, v: nil}, nil
		}
		return &nameExpr{pos: t.pos, name: t.val}, nil
	case tString:
		s := t.val
		for p.peek().kind == tString { // adjacent literals join, as in Python
			s += p.next().val
		}
		return &literal{pos: t.pos, v: s}, nil
	case tInt:
		if i, err := strconv.ParseInt(t.val, 10, 64); err == nil {
			return &literal{pos: t.pos, v: i}, nil
		}
		b, _ := new(big.Int).SetString(t.val, 10)
		return &literal{pos: t.pos, v: b}, nil
	case tFloat:
		f, _ := strconv.ParseFloat(t.val, 64)
		return &literal{pos: t.pos, v: f}, nil
	case tOp:
		switch t.val {
		case "(":
			if p.skipOp(")") {
				return &listExpr{pos: t.pos, tuple: true}, nil
			}
			x, err := p.parseTuple(false)
			if err != nil {
				return nil, err
			}
			return x, p.expectOp(")")
		case "[":
			l := &listExpr{pos: t.pos}
			for !p.isOp("]") {
				if len(l.items) > 0 {
					if err := p.expectOp(","); err != nil {
						return nil, err
					}
					if p.isOp("]") {
						break
					}
				}
				x, err := p.parseExpr()
				if err != nil {
					return nil, err
				}
				l.items = append(l.items, x)
			}
			p.i++
			return l, nil
		case "{":
			d := &dictExpr{pos: t.pos}
			for !p.isOp("}") {
				if len(d.keys) > 0 {
					if err := p.expectOp(","); err != nil {
						return nil, err
					}
					if p.isOp("}") {
						break
					}
				}
				k, err := p.parseExpr()
				if err != nil {
					return nil, err
				}
				if err := p.expectOp(":"); err != nil {
					return nil, err
				}
				v, err := p.parseExpr()
				if err != nil {
					return nil, err
				}
				d.keys = append(d.keys, k)
				d.vals = append(d.vals, v)
			}
			p.i++
			return d, nil
		}
	}
	p.i--
	if t.kind == tEOF {
		return nil, errAt(t.pos, "unexpected end of template")
	}
	return nil, errAt(t.pos, "unexpected %s", t)
}

func (p *parser) parsePostfix(x expr) (expr, error) {
	for {
		t := p.peek()
		switch {
		case t.kind == tOp && t.val == ".":
			p.i++
			n := p.next()
			switch n.kind {
			case tName:
				x = &attrExpr{pos: x.at(), x: x, name: n.val}
			case tInt:
				i, _ := strconv.ParseInt(n.val, 10, 64)
				x = &itemExpr{pos: x.at(), x: x, item: &literal{pos: n.pos, v: i}}
			default:
				p.i--
				return nil, p.unexpected("a name or number after '.'")
			}
		case t.kind == tOp && t.val == "[":
			p.i++
			var err error
			if x, err = p.parseSubscript(x); err != nil {
				return nil, err
			}
		case t.kind == tOp && t.val == "(":
			p.i++
			args, err := p.parseArgs()
			if err != nil {
				return nil, err
			}
			x = &callExpr{pos: x.at(), fn: x, args: args}
		default:
			return x, nil
		}
	}
}

// parseSubscript reads what follows "[": an index or a slice, and the "]".
func (p *parser) parseSubscript(x expr) (expr, error) {
	var parts [3]expr
	var tuple []expr
	n := 0
	for {
		if !p.isOp(":") && !p.isOp("]") {
			e, err := p.parseExpr()
			if err != nil {
				return nil, err
			}
			parts[n] = e
		}
		if n <= 0 && parts[0] != nil && p.isOp(",") {
			tuple = append(tuple, parts[0])
			for p.skipOp(",") && !p.isOp("]") {
				e, err := p.parseExpr()
				if err != nil {
					return nil, err
				}
				tuple = append(tuple, e)
			}
			if err := p.expectOp("]"); err != nil {
				return nil, err
			}
			n = -1
			break
		}
		if p.skipOp("]") {
			break
		}
		if n == 2 || !p.skipOp(":") {
			return nil, p.unexpected("']'")
		}
		n++
	}
	if n == 0 {
		if parts[0] == nil {
			return nil, p.unexpected("an index")
		}
		return &itemExpr{pos: x.at(), x: x, item: parts[0]}, nil
	}
	if n < 0 { // a[1, 2]: a tuple
		return &itemExpr{pos: x.at(), x: x, item: &listExpr{pos: parts[0].at(), items: tuple, tuple: true}}, nil
	}
	return &sliceExpr{pos: x.at(), x: x, lo: parts[0], hi: parts[1], step: parts[2]}, nil
}

// parseArgs reads call arguments after "(" up to and including ")".
func (p *parser) parseArgs() (callArgs, error) {
	var a callArgs
	for !p.skipOp(")") {
		if len(a.pos)+len(a.kwargs) > 0 {
			if err := p.expectOp(","); err != nil {
				return a, err
			}
			if p.skipOp(")") {
				break
			}
		}
		t := p.peek()
		if t.kind == tName && p.toks[p.i+1].kind == tOp && p.toks[p.i+1].val == "=" {
			p.i += 2
			x, err := p.parseExpr()
			if err != nil {
				return a, err
			}
			a.kwargs = append(a.kwargs, kwarg{name: t.val, x: x})
			continue
		}
		if len(a.kwargs) > 0 {
			return a, errAt(t.pos, "invalid syntax for function call expression")
		}
		x, err := p.parseExpr()
		if err != nil {
			return a, err
		}
		a.pos = append(a.pos, x)
	}
	return a, nil
}

// parseFilterExpr reads the "|filter" and "is test" chain after a value.
func (p *parser) parseFilterExpr(x expr) (expr, error) {
	for {
		switch {
		case p.skipOp("|"):
			t := p.peek()
			if t.kind != tName {
				return nil, p.unexpected("a filter name")
			}
			p.i++
			if _, ok := filters[t.val]; !ok {
				return nil, errAt(t.pos, "no filter named %q", t.val)
			}
			f := &filterExpr{pos: x.at(), x: x, name: t.val}
			if p.skipOp("(") {
				var err error
				if f.args, err = p.parseArgs(); err != nil {
					return nil, err
				}
			}
			x = f
		case p.isName("is"):
			p.i++
			neg := p.skipName("not")
			t := p.peek()
			if t.kind != tName {
				return nil, p.unexpected("a test name")
			}
			p.i++
			if _, ok := tests[t.val]; !ok {
				return nil, errAt(t.pos, "no test named %q", t.val)
			}
			te := &testExpr{pos: x.at(), x: x, name: t.val, negate: neg}
			switch {
			case p.skipOp("("):
				var err error
				if te.args, err = p.parseArgs(); err != nil {
					return nil, err
				}
			case p.isName("is"):
				return nil, errAt(p.peek().pos, "you cannot chain multiple tests with is")
			case p.startsTestArg():
				arg, err := p.parsePrimary()
				if err != nil {
					return nil, err
				}
				if arg, err = p.parsePostfix(arg); err != nil {
					return nil, err
				}
				te.args.pos = []expr{arg}
			}
			x = te
		default:
			return x, nil
		}
	}
}

// startsTestArg reports whether a test's one argument follows without
// parentheses ("x is divisibleby 3"). As in jinja2, any name but else, or
// and and starts one, so "x is defined if y" does not parse.
func (p *parser) startsTestArg() bool {
	t := p.peek()
	switch t.kind {
	case tString, tInt, tFloat:
		return true
	case tName:
		return t.val != "else" && t.val != "or" && t.val != "and"
	case tOp:
		return t.val == "[" || t.val == "{"
	}
	return false
}
