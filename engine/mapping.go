package engine

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/weirflow/weir/internal/jsonscan"
	"github.com/weirflow/weir/internal/ref"
)

// mapInput is how one flow input is taken from a line.
type mapInput struct {
	name  string
	key   []byte // `"name":`
	col   []jsonscan.Step
	tmpl  *tmpl // from BatchOptions.Map; nil takes the column of the same name
	types []string
}

// compileMap checks a batch's mapping against the flow's inputs and
// compiles how each input is taken from a line. withRun says whether the
// batch has an earlier run (BatchOptions.Run) for ${run...} to read.
func (f *Flow) compileMap(m map[string]string, withRun bool) ([]mapInput, error) {
	inputs := f.Inputs()
	names := make([]string, len(inputs))
	for i, in := range inputs {
		names[i] = in.Name
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(names, k) {
			return nil, fmt.Errorf("map %s=%s: the flow has no input %q (inputs: %s)%s", k, m[k], k, listOf(names), didYouMean(k, names))
		}
	}
	out := make([]mapInput, len(inputs))
	for i, in := range inputs {
		out[i] = mapInput{name: in.Name, key: fieldKey(in.Name), col: []jsonscan.Step{{Key: in.Name}}, types: in.Types}
		text, ok := m[in.Name]
		if !ok {
			continue
		}
		t, err := mapTmpl(text)
		if err != nil {
			return nil, fmt.Errorf("map %s=%s: %v", in.Name, text, err)
		}
		if !withRun {
			t.walk(func(s *selector) {
				if s.node == runNode && err == nil {
					err = fmt.Errorf("map %s=%s: %s reads an earlier run, and the batch was given none", in.Name, text, s.text)
				}
			})
			if err != nil {
				return nil, err
			}
		}
		out[i].tmpl = t
	}
	return out, nil
}

// mapTmpl compiles the value of a mapping: text with ${data.col}
// references, and ${run.outputs.x} and ${run.inputs.x} ones to the same
// line of an earlier run (SPEC §7: prompt flow's --run base_run).
func mapTmpl(text string) (*tmpl, error) {
	parsed, err := ref.Parse(text)
	if err != nil {
		return nil, err
	}
	t := &tmpl{kind: tmplInterp}
	for _, p := range parsed.Parts {
		if p.Ref == nil {
			t.parts = append(t.parts, part{text: p.Text})
			continue
		}
		r := *p.Ref
		node := dataNode
		switch {
		case r.Root == "run":
			if len(r.Steps) == 0 || r.Steps[0].IsIndex || r.Steps[0].Key != "outputs" && r.Steps[0].Key != "inputs" {
				return nil, fmt.Errorf("%s: a mapping takes an earlier run's outputs or inputs, as in ${run.outputs.x} or ${run.inputs.x}", refText(r))
			}
			node = runNode
		case r.Root != "data" || len(r.Steps) == 0 || r.Steps[0].IsIndex:
			return nil, fmt.Errorf("%s: a mapping takes a line's column, as in ${data.col}", refText(r))
		}
		t.parts = append(t.parts, part{sel: &selector{node: node, steps: r.Steps, text: refText(r)}})
	}
	switch {
	case parsed.IsRef():
		return &tmpl{kind: tmplSel, sel: t.parts[0].sel}, nil
	case parsed.IsLiteral():
		return stringLit(text), nil
	}
	return t, nil
}

// checkColumns checks, on the dataset's first readable record, that every
// column the mapping names exists and that every required input has a
// source.
func (b *Batch) checkColumns(rec Record) error {
	cols := columns(rec.Data)
	required := b.f.inputs.Required()
	for _, in := range b.input {
		if in.tmpl == nil {
			if slices.Contains(required, in.name) && !slices.Contains(cols, in.name) {
				return fmt.Errorf("input %q is required, but the dataset has no column %q and no mapping gives it (columns: %s): map one with %s=${data.<col>}", in.name, in.name, listOf(cols), in.name)
			}
			continue
		}
		var err error
		in.tmpl.walk(func(s *selector) {
			if s.node != dataNode {
				return
			}
			if col := s.steps[0].Key; err == nil && !slices.Contains(cols, col) {
				err = fmt.Errorf("map %s=%s: the dataset has no column %q (columns: %s)%s", in.name, b.opts.Map[in.name], col, listOf(cols), didYouMean(col, cols))
			}
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// columns lists the keys of a JSON object.
func columns(obj []byte) []string {
	var m map[string]json.RawMessage
	if json.Unmarshal(obj, &m) != nil {
		return nil
	}
	cols := make([]string, 0, len(m))
	for k := range m {
		cols = append(cols, k)
	}
	return cols
}

// inputs builds a line's flow inputs from its columns: the mapping first,
// then the column of the same name; an input with neither is left out for
// its default. A mapping that reads ${run...} gets the line of the earlier
// run first: its error is the line's.
func (b *Batch) inputs(rec Record) ([]byte, error) {
	rv := runValues{data: rec.Data}
	if b.readsRun {
		var err error
		if rv.run, err = b.opts.Run(rec.Line); err != nil {
			return nil, err
		}
	}
	dst := make([]byte, 0, len(rec.Data)+16)
	dst = append(dst, '{')
	for _, in := range b.input {
		var v []byte
		if in.tmpl != nil {
			var err error
			if v, err = in.tmpl.append(nil, &rv); err != nil {
				return nil, fmt.Errorf("input %q: %v", in.name, err)
			}
		} else {
			var err error
			v, err = jsonscan.Select(rec.Data, in.col)
			if err != nil {
				continue
			}
		}
		if rec.Text {
			if v = fromText(v, in.types); v == nil {
				continue
			}
		}
		if len(dst) > 1 {
			dst = append(dst, ',')
		}
		dst = append(dst, in.key...)
		dst = append(dst, v...)
	}
	return append(dst, '}'), nil
}

// fromText converts a CSV cell (a JSON string) to the type an input wants
// when the input takes no string: "3" to 3, "true" to true. An empty cell
// for such an input is left out (nil), so its default applies. Text that
// does not parse stays a string, for the input check to report.
func fromText(v []byte, types []string) []byte {
	if len(v) == 0 || v[0] != '"' || len(types) == 0 || slices.Contains(types, "string") {
		return v
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return v
	}
	if s == "" {
		return nil
	}
	// A number is kept as written when it is a JSON number Go can hold:
	// its digits stay (9007199254740993 is not rounded), and what Go reads
	// but JSON does not (+3, 007, inf, 0x1p4) stays text.
	isNumber := jsonscan.Number([]byte(s), 0) == len(s)
	for _, t := range types {
		switch t {
		case "integer":
			if _, err := strconv.ParseInt(s, 10, 64); err == nil && isNumber {
				return []byte(s)
			}
		case "number":
			if _, err := strconv.ParseFloat(s, 64); err == nil && isNumber {
				return []byte(s)
			}
		case "boolean":
			if bv, err := strconv.ParseBool(s); err == nil {
				return strconv.AppendBool(nil, bv)
			}
		case "null":
			if s == "null" {
				return []byte("null")
			}
		}
	}
	return v
}
