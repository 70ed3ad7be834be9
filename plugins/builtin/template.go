package builtin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/template"

	"github.com/weirflow/weir/internal/jsonscan"
	"github.com/weirflow/weir/plugins"
)

// maxCachedTemplates bounds the parsed-template cache. Flows hold a handful
// of templates, so the bound only matters when templates are built per line.
const maxCachedTemplates = 256

var templateInputs = json.RawMessage(`{"type":"object","properties":{` +
	`"template":{"type":"string","description":"A Go text/template. Every other input is its data: {{.name}} reads the input name."}},` +
	`"required":["template"],"additionalProperties":true}`)

type templateOut struct {
	Text string `json:"text" desc:"The rendered text."`
}

var templateFuncs = template.FuncMap{
	"upper":   func(v any) string { return strings.ToUpper(toString(v)) },
	"lower":   func(v any) string { return strings.ToLower(toString(v)) },
	"trim":    func(v any) string { return strings.TrimSpace(toString(v)) },
	"replace": func(v any, old, new string) string { return strings.ReplaceAll(toString(v), old, new) },
	"join":    join,
	"json":    marshal,
	"default": orDefault,
}

// templateTool renders Go text/templates. Parsed templates are kept, since a
// template is mostly the same literal on every line of a batch.
type templateTool struct {
	cache parseCache[*template.Template]
}

func (t *templateTool) tool() plugins.Tool {
	return plugins.RawFunc(plugins.Contract{
		Name: "template",
		Description: "Renders a Go text/template with the other inputs as its data. " +
			"A missing key is an error. Functions: upper, lower, trim, join LIST SEP, " +
			"replace S OLD NEW, json VALUE, default FALLBACK VALUE.",
		Inputs:  templateInputs,
		Outputs: plugins.SchemaOf(reflect.TypeFor[templateOut]()),
	}, t.invoke)
}

func (t *templateTool) invoke(_ context.Context, in []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(in))
	// Numbers stay exact so that {{.id}} prints 1000000, not 1e+06.
	dec.UseNumber()
	var data map[string]any
	if err := dec.Decode(&data); err != nil {
		// Say it in the same words as every other tool.
		if err := plugins.DecodeInputs(in, &data); err != nil {
			return nil, err
		}
		return nil, plugins.Errorf(plugins.InvalidInput, "decode inputs: %w", err)
	}
	src, ok := data["template"].(string)
	if !ok {
		if _, present := data["template"]; !present {
			return nil, plugins.Errorf(plugins.InvalidInput, "input \"template\" is missing")
		}
		return nil, plugins.Errorf(plugins.InvalidInput, "input \"template\": want string, got %s", kindOf(data["template"]))
	}
	delete(data, "template")
	for k, v := range data {
		data[k] = numbers(v)
	}

	tmpl, err := t.parse(src)
	if err != nil {
		return nil, plugins.WithKind(plugins.InvalidInput, err)
	}
	var text bytes.Buffer
	if err := tmpl.Execute(&text, data); err != nil {
		return nil, plugins.WithKind(plugins.InvalidInput, err)
	}
	out := jsonscan.AppendString([]byte(`{"text":`), text.String())
	return append(out, '}'), nil
}

func (t *templateTool) parse(src string) (*template.Template, error) {
	return t.cache.get(src, func(src string) (*template.Template, error) {
		return template.New("template").Option("missingkey=error").Funcs(templateFuncs).Parse(src)
	})
}

// parseCache keeps what parsing a template source gave, since a template
// is mostly the same literal on every line of a batch. It is safe for
// concurrent use.
type parseCache[T any] struct {
	m     sync.Map // source -> T
	count atomic.Int64
}

// get returns the parsed src, calling parse when it is not kept yet.
func (c *parseCache[T]) get(src string, parse func(string) (T, error)) (T, error) {
	if v, ok := c.m.Load(src); ok {
		return v.(T), nil
	}
	parsed, err := parse(src)
	if err != nil {
		return parsed, err
	}
	// Emptying the whole cache when it is full is crude but lock free, and
	// a flow that hits it builds templates per line and parses anyway.
	if c.count.Add(1) > maxCachedTemplates {
		c.m.Clear()
		c.count.Store(1)
	}
	v, _ := c.m.LoadOrStore(src, parsed)
	return v.(T), nil
}

// numbers turns the json.Numbers of a decoded value into int64 where they
// are whole and fit, float64 otherwise, so that templates can both print and
// compare them.
func numbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
		if f, err := v.Float64(); err == nil {
			return f
		}
		return string(v)
	case map[string]any:
		for k, e := range v {
			v[k] = numbers(e)
		}
	case []any:
		for i, e := range v {
			v[i] = numbers(e)
		}
	}
	return v
}

func toString(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	return fmt.Sprint(v)
}

func join(list any, sep string) (string, error) {
	switch l := list.(type) {
	case nil:
		return "", nil
	case []string:
		return strings.Join(l, sep), nil
	case []any:
		parts := make([]string, len(l))
		for i, e := range l {
			parts[i] = toString(e)
		}
		return strings.Join(parts, sep), nil
	}
	return "", fmt.Errorf("join: want a list, got %s", kindOf(list))
}

func marshal(v any) (string, error) {
	b, err := jsonscan.Marshal(v)
	return string(b), err
}

// orDefault takes its value last so that it reads well in a pipeline:
// {{.title | default "untitled"}}. Zero and false are values, not gaps, so
// only null, "" and empty lists and objects fall back.
func orDefault(fallback, v any) any {
	switch v := v.(type) {
	case nil:
		return fallback
	case string:
		if v == "" {
			return fallback
		}
	case []any:
		if len(v) == 0 {
			return fallback
		}
	case map[string]any:
		if len(v) == 0 {
			return fallback
		}
	}
	return v
}

// kindOf names the JSON type of a decoded value.
func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number, int64, float64:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}
