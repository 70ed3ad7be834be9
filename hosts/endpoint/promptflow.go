package endpoint

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/internal/jsonscan"
)

// The routes of prompt flow's server besides /score (SPEC §6), so that
// its clients and probes work unchanged against weir serve.

// serveHealth answers as prompt flow's /health does, and as /readyz
// decides: 503 Unhealthy while the server drains or has no flow.
func (s *Server) serveHealth(w *recorder, _ *http.Request) {
	status, health := http.StatusOK, "Healthy"
	if !s.Ready() {
		status, health = http.StatusServiceUnavailable, "Unhealthy"
	}
	writeJSON(w, status, struct {
		Status  string `json:"status"`
		Version string `json:"version"`
	}{health, engine.Version()})
}

// serveVersion answers as prompt flow's /version does: the build's
// description from $BUILD_INFO, and its build_number as the version when
// it is a JSON object that has one, else weir's version.
func (s *Server) serveVersion(w *recorder, _ *http.Request) {
	info := os.Getenv("BUILD_INFO")
	version := engine.Version()
	var build struct {
		Number any `json:"build_number"`
	}
	if json.Unmarshal([]byte(info), &build) == nil && build.Number != nil {
		if n, ok := build.Number.(string); ok {
			version = n
		} else if b, err := json.Marshal(build.Number); err == nil {
			version = string(b)
		}
	}
	writeJSON(w, http.StatusOK, struct {
		Status    string `json:"status"`
		BuildInfo string `json:"build_info"`
		Version   string `json:"version"`
	}{"Healthy", info, version})
}

// feedbackAnswer is what prompt flow's /feedback answers.
var feedbackAnswer = []byte(`{"status":"Feedback received."}`)

// serveFeedback records the body as the event "feedback" of a span of
// its own, "feedback", a child of the request's server span, as prompt
// flow's /feedback does, and never logs it: it is what an end user wrote.
// With ?flatten=true, each field of a JSON object body is an attribute of
// the event, else the body is the attribute "feedback".
func (s *Server) serveFeedback(w *recorder, r *http.Request) {
	body, ok := s.readBody(w, r, s.opts.MaxBodyBytes)
	if !ok {
		return
	}
	if s.tracer != nil {
		attrs := feedbackAttributes(body, strings.EqualFold(r.URL.Query().Get("flatten"), "true"))
		_, span := s.tracer.Start(r.Context(), "feedback")
		span.AddEvent("feedback", trace.WithAttributes(attrs...))
		span.End()
	}
	writeRaw(w, http.StatusOK, feedbackAnswer)
}

// feedbackAttributes are the attributes of a feedback event: the body
// as "feedback", or, when flatten and it is a JSON object, one attribute
// per field, strings, booleans and numbers as they are and other values
// in JSON.
func feedbackAttributes(body []byte, flatten bool) []attribute.KeyValue {
	whole := []attribute.KeyValue{attribute.String("feedback", strings.ToValidUTF8(string(body), "\uFFFD"))}
	if !flatten {
		return whole
	}
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if dec.Decode(&fields) != nil || fields == nil {
		return whole
	}
	attrs := make([]attribute.KeyValue, 0, len(fields))
	for k, raw := range fields {
		var v any
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		_ = d.Decode(&v)
		switch x := v.(type) {
		case string:
			attrs = append(attrs, attribute.String(k, x))
		case bool:
			attrs = append(attrs, attribute.Bool(k, x))
		case json.Number:
			if n, err := x.Int64(); err == nil {
				attrs = append(attrs, attribute.Int64(k, n))
			} else if f, err := x.Float64(); err == nil {
				attrs = append(attrs, attribute.Float64(k, f))
			} else {
				attrs = append(attrs, attribute.String(k, x.String()))
			}
		default:
			attrs = append(attrs, attribute.String(k, string(raw)))
		}
	}
	return attrs
}

func (s *Server) serveSwagger(w *recorder, _ *http.Request) {
	t := s.table.Load()
	if len(t.order) == 0 {
		writeError(w, http.StatusNotFound, codeNotFound, "no flow is deployed")
		return
	}
	writeRaw(w, http.StatusOK, t.swagger())
}

// swagger returns the OpenAPI document of the default flow as prompt
// flow's server lays it out, made on first use: a table never changes.
func (t *table) swagger() []byte {
	t.swaggerOnce.Do(func() {
		r := t.flows[t.order[0]]
		b, err := jsonscan.Marshal(swaggerDoc(r.versions[len(r.versions)-1].flow))
		if err != nil {
			panic("endpoint: encode swagger.json: " + err.Error())
		}
		t.swaggerJSON = b
	})
	return t.swaggerJSON
}

