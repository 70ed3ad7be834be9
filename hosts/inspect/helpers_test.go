package inspect_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"

	weirflow "github.com/weirflow/weir"
	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/engine/record"
	"github.com/weirflow/weir/hosts/inspect"
	"github.com/weirflow/weir/plugins"
)

// greetFlow greets each line's name after a nap of wait; a line with hold
// waits at gate, the first node, until the test lets it go, and a line
// whose wait is not a duration fails at nap, the second.
const greetFlow = `name: "greet"
inputs: {
	name: string
	wait: string | *"0s"
	hold: bool | *false
}
nodes: {
	gate:  {tool: "test.hold", inputs: hold: "${inputs.hold}"}
	nap:   {tool: "builtin.sleep", inputs: {duration: "${inputs.wait}", value: "${gate.output.held}"}}
	greet: {tool: "builtin.template", inputs: {template: "Hello, {{.name}}!", name: "${inputs.name}", after: "${nap.output.value}"}}
}
outputs: {
	greeting: "${greet.output.text}"
	held:     "${nap.output.value}"
}
`

// fixture is a run record, an engine that runs greetFlow, and the
// inspector serving the record on a loopback port.
type fixture struct {
	store   *record.Store
	engine  *engine.Engine
	flow    *engine.Flow
	release chan struct{} // closing it lets the held lines go
	url     string        // the inspector's, ending in /
}

func newFixture(t *testing.T, opts inspect.Options) *fixture {
	t.Helper()
	return newTracedFixture(t, opts, nil)
}

// newTracedFixture is newFixture with an engine that traces into tp.
func newTracedFixture(t *testing.T, opts inspect.Options, tp trace.TracerProvider) *fixture {
	t.Helper()
	fx := &fixture{release: make(chan struct{})}
	var err error
	fx.store, err = record.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { fx.store.Close() })
	fx.engine, err = weirflow.New(engine.Options{TracerProvider: tp})
	require.NoError(t, err)
	t.Cleanup(func() { fx.engine.Close() })
	type holdIn struct {
		Hold bool `json:"hold"`
	}
	type holdOut struct {
		Held bool `json:"held"`
	}
	log := slog.New(engine.CaptureNodeLogs(slog.DiscardHandler))
	hold := plugins.Func("hold", "Waits for the test when hold is set.", func(ctx context.Context, in holdIn) (holdOut, error) {
		log.InfoContext(ctx, "the gate is open", "hold", in.Hold)
		if in.Hold {
			select {
			case <-fx.release:
			case <-ctx.Done():
				return holdOut{}, ctx.Err()
			}
		}
		return holdOut{Held: in.Hold}, nil
	})
	require.NoError(t, fx.engine.Register("test", hold))
	path := filepath.Join(t.TempDir(), "greet.cue")
	require.NoError(t, os.WriteFile(path, []byte(greetFlow), 0o644))
	fx.flow, err = fx.engine.Load(context.Background(), path)
	require.NoError(t, err)

	opts.Store = fx.store
	if opts.Load == nil {
		opts.Load = fx.engine.Parse
	}
	h, err := inspect.New(opts)
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	fx.url = srv.URL + "/"
	return fx
}

// batch starts a batch of greetFlow over the JSONL lines, one line at a
// time, and returns it running.
func (fx *fixture) batch(t *testing.T, id string, lines ...string) *record.Batch {
	t.Helper()
	src := engine.JSONL(strings.NewReader(strings.Join(lines, "\n") + "\n"))
	b, err := fx.store.StartBatch(context.Background(), fx.flow, src, record.Meta{ID: id, Data: "people.jsonl"}, engine.BatchOptions{Concurrency: 1})
	require.NoError(t, err)
	return b
}

// finished runs a batch to its end.
func (fx *fixture) finished(t *testing.T, id string, lines ...string) {
	t.Helper()
	_, _ = fx.batch(t, id, lines...).Wait(nil)
}

// people are the lines of a batch: Grace's wait is not a duration, so
// her line fails at nap, after gate and before greet.
var people = []string{
	`{"name":"Ada"}`,
	`{"name":"Grace","wait":"soon"}`,
	`{"name":"Alan"}`,
}
