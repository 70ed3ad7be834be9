package promptflow

import (
	"cmp"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/weirflow/weir/plugins/python"
)

// llmParams are the parameters of prompt flow's llm tools with their
// types; every other input of an llm node is a template variable (SPEC
// §3.2).
var llmParams = map[string]map[string]string{
	"chat": {
		"temperature": "double", "top_p": "double", "n": "int", "stop": "list", "max_tokens": "int",
		"presence_penalty": "double", "frequency_penalty": "double", "logit_bias": "object", "user": "string",
		"function_call": "object", "functions": "list", "tool_choice": "object", "tools": "list",
		"response_format": "object", "seed": "int",
	},
	"completion": {
		"suffix": "string", "max_tokens": "int", "temperature": "double", "top_p": "double", "n": "int",
		"logprobs": "int", "echo": "bool", "stop": "list", "presence_penalty": "double", "frequency_penalty": "double",
		"best_of": "int", "logit_bias": "object", "user": "string",
	},
}

// llmDefaults are the parameters prompt flow's llm tools always send, with
// the values they send when the node sets none: its OpenAI chat tool sends
// temperature and top_p, its Azure OpenAI one n too; the completion tools
// send these and their other defaults that are not null.
var llmDefaults = map[string][]field{
	"chat":       {{key: "temperature", val: 1}, {key: "top_p", val: 1}},
	"azure chat": {{key: "temperature", val: 1}, {key: "top_p", val: 1}, {key: "n", val: 1}},
	"completion": {{key: "max_tokens", val: 16}, {key: "temperature", val: 1}, {key: "top_p", val: 1}, {key: "n", val: 1},
		{key: "echo", val: false}, {key: "best_of", val: 1}},
}

// weirOwn are the inputs of weir's prompt and llm tools that are not
// template variables: a prompt flow variable of one of these names cannot
// be passed.
var weirOwn = map[string][]string{
	"prompt": {"template", "trusted"},
	"llm":    {"api", "model", "deployment", "template", "trusted", "messages", "prompt", "list_print", "suffix", "logprobs", "echo", "best_of"},
}

func (c *converter) node(n *nodeDef) {
	w := wnode{name: n.Name}
	if n.variant != "" {
		w.comment = fmt.Sprintf("variant %s of node %s", n.variant, n.Name)
		if n.variant == c.d.NodeVariants.Values[n.Name].DefaultVariantID {
			w.comment += " (its default)"
		}
	}
	var inputs []field
	var tool, what string
	switch n.Type {
	case "prompt":
		tool, what = "builtin.prompt", "builtin.prompt"
		inputs = c.promptInputs(n)
	case "llm":
		tool, inputs = c.llmInputs(n)
		what = tool
	case "python":
		tool, inputs = c.pythonInputs(n)
		what = tool
	default:
		return
	}
	if tool == "" {
		return
	}
	w.fields = append(w.fields, field{key: "tool", val: tool})
	if len(inputs) > 0 {
		w.fields = append(w.fields, field{key: "inputs", val: inputs})
	}
	if a := n.Activate; a != nil {
		w.fields = append(w.fields, field{key: "when", val: c.when(n)})
	}
	if n.Aggregation || n.Reduce {
		w.fields = append(w.fields, field{key: "aggregate", val: true})
	}
	if n.EnableCache {
		w.fields = append(w.fields, field{key: "cache", val: true})
	}
	if n.Skip != nil {
		c.warn(*n.Skip, "node %q: skip is ignored, as prompt flow ignores it: the node always runs", n.Name)
	}
	c.woNodes = append(c.woNodes, w)
	kind := n.Type
	if n.Aggregation || n.Reduce {
		kind += " (aggregation)"
	}
	c.table = append(c.table, [4]string{n.Name, kind, what, w.comment})
}

