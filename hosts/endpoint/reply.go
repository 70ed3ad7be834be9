package endpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"unicode/utf8"

	"github.com/weirflow/weir/internal/jsonscan"
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
	codeNotAcceptable = "not_acceptable"
	codeUnavailable   = "unavailable"
	codeNodeFailed    = "node_failed"
	codeTimeout       = "timeout"
	codeBodyTimeout   = "request_timeout"
	codeRunFailed     = "run_failed"
	codeInternal      = "internal"
)

// statusClientGone is recorded, never sent, for a client that went away
// before its answer: nginx's 499.
const statusClientGone = 499

// recorder keeps the status code a handler sent, for metrics and spans,
// and how its errors are worded.
type recorder struct {
	http.ResponseWriter
	code int
	// promptflow words errors as prompt flow's server does: set on /score
	// alone (see promptflowErrorJSON).
	promptflow bool
	// oip words errors as the Open Inference Protocol does, {"error":
	// msg}: set on /v2 and under it.
	oip bool
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

// writeJSON encodes v into a buffer and sends it; when v does not encode,
// it sends a 500 instead, never half an answer.
func writeJSON(w *recorder, status int, v any) {
	b, err := jsonscan.Marshal(v) // messages quote flows: <, > and & stay
	if err != nil {
		writeError(w, http.StatusInternalServerError, codeInternal, encodeFailure(err))
		return
	}
	writeRaw(w, status, b)
}

// checkJSON returns nil for valid JSON in UTF-8, else a *badJSON saying
// where it goes wrong. The scans are iterative: no depth of nesting can
// exhaust the stack.
func checkJSON(b []byte) error {
	if !json.Valid(b) {
		var v json.RawMessage
		err := json.Unmarshal(b, &v)
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return &badJSON{se.Error(), se.Offset}
		}
		return &badJSON{fmt.Sprint(err), 0}
	}
	// encoding/json lets invalid UTF-8 through, which other clients refuse.
	if !utf8.Valid(b) {
		off := 0
		for off < len(b) {
			r, n := utf8.DecodeRune(b[off:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			off += n
		}
		return &badJSON{"invalid UTF-8", int64(off)}
	}
	return nil
}

// badJSON is what checkJSON finds wrong, and where.
type badJSON struct {
	msg    string
	offset int64
}

func (e *badJSON) Error() string { return fmt.Sprintf("%s, at byte %d", e.msg, e.offset) }

// encodeFailure is the message of the 500 that replaces an answer that did
// not encode.
func encodeFailure(err error) string {
	var bad *badJSON
	if errors.As(err, &bad) {
		return "encode the answer: the run's outputs are not valid JSON: " + bad.Error()
	}
	return "encode the answer: " + err.Error()
}

// errorBody is the body of every error answer.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// writeError sends an error body: {"error": {"code": code, "message":
// msg}}, or prompt flow's on /score.
func writeError(w *recorder, status int, code, msg string) {
	writeRaw(w, status, w.errorJSON(status, code, msg))
}

// errorJSON encodes the error body that w answers with status.
func (w *recorder) errorJSON(status int, code, msg string) []byte {
	switch {
	case w.promptflow:
		return promptflowErrorJSON(status, code, msg)
	case w.oip:
		b, _ := jsonscan.Marshal(struct {
			Error string `json:"error"`
		}{msg})
		return b
	}
	return errorJSON(code, msg)
}

// errorJSON encodes an error body. Two strings always encode: invalid
// UTF-8 becomes U+FFFD.
func errorJSON(code, msg string) []byte {
	b, _ := jsonscan.Marshal(errorBody{errorDetail{code, msg}})
	return b
}

// promptflowError is the body of an error on /score, as prompt flow's
// server words it (SPEC §6.1, ErrorResponse.to_simplified_dict): its code
// is "UserError" for a 4xx and "SystemError" for a 5xx, and weir's own
// code goes under innerError, where prompt flow puts the finer codes of
// its error hierarchy.
type promptflowError struct {
	Error promptflowDetail `json:"error"`
}

type promptflowDetail struct {
	Code       string    `json:"code"`
	Message    string    `json:"message"`
	InnerError innerCode `json:"innerError"`
}

type innerCode struct {
	Code string `json:"code"`
}

// Prompt flow's two error codes.
const (
	codeUserError   = "UserError"
	codeSystemError = "SystemError"
)

// promptflowErrorJSON encodes prompt flow's error body for an answer of
// status.
func promptflowErrorJSON(status int, code, msg string) []byte {
	outer := codeUserError
	if status >= 500 {
		outer = codeSystemError
	}
	b, _ := jsonscan.Marshal(promptflowError{promptflowDetail{outer, msg, innerCode{code}}})
	return b
}
