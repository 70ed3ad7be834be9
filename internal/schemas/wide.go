package schemas

import (
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/token"
)

// A flow of thousands of nodes is a CUE struct of thousands of fields, and
// CUE finds a field of a struct by scanning the fields before it: building,
// checking and walking such a struct costs the square of its width. When
// the entries of nodes or outputs are plain data (literals, lists and
// structs of them), as in every YAML and JSON flow and in generated ones,
// nothing in them can refer to anything else, so they are evaluated apart
// from the file, a chunk at a time: the same values and errors, at a cost
// linear in their number.

// chunk is how many detached entries are evaluated together: enough to
// spread the cost of an evaluation, few enough that scanning a chunk's
// fields costs little next to the rest.
const chunk = 128

// entries calls fn for each entry of v's field name, in file order, with
// its value as written and, for a node, as unified with def (#Flow).
// Detached entries (see detach) are evaluated a chunk at a time, and only
// one chunk's values are held at once: the flow's decoded form is smaller.
func (d *decoder) entries(name string, detached []entry, v, u, def cue.Value, fn func(e *entry)) {
	path := cue.MakePath(cue.Str(name))
	if detached == nil {
		in := u.LookupPath(path)
		d.fields(v.LookupPath(path), func(label string, pos Pos, ev cue.Value) {
			fn(&entry{name: label, pos: pos, v: ev, u: in.LookupPath(cue.MakePath(cue.Str(label)))})
		})
		return
	}
	// #Flow's nodes carry a pattern, [string]: #Node; outputs check nothing.
	pattern := def.LookupPath(path)
	if name != "nodes" {
		pattern = cue.Value{}
	}
	ctx := v.Context()
	for start := 0; start < len(detached); start += chunk {
		part := detached[start:min(start+chunk, len(detached))]
		lit := &ast.StructLit{Elts: make([]ast.Decl, len(part))}
		for i, e := range part {
			lit.Elts[i] = e.field
		}
		cv := ctx.BuildExpr(lit)
		if err := cv.Err(); err != nil {
			// Plain data builds unless CUE finds a fault that its parser
			// let pass; then, as for the whole file, there is no flow.
			d.cueErrors(err, cue.Value{})
			d.broken = true
			return
		}
		cu := cv
		if pattern.Exists() {
			// The user's value first, as when the pattern applies in
			// place: CUE's errors name the two in that order.
			cu = cv.Unify(pattern)
			d.cueErrors(cu.Validate(), def, name)
		}
		for i := range part {
			e := &part[i]
			at := cue.MakePath(cue.Str(e.name))
			e.v, e.u, e.at = cv.LookupPath(at), cu.LookupPath(at), []string{name}
			fn(e)
			// Let the chunk's syntax and values go.
			*e = entry{}
		}
	}
}

// entry is one entry of nodes or outputs.
type entry struct {
	name  string
	pos   Pos        // of its label
	field *ast.Field // its syntax, when detached
	// v is the value as written; u, for a node, is v unified with #Node.
	v, u cue.Value
	// at is the path of the struct that a detached entry was evaluated in,
	// which CUE's errors about it leave out.
	at []string
}

// detach takes the entries of the struct held by f's top-level field name
// out of f, leaving that field an empty struct, and returns them in file
// order; it leaves f as it is and returns nil when they must be evaluated
// where they stand. It holds for a field declared once, whose value is a
// struct literal of plain, distinct fields that nothing in f names, in a
// file that embeds nothing at its top, which could add entries.
func (d *decoder) detach(f *ast.File, name string) []entry {
	var field *ast.Field
	for _, decl := range f.Decls {
		switch x := decl.(type) {
		case *ast.Field:
			if l, _, err := ast.LabelName(x.Label); err == nil && l == name {
				if field != nil {
					return nil
				}
				field = x
			}
		case *ast.EmbedDecl, *ast.Comprehension:
			return nil
		}
	}
	if field == nil || field.Constraint != token.ILLEGAL || !plainLabel(field.Label) || names(f, name) {
		return nil
	}
	s, ok := field.Value.(*ast.StructLit)
	if !ok || !plainFields(s) {
		return nil
	}
	var entries []entry
	for _, elt := range s.Elts {
		x, ok := elt.(*ast.Field)
		if !ok {
			continue // a comment or an attribute
		}
		label, _, _ := ast.LabelName(x.Label)
		// Fields leaves out hidden fields, definitions and optional ones:
		// let CUE decide what they mean.
		if strings.HasPrefix(label, "_") || strings.HasPrefix(label, "#") || x.Constraint != token.ILLEGAL {
			return nil
		}
		entries = append(entries, entry{name: label, pos: d.pos(x.Pos()), field: x})
	}
	field.Value = &ast.StructLit{Lbrace: s.Lbrace, Rbrace: s.Rbrace}
	return entries
}

// plainLabel reports whether l names a field without computing or aliasing it.
func plainLabel(l ast.Label) bool {
	switch l := l.(type) {
	case *ast.Ident:
		return true
	case *ast.BasicLit:
		return l.Kind == token.STRING
	}
	return false
}

// plainFields reports whether s holds only fields of distinct plain labels
// with plain values: no embedding, comprehension, let or pattern, and no
// label given twice, whose values CUE would unify.
func plainFields(s *ast.StructLit) bool {
	seen := make(map[string]bool, len(s.Elts))
	for _, elt := range s.Elts {
		switch x := elt.(type) {
		case *ast.CommentGroup, *ast.Attribute:
		case *ast.Field:
			name, _, err := ast.LabelName(x.Label)
			if err != nil || !plainLabel(x.Label) || seen[name] || !plain(x.Value) {
				return false
			}
			seen[name] = true
		default:
			return false
		}
	}
	return true
}

// plain reports whether x is data alone: a literal, or a list or struct of
// plain values. Such a value means the same wherever it is evaluated.
func plain(x ast.Expr) bool {
	switch x := x.(type) {
	case *ast.BasicLit:
		return true
	case *ast.UnaryExpr:
		lit, ok := x.X.(*ast.BasicLit)
		return ok && (x.Op == token.SUB || x.Op == token.ADD) && (lit.Kind == token.INT || lit.Kind == token.FLOAT)
	case *ast.ListLit:
		for _, e := range x.Elts {
			if !plain(e) {
				return false
			}
		}
		return true
	case *ast.StructLit:
		return plainFields(x)
	}
	return false
}

// names reports whether an identifier in n, labels aside, is name: a
// reference to the field, which would no longer find its entries.
func names(n ast.Node, name string) bool {
	found := false
	var visit func(n ast.Node) bool
	visit = func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.Field:
			// A plain label names its field; it refers to nothing.
			if !plainLabel(x.Label) {
				ast.Walk(x.Label, visit, nil)
			}
			ast.Walk(x.Value, visit, nil)
			return false
		case *ast.Ident:
			found = found || x.Name == name
		}
		return !found
	}
	ast.Walk(n, visit, nil)
	return found
}
