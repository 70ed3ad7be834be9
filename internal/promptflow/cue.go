package promptflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"cuelang.org/go/cue/format"
)

func jsonMarshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// cueLiteral writes a value as CUE: JSON is CUE.
func cueLiteral(v any) string {
	b, err := jsonMarshal(v)
	if err != nil {
		return "null"
	}
	return string(b)
}

var cueKeywords = map[string]bool{
	"if": true, "for": true, "in": true, "let": true, "import": true, "package": true,
	"true": true, "false": true, "null": true, "div": true, "mod": true, "quo": true, "rem": true, "func": true,
}

// label writes a field name, quoted unless it is a plain identifier (a
// leading _ or # would make a hidden field or a definition).
func label(k string) string {
	if validName(k) && k[0] != '_' && !cueKeywords[k] {
		return k
	}
	return cueLiteral(k)
}

type cueWriter struct{ b strings.Builder }

func (w *cueWriter) comment(indent, text string) {
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		fmt.Fprintf(&w.b, "%s// %s\n", indent, strings.TrimRight(line, " \t"))
	}
}

func (w *cueWriter) fields(indent string, fs []field) {
	for _, f := range fs {
		if f.comment != "" {
			w.comment(indent, f.comment)
		}
		fmt.Fprintf(&w.b, "%s%s: ", indent, label(f.key))
		w.value(indent, f.val)
		w.b.WriteString("\n")
	}
}

func (w *cueWriter) value(indent string, v any) {
	switch t := v.(type) {
	case raw:
		w.b.WriteString(string(t))
	case []field:
		w.b.WriteString("{\n")
		w.fields(indent+"\t", t)
		w.b.WriteString(indent + "}")
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fs := make([]field, len(keys))
		for i, k := range keys {
			fs[i] = field{key: k, val: t[k]}
		}
		if len(fs) == 0 {
			w.b.WriteString("{}")
			return
		}
		w.value(indent, fs)
	case []any:
		w.b.WriteString("[")
		for i, x := range t {
			if i > 0 {
				w.b.WriteString(", ")
			}
			w.value(indent, x)
		}
		w.b.WriteString("]")
	default:
		w.b.WriteString(cueLiteral(t))
	}
}

// flowCUE writes flow.cue.
func (c *converter) flowCUE() []byte {
	// The connections' entries first: they declare their keys' secrets.
	var plugins []field
	for _, name := range c.connUse {
		if !c.llmConn[name] {
			continue
		}
		conn := c.conns[name]
		config, host, _ := conn.llmConfig()
		var cf []field
		for _, kv := range config {
			cf = append(cf, field{key: kv[0], val: kv[1]})
		}
		cf = append(cf, field{key: "api_key", val: "${secrets." + c.secret(name, "api_key") + "}"})
		plugins = append(plugins, field{key: name, comment: fmt.Sprintf("connection %s (%s)", name, conn.Type), val: []field{
			{key: "builtin", val: true},
			{key: "config", val: cf},
			{key: "grants", val: []field{{key: "hosts", val: []any{host}}}},
		}})
	}
	for _, p := range c.plugins {
		plugins = append(plugins, field{key: p.name, val: p.body, comment: p.comment})
	}

	top := []field{{key: "name", val: c.out.Name}}
	if len(c.inputs) > 0 {
		top = append(top, field{key: "inputs", val: c.inputs})
	}
	if c.chat[0] != "" && c.chat[1] != "" {
		chat := []field{{key: "input", val: c.chat[0]}, {key: "output", val: c.chat[1]}}
		if c.chat[2] != "" {
			chat = append(chat, field{key: "history", val: c.chat[2]})
		}
		top = append(top, field{key: "chat", val: chat, comment: "A chat flow: the user's message, the answer and the history."})
	}
	if len(c.secrets) > 0 {
		var fs []field
		for _, s := range c.secrets {
			fs = append(fs, field{key: s.name, val: []field{{key: "env", val: s.env}}, comment: s.comment})
		}
		top = append(top, field{key: "secrets", val: fs})
	}
	if len(plugins) > 0 {
		top = append(top, field{key: "plugins", val: plugins})
	}
	var nodes []field
	for _, n := range c.woNodes {
		nodes = append(nodes, field{key: n.name, val: n.fields, comment: n.comment})
	}
	top = append(top, field{key: "nodes", val: nodes}, field{key: "outputs", val: c.outputs})

	var w cueWriter
	w.comment("", fmt.Sprintf("%s: imported from prompt flow's flow.dag.yaml by weir import promptflow.\nREADME.md says what was converted and how to run it.", c.out.Name))
	for _, f := range top {
		w.b.WriteString("\n")
		w.fields("", []field{f})
	}
	src := []byte(w.b.String())
	if out, err := format.Source(src, format.Simplify()); err == nil {
		return out
	}
	return src
}
