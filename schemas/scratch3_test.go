package schemas

import (
	"fmt"
	"slices"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
)

func allowedFields2(def cue.Value, path []string) []string {
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

func TestScratch3(t *testing.T) {
	def := cuecontext.New().CompileString(FlowCUE).LookupPath(cue.MakePath(cue.Def("Flow")))
	for _, p := range [][]string{{"nodes", "a", "retry"}, {"defaults"}, {"plugins", "p"}, {"plugins", "p", "grants"}, {"nodes", "a", "when"}, {"defaults", "retry"}, {"plugins", "p", "limits"}} {
		fmt.Println(p, allowedFields(def, p), allowedFields2(def, p))
	}
}