// swaggerTypes are the OpenAPI types of prompt flow's input types; weir
// gives its JSON Schema types the same names.
var swaggerTypes = map[string]bool{"integer": true, "number": true, "boolean": true, "string": true, "array": true, "object": true}

// swaggerDoc lays out f's OpenAPI document as prompt flow's
// generate_swagger does (SPEC §6, core/_serving/swagger.py): every input
// required, typed by prompt flow's names (a list's items and an object's
// properties left open), with its description and a default that is not
// empty; the outputs' types where the flow makes them known; the chat
// fields of a chat flow in info; and an example from samples.json beside
// the flow file.
func swaggerDoc(f *engine.Flow) obj {
	info := obj{"title": "weir[" + f.Name() + "] API", "version": "1.0.0", "x-flow-name": f.Name()}
	if in, out, history, ok := f.Chat(); ok {
		info["x-flow-type"] = "chat"
		info["x-chat-input"] = in
		info["x-chat-output"] = out
		if history != "" {
			info["x-chat-history"] = history
		}
	}
	inSchema := obj{"type": "object"}
	ins := f.Inputs()
	if len(ins) > 0 {
		props := obj{}
		required := make([]string, len(ins))
		all := openAPISchema(f.InputSchema())
		declared, _ := all["properties"].(obj)
		for i, in := range ins {
			required[i] = in.Name
			d, _ := declared[in.Name].(obj)
			props[in.Name] = swaggerField(in.Types, d)
		}
		inSchema["properties"], inSchema["required"] = props, required
	}
	outSchema := obj{"type": "object"}
	if outs := f.Outputs(); len(outs) > 0 {
		props := obj{}
		for _, o := range outs {
			props[o.Name] = swaggerField(o.Types, nil)
		}
		outSchema["properties"] = props
	}
	return obj{
		"openapi":    "3.0.0",
		"info":       info,
		"components": obj{"securitySchemes": obj{"bearerAuth": obj{"type": "http", "scheme": "bearer"}}},
		"security":   []any{obj{"bearerAuth": []any{}}},
		"paths": obj{
			"/score": obj{"post": obj{
				"summary": "run flow " + f.Name() + " on the given inputs",
				"requestBody": obj{
					"description": "the flow's inputs",
					"required":    len(ins) > 0,
					"content":     obj{"application/json": obj{"schema": inSchema, "example": sample(f)}},
				},
				"responses": obj{
					"200":     obj{"description": "successful operation", "content": obj{"application/json": obj{"schema": outSchema}}},
					"400":     obj{"description": "Invalid input"},
					"default": obj{"description": "unexpected error"},
				},
			}},
			"/feedback": obj{"post": obj{
				"summary":     "record feedback on an answer",
				"requestBody": obj{"description": "any text, often a JSON object", "content": obj{"application/json": obj{"schema": obj{}}}},
				"parameters": []any{obj{"name": "flatten", "in": "query", "required": false, "schema": obj{"type": "boolean"},
					"description": "record each field of a JSON object body on its own"}},
				"responses": obj{"200": obj{"description": "recorded", "content": obj{"application/json": obj{"schema": obj{
					"type": "object", "properties": obj{"status": obj{"type": "string"}},
				}}}}},
			}},
		},
	}
}

// swaggerField is one input or output in prompt flow's layout: its one
// type other than null, when it has one, then declared's description and
// default.
func swaggerField(types []string, declared obj) obj {
	field := obj{}
	var named []string
	for _, ty := range types {
		if swaggerTypes[ty] {
			named = append(named, ty)
		}
	}
	if len(named) == 1 {
		field["type"] = named[0]
		switch named[0] {
		case "object":
			field["additionalProperties"] = obj{}
		case "array":
			field["items"] = obj{"type": "object", "additionalProperties": obj{}}
		}
	}
	if d, ok := declared["description"]; ok {
		field["description"] = d
	}
	// Prompt flow writes a default only when Python finds it true.
	if d, ok := declared["default"]; ok && truthy(d) {
		field["default"] = d
	}
	return field
}

// truthy is Python's truth of a JSON value.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case json.Number:
		f, err := x.Float64()
		return err != nil || f != 0
	case []any:
		return len(x) > 0
	case obj:
		return len(x) > 0
	}
	return true
}

// sample is the first item of samples.json beside f's file, when there is
// one and it is a list, as prompt flow's swagger takes its example; else
// an empty object.
func sample(f *engine.Flow) any {
	b, err := os.ReadFile(filepath.Join(filepath.Dir(f.File()), "samples.json"))
	if err != nil {
		return obj{}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var list []any
	if dec.Decode(&list) != nil || len(list) == 0 {
		return obj{}
	}
	return list[0]
}
