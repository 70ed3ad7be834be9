package schemas

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/ast/astutil"
	"cuelang.org/go/cue/cuecontext"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"
	cuejson "cuelang.org/go/encoding/json"
	cueyaml "cuelang.org/go/encoding/yaml"
)

// FlowCUE is the CUE source of #Flow, the definition every flow file is
// unified with. `weir schema` prints it.
//
//go:embed flow.cue
var FlowCUE string

// yamlLine finds the line in the YAML reader's errors.
var yamlLine = regexp.MustCompile(`^[^:]*:(\d+): (.*)$`)

// schemaFile names positions inside FlowCUE in CUE's own errors.
const schemaFile = "weir/flow.cue"

// Parse parses a flow from src. The extension of filename picks the syntax
// (.cue, .yaml, .yml or .json) and filename names the positions in errors.
// Relative plugin and sub-flow paths are resolved against filename's folder,
// and so are the files a CUE flow embeds (see Embed), which Parse reads.
//
// The error, when not nil, is an Errors listing every problem found. The Flow
// is still returned when the file could be read as a flow at all, so that a
// caller can look for more problems in one pass; it must not be run.
func Parse(filename string, src []byte) (*Flow, error) {
	return ParseWith(filename, src, Options{})
}

// Options adjust ParseWith. The zero value is Parse's.
type Options struct {
	// SkipEmbeds leaves the files that @embed attributes name unread, for
	// a caller that only lists them (Flow.Embeds), as a bundle does: the
	// fields that embed them hold "".
	SkipEmbeds bool
}

// ParseWith is Parse with options.
func ParseWith(filename string, src []byte, opts Options) (*Flow, error) {
	d := &decoder{file: filename, src: src, dir: filepath.Dir(filename), opts: opts}
	f := d.syntax()
	if f == nil {
		return nil, d.errs.Err()
	}
	d.nodes, d.outputs = d.detach(f, "nodes"), d.detach(f, "outputs")
	ctx := cuecontext.New()
	v := ctx.BuildFile(f)
	if err := v.Err(); err != nil {
		d.cueErrors(err, cue.Value{})
		return nil, d.errs.Err()
	}
	def := ctx.CompileString(FlowCUE, cue.Filename(schemaFile)).LookupPath(cue.MakePath(cue.Def("Flow")))
	if err := def.Err(); err != nil {
		panic("schemas: #Flow does not compile: " + err.Error())
	}
	u := def.Unify(v)
	d.cueErrors(u.Validate(), def)
	d.concrete(v, u, def)
	flow := d.flow(v, u, def)
	flow.Embeds = d.embedded
	if d.broken {
		return nil, d.errs.Err()
	}
	return flow, d.errs.Err()
}

type decoder struct {
	file string
	src  []byte
	dir  string
	opts Options
	yaml bool // YAML positions count runes; see pos
	// embedded are the files @embed attributes name, in file order, and
	// embedAt the written path of each by the position of its text.
	embedded []Embed
	embedAt  map[Pos]string
	// lines holds the offset of each line's start in src; see offset.
	lines []int
	// nodes and outputs are the entries of those fields, when detached.
	nodes, outputs []entry
	// broken is set when detached entries could not be built: the file
	// cannot be read as a flow.
	broken bool
	errs   Errors
}

// syntax parses src into a CUE file, turning YAML and JSON into the same
// form so that one schema and one decoder serve every syntax.
func (d *decoder) syntax() *ast.File {
	var (
		f   *ast.File
		err error
	)
	switch ext := strings.ToLower(filepath.Ext(d.file)); ext {
	case ".cue":
		f, err = parser.ParseFile(d.file, d.src, parser.ParseComments)
		if err == nil {
			d.embeds(f)
		}
	case ".yaml", ".yml":
		d.yaml = true
		f, err = cueyaml.Extract(d.file, yamlLineBreaks(d.src))
	case ".json":
		if err := jsonSyntax(d.src); err != nil {
			d.errs.Add(d.posOf(err.Offset), "%s", err.msg)
			return nil
		}
		var expr ast.Expr
		expr, err = cuejson.Extract(d.file, d.src)
		if err == nil {
			f, err = astutil.ToFile(expr)
		}
	default:
		d.errs.Add(Pos{File: d.file}, "unknown flow format %q: name the file .cue, .yaml or .json", ext)
		return nil
	}
	if err != nil {
		d.cueErrors(err, cue.Value{})
		return nil
	}
	if ext := strings.ToLower(filepath.Ext(d.file)); ext != ".cue" {
		d.duplicateKeys(f.Decls)
		d.inputTypes(f)
	}
	return f
}