// when converts activate (SPEC §2.6).
func (c *converter) when(n *nodeDef) []field {
	is := escapeLiteral(decode(n.Activate.Is))
	if v := decode(n.Activate.When); v != nil {
		if _, ok := asRef(v); ok {
			return []field{{key: "ref", val: c.mapValue(v)}, {key: "is", val: is}}
		}
		return []field{{key: "value", val: escapeLiteral(v)}, {key: "is", val: is}}
	}
	c.refuse(n.Activate.When, "node %q: activate has no when", n.Name)
	return nil
}

// template is the field that embeds a node's template file.
func (c *converter) template(n *nodeDef) (field, bool) {
	file, ok := c.sourceFile(n)
	if !ok {
		return field{}, false
	}
	return field{key: "template", val: raw(fmt.Sprintf("_ @embed(file=%s, type=text)", strconv.Quote(file)))}, true
}

// variables converts the template variables of a prompt or llm node: every
// input but the tool's own parameters. trusted lists those not bound
// straight to a flow input, whose role lines prompt flow lets through
// (SPEC §4.3).
func (c *converter) variables(n *nodeDef, own map[string]string, tool string) (vars []field, trusted []any) {
	for _, k := range n.Inputs.Keys {
		if _, isParam := own[k]; isParam || k == "prompt" || k == "deployment_name" || k == "model" || k == "stream" {
			continue
		}
		if _, completionOnly := llmParams["completion"][k]; tool == "llm" && completionOnly {
			// Prompt flow's editor writes the completion parameters on chat
			// nodes too, where they are unused keywords of the template.
			c.dropped = append(c.dropped, n.Name+"."+k)
			continue
		}
		v := decode(n.Inputs.Values[k])
		for _, name := range weirOwn[tool] {
			if k == name {
				c.refuse(n.Inputs.At[k], "node %q: template variable %q has the name of an input of weir's %s tool: rename it in the template and the node", n.Name, k, tool)
			}
		}
		if isEmpty(v) {
			continue
		}
		if !boundToInput(v) {
			trusted = append(trusted, k)
		}
		vars = append(vars, field{key: k, val: c.mapValue(v)})
	}
	return vars, trusted
}

func (c *converter) promptInputs(n *nodeDef) []field {
	t, ok := c.template(n)
	if !ok {
		return nil
	}
	vars, trusted := c.variables(n, nil, "prompt")
	fields := []field{t}
	if len(trusted) > 0 {
		fields = append(fields, field{key: "trusted", val: trusted})
	}
	return append(fields, vars...)
}

