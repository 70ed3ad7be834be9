package schemas

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/format"
	"cuelang.org/go/cue/token"

	"github.com/weirflow/weir/internal/jsonschema"
	"github.com/weirflow/weir/plugins"
)

// validName is the form of node, input, output and plugin names: the
// identifiers a reference can spell.
var validName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// reserved are the roots of references that are not node names.
var reserved = map[string]string{
	"inputs":  "${inputs.x} refers to the flow's inputs",
	"data":    "${data.col} refers to a batch line's columns",
	"secrets": "${secrets.x} refers to the flow's secrets",
}

// durationForm is #Duration of flow.cue.
var durationForm = regexp.MustCompile(`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`)

var topFields = []string{"chat", "concurrency", "defaults", "description", "inputs", "name", "nodes", "outputs", "plugins", "secrets", "timeout", "version"}

// flow decodes the user's own value (not the one unified with #Flow, whose
// positions point into the schema). Type errors were reported by #Flow
// already, so a field of the wrong kind is skipped here without a word.
//
// u is v unified with def, #Flow.
func (d *decoder) flow(v, u, def cue.Value) *Flow {
	f := &Flow{File: d.file}
	seen := map[string]bool{}
	var chat cue.Value
	d.fields(v, func(name string, label Pos, fv cue.Value) {
		seen[name] = true
		switch name {
		case "name":
			f.Name, _ = d.str(fv)
		case "description":
			f.Description, _ = d.str(fv)
		case "version":
			f.Version, _ = d.str(fv)
		case "plugins":
			d.fields(fv, func(name string, label Pos, pv cue.Value) {
				if d.name("plugin", name, label) {
					if p, ok := d.plugin(name, label, pv); ok {
						f.Plugins = append(f.Plugins, p)
					}
				}
			})
		case "inputs":
			f.Inputs, f.InputSchema = d.inputs(fv)
		case "secrets":
			d.fields(fv, func(name string, label Pos, sv cue.Value) {
				if d.name("secret", name, label) {
					if s, ok := d.secret(name, label, sv); ok {
						f.Secrets = append(f.Secrets, s)
					}
				}
			})
		case "nodes":
			d.entries(name, d.nodes, v, u, def, func(n *entry) {
				d.concreteNode(n, def)
				if d.name("node", n.name, n.pos) {
					f.Nodes = append(f.Nodes, d.node(n.name, n.pos, n.v))
				}
			})
		case "outputs":
			d.entries(name, d.outputs, v, u, def, func(o *entry) {
				if d.name("output", o.name, o.pos) {
					f.Outputs = append(f.Outputs, Field{Name: o.name, Pos: o.pos, Value: d.value(o.v)})
				}
			})
		case "chat":
			chat = fv
			f.Chat = &Chat{Pos: label}
		case "concurrency":
			if n, err := fv.Int64(); err == nil {
				f.Concurrency = int(n)
			}
		case "timeout":
			f.Timeout = d.duration(fv)
		case "defaults":
			f.Defaults.Timeout = d.duration(fv.LookupPath(cue.ParsePath("timeout")))
			f.Defaults.Retry = d.retry(fv.LookupPath(cue.ParsePath("retry")))
			f.Defaults.Cache = d.cache("defaults.cache", fv.LookupPath(cue.ParsePath("cache")))
		default:
			d.errs.Add(label, "unknown field %q; allowed: %s", name, strings.Join(topFields, ", "))
		}
	})
	if f.Chat != nil {
		d.chat(f, chat)
	}
	if !seen["name"] {
		d.errs.Add(Pos{File: d.file, Line: 1, Col: 1}, `missing field "name": add name: "my-flow"`)
	}
	if len(f.Nodes) == 0 && !seen["nodes"] {
		d.errs.Add(Pos{File: d.file, Line: 1, Col: 1}, `missing field "nodes": a flow needs at least one node`)
	}
	if f.InputSchema == nil {
		f.InputSchema = []byte(`{"additionalProperties":false,"type":"object"}`)
	}
	return f
}

