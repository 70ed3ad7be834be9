package promptflow

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/weirflow/weir/plugins/python"
)

// Options tune an import.
type Options struct {
	// Variants picks a variant for nodes with variants, by node name; the
	// others run their default_variant_id (SPEC §2.5).
	Variants map[string]string
	// Connections describe the connections the flow names, by name. A
	// connection not described is assumed (see the import's README).
	Connections map[string]Connection
	// Tools reads the Python tools of a .py file; nil reads them with a
	// python.Provider and python3.
	Tools func(ctx context.Context, file string) ([]python.ToolInfo, error)
}

// Result is a converted flow: its files by slash-separated path relative
// to the output folder (flow.cue, README.md, the templates and tools).
type Result struct {
	Name     string
	Files    map[string][]byte
	Warnings []string
}

// RefusedError lists every reason a flow cannot be converted.
type RefusedError struct {
	Dir     string
	Reasons []string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("cannot import %s:\n  %s", e.Dir, strings.Join(e.Reasons, "\n  "))
}

// maxFolder bounds what an import reads: a flow folder is text.
const maxFolder = 256 << 20

// Import converts the prompt flow DAG flow in dir (a folder, or its
// flow.dag.yaml).
func Import(ctx context.Context, dir string, opts Options) (*Result, error) {
	dir, dagFile, err := locate(dir)
	if err != nil {
		return nil, err
	}
	src, err := os.ReadFile(filepath.Join(dir, dagFile))
	if err != nil {
		return nil, err
	}
	files, err := readFolder(dir, dagFile)
	if err != nil {
		return nil, err
	}
	c := &converter{ctx: ctx, dir: dir, file: filepath.Join(dir, dagFile), opts: opts, files: files}
	if c.opts.Tools == nil {
		c.opts.Tools = pythonTools
	}
	d, err := parseDAG(src)
	if err != nil {
		return nil, fmt.Errorf("%s:%w", c.file, errors.New(err.Error()))
	}
	c.d = d
	c.convert()
	if len(c.refusals) > 0 {
		return nil, &RefusedError{Dir: dir, Reasons: c.refusals}
	}
	c.out.Files["flow.cue"] = c.flowCUE()
	readme := c.readme()
	for name, b := range c.files {
		c.out.Files[name] = b
	}
	c.out.Files["README.md"] = readme
	return &c.out, nil
}

// locate finds the flow file of a folder, and refuses what is not a DAG
// flow (SPEC §1).
func locate(p string) (dir, dagFile string, err error) {
	info, err := os.Stat(p)
	if err != nil {
		return "", "", err
	}
	if !info.IsDir() {
		base := filepath.Base(p)
		switch {
		case strings.HasSuffix(base, ".prompty"):
			return "", "", &RefusedError{Dir: p, Reasons: []string{p + ": a prompty file is not a DAG flow: weir imports flow.dag.yaml flows only"}}
		case strings.HasPrefix(base, "flow.flex."):
			return "", "", &RefusedError{Dir: p, Reasons: []string{p + ": a flex flow (a Python entry function) is not a DAG flow: weir imports flow.dag.yaml flows only"}}
		}
		return filepath.Dir(p), base, nil
	}
	for _, name := range []string{"flow.dag.yaml", "flow.dag.yml"} {
		if _, err := os.Stat(filepath.Join(p, name)); err == nil {
			return p, name, nil
		}
	}
	for _, name := range []string{"flow.flex.yaml", "flow.flex.yml"} {
		if _, err := os.Stat(filepath.Join(p, name)); err == nil {
			return "", "", &RefusedError{Dir: p, Reasons: []string{filepath.Join(p, name) + ": a flex flow (a Python entry function) is not a DAG flow: weir imports flow.dag.yaml flows only"}}
		}
	}
	if m, _ := filepath.Glob(filepath.Join(p, "*.prompty")); len(m) > 0 {
		return "", "", &RefusedError{Dir: p, Reasons: []string{m[0] + ": a prompty file is not a DAG flow: weir imports flow.dag.yaml flows only"}}
	}
	return "", "", fmt.Errorf("%s has no flow.dag.yaml: is it a prompt flow folder?", p)
}

func pythonTools(ctx context.Context, file string) ([]python.ToolInfo, error) {
	p := python.NewProvider(python.Options{})
	defer p.Close()
	return p.Inspect(ctx, file, "")
}

// outKind says which field of a weir node's outputs holds what prompt flow
// calls the node's output.
type outKind struct {
	field string // "" for the whole output
	agg   bool
}

