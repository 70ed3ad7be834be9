package pdk

import (
	"fmt"
	"slices"

	"github.com/weirflow/weir/plugins"
)

// std is the module's registry, which the exports serve.
var std = newRegistry(defaultHost)

// Tool registers a tool named name that runs fn. Call it from an init
// function, so that the tool is there before weir asks for the contract;
// registering is not safe for concurrent use.
//
// The contract is the one plugins.Func publishes: In and Out must be struct
// types, or map[string]any or json.RawMessage for an object with any fields,
// and their schemas come from plugins.SchemaOf. The inputs are decoded as
// plugins.DecodeInputs does, so inputs of the wrong type are an InvalidInput
// error that names the field, like `input "times": want integer, got
// string`. An error from fn reaches weir with its plugins.Kind and message;
// return plugins.Errorf(plugins.Retryable, ...) for a failure that a retry
// may fix. A panic in fn is reported as an internal error and its stack is
// logged; the instance lives on.
//
// Tool panics if name is not letters, digits, _ and -, if it is already
// registered, if fn is nil, or if In or Out is not an object type.
func Tool[In, Out any](name, description string, fn func(In) (Out, error)) {
	addTool(std, name, description, fn)
}

// RawTool registers a tool that reads its JSON inputs and writes its JSON
// outputs itself, without reflection. c is the contract as published: a nil
// Inputs or Outputs means an object with any fields (plugins.SchemaOf can
// still build them once, at init).
//
// in is the JSON object of inputs as the host wrote it. It is valid only
// during the call: fn must copy what it keeps. fn returns a JSON object of
// outputs; it may reuse the returned slice on its next call, since the host
// copies the outputs before calling again. A nil or empty result means no
// outputs, "{}". Errors and panics are reported as for Tool.
//
// RawTool panics if c.Name is not letters, digits, _ and -, if it is
// already registered, if fn is nil, or if the schemas are not valid JSON.
func RawTool(c plugins.Contract, fn func(in []byte) ([]byte, error)) {
	std.addRawTool(c, fn)
}

// Contracts returns the contracts of the registered tools, in the order they
// were registered: what weir_describe publishes.
func Contracts() []plugins.Contract {
	return std.contracts()
}

// Call runs a registered tool on a JSON object of inputs the way weir_invoke
// does (decoding, panic recovery, output encoding) and returns a copy of the
// outputs. It is for testing a plugin on the host, where go test runs its
// init functions; a tool must not call it. The host sees the error's
// plugins.Kind and message. Call is not safe for concurrent use: calls
// share the PDK's buffers, as weir's calls on one instance do.
func Call(tool string, in []byte) ([]byte, error) {
	out, err := std.invoke([]byte(tool), in)
	if err != nil {
		return nil, err
	}
	return slices.Clone(out), nil
}

// Log sends a log line to weir, which labels it with the plugin and the node
// that is running. Lines a flow does not want (debug ones, usually) are
// dropped by the host. Log, Logf, Config and HTTP are safe for use by the
// goroutines a tool starts.
func Log(level Level, msg string) {
	std.host.log(level, msg)
}

// Logf is Log with a fmt.Sprintf format.
func Logf(level Level, format string, args ...any) {
	std.host.log(level, fmt.Sprintf(format, args...))
}

// Config returns the value of key in the plugin's config, which the flow
// sets in the plugin entry, and whether it is set.
func Config(key string) (string, bool) {
	return config(std.host, &std.replies, key)
}

// HTTP sends req through the host, which performs it if the flow granted the
// plugin req's host, and returns the response, whatever its status. A request
// that is refused or fails is an error carrying the host's message; it has
// kind Internal, so wrap it with plugins.WithKind(plugins.Retryable, err)
// where a retry may help.
func HTTP(req Request) (*Response, error) {
	return httpDo(std.host, &std.replies, req)
}

// Level is the severity of a log line.
type Level int32

// The levels of weir-abi-1.
const (
	Debug Level = iota
	Info
	Warn
	Error
)

var levelNames = [...]string{"debug", "info", "warn", "error"}

func (l Level) String() string {
	if l >= 0 && int(l) < len(levelNames) {
		return levelNames[l]
	}
	return fmt.Sprintf("level(%d)", int32(l))
}

// Request is an HTTP request made through the host.
type Request struct {
	// Method defaults to GET, or POST when there is a body.
	Method  string            `json:"method,omitempty"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body,omitempty"`
}

// Response is the host's answer to a Request.
type Response struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}