// chat decodes the chat field v into f.Chat, once the inputs and outputs
// it names are known: each name must be one of them.
func (d *decoder) chat(f *Flow, v cue.Value) {
	if !v.LookupPath(cue.ParsePath("input")).Exists() || !v.LookupPath(cue.ParsePath("output")).Exists() {
		d.errs.Add(f.Chat.Pos, `chat needs input and output, as in chat: {input: "question", output: "answer", history: "chat_history"}`)
		return
	}
	var inputs, outputs []string
	for _, in := range f.Inputs {
		inputs = append(inputs, in.Name)
	}
	for _, o := range f.Outputs {
		outputs = append(outputs, o.Name)
	}
	for _, c := range []struct {
		field, what string
		names       []string
		dst         *string
	}{
		{"input", "input", inputs, &f.Chat.Input},
		{"output", "output", outputs, &f.Chat.Output},
		{"history", "input", inputs, &f.Chat.History},
	} {
		fv := v.LookupPath(cue.ParsePath(c.field))
		name, ok := d.str(fv)
		if !ok {
			continue // missing or not a string: #Flow said so
		}
		if !slices.Contains(c.names, name) {
			d.errs.Add(d.valuePos(fv), "chat.%s: %q is not an %s of the flow (%ss: %s)", c.field, name, c.what, c.what, listOrNone(c.names))
			continue
		}
		*c.dst = name
	}
}

// listOrNone lists names for a message.
func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// fields calls fn for each regular field of the struct v, in file order.
func (d *decoder) fields(v cue.Value, fn func(name string, label Pos, fv cue.Value)) {
	if v.IncompleteKind() != cue.StructKind {
		return
	}
	it, err := v.Fields()
	if err != nil {
		return
	}
	for it.Next() {
		fv := it.Value()
		fn(it.Selector().Unquoted(), d.labelPos(fv), fv)
	}
}

func (d *decoder) name(what, name string, pos Pos) bool {
	if !validName.MatchString(name) {
		d.errs.Add(pos, "invalid %s name %q: use letters, digits, _ and -, starting with a letter or _", what, name)
		return false
	}
	if why, ok := reserved[name]; ok && what == "node" {
		d.errs.Add(pos, "node name %q is reserved (%s): rename the node", name, why)
		return false
	}
	return true
}

func (d *decoder) inputs(v cue.Value) ([]Input, []byte) {
	var ins []Input
	d.fields(v, func(name string, label Pos, _ cue.Value) {
		if d.name("input", name, label) {
			ins = append(ins, Input{Name: name, Pos: label})
		}
	})
	schema, err := jsonschema.FromCUE(v)
	if err != nil {
		pos := d.valuePos(v)
		var ue *jsonschema.UnsupportedError
		if errors.As(err, &ue) && ue.Pos.IsValid() {
			pos, ue.Pos = d.pos(ue.Pos), token.NoPos
		}
		d.errs.Add(pos, "%v", err)
		// Let the other checks go on as if any inputs were allowed.
		return ins, []byte(`{"type":"object"}`)
	}
	return ins, schema
}

func (d *decoder) node(name string, pos Pos, v cue.Value) Node {
	n := Node{Name: name, Pos: pos}
	d.fields(v, func(field string, label Pos, fv cue.Value) {
		switch field {
		case "tool":
			n.Tool, _ = d.str(fv)
			n.ToolPos = d.valuePos(fv)
		case "flow":
			if s, ok := d.str(fv); ok {
				n.Flow, n.FlowWritten = d.path(s), s
				n.FlowPos = d.valuePos(fv)
			}
		case "inputs":
			d.fields(fv, func(in string, label Pos, iv cue.Value) {
				n.Inputs = append(n.Inputs, Field{Name: in, Pos: label, Value: d.value(iv)})
			})
		case "when":
			w := &When{Pos: label}
			ref, val, is := fv.LookupPath(cue.ParsePath("ref")), fv.LookupPath(cue.ParsePath("value")), fv.LookupPath(cue.ParsePath("is"))
			switch {
			case ref.Exists() && val.Exists():
				d.errs.Add(label, `node %q: when takes one of ref and value, not both: ref reads a value of the run, as in ref: "${inputs.mode}"; value is a literal`, name)
				return
			case !ref.Exists() && !val.Exists() || !is.Exists():
				d.errs.Add(label, `node %q: when needs is and one of ref and value, as in when: {ref: "${inputs.mode}", is: "fast"}`, name)
				return
			case ref.Exists():
				v := d.value(ref)
				w.Ref = &v
			default:
				v := d.value(val)
				w.Value = &v
			}
			w.Is = d.value(is)
			n.When = w
		case "timeout":
			n.Timeout = d.duration(fv)
		case "retry":
			n.Retry = d.retry(fv)
		case "aggregate":
			n.Aggregate, _ = fv.Bool()
		case "cache":
			n.Cache = d.cache(fmt.Sprintf("node %q: cache", name), fv)
		case "description":
		default:
			// #Flow reports unknown node fields with the allowed list.
		}
	})
	switch {
	case n.Tool == "" && n.Flow == "":
		d.errs.Add(pos, `node %q: set tool: "<plugin>.<tool>" or flow: "path/to/flow.cue"`, name)
	case n.Tool != "" && n.Flow != "":
		d.errs.Add(pos, "node %q: set only one of tool and flow", name)
	}
	return n
}

