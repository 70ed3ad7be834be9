package promptflow

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/weirflow/weir/internal/jsonscan"
	"github.com/weirflow/weir/internal/ref"
)

// wholeRef matches a value that is a reference: only a whole string is one
// in prompt flow; "a ${inputs.x}" is literal text (SPEC §2.4).
var wholeRef = regexp.MustCompile(`^\$\{([^{}]*)\}$`)

// pathStep is one step of a node output's property path, as prompt flow's
// parser reads it: a name, ['key'] or [0] (SPEC §2.4).
var pathStep = regexp.MustCompile(`^\.?(?:(\w+)|\['(.*?)'\]|\[(\d+)\])`)

// pfRef is a parsed reference: a flow input, or a node's output with a
// path into it.
type pfRef struct {
	input string // ${inputs.x} or ${flow.x}
	node  string
	steps []jsonscan.Step
}

// asRef returns the reference v holds, if it is one.
func asRef(v any) (string, bool) {
	s, ok := v.(string)
	if !ok {
		return "", false
	}
	m := wholeRef.FindStringSubmatch(s)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// parseRef reads the inside of a ${...}.
func parseRef(in string) (pfRef, error) {
	for _, prefix := range []string{"inputs.", "flow."} {
		if name, ok := strings.CutPrefix(in, prefix); ok {
			if name == "" {
				return pfRef{}, fmt.Errorf("reference ${%s} names no input", in)
			}
			return pfRef{input: name}, nil
		}
	}
	node, rest, _ := strings.Cut(in, ".")
	if node == "" {
		return pfRef{}, fmt.Errorf("reference ${%s} names no node", in)
	}
	r := pfRef{node: node}
	if rest == "" {
		return r, nil // ${node} is ${node.output}
	}
	path, ok := strings.CutPrefix(rest, "output")
	if !ok || (path != "" && path[0] != '.' && path[0] != '[') {
		section, _, _ := strings.Cut(rest, ".")
		return pfRef{}, fmt.Errorf("reference ${%s}: a node's %q cannot be referenced, only its output", in, section)
	}
	for path != "" {
		m := pathStep.FindStringSubmatch(path)
		if m == nil {
			return pfRef{}, fmt.Errorf("reference ${%s}: cannot read %q as a property path (write a.b, ['key'] or [0])", in, path)
		}
		switch {
		case m[1] != "":
			r.steps = append(r.steps, jsonscan.Step{Key: m[1]})
		case m[3] != "":
			n, err := strconv.Atoi(m[3])
			if err != nil {
				return pfRef{}, fmt.Errorf("reference ${%s}: index %s is too large", in, m[3])
			}
			r.steps = append(r.steps, jsonscan.Step{Index: n, IsIndex: true})
		default:
			r.steps = append(r.steps, jsonscan.Step{Key: m[2]})
		}
		path = path[len(m[0]):]
	}
	return r, nil
}

// weirRef writes the weir reference for r, given the field of the node's
// outputs that holds what prompt flow calls its output ("" for the whole).
func weirRef(r pfRef, field string) string {
	if r.input != "" {
		return "${inputs" + formatSteps([]jsonscan.Step{{Key: r.input}}) + "}"
	}
	steps := r.steps
	if field != "" {
		steps = append([]jsonscan.Step{{Key: field}}, steps...)
	}
	return "${" + r.node + ".output" + formatSteps(steps) + "}"
}

// formatSteps writes steps after a name: .key, ["key"] or [0].
func formatSteps(steps []jsonscan.Step) string {
	var b strings.Builder
	for _, st := range steps {
		s := ref.FormatSteps([]jsonscan.Step{st})
		if !strings.HasPrefix(s, "[") {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}
