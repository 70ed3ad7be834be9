package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/plugins"
)

// planted is the value the tests hide: it must never show where weir writes.
const planted = "sk-planted-3f9a1c"

func TestSecretReferences(t *testing.T) {
	t.Setenv("WEIR_TEST_KEY", planted)
	e, _ := newEngine(t, engine.Options{})
	f := load(t, e, `name: "s"
secrets: key: env: "WEIR_TEST_KEY"
nodes: {
	typed:  {tool: "t.echo", inputs: value: "${secrets.key}"}
	interp: {tool: "t.echo", inputs: value: "Bearer ${secrets.key}!"}
	len:    {tool: "t.echo", inputs: value: ["${secrets.key}"]}
}
outputs: {a: "${typed.output.value}", b: "${interp.output.value}", c: "${len.output.value}"}
`)
	var seen []string
	res, err := f.RunWith(context.Background(), nil, engine.RunOptions{OnNode: func(nr engine.NodeResult) { seen = append(seen, nr.Node) }})
	require.NoError(t, err)
	// The run returns what it writes nowhere else redacted too.
	assert.Equal(t, map[string]any{"a": "***", "b": "Bearer ***!", "c": []any{"***"}}, outputs(t, res))
	assert.Len(t, seen, 3)
	assert.Equal(t, []engine.Secret{{Name: "key", SecretSource: engine.SecretSource{Env: "WEIR_TEST_KEY"}}}, f.Secrets())
}

// TestSecretReachesTool checks that a tool gets the value itself, in a
// typed reference and interpolated, while the run's errors hide it.
func TestSecretReachesTool(t *testing.T) {
	t.Setenv("WEIR_TEST_KEY", planted)
	e, _ := newEngine(t, engine.Options{})
	var got []string
	require.NoError(t, e.Register("spy", plugins.Func("see", "Keeps its value, then fails with it.", func(_ context.Context, in valueIO) (valueIO, error) {
		got = append(got, fmt.Sprint(in.Value))
		return valueIO{}, fmt.Errorf("rejected key %q", in.Value)
	})))
	f := load(t, e, `name: "s"
secrets: key: env: "WEIR_TEST_KEY"
nodes: see: {tool: "spy.see", inputs: value: "key=${secrets.key}"}
outputs: v: "${see.output}"
`)
	res, err := f.Run(context.Background(), nil)
	assert.Equal(t, []string{"key=" + planted}, got)
	require.EqualError(t, err, `node "see" (tool spy.see, plugin spy): rejected key "key=***"`)
	var ne *engine.NodeError
	require.True(t, errors.As(err, &ne))
	assert.Equal(t, `rejected key "key=***"`, node(res, "see").Error)
}

func TestSecretFile(t *testing.T) {
	dir := writeFlow(t, map[string]string{
		"flow.cue": `name: "s"
secrets: key: file: "keys/api"
nodes: a: {tool: "t.echo", inputs: value: "${secrets.key}"}
outputs: v: "${a.output.value}"
`,
	})
	require.NoError(t, writeFile(filepath.Join(dir, "keys", "api"), planted+"\n"))
	var seen []string
	e, _ := newEngine(t, engine.Options{Secrets: func(name string, src engine.SecretSource) (string, error) {
		v, err := engine.ReadSecret(name, src)
		seen = append(seen, v)
		return v, err
	}})
	f, err := e.Load(context.Background(), filepath.Join(dir, "flow.cue"))
	require.NoError(t, err)
	assert.Equal(t, []string{planted}, seen, "one trailing newline is trimmed")
	assert.Equal(t, []engine.Secret{{Name: "key", SecretSource: engine.SecretSource{File: filepath.Join(dir, "keys", "api")}}}, f.Secrets())

	// A host passes a file secret as WEIR_SECRET_<NAME>, read before the file.
	t.Setenv("WEIR_SECRET_KEY", "from-the-host")
	_, err = e.Load(context.Background(), filepath.Join(dir, "flow.cue"))
	require.NoError(t, err)
	assert.Equal(t, []string{planted, "from-the-host"}, seen)
	assert.Equal(t, "WEIR_SECRET_API_KEY", engine.SecretEnv("api-key"))
}

