// Package mockllm is a mock OpenAI-compatible API on loopback, for the tests
// of builtin.llm and of flows that call a model.
//
// One Server answers both shapes of the API:
//
//   - OpenAI: POST {URL}/v1/chat/completions and {URL}/v1/completions with
//     "Authorization: Bearer KEY" (api_base is URL + "/v1");
//   - Azure OpenAI: POST {URL}/openai/deployments/{deployment}/chat/completions
//     and .../completions with "api-key: KEY" and ?api-version=V (api_base
//     is URL).
//
// It checks what a real service would (the path, the key, api-version, a
// JSON body with messages or a prompt), records every request for the test
// to read, and answers a completion, a stream of server-sent events when
// the body asks for "stream": true, or what the Script says: a 429 with
// Retry-After, a 401, a 500, malformed JSON, a slow answer.
package mockllm

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"
)

// DefaultKey is the API key a Server accepts when Options.Key is empty.
const DefaultKey = "sk-mock"

// DefaultText is what a Server answers when Options.Text is empty.
const DefaultText = "Hello from the mock model."

// Options configure a Server. The zero value answers DefaultText to
// requests that carry DefaultKey.
type Options struct {
	// Key is the API key requests must carry; DefaultKey when empty.
	Key string
	// Text is the assistant's answer, unless Echo is set.
	Text string
	// Echo answers, instead of Text, the messages received, one line each
	// as "role: content", or the completion's prompt as it is.
	Echo bool
	// Answer, when set, answers each request instead of Text and Echo:
	// a test that runs a flow of several calls gives each its own answer.
	Answer func(Request) string
	// ToolCalls, when set, is the tool_calls list of the assistant's
	// message (chat only), whose content is then null and finish_reason
	// "tool_calls".
	ToolCalls json.RawMessage
	// Delay is how long the server waits before it answers anything.
	Delay time.Duration
	// ChunkDelay is the wait between two events of a stream.
	ChunkDelay time.Duration
	// Gate, when set, holds a stream before its last text chunk until it is
	// closed: a test reads the first chunks, then closes Gate, which
	// proves that they reached it before the last was sent.
	Gate <-chan struct{}
	// Script is answered first, one Reply per request in order; once it is
	// used up, every request gets Then. The zero Reply is a completion.
	Script []Reply
	Then   Reply
}

// Reply is one scripted answer.
type Reply struct {
	// Status is the answer's status; 0 means a completion (200).
	Status int
	// RetryAfter is the Retry-After header, if any.
	RetryAfter string
	// Message is the error's message, in an OpenAI error object
	// {"error": {"message", "type", "code"}}; Code is its code.
	Message, Code string
	// Body, when set, is sent as it is instead, with Content-Type
	// application/json, also for a status of 200: for malformed JSON.
	Body string
}

// Request is one request the server received.
type Request struct {
	Method string
	// Path is the URL's path; Query its query.
	Path  string
	Query url.Values
	// Header holds the request's headers.
	Header http.Header
	// Body is the request's JSON body.
	Body map[string]any
}

// Server is a mock API listening on loopback. Its methods are safe for
// concurrent use.
type Server struct {
	// URL is the server's base, "http://127.0.0.1:port".
	URL  string
	opts Options
	srv  *httptest.Server

	mu       sync.Mutex
	requests []Request
	next     int // the next Reply of the Script
}

