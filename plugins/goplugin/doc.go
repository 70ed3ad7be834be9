// Package goplugin runs tools that live in a hashicorp/go-plugin executable:
// the provider for flow entries `plugins: NAME: {goplugin: "path/to/exe"}`,
// and Serve, the one function such an executable calls.
//
// Some tools cannot be Wasm: they need cgo, a native library, a device or a
// long-lived connection. weir starts their executable as a subprocess and
// speaks the gRPC service weir.tool.v1.Tools to it (proto/weir/tool/v1 at
// the root of the repository): Describe returns the same contracts a Wasm
// plugin publishes, and Invoke takes and returns the same JSON objects.
//
// Writing a plugin:
//
//	package main
//
//	import (
//		"context"
//		"strings"
//
//		"github.com/weirflow/weir/plugins"
//		"github.com/weirflow/weir/plugins/goplugin"
//	)
//
//	type Text struct {
//		Text string `json:"text"`
//	}
//
//	func upper(_ context.Context, in Text) (Text, error) {
//		return Text{Text: strings.ToUpper(in.Text)}, nil
//	}
//
//	func main() {
//		goplugin.Serve(plugins.Func("upper", "Upper-cases text.", upper))
//	}
//
// Build it with go build and name it in a flow; its tools are addressed as
// NAME.upper. The executable must not write to standard output before
// Serve: go-plugin's handshake is the first line there. Standard error is
// the plugin's log; weir keeps its last lines for error messages.
//
// # Process lifecycle
//
// The provider starts one process per flow entry when the engine opens the
// entry, and shares it between all runs. The entry's path is a file: a
// relative one is taken from the current folder, where the flow's folder
// puts it, and never looked up on $PATH. The provider refuses an
// executable whose SHA-256 differs from the one the flow pins, checked
// again before each start, and speaks only gRPC, over mutual TLS with
// certificates made for each start. When the process dies, the calls in
// flight fail with an error that says it exited and quotes its last lines
// of standard error; the next call starts it again, after a backoff that
// grows while starts keep failing. A call whose context ends fails with the
// context's error, and the process, which may be stuck, is killed and
// restarted on the next call. Provider.Close and Plugin.Close stop the
// processes.
//
// # What a plugin process gets
//
// A go-plugin executable is not sandboxed: it runs with weir's user and
// can reach what that user can. weir gives it no standard input and only
// the environment the flow grants: the entry's env map and the variables
// grants.env names, with PATH=/usr/local/bin:/usr/bin:/bin (unless the flow
// sets or grants PATH), TMPDIR when weir has one, OTEL_SERVICE_NAME (the
// plugin's name in the flow, unless the flow sets it) and go-plugin's
// handshake variables; HOME and every other variable of weir's, such as
// WEIR_ADMIN_TOKEN, are left out. grants.hosts and grants.dirs, which weir
// could not enforce on a process, are refused.
//
// On Unix the process leads a process group of its own, and weir kills the
// whole group (SIGKILL) when it stops the plugin (Close, a call that
// outlives its deadline, a failed health check) and, on Linux, as soon as
// the plugin exits by itself, such as in a crash; elsewhere once weir reaps
// it. When weir itself dies, even by SIGKILL, on Linux the kernel
// signals the plugin: a plugin that calls Serve then kills its whole group,
// and one that does not is killed alone (SIGKILL), so that what it started
// may outlive it. On other Unix systems Serve notices within a fraction of a
// second that its parent is gone and kills its group; a plugin without
// Serve is not stopped. A process that leaves the group (setsid, setpgid)
// escapes all of this: a process group bounds well-behaved plugins, it
// does not contain hostile ones. On Windows weir stops the plugin process
// only, and Serve exits when weir is gone.
//
// # Tracing
//
// A call made under a span (a node's, the span of a plugin's start) gets a
// gRPC client span, a child of that span, from Options.TracerProvider or,
// by default, from the TracerProvider that made the span: the engine's.
// Its trace context crosses to the plugin, whose call context then carries
// it. Calls under no span make no span: the health check, and go-plugin's
// broker, stdio and shutdown calls, which would otherwise start a root
// trace every few seconds.
//
// A plugin that exports spans of its own passes its TracerProvider to
// ServeWith, with the provider's Shutdown, which ServeWith calls once weir
// has stopped the plugin, to flush what the provider holds:
//
//	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter))
//	goplugin.ServeWith(goplugin.ServeOptions{TracerProvider: tp, Shutdown: tp.Shutdown}, tools...)
//
// Its spans come from the service OTEL_SERVICE_NAME names. The exporter's
// own variables (OTEL_EXPORTER_OTLP_ENDPOINT and the like) reach the
// plugin only as the flow grants them: grants: env: ["OTEL_EXPORTER_OTLP_ENDPOINT"].
package goplugin