func TestSecretLoadErrors(t *testing.T) {
	t.Setenv("WEIR_TEST_SHORT", "abc")
	t.Setenv("WEIR_TEST_KEY", planted)
	os.Unsetenv("WEIR_TEST_UNSET")
	e, _ := newEngine(t, engine.Options{})
	for _, tc := range []struct {
		name, src string
		want      []string
	}{
		{"unknown", `name: "s"
secrets: api_key: env: "WEIR_TEST_KEY"
nodes: a: {tool: "t.echo", inputs: value: "${secrets.api_kye}"}
outputs: v: "${a.output}"
`, []string{`flow.cue:3:44: node "a": input "value": ${secrets.api_kye}: the flow has no secret "api_kye" (secrets: api_key); did you mean "api_key"?`}},
		{"none declared", `name: "s"
nodes: a: {tool: "t.echo", inputs: value: "${secrets.key}"}
outputs: v: "${a.output}"
`, []string{`flow.cue:2:44: node "a": input "value": ${secrets.key}: the flow has no secret "key" (secrets: (none)); declare it under secrets, as in secrets: key: {env: "API_KEY"}`}},
		{"whole", `name: "s"
secrets: key: env: "WEIR_TEST_KEY"
nodes: a: {tool: "t.echo", inputs: value: "${secrets}"}
outputs: v: "${a.output}"
`, []string{`flow.cue:3:44: node "a": input "value": ${secrets}: name one secret, as in ${secrets.api_key}`}},
		{"not set", `name: "s"
secrets: api_key: env: "WEIR_TEST_UNSET"
nodes: a: {tool: "t.echo", inputs: value: "${secrets.api_key}"}
outputs: v: "${a.output}"
`, []string{`flow.cue:2:10: secret "api_key": environment variable WEIR_TEST_UNSET is not set`}},
		{"no file", `name: "s"
secrets: api_key: file: "keys/openai"
nodes: a: {tool: "t.echo", inputs: value: "${secrets.api_key}"}
outputs: v: "${a.output}"
`, []string{`flow.cue:2:10: secret "api_key": read keys/openai: no such file or directory`}},
		{"short", `name: "s"
secrets: pin: env: "WEIR_TEST_SHORT"
nodes: a: {tool: "t.echo", inputs: value: "${secrets.pin}"}
outputs: v: "${a.output}"
`, []string{`flow.cue:2:10: secret "pin": environment variable WEIR_TEST_SHORT holds 3 bytes: a secret needs at least 4, or it could not be told apart from other text to hide it`}},
		{"both", `name: "s"
secrets: key: {env: "WEIR_TEST_KEY", file: "k"}
nodes: a: {tool: "t.echo", inputs: value: 1}
outputs: v: "${a.output}"
`, []string{`flow.cue:2:10: secret "key": give exactly one of env and file, as in key: {env: "API_KEY"} or key: {file: "keys/api"}`}},
		{"node named secrets", `name: "s"
nodes: secrets: {tool: "t.echo", inputs: value: 1}
outputs: v: "${secrets.output}"
`, []string{
			`flow.cue:2:8: node name "secrets" is reserved (${secrets.x} refers to the flow's secrets): rename the node`,
			`flow.cue:3:14: output "v": ${secrets.output}: the flow has no secret "output" (secrets: (none)); declare it under secrets, as in secrets: output: {env: "API_KEY"}`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFlow(t, map[string]string{"flow.cue": tc.src})
			// Relative, as users run weir from the flow's folder.
			t.Chdir(dir)
			_, err := e.Load(context.Background(), "flow.cue")
			require.Error(t, err)
			assert.Equal(t, tc.want, strings.Split(err.Error(), "\n"))
		})
	}
}

// optionsSpy is a plugin kind that keeps the options of the entries it
// opens, and whose one tool fails with its config.
type optionsSpy struct{ opened []string }

func (p *optionsSpy) Kind() string { return "builtin" }

func (p *optionsSpy) Open(_ context.Context, spec plugins.Spec) (plugins.Plugin, error) {
	p.opened = append(p.opened, string(spec.Options))
	return spyPlugin{config: string(spec.Options)}, nil
}

type spyPlugin struct{ config string }

func (s spyPlugin) Tools() []plugins.Tool {
	return []plugins.Tool{plugins.Func("config", "Fails with its plugin's options.", func(_ context.Context, _ struct{}) (valueIO, error) {
		return valueIO{}, errors.New(s.config)
	})}
}

func (spyPlugin) Close() error { return nil }