type converter struct {
	ctx   context.Context
	dir   string
	file  string // flow.dag.yaml as named in messages
	opts  Options
	d     *dag
	files map[string][]byte // the folder's files, then the output's

	refusals []string
	out      Result

	order    []string            // nodes in the file's order
	nodes    map[string]*nodeDef // after variants
	kinds    map[string]outKind
	conns    map[string]Connection // used, by name
	connUse  []string              // their order of first use
	pyFiles  map[string]string     // source path -> plugin name
	plugins  []plugin
	secrets  []secret
	woNodes  []wnode
	outputs  []field
	inputs   []field
	chat     [3]string // input, output, history
	notes    []string  // for the README
	table    [][4]string
	reqs     string // the requirements file kept, if any
	envGrant map[string][]string
	origin   map[string]string // include files: where they are on disk
	llmConn  map[string]bool   // connections llm nodes call
	// dropped are the inputs of chat nodes left out: completion parameters.
	dropped []string
	// declared are the names of the file's nodes, converted or not: a
	// reference to one that was refused is not refused again.
	declared map[string]bool
}

type plugin struct {
	name    string
	comment string
	body    []field
}

type secret struct{ name, env, comment string }

type wnode struct {
	name    string
	comment string
	fields  []field
}

// field is one CUE field: its value is a Go value written as JSON, or raw
// CUE text.
type field struct {
	key     string
	val     any
	comment string
}

type raw string

func (c *converter) refuse(at yaml.Node, format string, args ...any) {
	c.refusals = append(c.refusals, fmt.Sprintf("%s:%d:%d: %s", c.file, at.Line, at.Column, fmt.Sprintf(format, args...)))
}

func (c *converter) warn(at yaml.Node, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	c.out.Warnings = append(c.out.Warnings, fmt.Sprintf("%s:%d:%d: %s", c.file, at.Line, at.Column, msg))
	c.notes = append(c.notes, msg)
}

func (c *converter) convert() {
	d := c.d
	c.out = Result{Files: map[string][]byte{}}
	c.out.Name = d.Name
	if !flowName.MatchString(c.out.Name) { // a cosmetic name: "Template Standard Flow"
		c.out.Name = ""
	}
	if c.out.Name == "" {
		c.out.Name = filepath.Base(c.dir)
		if abs, err := filepath.Abs(c.dir); err == nil {
			c.out.Name = filepath.Base(abs)
		}
	}
	c.kinds = map[string]outKind{}
	c.conns = map[string]Connection{}
	c.pyFiles = map[string]string{}
	c.envGrant = map[string][]string{}
	c.llmConn = map[string]bool{}
	c.nodes = map[string]*nodeDef{}
	top := func(key string) yaml.Node { return d.pos[key] }

	if d.Entry != "" {
		c.refuse(top("entry"), "a flex flow (entry: %s) is not a DAG flow: weir imports flow.dag.yaml flows only", d.Entry)
	}
	if strings.EqualFold(d.Language, "csharp") {
		c.refuse(top("language"), "a C# flow: weir runs Python tools, not .NET ones")
	}
	if d.MessageFormat != "" && d.MessageFormat != "basic" {
		c.refuse(top("message_format"), "message_format %q (images in chat messages) is not supported", d.MessageFormat)
	}
	if d.Environment.Image != "" {
		c.warn(top("environment"), "environment.image %q is not used: weir runs Python tools with the machine's python3 and the requirements file", d.Environment.Image)
	}
	c.includes()
	c.requirements()
	c.flowInputs()
	c.resolveNodes()
	for _, name := range c.order {
		c.classify(c.nodes[name])
	}
	c.checkGraph()
	for _, name := range c.order {
		c.node(c.nodes[name])
	}
	c.flowOutputs()
	c.environment()
	if len(c.dropped) > 0 {
		c.notes = append(c.notes, "left out, as completion parameters a chat call does not take: "+strings.Join(c.dropped, ", "))
	}
}