// duplicateKeys reports a key given twice in one YAML or JSON object. CUE
// would unify the two silently; in these formats it is always a mistake.
func (d *decoder) duplicateKeys(decls []ast.Decl) {
	seen := map[string]token.Pos{}
	for _, decl := range decls {
		field, ok := decl.(*ast.Field)
		if !ok {
			continue
		}
		name, _, _ := ast.LabelName(field.Label)
		if first, dup := seen[name]; dup {
			d.errs.Add(d.pos(field.Pos()), "duplicate key %q (first at %s): remove one of them", name, d.pos(first))
		} else {
			seen[name] = field.Pos()
		}
		d.duplicateKeysIn(field.Value)
	}
}

func (d *decoder) duplicateKeysIn(x ast.Expr) {
	switch v := x.(type) {
	case *ast.StructLit:
		d.duplicateKeys(v.Elts)
	case *ast.ListLit:
		for _, e := range v.Elts {
			d.duplicateKeysIn(e)
		}
	}
}

// inputTypes turns the input types of a YAML or JSON flow, written as strings
// ('int & >=1'), into the CUE expressions they spell.
func (d *decoder) inputTypes(f *ast.File) {
	for _, decl := range f.Decls {
		field, ok := decl.(*ast.Field)
		if !ok {
			continue
		}
		if name, _, _ := ast.LabelName(field.Label); name != "inputs" {
			continue
		}
		if s, ok := field.Value.(*ast.StructLit); ok {
			d.typeExprs(s)
		}
	}
}

func (d *decoder) typeExprs(s *ast.StructLit) {
	for _, elt := range s.Elts {
		field, ok := elt.(*ast.Field)
		if !ok {
			continue
		}
		switch x := field.Value.(type) {
		case *ast.StructLit:
			d.typeExprs(x)
		case *ast.BasicLit:
			if x.Kind != token.STRING {
				continue
			}
			text, err := literalString(x)
			if err != nil {
				continue
			}
			expr, err := parser.ParseExpr(d.file, text)
			if err != nil {
				name, _, _ := ast.LabelName(field.Label)
				d.errs.Add(d.pos(x.Pos()), "input %q: type %q is not a CUE expression: %v", name, text, firstLine(err))
				continue
			}
			// Keep the string's place for errors about the type.
			ast.Walk(expr, func(n ast.Node) bool { ast.SetPos(n, x.Pos()); return true }, nil)
			field.Value = expr
		}
	}
}

// concrete reports the fields of the user's flow that hold a type where a
// value is needed. Input types and node inputs are left alone: the first
// are types by design, the second are checked as they are decoded.
func (d *decoder) concrete(v, u cue.Value, def cue.Value) {
	d.fields(v, func(name string, _ Pos, _ cue.Value) {
		switch name {
		case "inputs", "outputs":
		case "nodes":
			// Checked one by one as they are decoded: see concreteNode.
		default:
			d.cueErrors(u.LookupPath(cue.MakePath(cue.Str(name))).Validate(cue.Concrete(true)), def)
		}
	})
}

// concreteNode is concrete for a node, but for its inputs and when.
func (d *decoder) concreteNode(n *entry, def cue.Value) {
	d.fields(n.v, func(field string, _ Pos, _ cue.Value) {
		// when is checked, with a better message, as it is decoded.
		if field != "inputs" && field != "when" {
			d.cueErrors(n.u.LookupPath(cue.MakePath(cue.Str(field))).Validate(cue.Concrete(true)), def, n.at...)
		}
	})
}

// cueErrors records CUE's errors at the first position in the flow file.
// def, when it exists, is #Flow, used to list the fields that are allowed.
// at is the path of a struct evaluated on its own (see detach), which the
// paths of its errors leave out.
func (d *decoder) cueErrors(err error, def cue.Value, at ...string) {
	for _, e := range cueerrors.Errors(err) {
		pos := Pos{File: d.file}
		for _, p := range append([]token.Pos{e.Position()}, e.InputPositions()...) {
			if p.Filename() == d.file {
				pos = d.pos(p)
				break
			}
		}
		path := e.Path()
		if len(path) > 0 && path[0] == "#Flow" {
			path = path[1:]
		}
		path = append(slices.Clip(at), path...)
		for i, p := range path {
			if u, err := strconv.Unquote(p); err == nil {
				path[i] = u
			}
		}
		if cachePath(path) {
			continue // decode's cache says it better
		}
		format, args := e.Msg()
		msg := fmt.Sprintf(format, args...)
		if msg == "" {
			// The YAML reader puts "file:line: " in the text instead.
			msg = strings.TrimPrefix(e.Error(), d.file+": ")
			if m := yamlLine.FindStringSubmatch(msg); m != nil {
				line, _ := strconv.Atoi(m[1])
				pos, msg = Pos{File: d.file, Line: line, Col: 1}, m[2]
			}
		}
		if msg == "field not allowed" && len(path) > 0 && def.Exists() {
			msg = fmt.Sprintf("unknown field %q", path[len(path)-1])
			if allowed := allowedFields(def, path[:len(path)-1]); len(allowed) > 0 {
				msg += "; allowed: " + strings.Join(allowed, ", ")
			}
			path = path[:len(path)-1]
		}
		if len(path) > 0 {
			msg = strings.Join(path, ".") + ": " + msg
		}
		d.errs.Add(pos, "%s", msg)
	}
}