func TestSecretPluginConfig(t *testing.T) {
	t.Setenv("WEIR_TEST_KEY", planted)
	spy := &optionsSpy{}
	e, err := engine.New(engine.Options{Providers: []plugins.Provider{spy}})
	require.NoError(t, err)
	defer e.Close()
	dir := writeFlow(t, map[string]string{"flow.cue": `name: "s"
secrets: key: env: "WEIR_TEST_KEY"
plugins: p: {builtin: true, config: {api_key: "${secrets.key}", mode: "fast", lit: "$${x}"}, env: {TOKEN: "t-${secrets.key}"}}
nodes: a: {tool: "p.config"}
outputs: v: "${a.output}"
`})
	f, err := e.Load(context.Background(), filepath.Join(dir, "flow.cue"))
	require.NoError(t, err)
	require.Len(t, spy.opened, 2) // p, and the implicit builtin entry
	var opts struct {
		Config map[string]string `json:"config"`
		Env    map[string]string `json:"env"`
	}
	require.NoError(t, json.Unmarshal([]byte(spy.opened[0]), &opts))
	assert.Equal(t, map[string]string{"api_key": planted, "mode": "fast", "lit": "${x}"}, opts.Config)
	assert.Equal(t, map[string]string{"TOKEN": "t-" + planted}, opts.Env)

	_, err = f.Run(context.Background(), nil)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), planted)
	assert.Contains(t, err.Error(), `"api_key":"***"`)

	lines := loadErrors(t, e, "flow.cue", `name: "s"
inputs: x: string
secrets: key: env: "WEIR_TEST_KEY"
plugins: p: {builtin: true, config: {a: "${inputs.x}", b: "${secrets.kye}"}}
nodes: a: {tool: "p.config"}
outputs: v: "${a.output}"
`)
	assert.Equal(t, []string{
		`flow.cue:4:42: plugin "p": config "a": ${inputs.x}: a plugin entry can refer only to secrets, as ${secrets.name}`,
		`flow.cue:4:60: plugin "p": config "b": ${secrets.kye}: the flow has no secret "kye" (secrets: key); did you mean "key"?`,
	}, lines)

	// A plugin whose secret is missing is not opened without it.
	os.Unsetenv("WEIR_TEST_UNSET")
	opened := len(spy.opened)
	lines = loadErrors(t, e, "flow.cue", `name: "s"
secrets: key: env: "WEIR_TEST_UNSET"
plugins: p: {builtin: true, config: a: "${secrets.key}"}
nodes: a: {tool: "p.config"}
outputs: v: "${a.output}"
`)
	assert.Equal(t, []string{`flow.cue:2:10: secret "key": environment variable WEIR_TEST_UNSET is not set`}, lines)
	assert.Len(t, spy.opened, opened, "the entry is not opened")
}

// TestSecretPlaceholders checks that a program that only checks flows
// needs no secret: weir validate loads this way.
func TestSecretPlaceholders(t *testing.T) {
	os.Unsetenv("WEIR_TEST_UNSET")
	e, _ := newEngine(t, engine.Options{Secrets: engine.PlaceholderSecrets})
	f := load(t, e, `name: "s"
secrets: key: env: "WEIR_TEST_UNSET"
nodes: a: {tool: "t.echo", inputs: value: "${secrets.key}"}
outputs: v: "${a.output.value}"
`)
	assert.Equal(t, []engine.Secret{{Name: "key", SecretSource: engine.SecretSource{Env: "WEIR_TEST_UNSET"}}}, f.Secrets())
}

// TestSecretNotTraced runs a failing node that was given a secret with an
// in-memory exporter: no span, attribute, event or status holds it.
func TestSecretNotTraced(t *testing.T) {
	t.Setenv("WEIR_TEST_KEY", planted)
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	e, _ := newEngine(t, engine.Options{TracerProvider: tp})
	require.NoError(t, e.Register("leak", plugins.Func("say", "Fails and adds its value to its span.", func(ctx context.Context, in valueIO) (valueIO, error) {
		span := trace.SpanFromContext(ctx)
		span.SetAttributes(attribute.String("leak.value", fmt.Sprint(in.Value)))
		span.AddEvent("said "+fmt.Sprint(in.Value), trace.WithAttributes(attribute.String("leak.event", fmt.Sprint(in.Value))))
		return valueIO{}, fmt.Errorf("bad %v", in.Value)
	})))
	f := load(t, e, `name: "s"
secrets: key: env: "WEIR_TEST_KEY"
nodes: a: {tool: "leak.say", inputs: value: "${secrets.key}"}
outputs: v: "${a.output}"
`)
	_, err := f.Run(context.Background(), nil)
	require.Error(t, err)
	spans := exp.GetSpans()
	require.NotEmpty(t, spans)
	var dump strings.Builder
	for _, s := range spans {
		fmt.Fprintln(&dump, s.Name, s.Status.Description)
		for _, a := range s.Attributes {
			fmt.Fprintln(&dump, a.Key, a.Value.Emit())
		}
		for _, ev := range s.Events {
			fmt.Fprintln(&dump, ev.Name)
			for _, a := range ev.Attributes {
				fmt.Fprintln(&dump, a.Key, a.Value.Emit())
			}
		}
	}
	assert.NotContains(t, dump.String(), planted)
	assert.Contains(t, dump.String(), "said ***\nleak.event ***")
	assert.Contains(t, dump.String(), "leak.value ***")
	assert.Contains(t, dump.String(), "exception.message node \"a\" (tool leak.say, plugin leak): bad ***")
}

