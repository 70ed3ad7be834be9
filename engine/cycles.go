package engine

import (
	"slices"
	"strings"
)

// cycles reports every cycle among the nodes once, naming each node on it.
func (c *compiler) cycles() {
	const (
		unseen = iota
		onStack
		done
	)
	state := make([]int, len(c.f.nodes))
	var stack []int
	var visit func(i int)
	visit = func(i int) {
		state[i] = onStack
		stack = append(stack, i)
		for _, d := range c.f.nodes[i].deps {
			switch state[d] {
			case unseen:
				visit(d)
			case onStack:
				start := slices.Index(stack, d)
				names := make([]string, 0, len(stack)-start+1)
				for _, k := range stack[start:] {
					names = append(names, c.f.nodes[k].name)
				}
				// Dependencies point backwards: print the flow of data,
				// from the node that comes first in the file.
				slices.Reverse(names)
				first := 0
				for k, name := range names {
					if c.nodes[name] < c.nodes[names[first]] {
						first = k
					}
				}
				names = append(names[first:], names[:first]...)
				names = append(names, names[0])
				c.errs.Add(c.spec.Nodes[c.nodes[names[0]]].Pos, "cycle: %s: break it by removing one of these references", strings.Join(names, " -> "))
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = done
	}
	for i := range c.f.nodes {
		if state[i] == unseen {
			visit(i)
		}
	}
}