func (c *converter) llmInputs(n *nodeDef) (string, []field) {
	api := n.API
	if api == "" {
		api = "chat"
	}
	params, ok := llmParams[api]
	if !ok {
		c.refuse(n.at, "node %q: api %q is not supported (chat or completion)", n.Name, n.API)
		return "", nil
	}
	if n.Connection == "" {
		c.refuse(n.at, "node %q: an llm node needs a connection", n.Name)
		return "", nil
	}
	provider := n.Provider
	if _, model := n.Inputs.Values["model"]; !model && provider == "" {
		if _, dep := n.Inputs.Values["deployment_name"]; dep {
			// Only Azure OpenAI calls a deployment: prompt flow's OpenAI
			// tool would send an empty model.
			provider = "deployment_name"
		}
	}
	conn := c.connection(n.Connection, provider, "")
	if !conn.isLLM() {
		c.refuse(n.at, "node %q: connection %q is a %s connection, which cannot call a model: llm nodes need azure_open_ai, open_ai or serverless", n.Name, conn.Name, conn.Type)
		return "", nil
	}
	c.llmConn[conn.Name] = true
	azure := conn.Type == "azure_open_ai"
	fields := []field{{key: "api", val: api}}
	// A node input named prompt replaces the template file (SPEC §3.2, 3).
	if p, ok := n.Inputs.Values["prompt"]; ok && !isEmpty(decode(p)) {
		fields = append(fields, field{key: "template", val: c.mapValue(decode(p))})
	} else {
		t, ok := c.template(n)
		if !ok {
			return "", nil
		}
		fields = append(fields, t)
	}
	if azure {
		if v := decode(n.Inputs.Values["deployment_name"]); !isEmpty(v) {
			fields = append(fields, field{key: "deployment", val: c.mapValue(v)})
		}
		if api == "chat" {
			fields = append(fields, field{key: "list_print", val: "lines"})
		}
	} else if v := decode(n.Inputs.Values["model"]); !isEmpty(v) {
		fields = append(fields, field{key: "model", val: c.mapValue(v)})
	}
	set := map[string]bool{}
	var ps []field
	for _, k := range n.Inputs.Keys {
		typ, isParam := params[k]
		if !isParam {
			if k == "stream" {
				c.warn(n.Inputs.At[k], "node %q: input stream is dropped: weir streams an llm node's answer when a client asks for it, as prompt flow's server does", n.Name)
			}
			continue
		}
		v := decode(n.Inputs.Values[k])
		if isEmpty(v) || (k == "max_tokens" && strings.EqualFold(fmt.Sprint(v), "inf")) {
			continue
		}
		if _, isRef := asRef(v); !isRef {
			cv, err := castLiteral(v, typ)
			if err != nil {
				c.refuse(n.Inputs.At[k], "node %q: input %s: %v", n.Name, k, err)
				continue
			}
			v = cv
		}
		set[k] = true
		ps = append(ps, field{key: k, val: c.mapValue(v)})
	}
	defaults := llmDefaults[api]
	if azure && api == "chat" {
		defaults = llmDefaults["azure chat"]
	}
	for _, d := range defaults {
		if !set[d.key] {
			ps = append(ps, d)
		}
	}
	vars, trusted := c.variables(n, params, "llm")
	if !azure {
		// deployment_name is a variable for OpenAI: prompt flow passes it
		// to the template as any other keyword (SPEC §3.2, 2).
		if v := decode(n.Inputs.Values["deployment_name"]); !isEmpty(v) {
			vars = append([]field{{key: "deployment_name", val: c.mapValue(v)}}, vars...)
			if !boundToInput(v) {
				trusted = append([]any{"deployment_name"}, trusted...)
			}
		}
	}
	if len(trusted) > 0 {
		fields = append(fields, field{key: "trusted", val: trusted})
	}
	fields = append(fields, ps...)
	return conn.Name + ".llm", append(fields, vars...)
}

// connection returns the connection of a name, describing it once for the
// flow's plugins and secrets.
func (c *converter) connection(name, provider, class string) Connection {
	if conn, ok := c.conns[name]; ok {
		return conn
	}
	conn, ok := c.opts.Connections[name]
	if !ok {
		conn = assumeConnection(name, provider, class)
	}
	conn.Name = name
	c.conns[name] = conn
	c.connUse = append(c.connUse, name)
	return conn
}

func (c *converter) pythonInputs(n *nodeDef) (string, []field) {
	switch n.Source.Type {
	case "code", "":
	case "package", "package_with_prompt":
		c.refuse(n.at, "node %q: package tool %s comes from a pip package of prompt flow tools, which weir cannot run", n.Name, cmp.Or(n.Source.Tool, n.Source.Path))
		return "", nil
	default:
		c.refuse(n.at, "node %q: source type %q is not supported", n.Name, n.Source.Type)
		return "", nil
	}
	file, ok := c.sourceFile(n)
	if !ok {
		return "", nil
	}
	tools, err := c.opts.Tools(c.ctx, c.localPath(file))
	if err != nil {
		c.refuse(n.at, "node %q: read the tool in %s: %v", n.Name, file, err)
		return "", nil
	}
	if len(tools) != 1 {
		c.refuse(n.at, "node %q: %s has %d functions marked @tool; prompt flow runs a file with exactly one", n.Name, file, len(tools))
		return "", nil
	}
	t := tools[0]
	if reason := c.checkImports(file); reason != "" {
		c.refuse(n.at, "node %q: %s", n.Name, reason)
		return "", nil
	}
	plug := c.pythonPlugin(file)
	types := paramTypes(t)
	var fields []field
	for _, k := range n.Inputs.Keys {
		v := decode(n.Inputs.Values[k])
		if isEmpty(v) {
			continue
		}
		if _, isRef := asRef(v); !isRef {
			if class, isConn := t.Connections[k]; isConn {
				if name, ok := v.(string); ok {
					fields = append(fields, field{key: k, val: c.connectionObject(c.connection(name, "", class))})
					continue
				}
			}
			if typ := types[k]; typ != "" {
				cv, err := castLiteral(v, typ)
				if err != nil {
					c.refuse(n.Inputs.At[k], "node %q: input %s: %v", n.Name, k, err)
					continue
				}
				v = cv
			}
		}
		fields = append(fields, field{key: k, val: c.mapValue(v)})
	}
	return plug + "." + t.Contract.Name, fields
}

