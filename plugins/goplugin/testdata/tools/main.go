// Command tools is a go-plugin executable for the tests of package
// goplugin: well-behaved tools, and tools that crash, hang, panic or send
// too much.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"

	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/goplugin"
)

type text struct {
	Text string `json:"text"`
}

type sized struct {
	Bytes int `json:"bytes"`
}

type kinded struct {
	Kind string `json:"kind"`
}

type environ struct {
	Env []string `json:"env"`
}

type started struct {
	PID int `json:"pid"`
}

type traced struct {
	TraceID string `json:"trace_id"`
	SpanID  string `json:"span_id"`
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == "linger" {
		select {} // a child the spawn tool started
	}
	goplugin.ServeWith(serveOptions(),
		plugins.Func("upper", "Upper-cases text.", func(_ context.Context, in text) (text, error) {
			return text{Text: strings.ToUpper(in.Text)}, nil
		}),
		plugins.RawFunc(plugins.Contract{Name: "echo", Description: "Returns its inputs."}, func(_ context.Context, in []byte) ([]byte, error) {
			return append([]byte(nil), in...), nil
		}),
		plugins.Func("crash", "Exits the process.", func(context.Context, struct{}) (struct{}, error) {
			// go-plugin forwards os.Stderr over gRPC, which os.Exit cuts
			// short; a crash's last words (a native library's, the Go
			// runtime's) reach file descriptor 2 directly.
			fmt.Fprintln(os.NewFile(2, "stderr"), "tools: about to crash")
			os.Exit(3)
			return struct{}{}, nil
		}),
		plugins.Func("hang", "Never returns, whatever its context says.", func(context.Context, struct{}) (struct{}, error) {
			select {}
		}),
		plugins.Func("panic", "Panics.", func(context.Context, struct{}) (struct{}, error) {
			panic("oh no")
		}),
		plugins.Func("big", "Returns a text of the given size.", func(_ context.Context, in sized) (text, error) {
			return text{Text: strings.Repeat("x", in.Bytes)}, nil
		}),
		plugins.Func("fail", "Fails with the given kind.", func(_ context.Context, in kinded) (struct{}, error) {
			for k := plugins.Internal; k <= plugins.InvalidInput; k++ {
				if k.String() == in.Kind {
					return struct{}{}, plugins.Errorf(k, "failed as asked")
				}
			}
			return struct{}{}, errors.New("no such kind")
		}),
		plugins.Func("trace", "Returns the trace context it was called with.", func(ctx context.Context, _ struct{}) (traced, error) {
			sc := trace.SpanContextFromContext(ctx)
			return traced{TraceID: sc.TraceID().String(), SpanID: sc.SpanID().String()}, nil
		}),
		plugins.Func("environ", "Returns the whole environment.", func(context.Context, struct{}) (environ, error) {
			env := os.Environ()
			slices.Sort(env)
			return environ{Env: env}, nil
		}),
		plugins.Func("spawn", "Starts a child process that runs until killed and holds the plugin's stderr.", func(context.Context, struct{}) (started, error) {
			return linger(false)
		}),
		plugins.Func("escape", "Starts a child process as spawn does, in a session of its own.", func(context.Context, struct{}) (started, error) {
			return linger(true)
		}),
		plugins.Func("env", "Returns the value of an environment variable.", func(_ context.Context, in text) (text, error) {
			return text{Text: os.Getenv(in.Text) + " " + strings.Join(os.Args[1:], " ")}, nil
		}),
	)
}

// serveOptions traces the calls into the file WEIR_TEST_SPANS names, one
// span a line, when it is set. The spans are batched, so that they reach
// the file only because Serve shuts the provider down.
func serveOptions() goplugin.ServeOptions {
	path := os.Getenv("WEIR_TEST_SPANS")
	if path == "" {
		return goplugin.ServeOptions{}
	}
	f, err := os.Create(path)
	if err != nil {
		panic(err)
	}
	exp, err := stdouttrace.New(stdouttrace.WithWriter(f))
	if err != nil {
		panic(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
	return goplugin.ServeOptions{TracerProvider: tp, Shutdown: tp.Shutdown}
}

func linger(setsid bool) (started, error) {
	self, err := os.Executable()
	if err != nil {
		return started{}, err
	}
	cmd := exec.Command(self, "linger")
	// fd 2 is the pipe to weir: go-plugin swaps os.Stderr for a pipe of
	// its own in Serve.
	cmd.Stderr = os.NewFile(2, "stderr")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: setsid}
	if err := cmd.Start(); err != nil {
		return started{}, err
	}
	return started{PID: cmd.Process.Pid}, nil
}