var pluginKinds = []string{"builtin", "goplugin", "python", "wasm"}

func (d *decoder) plugin(name string, pos Pos, v cue.Value) (Plugin, bool) {
	p := Plugin{Pos: pos, Spec: plugins.Spec{Name: name}}
	var kinds []string
	for _, kind := range pluginKinds {
		kv := v.LookupPath(cue.MakePath(cue.Str(kind)))
		if !kv.Exists() {
			continue
		}
		kinds = append(kinds, kind)
		p.Spec.Kind = kind
		if kind == "python" && kv.IncompleteKind() == cue.StructKind {
			kv = kv.LookupPath(cue.ParsePath("path"))
		}
		if s, ok := d.str(kv); ok {
			p.Spec.Source, p.File = d.path(s), s
		}
	}
	if len(kinds) != 1 {
		d.errs.Add(pos, "plugin %q: give exactly one of %s (found %d)", name, strings.Join(pluginKinds, ", "), len(kinds))
		return p, false
	}
	for _, kv := range []struct {
		key string
		dst *[]Field
	}{{"config", &p.Config}, {"env", &p.Env}} {
		d.fields(v.LookupPath(cue.ParsePath(kv.key)), func(name string, label Pos, fv cue.Value) {
			*kv.dst = append(*kv.dst, Field{Name: name, Pos: label, Value: d.value(fv)})
		})
	}
	if sum := v.LookupPath(cue.ParsePath("sha256")); sum.Exists() {
		p.Spec.SHA256, _ = d.str(sum)
	}
	opts, err := v.MarshalJSON()
	if err != nil {
		// Not concrete: #Flow's check names the field.
		return p, false
	}
	p.Spec.Options = d.pythonPaths(&p, opts)
	if g := v.LookupPath(cue.ParsePath("grants")); g.Exists() {
		raw, _ := g.MarshalJSON()
		if err := json.Unmarshal(raw, &p.Spec.Grants); err != nil {
			// #Flow's grants are this struct's fields and types: its
			// check names the field, in CUE's words rather than Go's.
			return p, false
		}
		p.Dirs = make(map[string]string, len(p.Spec.Grants.Dirs))
		for guest, dir := range p.Spec.Grants.Dirs {
			p.Dirs[guest] = dir.Path
			dir.Path = d.path(dir.Path)
			p.Spec.Grants.Dirs[guest] = dir
		}
	}
	return p, true
}

// secret decodes one declaration of the secrets block.
func (d *decoder) secret(name string, pos Pos, v cue.Value) (Secret, bool) {
	s := Secret{Name: name, Pos: pos}
	env, hasEnv := d.str(v.LookupPath(cue.ParsePath("env")))
	file, hasFile := d.str(v.LookupPath(cue.ParsePath("file")))
	if hasEnv == hasFile {
		d.errs.Add(pos, `secret %q: give exactly one of env and file, as in %s: {env: "API_KEY"} or %s: {file: "keys/api"}`, name, name, name)
		return s, false
	}
	s.Env = env
	if hasFile {
		s.File, s.FileWritten = d.path(file), file
	}
	return s, true
}

func (d *decoder) retry(v cue.Value) *Retry {
	if !v.Exists() || v.IncompleteKind() != cue.StructKind {
		return nil
	}
	r := &Retry{Attempts: 1}
	if n, err := v.LookupPath(cue.ParsePath("attempts")).Int64(); err == nil {
		r.Attempts = int(n)
	}
	r.Backoff = d.duration(v.LookupPath(cue.ParsePath("backoff")))
	r.MaxBackoff = d.duration(v.LookupPath(cue.ParsePath("max_backoff")))
	return r
}

// cache decodes a #Cache: a bool, or a struct that turns the cache on.
// #Flow's own message about a value that is neither lists both branches
// of the disjunction; this one says what to write.
func (d *decoder) cache(what string, v cue.Value) *Cache {
	if !v.Exists() {
		return nil
	}
	c := &Cache{Pos: d.valuePos(v)}
	if b, err := v.Bool(); err == nil {
		c.On = b
		return c
	}
	if v.IncompleteKind() != cue.StructKind {
		d.errs.Add(c.Pos, `%s: want true, false or {ttl: "24h"}, got %s`, what, source(v))
		return nil
	}
	c.On = true
	ok := true
	d.fields(v, func(name string, label Pos, fv cue.Value) {
		if name != "ttl" {
			d.errs.Add(label, "%s: unknown field %q; allowed: ttl", what, name)
			ok = false
			return
		}
		s, isStr := d.str(fv)
		if !isStr || !durationForm.MatchString(s) {
			d.errs.Add(d.valuePos(fv), `%s.ttl: want a duration such as "24h" or "90m", got %s`, what, source(fv))
			ok = false
			return
		}
		c.TTL = d.duration(fv)
	})
	if !ok {
		return nil
	}
	return c
}