// paramTypes reads the JSON Schema type of each parameter of a tool.
func paramTypes(t python.ToolInfo) map[string]string {
	var s struct {
		Properties map[string]struct {
			Type any `json:"type"`
		} `json:"properties"`
	}
	_ = json.Unmarshal(t.Contract.Inputs, &s)
	types := map[string]string{}
	for k, p := range s.Properties {
		switch typ := p.Type.(type) {
		case string:
			types[k] = typ
		case []any: // ["string", "null"]
			for _, x := range typ {
				if x != "null" {
					types[k], _ = x.(string)
				}
			}
		}
	}
	return types
}

// connectionObject is what a Python tool's connection parameter gets: the
// fields, with secrets from weir's secrets (SPEC §3.3).
func (c *converter) connectionObject(conn Connection) any {
	obj := map[string]any{}
	if conn.Type == "custom" {
		configs, secrets := map[string]any{}, map[string]any{}
		for k, v := range conn.Fields {
			configs[k] = escapeLiteral(v)
		}
		for _, k := range conn.Secrets {
			secrets[k] = "${secrets." + c.secret(conn.Name, k) + "}"
		}
		obj["configs"], obj["secrets"] = configs, secrets
		return obj
	}
	for k, v := range conn.Fields {
		obj[k] = escapeLiteral(v)
	}
	if conn.Type == "azure_open_ai" {
		obj["api_type"] = "azure" // which class of a union it is
	}
	for _, k := range conn.Secrets {
		obj[k] = "${secrets." + c.secret(conn.Name, k) + "}"
	}
	return obj
}

// secret declares the secret of a connection's field, once.
func (c *converter) secret(conn, fieldName string) string {
	name := secretName(conn, fieldName)
	for _, s := range c.secrets {
		if s.name == name {
			return name
		}
	}
	c.secrets = append(c.secrets, secret{name: name, env: envName(conn, fieldName), comment: fmt.Sprintf("connection %s: %s", conn, fieldName)})
	return name
}

// pythonPlugin declares the plugin entry of one tool file, once.
func (c *converter) pythonPlugin(file string) string {
	if name, ok := c.pyFiles[file]; ok {
		return name
	}
	base := strings.TrimSuffix(path.Base(file), ".py")
	name := sanitize(base)
	for c.pluginTaken(name) {
		name += "_py"
	}
	c.pyFiles[file] = name
	src := []field{{key: "path", val: file}, {key: "returns", val: "value"}}
	if c.reqs != "" {
		src = append(src, field{key: "requirements", val: c.reqs})
	}
	c.plugins = append(c.plugins, plugin{name: name, body: []field{{key: "python", val: src}}})
	return name
}

func (c *converter) pluginTaken(name string) bool {
	if name == "builtin" {
		return true
	}
	if _, ok := c.conns[name]; ok {
		return true
	}
	for _, p := range c.plugins {
		if p.name == name {
			return true
		}
	}
	return false
}

var nonName = regexp.MustCompile(`[^A-Za-z0-9_]`)

func sanitize(s string) string {
	s = nonName.ReplaceAllString(s, "_")
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		s = "t_" + s
	}
	return s
}

// Environment variables a tool reads: os.environ["X"], os.environ.get("X"),
// os.getenv("X").
var envRead = regexp.MustCompile(`os\.(?:environ\s*\[\s*|environ\.get\(\s*|getenv\(\s*)["']([A-Za-z_][A-Za-z0-9_]*)["']`)