// Start starts a Server; Close stops it.
func Start(opts Options) *Server {
	if opts.Key == "" {
		opts.Key = DefaultKey
	}
	if opts.Text == "" {
		opts.Text = DefaultText
	}
	s := &Server{opts: opts}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Host is the server's "127.0.0.1:port", to grant to a plugin entry.
func (s *Server) Host() string { return strings.TrimPrefix(s.URL, "http://") }

// Close stops the server and closes its connections.
func (s *Server) Close() { s.srv.Close() }

// Requests returns a copy of the requests received so far, in order,
// those refused included.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	req := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone()}
	_ = json.Unmarshal(raw, &req.Body)
	s.mu.Lock()
	s.requests = append(s.requests, req)
	reply := s.opts.Then
	if s.next < len(s.opts.Script) {
		reply = s.opts.Script[s.next]
		s.next++
	}
	s.mu.Unlock()

	if s.opts.Delay > 0 && !wait(r, s.opts.Delay) {
		return
	}
	api, status, msg := s.check(r, req, raw)
	if status != 0 {
		writeError(w, status, msg, "")
		return
	}
	switch {
	case reply.Body != "":
		if reply.RetryAfter != "" {
			w.Header().Set("Retry-After", reply.RetryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(max(reply.Status, http.StatusOK))
		_, _ = io.WriteString(w, reply.Body)
	case reply.Status != 0 && reply.Status != http.StatusOK:
		if reply.RetryAfter != "" {
			w.Header().Set("Retry-After", reply.RetryAfter)
		}
		writeError(w, reply.Status, reply.Message, reply.Code)
	case req.Body["stream"] == true:
		s.stream(w, r, api, req)
	default:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.completion(api, req))
	}
}

// check checks a request as the real service would, and returns the API
// it calls ("chat" or "completion"), or a status and a message to refuse it.
func (s *Server) check(r *http.Request, req Request, raw []byte) (api string, status int, msg string) {
	azure := strings.HasPrefix(r.URL.Path, "/openai/deployments/")
	switch {
	case r.Method != http.MethodPost:
		return "", http.StatusMethodNotAllowed, "method " + r.Method + " not allowed"
	case strings.HasSuffix(r.URL.Path, "/chat/completions"):
		api = "chat"
	case strings.HasSuffix(r.URL.Path, "/completions"):
		api = "completion"
	default:
		return "", http.StatusNotFound, "no route " + r.URL.Path
	}
	if azure {
		if strings.Count(strings.TrimPrefix(r.URL.Path, "/openai/deployments/"), "/") < 1 {
			return "", http.StatusNotFound, "no deployment in " + r.URL.Path
		}
		if r.URL.Query().Get("api-version") == "" {
			return "", http.StatusNotFound, "missing api-version"
		}
		if r.Header.Get("api-key") != s.opts.Key {
			return "", http.StatusUnauthorized, "Access denied due to invalid subscription key or wrong API endpoint."
		}
	} else {
		if !strings.HasPrefix(r.URL.Path, "/v1/") {
			return "", http.StatusNotFound, "no route " + r.URL.Path
		}
		if r.Header.Get("Authorization") != "Bearer "+s.opts.Key {
			return "", http.StatusUnauthorized, "Incorrect API key provided."
		}
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return "", http.StatusBadRequest, "Content-Type " + ct + " is not application/json"
	}
	if req.Body == nil {
		return "", http.StatusBadRequest, "the body is not a JSON object: " + string(raw)
	}
	if !azure {
		if _, ok := req.Body["model"].(string); !ok {
			return "", http.StatusBadRequest, "you must provide a model parameter"
		}
	}
	if api == "chat" {
		if _, ok := req.Body["messages"].([]any); !ok {
			return "", http.StatusBadRequest, "'messages' is a required property"
		}
	} else if _, ok := req.Body["prompt"]; !ok {
		return "", http.StatusBadRequest, "'prompt' is a required property"
	}
	return api, 0, ""
}

// text is the answer to req.
func (s *Server) text(api string, req Request) string {
	if s.opts.Answer != nil {
		return s.opts.Answer(req)
	}
	if !s.opts.Echo {
		return s.opts.Text
	}
	if api == "completion" {
		p, _ := req.Body["prompt"].(string)
		return p
	}
	var lines []string
	for _, m := range req.Body["messages"].([]any) {
		m, _ := m.(map[string]any)
		lines = append(lines, fmt.Sprintf("%v: %v", m["role"], m["content"]))
	}
	return strings.Join(lines, "\n")
}

// model is the model a request asked for, as the service names it in its
// answer: the model, else the deployment.
func model(req Request) string {
	if m, ok := req.Body["model"].(string); ok {
		return m
	}
	rest := strings.TrimPrefix(req.Path, "/openai/deployments/")
	d, _, _ := strings.Cut(rest, "/")
	return d
}

// usage counts words as tokens: enough for tests to see them add up.
func (s *Server) usage(req Request, text string) map[string]int {
	in := 0
	if p, ok := req.Body["prompt"].(string); ok {
		in = len(strings.Fields(p))
	}
	if ms, ok := req.Body["messages"].([]any); ok {
		for _, m := range ms {
			m, _ := m.(map[string]any)
			c, _ := m["content"].(string)
			in += len(strings.Fields(c)) + 1
		}
	}
	out := len(strings.Fields(text))
	return map[string]int{"prompt_tokens": in, "completion_tokens": out, "total_tokens": in + out}
}

func (s *Server) completion(api string, req Request) map[string]any {
	text := s.text(api, req)
	var choice map[string]any
	if api == "chat" {
		msg := map[string]any{"role": "assistant", "content": text}
		finish := "stop"
		if s.opts.ToolCalls != nil {
			msg["content"], msg["tool_calls"], finish = nil, s.opts.ToolCalls, "tool_calls"
		}
		choice = map[string]any{"index": 0, "message": msg, "finish_reason": finish}
	} else {
		choice = map[string]any{"index": 0, "text": text, "finish_reason": "stop"}
	}
	object := "chat.completion"
	if api == "completion" {
		object = "text_completion"
	}
	return map[string]any{
		"id": "mock-1", "object": object, "created": 1700000000, "model": model(req),
		"choices": []any{choice}, "usage": s.usage(req, text),
	}
}

// Chunks splits text as a stream sends it: a word at a time, each with
// the space after it.
func Chunks(text string) []string {
	var out []string
	for _, w := range strings.SplitAfter(text, " ") {
		if w != "" {
			out = append(out, w)
		}
	}
	return out
}

// stream answers as server-sent events: a first event with the role, one
// per chunk of the text, one with finish_reason, the usage when the body
// asks for it (stream_options.include_usage), then [DONE].
func (s *Server) stream(w http.ResponseWriter, r *http.Request, api string, req Request) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	text := s.text(api, req)
	object := "chat.completion.chunk"
	if api == "completion" {
		object = "text_completion"
	}
	send := func(choices []any, extra map[string]any) bool {
		ev := map[string]any{"id": "mock-1", "object": object, "created": 1700000000, "model": model(req), "choices": choices}
		for k, v := range extra {
			ev[k] = v
		}
		b, _ := json.Marshal(ev)
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return false
		}
		http.NewResponseController(w).Flush()
		return true
	}
	delta := func(d map[string]any, finish any) []any {
		if api == "completion" {
			t, _ := d["content"].(string)
			return []any{map[string]any{"index": 0, "text": t, "finish_reason": finish}}
		}
		return []any{map[string]any{"index": 0, "delta": d, "finish_reason": finish}}
	}
	if api == "chat" && !send(delta(map[string]any{"role": "assistant", "content": ""}, nil), nil) {
		return
	}
	chunks := Chunks(text)
	for i, c := range chunks {
		if i > 0 && s.opts.ChunkDelay > 0 && !wait(r, s.opts.ChunkDelay) {
			return
		}
		if i == len(chunks)-1 && s.opts.Gate != nil {
			select {
			case <-s.opts.Gate:
			case <-r.Context().Done():
				return
			}
		}
		if !send(delta(map[string]any{"content": c}, nil), nil) {
			return
		}
	}
	if !send(delta(map[string]any{}, "stop"), nil) {
		return
	}
	if o, _ := req.Body["stream_options"].(map[string]any); o["include_usage"] == true {
		if !send([]any{}, map[string]any{"usage": s.usage(req, text)}) {
			return
		}
	}
	_, _ = io.WriteString(w, "data: [DONE]\n\n")
}

// wait waits for d, or for the client to go away; it reports whether d
// passed.
func wait(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

func writeError(w http.ResponseWriter, status int, msg, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	typ := "invalid_request_error"
	if status == http.StatusTooManyRequests {
		typ = "rate_limit_error"
	}
	e := map[string]any{"message": msg, "type": typ, "code": nil}
	if code != "" {
		e["code"] = code
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"error": e})
}