func (d *decoder) duration(v cue.Value) time.Duration {
	s, ok := d.str(v)
	if !ok {
		return 0
	}
	if !durationForm.MatchString(s) {
		return 0 // #Flow's #Duration reports it
	}
	dur, err := time.ParseDuration(s)
	if err != nil || dur <= 0 {
		d.errs.Add(d.valuePos(v), "invalid duration %q: use a positive Go duration such as \"250ms\", \"2s\" or \"1m30s\"", s)
		return 0
	}
	return dur
}

func (d *decoder) str(v cue.Value) (string, bool) {
	if !v.Exists() {
		return "", false
	}
	s, err := v.String()
	return s, err == nil
}

func (d *decoder) path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(d.dir, p)
}

// value converts a literal of the flow into a Value, keeping positions.
func (d *decoder) value(v cue.Value) Value {
	out := Value{Pos: d.valuePos(v), quote: -1}
	if dv, ok := v.Default(); ok && !v.IsConcrete() {
		v = dv
	}
	switch v.IncompleteKind() {
	case cue.StructKind:
		out.Kind = Object
		d.fields(v, func(name string, label Pos, fv cue.Value) {
			out.Fields = append(out.Fields, Field{Name: name, Pos: label, Value: d.value(fv)})
		})
		return out
	case cue.ListKind:
		out.Kind = List
		it, err := v.List()
		if err != nil {
			return out
		}
		for it.Next() {
			out.Items = append(out.Items, d.value(it.Value()))
		}
		return out
	case cue.StringKind:
		if s, err := v.String(); err == nil {
			out.Kind, out.Text = String, s
			if file, ok := d.embedAt[out.Pos]; ok {
				// Not in the flow file: PosAt points at the attribute.
				out.Embed = file
				return out
			}
			out.quote = d.quote(out.Pos, s)
			return out
		}
	}
	raw, err := v.MarshalJSON()
	if err != nil {
		d.errs.Add(out.Pos, "%s is not a concrete value: give a literal or a reference such as \"${inputs.x}\"", describe(v))
		return Value{Kind: Scalar, Pos: out.Pos, Text: "null", quote: -1}
	}
	out.Kind, out.Text = Scalar, string(raw)
	return out
}

// quote finds how many bytes of quoting stand before a string's text at pos,
// or -1 when the text is not found there byte for byte (escapes, blocks).
func (d *decoder) quote(pos Pos, text string) int {
	off := d.offset(pos)
	if off < 0 {
		return -1
	}
	rest := d.src[off:]
	for _, q := range []string{`"`, `'`, `#"`, ""} {
		// Compared in place: a string of its own per literal would cost
		// as much as the rest of decoding.
		r, ok := bytes.CutPrefix(rest, []byte(q))
		if ok && len(r) >= len(text) && string(r[:len(text)]) == text {
			return len(q)
		}
	}
	return -1
}

// offset converts a line and column to a byte offset in src, or -1.
func (d *decoder) offset(pos Pos) int {
	if !pos.IsValid() {
		return -1
	}
	if d.lines == nil {
		// Every string of a flow asks for its offset: find the lines once,
		// or loading grows with the square of the file.
		d.lines = []int{0}
		for i, c := range d.src {
			if c == '\n' {
				d.lines = append(d.lines, i+1)
			}
		}
	}
	if pos.Line > len(d.lines) {
		return -1
	}
	off := d.lines[pos.Line-1] + pos.Col - 1
	if off > len(d.src) {
		return -1
	}
	return off
}

// valuePos is where v's value starts in the file: the user's literal, not
// its label.
func (d *decoder) valuePos(v cue.Value) Pos {
	switch s := v.Source().(type) {
	case *ast.Field:
		return d.pos(s.Value.Pos())
	case nil:
		return d.pos(v.Pos())
	default:
		return d.pos(s.Pos())
	}
}

// labelPos is where the field holding v is declared.
func (d *decoder) labelPos(v cue.Value) Pos {
	if s := v.Source(); s != nil {
		return d.pos(s.Pos())
	}
	return d.pos(v.Pos())
}

func describe(v cue.Value) string {
	if s := source(v); s != "the value" {
		return strconv.Quote(s)
	}
	return "the value"
}

// source is v as the file writes it, or "the value".
func source(v cue.Value) string {
	if s := v.Source(); s != nil {
		if f, ok := s.(*ast.Field); ok {
			s = f.Value
		}
		if b, err := format.Node(s); err == nil {
			return string(b)
		}
	}
	return "the value"
}