// resolveNodes applies variants and checks names (SPEC §2.3, §2.5).
func (c *converter) resolveNodes() {
	for v := range c.opts.Variants {
		if _, ok := c.d.NodeVariants.Values[v]; !ok {
			c.refusals = append(c.refusals, fmt.Sprintf("--variant %s.%s: the flow has no variants of a node %q", v, c.opts.Variants[v], v))
		}
	}
	c.declared = map[string]bool{}
	for _, n := range c.d.Nodes {
		c.declared[n.Name] = true
	}
	for i := range c.d.Nodes {
		n := &c.d.Nodes[i]
		if n.Name == "" {
			c.refuse(n.at, "a node has no name")
			continue
		}
		if _, dup := c.nodes[n.Name]; dup {
			c.refuse(n.at, "node %q is defined twice", n.Name)
			continue
		}
		if !validName(n.Name) {
			c.refuse(n.at, "node name %q: weir names are letters, digits and _", n.Name)
			continue
		}
		if n.UseVariants {
			vs, ok := c.d.NodeVariants.Values[n.Name]
			if !ok {
				c.refuse(n.at, "node %q uses variants, but node_variants has none for it", n.Name)
				continue
			}
			id := vs.DefaultVariantID
			if v, ok := c.opts.Variants[n.Name]; ok {
				id = v
			}
			body, ok := vs.Variants.Values[id]
			if !ok {
				c.refuse(c.d.NodeVariants.At[n.Name], "node %q has no variant %q (it has %s)", n.Name, id, strings.Join(vs.Variants.Keys, ", "))
				continue
			}
			v := body.Node
			v.Name, v.variant = n.Name, id
			v.Activate, v.Aggregation = cmp.Or(v.Activate, n.Activate), v.Aggregation || n.Aggregation
			if v.at.Line == 0 {
				v.at = n.at
			}
			n = &v
		}
		c.nodes[n.Name] = n
		c.order = append(c.order, n.Name)
	}
}

// flowName is a name weir serves a flow under in URLs as it is.
var flowName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

var nameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func validName(s string) bool { return nameRe.MatchString(s) }

// classify checks a node's kind and decides which field of its weir
// outputs is prompt flow's output.
func (c *converter) classify(n *nodeDef) {
	agg := n.Aggregation || n.Reduce
	switch n.Type {
	case "llm":
		field := "text"
		if _, ok := n.Inputs.Values["functions"]; ok {
			field = "message"
		}
		if _, ok := n.Inputs.Values["tools"]; ok {
			field = "message"
		}
		c.kinds[n.Name] = outKind{field: field, agg: agg}
	case "prompt":
		c.kinds[n.Name] = outKind{field: "text", agg: agg}
	case "python":
		// Whatever a Python tool returns is its output's value, as in
		// prompt flow: the plugin entries say returns: "value".
		c.kinds[n.Name] = outKind{field: "value", agg: agg}
	case "custom_llm":
		c.refuse(n.at, "node %q: a custom_llm tool (%s) comes from a package weir cannot run", n.Name, cmp.Or(n.Source.Tool, n.Source.Path))
	case "":
		c.refuse(n.at, "node %q has no type", n.Name)
	default:
		c.refuse(n.at, "node %q: type %q is not supported (weir imports llm, prompt and python nodes)", n.Name, n.Type)
	}
}

// checkGraph checks every reference and looks for cycles (SPEC §2.4).
func (c *converter) checkGraph() {
	deps := map[string][]string{}
	for _, name := range c.order {
		n := c.nodes[name]
		check := func(at yaml.Node, v any, what string) {
			in, ok := asRef(v)
			if !ok {
				return
			}
			r, err := parseRef(in)
			switch {
			case err != nil:
				c.refuse(at, "node %q: %s: %v", name, what, err)
			case r.input != "":
				if _, ok := c.d.Inputs.Values[r.input]; !ok {
					c.refuse(at, "node %q: %s: ${%s} names no input of the flow", name, what, in)
				}
			default:
				if _, ok := c.nodes[r.node]; !ok {
					if !c.declared[r.node] {
						c.refuse(at, "node %q: %s: ${%s} names no node of the flow", name, what, in)
					}
					return
				}
				if c.kinds[r.node].agg && !c.kinds[name].agg {
					c.refuse(at, "node %q: %s: ${%s} reads an aggregation node, which only aggregation nodes may", name, what, in)
				}
				deps[name] = append(deps[name], r.node)
			}
		}
		for _, k := range n.Inputs.Keys {
			check(n.Inputs.At[k], decode(n.Inputs.Values[k]), "input "+strconv.Quote(k))
		}
		if n.Activate != nil {
			check(n.Activate.When, decode(n.Activate.When), "activate.when")
		}
	}
	// Cycles, in the file's order so that the message is stable.
	state := map[string]int{}
	var visit func(string, []string) bool
	visit = func(n string, stack []string) bool {
		switch state[n] {
		case 1:
			i := slices.Index(stack, n)
			c.refuse(c.nodes[n].at, "nodes %s form a cycle", strings.Join(append(stack[i:], n), " -> "))
			return true
		case 2:
			return false
		}
		state[n] = 1
		for _, up := range deps[n] {
			if visit(up, append(stack, n)) {
				return true
			}
		}
		state[n] = 2
		return false
	}
	for _, n := range c.order {
		if visit(n, nil) {
			break
		}
	}
}