// pfProvided are the modules of prompt flow weir's stand-in package
// provides (plugins/python/runtime/promptflow), with the names each has.
var pfProvided = map[string][]string{
	"promptflow":                 {"tool", "log_metric"},
	"promptflow.core":            {"tool", "log_metric"},
	"promptflow.connections":     {"CustomConnection", "AzureOpenAIConnection", "OpenAIConnection"},
	"promptflow.entities":        {"CustomConnection", "AzureOpenAIConnection", "OpenAIConnection"},
	"promptflow.contracts":       {"types"},
	"promptflow.contracts.types": {"PromptTemplate", "Secret"},
	"promptflow.tracing":         {"trace", "start_trace"},
}

// pfImport finds imports of prompt flow's modules: "import M" or "from M
// import a, b" (with its names, parenthesised over lines or not).
var pfImport = regexp.MustCompile(`(?m)^[ \t]*(?:from[ \t]+(promptflow(?:\.\w+)*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#]*)|import[ \t]+(promptflow(?:\.\w+)*))`)

// checkImports refuses a tool file that imports parts of prompt flow
// weir does not provide, and notes the environment variables it reads.
func (c *converter) checkImports(file string) string {
	src := string(c.files[file])
	for _, m := range pfImport.FindAllStringSubmatchIndex(src, -1) {
		line := strings.Count(src[:m[0]], "\n") + 1
		if m[6] >= 0 {
			if mod := src[m[6]:m[7]]; pfProvided[mod] == nil {
				return fmt.Sprintf("%s:%d imports %s, a part of prompt flow weir does not provide (it provides promptflow's tool, log_metric, trace and connection classes)", file, line, mod)
			}
			continue
		}
		mod := src[m[2]:m[3]]
		have, ok := pfProvided[mod]
		if !ok {
			return fmt.Sprintf("%s:%d imports %s, a part of prompt flow weir does not provide (it provides promptflow's tool, log_metric, trace and connection classes)", file, line, mod)
		}
		for _, name := range strings.Split(strings.Trim(src[m[4]:m[5]], "() \t\r\n"), ",") {
			name, _, _ = strings.Cut(strings.TrimSpace(name), " ")
			if name != "" && name != "*" && !contains(have, name) {
				return fmt.Sprintf("%s:%d imports %s from %s, which weir's stand-in for prompt flow does not provide (it has %s)", file, line, name, mod, strings.Join(have, ", "))
			}
		}
	}
	for _, m := range envRead.FindAllStringSubmatch(src, -1) {
		if !contains(c.envGrant[file], m[1]) {
			c.envGrant[file] = append(c.envGrant[file], m[1])
		}
	}
	return ""
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

// flowInputs converts the inputs with their types and defaults (SPEC §2.1).
func (c *converter) flowInputs() {
	for _, name := range c.d.Inputs.Keys {
		in := c.d.Inputs.Values[name]
		at := c.d.Inputs.At[name]
		if !validName(name) {
			c.refuse(at, "input name %q: weir names are letters, digits and _", name)
			continue
		}
		var typ string
		switch in.Type {
		case "string":
			typ = "string"
		case "int":
			typ = "int"
		case "double":
			typ = "number"
		case "bool":
			typ = "bool"
		case "list":
			typ = "[...]"
		case "object":
			typ = "{...}"
		case "image":
			c.refuse(at, "input %q: image inputs are not supported", name)
			continue
		case "":
			c.refuse(at, "input %q has no type", name)
			continue
		default:
			c.refuse(at, "input %q: type %q is not one of string, int, double, bool, list, object", name, in.Type)
			continue
		}
		if len(in.Enum) > 0 {
			var alts []string
			for _, e := range in.Enum {
				alts = append(alts, cueLiteral(e))
			}
			typ = strings.Join(alts, " | ")
		}
		if in.Default.Kind != 0 && !(in.Default.Kind == yaml.ScalarNode && in.Default.Tag == "!!null") {
			v := decode(in.Default)
			cv, err := castLiteral(v, in.Type)
			if err != nil {
				c.refuse(in.Default, "input %q: default: %v", name, err)
				continue
			}
			def := cueLiteral(cv)
			if m, ok := cv.(map[string]any); ok && len(m) == 0 {
				// CUE folds {...} | *{} into {}, whose default is lost:
				// a closed empty struct keeps it, and still matches none
				// but the empty object.
				def = "close({})"
			}
			typ += " | *" + def
		}
		c.inputs = append(c.inputs, field{key: name, val: raw(typ), comment: in.Description})
		if in.IsChatInput {
			c.chat[0] = name
		}
		if (in.IsChatHistory != nil && *in.IsChatHistory) || (name == "chat_history" && in.IsChatHistory == nil && c.chat[2] == "") {
			c.chat[2] = name
		}
	}
}

// flowOutputs converts the outputs (SPEC §2.2).
func (c *converter) flowOutputs() {
	for _, name := range c.d.Outputs.Keys {
		o := c.d.Outputs.Values[name]
		at := c.d.Outputs.At[name]
		v := decode(o.Reference)
		if in, ok := asRef(v); ok {
			r, err := parseRef(in)
			if err != nil {
				c.refuse(at, "output %q: %v", name, err)
				continue
			}
			if r.input != "" {
				if _, ok := c.d.Inputs.Values[r.input]; !ok {
					c.refuse(at, "output %q: ${%s} names no input of the flow", name, in)
					continue
				}
			} else if _, ok := c.nodes[r.node]; !ok {
				if !c.declared[r.node] {
					c.refuse(at, "output %q: ${%s} names no node of the flow", name, in)
				}
				continue
			} else if c.kinds[r.node].agg {
				c.warn(at, "output %q is left out: it reads aggregation node %q, and prompt flow leaves such outputs out too", name, r.node)
				continue
			}
		}
		if o.EvaluationOnly {
			c.warn(at, "output %q is evaluation_only: weir's server returns it (prompt flow's leaves it out of /score answers)", name)
		}
		c.outputs = append(c.outputs, field{key: name, val: c.mapValue(v), comment: o.Description})
		if o.IsChatOutput {
			c.chat[1] = name
		}
	}
}

// environment sets environment_variables on every Python tool (SPEC §2),
// with the variables its code reads from the environment granted.
func (c *converter) environment() {
	var env []field
	for _, k := range c.d.EnvironmentVariables.Keys {
		n := c.d.EnvironmentVariables.Values[k]
		v := decode(n)
		var s string
		switch t := v.(type) {
		case string:
			s = t
		case nil:
		default:
			b, _ := jsonMarshal(t)
			s = string(b)
		}
		if in, ok := asRef(s); ok {
			conn, fieldName, _ := strings.Cut(in, ".")
			cn := c.connection(conn, "", "")
			if val, ok := cn.Fields[fieldName]; ok {
				s = strings.ReplaceAll(val, "${", "$${")
			} else {
				s = "${secrets." + c.secret(conn, fieldName) + "}"
			}
		} else {
			s = strings.ReplaceAll(s, "${", "$${")
		}
		env = append(env, field{key: k, val: s})
	}
	for i := range c.plugins {
		p := &c.plugins[i]
		file := ""
		for f, name := range c.pyFiles {
			if name == p.name {
				file = f
			}
		}
		if file == "" {
			continue
		}
		if len(env) > 0 {
			p.body = append(p.body, field{key: "env", val: env})
		}
		var grants []any
		for _, v := range c.envGrant[file] {
			if !hasKey(env, v) {
				grants = append(grants, v)
			}
		}
		if len(grants) > 0 {
			p.body = append(p.body, field{key: "grants", val: []field{{key: "env", val: grants}}})
			p.comment = fmt.Sprintf("%s reads %s from the environment", file, joinAny(grants))
		}
	}
}

func hasKey(fs []field, k string) bool {
	for _, f := range fs {
		if f.key == k {
			return true
		}
	}
	return false
}

func joinAny(v []any) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}