func TestRedactor(t *testing.T) {
	var nilRed *engine.Redactor
	assert.Equal(t, "a secret", nilRed.String("a secret"))
	r := engine.NewRedactor()
	assert.Equal(t, "nothing yet", r.String("nothing yet"))
	r.Add(`pa"ss\word`)
	r.Add("pa") // a part of another value: the longer one is replaced whole
	for in, want := range map[string]string{
		`raw pa"ss\word.`:       `raw ***.`,
		`{"k":"pa\"ss\\word"}`:  `{"k":"***"}`,
		`quoted "pa\"ss\\word"`: `quoted "***"`,
		`pa and pa`:             `*** and ***`,
	} {
		assert.Equal(t, want, r.String(in), in)
		assert.Equal(t, want, string(r.Bytes([]byte(in))), in)
	}
	clean := []byte("clean")
	assert.Same(t, &clean[0], &r.Bytes(clean)[0], "a text without secrets is not copied")

	err := r.Error(fmt.Errorf("wrap: %w", context.Canceled))
	assert.True(t, errors.Is(err, context.Canceled))
	err = r.Error(fmt.Errorf("key pa: %w", context.Canceled))
	assert.EqualError(t, err, "key ***: context canceled")
	assert.True(t, errors.Is(err, context.Canceled))

	var buf bytes.Buffer
	log := slog.New(r.Handler(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}})))
	log.With("pre", "pa").Info("said pa", "v", "x pa", "err", errors.New("e pa"), slog.Group("g", "in", "pa"), "n", 3)
	assert.Equal(t, `level=INFO msg="said ***" pre=*** v="x ***" err="e ***" g.in=*** n=3`+"\n", buf.String())
}

// TestSecretNotStreamed streams a tool's text that holds a secret cut
// between chunks: the chunks the run hands out hide it, and still add up
// to the redacted output.
func TestSecretNotStreamed(t *testing.T) {
	t.Setenv("WEIR_TEST_KEY", planted)
	e, _ := newEngine(t, engine.Options{})
	require.NoError(t, e.Register("s", streamTool{plugins.Func("chat", "Streams its text in pieces.", func(ctx context.Context, in textIO) (textIO, error) {
		emit := plugins.StreamTo(ctx)
		for _, piece := range []string{"key: ", in.Text[:5], in.Text[5:9], in.Text[9:] + " and ", "on"} {
			emit(piece)
		}
		return textIO{Text: "key: " + in.Text + " and on"}, nil
	})}))
	f := load(t, e, `name: "s"
secrets: key: env: "WEIR_TEST_KEY"
nodes: n: {tool: "s.chat", inputs: text: "${secrets.key}"}
outputs: text: "${n.output.text}"
`)
	var chunks []string
	res, err := f.RunWith(context.Background(), nil, engine.RunOptions{Stream: func(_, c string) { chunks = append(chunks, c) }})
	require.NoError(t, err)
	assert.Equal(t, "key: *** and on", strings.Join(chunks, ""))
	for _, c := range chunks {
		assert.NotContains(t, c, planted[:5])
	}
	assert.Equal(t, map[string]any{"text": "key: *** and on"}, outputs(t, res))
}

// TestSecretNotCached runs a cached node twice whose outputs hold a
// secret's value: they are not written to the cache, and one that
// transforms its secret input is.
func TestSecretNotCached(t *testing.T) {
	t.Setenv("WEIR_TEST_KEY", planted)
	e, tt, store, _ := cachedEngine(t, engine.Options{})
	f := load(t, e, `name: "c"
secrets: key: env: "WEIR_TEST_KEY"
nodes: {
	echo: {tool: "t.echo", inputs: value: "${secrets.key}", cache: true}
	len:  {tool: "t.echo", inputs: value: 17, cache: true}
}
outputs: {v: "${echo.output.value}", n: "${len.output.value}"}
`)
	for range 2 {
		_, err := f.Run(context.Background(), nil)
		require.NoError(t, err)
	}
	assert.Equal(t, 3, tt.count("echo"), "the secret's echo ran twice, the other once")
	assert.Equal(t, 1, entries(t, store), "only the output without the secret")
}
