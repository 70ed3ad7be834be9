package endpoint

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/internal/jsonscan"
)

// openAPI returns the OpenAPI 3.0 document of the table's flows, made on
// first use: a table never changes.
func (t *table) openAPI() []byte {
	t.openapiOnce.Do(func() {
		b, err := jsonscan.Marshal(t.openAPIDoc()) // patterns keep their < and >
		if err != nil {
			// Schemas come from the engine as JSON, and go back as JSON.
			panic("endpoint: encode openapi.json: " + err.Error())
		}
		t.openapi = b
	})
	return t.openapi
}

// obj is a JSON object being built.
type obj = map[string]any

func (t *table) openAPIDoc() obj {
	paths := obj{}
	for i, name := range t.order {
		r := t.flows[name]
		// The newest version's types: the one a new version brings.
		f := r.versions[len(r.versions)-1].flow
		in, out := openAPISchema(f.InputSchema()), openAPISchema(f.OutputSchema())
		runBody := obj{"type": "object", "properties": obj{"inputs": in}, "additionalProperties": false}
		if req, _ := in["required"].([]any); len(req) > 0 {
			runBody["required"] = []any{"inputs"}
		}
		paths["/v1/flows/"+name+"/runs"] = obj{"post": obj{
			"operationId": "run_" + identifier(name),
			"summary":     "Run flow " + name,
			"description": describe(f, runsStreamText(f)),
			"tags":        []string{name},
			"requestBody": obj{"required": true, "content": obj{"application/json": obj{"schema": runBody}}},
			"responses": errorResponses(obj{"200": obj{
				"description": "The run: its outputs and what each node did.",
				"content": obj{
					"application/json": obj{"schema": obj{
						"type":     "object",
						"required": []string{"run_id", "flow", "version", "status", "outputs", "nodes"},
						"properties": obj{
							"run_id":  obj{"type": "string"},
							"flow":    obj{"type": "string"},
							"version": obj{"type": "string"},
							"status":  obj{"type": "string", "enum": []string{"succeeded"}},
							"outputs": out,
							"nodes":   obj{"type": "array", "items": obj{"$ref": "#/components/schemas/NodeResult"}},
						},
					}},
					"text/event-stream": obj{"schema": obj{"type": "string"}},
				},
			}}),
		}}
		if i == 0 {
			content := obj{"application/json": obj{"schema": out}}
			text := "The answer is the outputs object alone, as a prompt flow or Azure ML online endpoint gives it."
			if s := f.StreamOutput(); s != "" {
				content["text/event-stream"] = obj{"schema": obj{"type": "string"}}
				text += fmt.Sprintf(" Accept: text/event-stream streams output %q as it is made: one event with the other outputs first, if the flow has any, then {%q: \"<text>\"} per chunk.", s, s)
			}
			paths["/score"] = obj{"post": obj{
				"operationId": "score",
				"summary":     "Run flow " + name + ", the default flow, on a flat inputs object",
				"description": describe(f, text),
				"tags":        []string{name},
				"requestBody": obj{"required": true, "content": obj{"application/json": obj{"schema": in}}},
				"responses": scoreErrorResponses(obj{"200": obj{
					"description": "The flow's outputs.",
					"content":     content,
				}}),
			}}
		}
	}
	statusEnum := []string{string(engine.Succeeded), string(engine.Failed), string(engine.Bypassed), string(engine.Canceled)}
	return obj{
		"openapi": "3.0.3",
		"info": obj{
			"title":       "weir runtime server",
			"description": "The flows deployed on this server. Errors are {\"error\": {\"code\", \"message\"}}, but on /score, where they are prompt flow's.",
			"version":     engine.Version(),
		},
		"paths": paths,
		"components": obj{"schemas": obj{
			"Error": obj{
				"type":     "object",
				"required": []string{"error"},
				"properties": obj{"error": obj{
					"type":     "object",
					"required": []string{"code", "message"},
					"properties": obj{
						"code":    obj{"type": "string"},
						"message": obj{"type": "string"},
					},
				}},
			},
			"PromptflowError": obj{
				"type":     "object",
				"required": []string{"error"},
				"properties": obj{"error": obj{
					"type":     "object",
					"required": []string{"code", "message", "innerError"},
					"properties": obj{
						"code":       obj{"type": "string", "enum": []string{codeUserError, codeSystemError}},
						"message":    obj{"type": "string"},
						"innerError": obj{"type": "object", "properties": obj{"code": obj{"type": "string"}}},
					},
				}},
			},
			"NodeResult": obj{
				"type":     "object",
				"required": []string{"node", "tool", "plugin", "kind", "status", "attempts", "duration"},
				"properties": obj{
					"node":     obj{"type": "string"},
					"tool":     obj{"type": "string"},
					"plugin":   obj{"type": "string"},
					"kind":     obj{"type": "string"},
					"status":   obj{"type": "string", "enum": statusEnum},
					"attempts": obj{"type": "integer"},
					"start":    obj{"type": "string", "format": "date-time"},
					"duration": obj{"type": "integer", "description": "Nanoseconds."},
					"error":    obj{"type": "string"},
					"usage": obj{
						"type":        "object",
						"description": "What the node's tool reported its calls of a model cost.",
						"properties": obj{
							"provider":      obj{"type": "string"},
							"operation":     obj{"type": "string"},
							"request_model": obj{"type": "string"},
							"model":         obj{"type": "string"},
							"input_tokens":  obj{"type": "integer"},
							"output_tokens": obj{"type": "integer"},
						},
					},
				},
			},
		}},
	}
}

