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

// evaluate evaluates detached entries, chunk by chunk, and unifies each
// chunk with def when it exists. It returns the first error met building
// them, which means the flow cannot be read, and reports the errors of the
// unified values.
func (d *decoder) evaluate(ctx *cue.Context, entries []entry, def, flowDef cue.Value) error {
	for start := 0; start < len(entries); start += chunk {
		part := entries[start:min(start+chunk, len(entries))]
		lit := &ast.StructLit{Elts: make([]ast.Decl, len(part))}
		for i, e := range part {
			lit.Elts[i] = e.field
		}
		v := ctx.BuildExpr(lit)
		if err := v.Err(); err != nil {
			return err
		}
		u := v
		if def.Exists() {
			// The user's value first, as when #Flow's pattern applies
			// def: CUE's errors name the two in that order.
			u = v.Unify(def)
			d.cueErrors(u.Validate(), flowDef, part[0].at...)
		}
		for i := range part {
			path := cue.MakePath(cue.Str(part[i].name))
			part[i].v, part[i].u = v.LookupPath(path), u.LookupPath(path)
		}
	}
	return nil
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
		entries = append(entries, entry{name: label, pos: d.pos(x.Pos()), field: x, at: []string{name}})
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
