package endpoint

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// Error codes, the "code" of an error body.
const (
	codeInvalidJSON   = "invalid_json"
	codeInvalidInput  = "invalid_input"
	codeInvalidBundle = "invalid_bundle"
	codeInvalidFlow   = "invalid_flow"
	codeBadRequest    = "bad_request"
	codeNotFound      = "not_found"
	codeNotAllowed    = "method_not_allowed"
	codeConflict      = "conflict"
	codeTooLarge      = "too_large"
	codeTooMany       = "too_many_requests"
	codeUnauthorized  = "unauthorized"
	codeForbidden     = "forbidden"
	codeMediaType     = "unsupported_media_type"
	codeUnavailable   = "unavailable"
	codeNodeFailed    = "node_failed"
	codeTimeout       = "timeout"
	codeRunFailed     = "run_failed"
	codeInternal      = "internal"
)

// statusClientGone is recorded, never sent, for a client that went away
// before its answer: nginx's 499.
const statusClientGone = 499

// recorder keeps the status code a handler sent, for metrics and spans.
type recorder struct {
	http.ResponseWriter
	code int
}

func (w *recorder) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's Flush.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *recorder) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// writeRaw sends body, JSON already encoded, and a newline. It does not
// change body, which may be shared.
func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
	_, _ = w.Write(newline)
}

var newline = []byte("\n")

// writeJSON encodes v and sends it.
func writeJSON(w http.ResponseWriter, status int, v any) {
	writeRaw(w, status, encode(v))
}

// encode encodes v as compact JSON, with no newline and <, > and & as
// they are: messages quote flows. v must be one of the body types of this
// package, which always encode.
func encode(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("endpoint: encode a response: " + err.Error())
	}
	return bytes.TrimSuffix(buf.Bytes(), newline)
}

// errorBody is the body of every error answer.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// writeError sends {"error": {"code": code, "message": msg}}.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeRaw(w, status, encode(errorBody{errorDetail{code, msg}}))
}