// scoreErrorResponses adds the error answers of /score to responses:
// prompt flow's, which say whose error it is.
func scoreErrorResponses(responses obj) obj {
	return withErrors(responses, "PromptflowError", map[string]string{
		"400": "UserError: malformed JSON, inputs that break the flow's types, or a node whose tool failed.",
		"404": "UserError: no flow is deployed.",
		"406": "UserError: the Accept header asks for what the flow cannot answer.",
		"413": "UserError: the body is over the size limit.",
		"429": "UserError: too many runs in flight; retry after Retry-After seconds.",
		"500": "SystemError: a node hit a sandbox or time limit, its plugin's process exited, or the server failed.",
		"503": "SystemError: nothing can run the flow now; retry after Retry-After seconds.",
		"504": "SystemError: the run timed out; the message names the nodes that were running.",
	})
}

// errorResponses adds the error answers of a run to responses.
func errorResponses(responses obj) obj {
	return withErrors(responses, "Error", map[string]string{
		"400": "Malformed JSON (invalid_json) or inputs that break the flow's types (invalid_input).",
		"404": "No such flow.",
		"413": "The body is over the size limit.",
		"429": "Too many runs in flight; retry after Retry-After seconds.",
		"500": "The run failed inside the server.",
		"502": "A node failed; the message names it, its tool and plugin.",
		"504": "The run timed out; the message names the nodes that were running.",
	})
}

// withErrors adds an answer per status to responses, described as
// statuses says, whose body is the component schema.
func withErrors(responses obj, schema string, statuses map[string]string) obj {
	for status, what := range statuses {
		responses[status] = obj{
			"description": what,
			"content":     obj{"application/json": obj{"schema": obj{"$ref": "#/components/schemas/" + schema}}},
		}
	}
	return responses
}

func describe(f *engine.Flow, more string) string {
	if d := f.Description(); d != "" {
		return d + "\n\n" + more
	}
	return more
}

// identifier makes an operationId part of a flow name.
func identifier(name string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, name)
}

// openAPISchema turns a JSON Schema (draft 2020-12) into an OpenAPI 3.0
// Schema Object, which is an older, smaller dialect: const becomes a
// one-value enum, a list of types becomes nullable or anyOf, numeric
// exclusive bounds become booleans, and keywords 3.0 lacks are dropped
// (the schema then accepts more, never less).
func openAPISchema(raw json.RawMessage) obj {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return obj{}
	}
	m, ok := convertSchema(v).(obj)
	if !ok {
		return obj{}
	}
	return m
}

// kept are the Schema Object keywords of OpenAPI 3.0 passed through as they
// are, besides those convertSchema rewrites.
var kept = map[string]bool{
	"title": true, "description": true, "default": true, "format": true,
	"multipleOf": true, "maxLength": true, "minLength": true, "pattern": true,
	"maxItems": true, "minItems": true, "uniqueItems": true,
	"maxProperties": true, "minProperties": true, "required": true, "enum": true,
	"readOnly": true, "writeOnly": true, "deprecated": true,
}

func convertSchema(v any) any {
	s, ok := v.(obj)
	if !ok {
		if b, isBool := v.(bool); isBool && !b {
			return obj{"not": obj{}} // false: nothing is valid
		}
		return obj{} // true: anything is
	}
	out := obj{}
	for k, val := range s {
		switch k {
		case "const":
			out["enum"] = []any{val}
		case "type":
			convertType(out, val)
		case "exclusiveMinimum", "exclusiveMaximum":
			if n, isNum := val.(json.Number); isNum {
				out[inclusive[k]] = n
				out[k] = true
			}
		case "minimum", "maximum":
			if _, set := out[k]; !set {
				out[k] = val
			}
		case "properties":
			props := obj{}
			for name, p := range val.(obj) {
				props[name] = convertSchema(p)
			}
			out[k] = props
		case "items", "not":
			out[k] = convertSchema(val)
		case "additionalProperties":
			if b, isBool := val.(bool); isBool {
				out[k] = b
			} else {
				out[k] = convertSchema(val)
			}
		case "anyOf", "oneOf", "allOf":
			list, _ := val.([]any)
			conv := make([]any, len(list))
			for i, x := range list {
				conv[i] = convertSchema(x)
			}
			out[k] = conv
		case "examples":
			if list, _ := val.([]any); len(list) > 0 {
				out["example"] = list[0]
			}
		default:
			if kept[k] {
				out[k] = val
			}
		}
	}
	if _, ok := s["patternProperties"]; ok {
		// 3.0 has no patternProperties: let any property through.
		out["additionalProperties"] = true
	}
	return out
}

var inclusive = map[string]string{"exclusiveMinimum": "minimum", "exclusiveMaximum": "maximum"}

// convertType writes a JSON Schema type, a name or a list of names, as 3.0
// says it: one type, with nullable for null.
func convertType(out obj, t any) {
	var types []string
	switch x := t.(type) {
	case string:
		types = []string{x}
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok {
				types = append(types, s)
			}
		}
	}
	var others []string
	for _, ty := range types {
		if ty == "null" {
			out["nullable"] = true
		} else {
			others = append(others, ty)
		}
	}
	switch len(others) {
	case 0:
		if out["nullable"] == true {
			out["enum"] = []any{nil}
		}
	case 1:
		out["type"] = others[0]
	default:
		alts := make([]any, len(others))
		for i, ty := range others {
			alts[i] = obj{"type": ty}
		}
		out["anyOf"] = alts
	}
}

// runsStreamText says what a run's stream holds.
func runsStreamText(f *engine.Flow) string {
	chunk := ""
	if s := f.StreamOutput(); s != "" {
		chunk = fmt.Sprintf(", a \"chunk\" event {%q: \"<text>\"} as output %q is made", s, s)
	}
	return "Accept: text/event-stream streams a \"node\" event as each node ends" + chunk + ", then a \"result\" event with the body of a 200, or an \"error\" event."
}