// decode returns a YAML value as Go's JSON types.
func decode(n yaml.Node) any {
	if n.Kind == 0 {
		return nil
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return n.Value
	}
	return jsonable(v)
}

// jsonable turns YAML's decoded maps into JSON's.
func jsonable(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = jsonable(x)
		}
		return t
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[fmt.Sprint(k)] = jsonable(x)
		}
		return m
	case []any:
		for i, x := range t {
			t[i] = jsonable(x)
		}
		return t
	case float64:
		if math.IsInf(t, 0) || math.IsNaN(t) {
			return fmt.Sprint(t)
		}
	}
	return v
}

// mapRef turns a reference into weir's, or escapes a literal so that weir
// reads it as the text it is.
func (c *converter) mapValue(v any) any {
	if in, ok := asRef(v); ok {
		r, err := parseRef(in)
		if err != nil {
			return v // refused already
		}
		return weirRef(r, c.kinds[r.node].field)
	}
	return escapeLiteral(v)
}

// escapeLiteral doubles the "${" of literal text: prompt flow never
// interpolates, weir does.
func escapeLiteral(v any) any {
	switch t := v.(type) {
	case string:
		return strings.ReplaceAll(t, "${", "$${")
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = escapeLiteral(x)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, x := range t {
			s[i] = escapeLiteral(x)
		}
		return s
	}
	return v
}

// boundToInput says whether v is exactly a flow input reference: the
// inputs prompt flow guards against role injection (SPEC §4.3).
func boundToInput(v any) bool {
	in, ok := asRef(v)
	if !ok {
		return false
	}
	r, err := parseRef(in)
	return err == nil && r.input != ""
}

// isEmpty says whether a literal is dropped before the call: "" and null
// (SPEC §2.4, rule 1).
func isEmpty(v any) bool { return v == nil || v == "" }

// castLiteral converts a literal to a parameter's type as prompt flow's
// ValueType.parse does (SPEC §2.1, §2.4).
func castLiteral(v any, typ string) (any, error) {
	s, isString := v.(string)
	switch typ {
	case "int", "integer":
		switch t := v.(type) {
		case int:
			return t, nil
		case float64:
			return int64(t), nil
		case bool:
			return map[bool]int{false: 0, true: 1}[t], nil
		case string:
			n, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%q is not an int", t)
			}
			return n, nil
		}
	case "double", "number":
		switch t := v.(type) {
		case int:
			return t, nil
		case float64:
			return t, nil
		case string:
			f, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
			if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				return nil, fmt.Errorf("%q is not a number", t)
			}
			return f, nil
		}
	case "bool", "boolean":
		switch t := v.(type) {
		case bool:
			return t, nil
		case string:
			switch strings.ToLower(t) {
			case "true":
				return true, nil
			case "false":
				return false, nil
			}
			return nil, fmt.Errorf("%q is not a bool", t)
		}
	case "string":
		if isString {
			return s, nil
		}
		return pyStr(v), nil
	case "list", "array":
		if isString {
			var l []any
			if err := json.Unmarshal([]byte(s), &l); err != nil {
				return nil, fmt.Errorf("%q is not a JSON list", s)
			}
			return l, nil
		}
	case "object", "dict":
		if isString {
			var m map[string]any
			if json.Unmarshal([]byte(s), &m) == nil {
				return m, nil
			}
		}
	}
	return v, nil
}

// pyStr prints a scalar as Python's str() does.
func pyStr(v any) string {
	switch t := v.(type) {
	case bool:
		return map[bool]string{true: "True", false: "False"}[t]
	case nil:
		return "None"
	case float64:
		if t == math.Trunc(t) && math.Abs(t) < 1e16 {
			return strconv.FormatFloat(t, 'f', 1, 64)
		}
		return strconv.FormatFloat(t, 'g', -1, 64)
	}
	b, _ := json.Marshal(v)
	if s, ok := v.(string); ok {
		return s
	}
	return string(b)
}

// sourceFile resolves a node's source.path in the output's files: the
// folder's own, or an additional include's (SPEC §2, additional_includes).
func (c *converter) sourceFile(n *nodeDef) (string, bool) {
	p := n.Source.Path
	if p == "" {
		c.refuse(n.at, "node %q: source.path is missing", n.Name)
		return "", false
	}
	clean := path.Clean(filepath.ToSlash(p))
	if _, ok := c.files[clean]; ok && !strings.HasPrefix(clean, "../") && !path.IsAbs(clean) {
		return clean, true
	}
	if _, ok := c.files[path.Base(clean)]; ok {
		return path.Base(clean), true
	}
	c.refuse(n.at, "node %q: source file %s does not exist in the flow's folder or its additional_includes", n.Name, p)
	return "", false
}