// cachePath reports whether path is in a node's or the defaults' cache,
// whose disjunction (bool or a struct) CUE reports branch by branch.
func cachePath(path []string) bool {
	return len(path) >= 2 && path[0] == "defaults" && path[1] == "cache" ||
		len(path) >= 3 && path[0] == "nodes" && path[2] == "cache"
}

// allowedFields lists the fields #Flow allows at path, following pattern
// constraints ([string]: #Node) where the path names a user's key.
func allowedFields(def cue.Value, path []string) []string {
	cur := def
	for _, sel := range path {
		next := cur.LookupPath(cue.MakePath(cue.Str(sel)))
		if !next.Exists() {
			next = cur.LookupPath(cue.MakePath(cue.Str(sel).Optional()))
		}
		if !next.Exists() {
			next = cur.LookupPath(cue.MakePath(cue.AnyString))
		}
		if !next.Exists() {
			return nil
		}
		cur = next
	}
	var names []string
	it, err := cur.Fields(cue.Optional(true))
	if err != nil {
		return nil
	}
	for it.Next() {
		names = append(names, it.Selector().Unquoted())
	}
	slices.Sort(names)
	return names
}

func (d *decoder) pos(p token.Pos) Pos {
	if !p.IsValid() {
		return Pos{File: d.file}
	}
	col := p.Column()
	if d.yaml {
		col = d.runeColToByte(p.Line(), col)
	}
	return Pos{File: d.file, Line: p.Line(), Col: col}
}

// runeColToByte turns the YAML reader's column, which counts runes, into
// the byte column every other position uses.
func (d *decoder) runeColToByte(line, col int) int {
	off := d.offset(Pos{Line: line, Col: 1})
	if off < 0 {
		return col
	}
	rest := d.src[off:]
	if i := bytes.IndexByte(rest, '\n'); i >= 0 {
		rest = rest[:i]
	}
	runes := []rune(string(rest))
	if col-1 > len(runes) {
		return col
	}
	return len(string(runes[:col-1])) + 1
}

func literalString(x *ast.BasicLit) (string, error) {
	v := cuecontext.New().BuildExpr(x)
	return v.String()
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// jsonError is a JSON syntax error at a byte offset of the file.
type jsonError struct {
	Offset int64
	msg    string
}

// jsonSyntax checks src with encoding/json, whose messages say what is wrong
// and where, which CUE's JSON reader does not.
func jsonSyntax(src []byte) *jsonError {
	var se *json.SyntaxError
	if err := json.Unmarshal(src, new(any)); !errors.As(err, &se) {
		return nil
	}
	// Offset counts the bytes read, the bad one included, except at the end.
	off := se.Offset - 1
	if off < 0 || off >= int64(len(src)) || strings.HasPrefix(se.Error(), "unexpected end") {
		off = int64(len(src))
	}
	return &jsonError{Offset: off, msg: se.Error()}
}

// yamlLineBreaks turns the line breaks the YAML reader knows but CUE's YAML
// decoder does not (a lone CR, NEL, LS, PS) into newlines padded to the same
// length, so that offsets stay true.
func yamlLineBreaks(src []byte) []byte {
	if !bytes.ContainsAny(src, "\r\u0085\u2028\u2029") {
		return src
	}
	out := bytes.Clone(src)
	for i := 0; i < len(out); i++ {
		switch {
		case out[i] == '\r' && (i+1 == len(out) || out[i+1] != '\n'):
			out[i] = '\n'
		case bytes.HasPrefix(out[i:], []byte("\u0085")):
			copy(out[i:], "\n ")
		case bytes.HasPrefix(out[i:], []byte("\u2028")), bytes.HasPrefix(out[i:], []byte("\u2029")):
			copy(out[i:], "\n  ")
		}
	}
	return out
}

// posOf turns a byte offset of src into a position.
func (d *decoder) posOf(off int64) Pos {
	line, col := 1, 1
	for _, c := range d.src[:min(int(off), len(d.src))] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return Pos{File: d.file, Line: line, Col: col}
}
