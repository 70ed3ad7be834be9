package ref

import (
	"errors"
	"reflect"
	"testing"

	"github.com/weirflow/weir/internal/jsonscan"
)

// FuzzParse checks that Parse never panics, that its errors are
// *SyntaxError within s, and that a successful parse is self-consistent:
// offsets point at "${...}" in s, and the canonical rendering parses back to
// the same parts and renders the same.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"",
		"plain text",
		"${inputs.name}",
		"Hello ${inputs.name}, you are ${inputs.age} years old.",
		"${greet.output.message}",
		"${node.output.a.b[0]}",
		`${x["a b"]["c\"d"][2].e}`,
		`${x["\u0041\ud83d\ude00\ud800"]}`,
		"$${inputs.x} is literal, ${inputs.x} is not",
		"$$${x} $ $$ ${a}${b} }{",
		"cost: $5 ${a.b}}",
		"${inputs.x",
		"Hello ${inputs.name, welcome",
		"${}",
		"${inputs.}",
		"${inputs x}",
		"${x.output[a]}",
		"${x[0}",
		`${x["a\q"]}`,
		"${x[12345678901]}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tmpl, err := Parse(s)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Offset < 0 || se.Offset > len(s) || se.Msg == "" {
				t.Fatalf("Parse(%q): bad error %#v", s, err)
			}
			return
		}
		checkTemplate(t, s, tmpl)

		canonical := tmpl.String()
		again, err := Parse(canonical)
		if err != nil {
			t.Fatalf("Parse(%q) = %q, which does not parse: %v", s, canonical, err)
		}
		checkTemplate(t, canonical, again)
		if !sameParts(tmpl, again) {
			t.Fatalf("Parse(%q) = %#v, rendered %q, parses to %#v", s, tmpl.Parts, canonical, again.Parts)
		}
		if again.String() != canonical {
			t.Fatalf("rendering %q is not stable: %q", canonical, again.String())
		}
	})
}

// checkTemplate checks the invariants of a template parsed from s.
func checkTemplate(t *testing.T, s string, tmpl Template) {
	t.Helper()
	prevEnd := 0
	for i, p := range tmpl.Parts {
		if (p.Ref == nil) == (p.Text == "") {
			t.Fatalf("Parse(%q): part %d has text %q and ref %v", s, i, p.Text, p.Ref)
		}
		if p.Ref == nil {
			if i > 0 && tmpl.Parts[i-1].Ref == nil {
				t.Fatalf("Parse(%q): adjacent text parts %d and %d", s, i-1, i)
			}
			continue
		}
		r := p.Ref
		if r.Offset < prevEnd || r.End > len(s) || r.End-r.Offset < 4 ||
			s[r.Offset] != '$' || s[r.Offset+1] != '{' || s[r.End-1] != '}' {
			t.Fatalf("Parse(%q): ref %d at [%d:%d] is not a reference in s", s, i, r.Offset, r.End)
		}
		prevEnd = r.End
		alone, err := Parse(s[r.Offset:r.End])
		if err != nil || !alone.IsRef() || !sameRef(alone.Parts[0].Ref, r) {
			t.Fatalf("Parse(%q): ref %d is %q, which parses alone to %#v, %v", s, i, s[r.Offset:r.End], alone, err)
		}
		root, steps, err := ParsePath(r.String())
		if err != nil || !sameRef(&Ref{Root: root, Steps: steps}, r) {
			t.Fatalf("Parse(%q): ref %d renders as %q, which ParsePath reads as %q %v, %v", s, i, r.String(), root, steps, err)
		}
	}
}

// sameParts compares templates ignoring offsets.
func sameParts(a, b Template) bool {
	if len(a.Parts) != len(b.Parts) {
		return false
	}
	for i := range a.Parts {
		pa, pb := a.Parts[i], b.Parts[i]
		if pa.Text != pb.Text || (pa.Ref == nil) != (pb.Ref == nil) {
			return false
		}
		if pa.Ref != nil && !sameRef(pa.Ref, pb.Ref) {
			return false
		}
	}
	return true
}

func sameRef(a, b *Ref) bool {
	return a.Root == b.Root && reflect.DeepEqual(a.Steps, b.Steps)
}

// FuzzParsePath checks that ParsePath never panics, that its errors are
// *SyntaxError within s, and that a path it reads renders canonically to a
// path it reads the same way.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"data.col", `a["b c"][0].d`, "data.", "data col", "${data.col}", "a[01]", `a["x`, "x[99]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		root, steps, err := ParsePath(s)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Offset < 0 || se.Offset > len(s) || se.Msg == "" {
				t.Fatalf("ParsePath(%q): bad error %#v", s, err)
			}
			return
		}
		r := &Ref{Root: root, Steps: steps}
		root2, steps2, err := ParsePath(r.String())
		if err != nil || !sameRef(r, &Ref{Root: root2, Steps: steps2}) {
			t.Fatalf("ParsePath(%q) renders as %q, which reads as %q %v, %v", s, r.String(), root2, steps2, err)
		}
		tmpl, err := Parse("${" + s + "}")
		if err != nil || !tmpl.IsRef() || !sameRef(tmpl.Parts[0].Ref, r) {
			t.Fatalf("ParsePath(%q) reads %q %v, but Parse of it in ${} gives %#v, %v", s, root, steps, tmpl, err)
		}
		all := append([]jsonscan.Step{{Key: root}}, steps...)
		if got, err := ParseSteps(s); err != nil || !reflect.DeepEqual(got, all) {
			t.Fatalf("ParsePath(%q) reads %q %v, but ParseSteps %v, %v", s, root, steps, got, err)
		}
		if got, err := ParseSteps(FormatSteps(all)); err != nil || !reflect.DeepEqual(got, all) {
			t.Fatalf("ParsePath(%q) formats as %q, which ParseSteps reads as %v, %v", s, FormatSteps(all), got, err)
		}
	})
}
