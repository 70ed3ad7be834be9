package jinja

import "strings"

// ChatLists is a variable of Render whose lists, at any depth, print as
// the str() of their items joined with "\n", as prompt flow's
// ChatInputList: its Azure OpenAI chat tool converts the variables of a
// template so (convert_to_chat_list), where its OpenAI tool prints Python
// lists. In every other way such a list is a list: it iterates, indexes
// and compares as one; a slice of it or a list made from it is a plain
// list, as in Python; and inside a printed dict or list it is written as
// a list, since only its str() differs.
//
// "{{ x }}" and "~" print it so; filters and "%" formatting take it as a
// list.
type ChatLists struct{ Value any }

// linesKey identifies one list of a Render that prints as ChatLists say:
// where its items are, and how many. A slice of it starts elsewhere or is
// shorter.
type linesKey struct {
	items *any
	n     int
}

// markLines returns v, a normalized value, with every list in it a new
// list the renderer prints as ChatLists say, and every dict a new dict:
// the caller's values are not modified.
func (r *renderer) markLines(v any) any {
	switch v := v.(type) {
	case []any:
		// At least one slot, so that an empty list has an address too.
		list := make([]any, len(v), max(len(v), 1))
		for i, e := range v {
			list[i] = r.markLines(e)
		}
		if r.lines == nil {
			r.lines = map[linesKey]bool{}
		}
		r.lines[keyOf(list)] = true
		return list
	case *Dict:
		d := &Dict{}
		for _, k := range v.Keys() {
			e, _ := v.Get(k)
			d.Set(k, r.markLines(e))
		}
		return d
	}
	return v
}

func keyOf(list []any) linesKey { return linesKey{&list[:1][0], len(list)} }

// str is Python's str(v), with the lists markLines made joined by lines.
func (r *renderer) str(v any) string {
	list, ok := v.([]any)
	if !ok || cap(list) == 0 || !r.lines[keyOf(list)] {
		return str(v)
	}
	parts := make([]string, len(list))
	for i, e := range list {
		parts[i] = r.str(e)
	}
	return strings.Join(parts, "\n")
}
