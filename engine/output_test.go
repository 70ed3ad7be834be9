package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/plugins"
)

// rawTool returns whatever bytes it was made with, as a misbehaving plugin
// of any kind could: the engine sees only a plugins.Tool.
type rawTool struct {
	out []byte
	err error
}

func (t *rawTool) Contract() plugins.Contract {
	return plugins.Contract{Name: "raw", Inputs: json.RawMessage(`{"type":"object"}`), Outputs: json.RawMessage(`{"type":"object"}`)}
}

func (t *rawTool) Invoke(context.Context, []byte) ([]byte, error) { return t.out, t.err }

const rawFlow = `
name: "raw"
nodes: n: tool: "bad.raw"
outputs: out: "${n.output}"
`

func runRaw(t testing.TB, tool *rawTool) (*engine.Result, error) {
	t.Helper()
	e, err := weir.New(engine.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	require.NoError(t, e.Register("bad", tool))
	f, err := e.Parse(context.Background(), "raw.cue", []byte(rawFlow))
	require.NoError(t, err)
	return f.Run(context.Background(), map[string]any{})
}

// Whatever a tool returns, a run either fails naming the node, the tool and
// the byte, or its outputs are valid JSON that anything downstream can use.
func TestToolOutputsAreChecked(t *testing.T) {
	cases := map[string]string{
		`{"a":"x` + "\x00" + `"}`: `node "n" (tool bad.raw, plugin bad): invalid output: control character 0x00 in a string at byte 7`,
		`{"a":` + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + `}`: `node "n" (tool bad.raw, plugin bad): invalid output: JSON nested deeper than 1000 at byte 1004`,
		`{"a":"` + "\xff" + `"}`: `node "n" (tool bad.raw, plugin bad): invalid output: invalid UTF-8 in a string at byte 6`,
		`{"a":1} x`:              `node "n" (tool bad.raw, plugin bad): invalid output: data after the JSON object at byte 8`,
		`[1]`:                    `node "n" (tool bad.raw, plugin bad): invalid output: output starts with '[', not a JSON object at byte 0`,
		``:                       `node "n" (tool bad.raw, plugin bad): invalid output: empty output, not a JSON object at byte 0`,
	}
	for out, want := range cases {
		res, err := runRaw(t, &rawTool{out: []byte(out)})
		assert.EqualError(t, err, want)
		var ne *engine.NodeError
		require.True(t, errors.As(err, &ne))
		require.NotNil(t, res)
		assert.Equal(t, engine.Failed, res.Nodes[0].Status)
	}
}

// A tool's error message is bounded and escaped, whatever the plugin kind.
func TestToolErrorsAreBoundedAndInert(t *testing.T) {
	_, err := runRaw(t, &rawTool{err: errors.New("line one\nlevel=ERROR forged \x1b[2J" + strings.Repeat("x", 10_000))})
	require.Error(t, err)
	msg := err.Error()
	assert.True(t, strings.HasPrefix(msg, `node "n" (tool bad.raw, plugin bad): line one\nlevel=ERROR forged \x1b[2Jxxx`), msg[:80])
	assert.True(t, strings.HasSuffix(msg, "xxx… (1840 bytes more)"), msg[len(msg)-40:])
	assert.NotContains(t, msg, "\x1b", "no terminal escape")
	assert.NotContains(t, msg, "\n", "one line")
}

func FuzzToolOutput(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,{"b":null}]}`, `{"a":"\u0000"}`, "{\"a\":\"\x00\"}", `{"a":1}}`, `{"a":1e999}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, out []byte) {
		res, err := runRaw(t, &rawTool{out: out})
		if err != nil {
			var ne *engine.NodeError
			require.True(t, errors.As(err, &ne), "%v", err)
			assert.Contains(t, err.Error(), "invalid output: ")
			return
		}
		require.True(t, json.Valid(res.Outputs), "outputs %q", res.Outputs)
		_, err = json.Marshal(res)
		require.NoError(t, err, "the result encodes")
	})
}
