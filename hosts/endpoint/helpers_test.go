package endpoint_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts/endpoint"
	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/builtin"
)

// Flows the tests deploy: builtin tools and the fixture's own.
const (
	helloFlow = `name: "hello"
description: "Greets someone."
inputs: name: string & !=""
nodes: greet: {
	tool: "builtin.template"
	inputs: {template: "Hello, {{.name}}!", name: "${inputs.name}"}
}
outputs: message: "${greet.output.text}"
`
	typedFlow = `name: "typed"
inputs: {
	n: int
	s: string
}
nodes: echo: {
	tool: "builtin.json"
	inputs: value: {n: "${inputs.n}", s: "${inputs.s}"}
}
outputs: {
	n: "${echo.output.value.n}"
	s: "${echo.output.value.s}"
}
`
	// gated runs node first, then holds node held in the fixture's gate.
	gatedFlow = `name: "gated"
nodes: {
	first: {tool: "builtin.json", inputs: value: 1}
	held: {tool: "t.gate", inputs: after: "${first.output.value}"}
}
outputs: v: "${held.output.v}"
`
	// sleepyFlow sleeps for an hour, so a deadline always ends it.
	sleepyFlow = `name: "sleepy"
nodes: {
	quick: {tool: "builtin.json", inputs: value: 1}
	nap: {tool: "builtin.sleep", inputs: {duration: "1h", value: "${quick.output.value}"}}
}
outputs: v: "${nap.output.value}"
`
)

// fixture is a server on a loopback port, with an engine whose plugin "t"
// has tools the test controls.
type fixture struct {
	opts endpoint.Options
	e    *engine.Engine
	s    *endpoint.Server
	url  string
	// gate: each t.gate call sends on entered, then returns when release
	// closes, or fails when its context ends, sending the cause on
	// canceled.
	entered  chan struct{}
	release  chan struct{}
	canceled chan error
}

type gateIn struct {
	After any `json:"after,omitempty"`
}

type gateOut struct {
	V string `json:"v"`
}

func newFixture(t testing.TB, opts endpoint.Options, eopts engine.Options) *fixture {
	t.Helper()
	eopts.Providers = []plugins.Provider{builtin.NewProvider()}
	e, err := engine.New(eopts)
	require.NoError(t, err)
	fx := &fixture{
		e:        e,
		entered:  make(chan struct{}, 64),
		release:  make(chan struct{}),
		canceled: make(chan error, 64),
	}
	require.NoError(t, e.Register("t", plugins.Func("gate", "Waits for the test.", func(ctx context.Context, _ gateIn) (gateOut, error) {
		fx.entered <- struct{}{}
		select {
		case <-fx.release:
			return gateOut{V: "released"}, nil
		case <-ctx.Done():
			fx.canceled <- context.Cause(ctx)
			return gateOut{}, ctx.Err()
		}
	})))
	opts.Engine = e
	if opts.Logger == nil {
		opts.Logger = discard
	}
	fx.opts = opts
	fx.s, err = endpoint.New(opts)
	require.NoError(t, err)
	hs := httptest.NewServer(fx.s.Handler())
	fx.url = hs.URL
	t.Cleanup(func() {
		hs.Close()
		require.NoError(t, fx.s.Close())
		require.NoError(t, e.Close())
	})
	return fx
}

// deploy loads a flow from source and deploys it as version.
func (fx *fixture) deploy(t testing.TB, version, src string) *engine.Flow {
	t.Helper()
	f, err := fx.e.Parse(context.Background(), "flow.cue", []byte(src))
	require.NoError(t, err)
	require.NoError(t, fx.s.Deploy(context.Background(), version, f))
	return f
}

// answer is what the server said.
type answer struct {
	status int
	header http.Header
	body   string
}

// do sends a request with headers given as "Name: value".
func do(t *testing.T, method, url, body string, headers ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ": ")
		req.Header.Set(name, value)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

// errorBody is the body of an error answer.
func errorBody(code, message string) string {
	return `{"error":{"code":"` + code + `","message":` + quote(message) + "}}\n"
}

// scoreError is the body of an error answer of /score, in prompt flow's
// words: outer is "UserError" or "SystemError", code weir's own.
func scoreError(outer, code, message string) string {
	return `{"error":{"code":"` + outer + `","message":` + quote(message) + `,"innerError":{"code":"` + code + `"}}}` + "\n"
}

func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
