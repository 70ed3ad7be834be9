// Package tracingtest draws the spans an in-memory exporter holds as a
// tree, for tests to compare with the tree they expect.
package tracingtest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// Tree draws spans one a line, each child indented under its parent and
// sorted by name (then start time), roots first; a span whose parent is
// not among spans is a root.
func Tree(spans []tracetest.SpanStub) string {
	ids := map[string]bool{}
	for _, s := range spans {
		ids[s.SpanContext.SpanID().String()] = true
	}
	children := map[string][]tracetest.SpanStub{}
	for _, s := range spans {
		parent := ""
		if id := s.Parent.SpanID().String(); s.Parent.IsValid() && ids[id] {
			parent = id
		}
		children[parent] = append(children[parent], s)
	}
	var b strings.Builder
	var draw func(parent string, depth int)
	draw = func(parent string, depth int) {
		kids := children[parent]
		slices.SortFunc(kids, func(a, b tracetest.SpanStub) int {
			return cmp.Or(strings.Compare(a.Name, b.Name), a.StartTime.Compare(b.StartTime))
		})
		for _, s := range kids {
			fmt.Fprintf(&b, "%s%s\n", strings.Repeat("  ", depth), s.Name)
			draw(s.SpanContext.SpanID().String(), depth+1)
		}
	}
	draw("", 0)
	return b.String()
}
