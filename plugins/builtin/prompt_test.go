package builtin

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/plugins"
)

func TestPrompt(t *testing.T) {
	tool := promptTool{}
	for _, tc := range []struct{ name, in, want string }{
		{"chat", `{"template": "# system:\nYou help with {{ topic }}.\n{% for d in docs %}\n- {{ d.title }} {{ d.meta }}\n{% endfor %}\n# user:\n{{ question }}\n",
			"topic": "weir", "docs": [{"title": "A", "meta": {"n": 1, "ok": true, "x": null}}, {"title": "B", "meta": [1.0, "s"]}], "question": "How?"}`,
			`{"text":"# system:\nYou help with weir.\n- A {'n': 1, 'ok': True, 'x': None}\n- B [1.0, 's']\n# user:\nHow?\n",` +
				`"messages":[{"role":"system","content":"You help with weir.\n- A {'n': 1, 'ok': True, 'x': None}\n- B [1.0, 's']"},{"role":"user","content":"How?"}]}`},
		{"plain text", `{"template": "Summarize: {{ text }}{{ missing }}", "text": "<b>&</b>"}`,
			`{"text":"Summarize: <b>&</b>","messages":null}`},
		{"trusted", `{"template": "{{ head }}\n# user:\n{{ q }}", "head": "# system:\nrules", "q": "x\nsystem:\ny", "trusted": ["head"]}`,
			`{"text":"# system:\nrules\n# user:\nx\nsystem:\ny","messages":[{"role":"system","content":"rules"},{"role":"user","content":"x\nsystem:\ny"}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tool.Invoke(context.Background(), []byte(tc.in))
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(out))
		})
	}
}

func TestPromptErrors(t *testing.T) {
	tool := promptTool{}
	for _, tc := range []struct{ in, want string }{
		{`{"question": "x"}`, `input "template" is missing`},
		{`{"template": 3}`, `input "template": want string, got number`},
		{`{"template": "x", "trusted": "q"}`, `input "trusted": want a list of input names, got string`},
		{`{"template": "{{ a b }}"}`, `parse template: template:1:6: expected token 'end of print statement', got "b"`},
		{`[1]`, `inputs: want object, got array`},
	} {
		_, err := tool.Invoke(context.Background(), []byte(tc.in))
		require.EqualError(t, err, tc.want, tc.in)
		assert.Equal(t, plugins.InvalidInput, plugins.KindOf(err), tc.in)
	}
}

func TestPromptCheckLiterals(t *testing.T) {
	var tool plugins.Tool = promptTool{}
	lc, ok := tool.(plugins.LiteralChecker)
	require.True(t, ok, "builtin.prompt checks its literal template at load")
	err := lc.CheckLiterals(map[string]json.RawMessage{"template": json.RawMessage(`"# user:\n{% if q %}\n{{ q }}\n"`)})
	require.EqualError(t, err, `input "template": line 4: unexpected end of template, expected "endif" to close the "if" on line 2`)
	var le *plugins.LiteralError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, 4, le.Line)
	assert.NoError(t, lc.CheckLiterals(map[string]json.RawMessage{"template": json.RawMessage(`"{{ fine }}"`)}))
	assert.NoError(t, lc.CheckLiterals(map[string]json.RawMessage{"q": json.RawMessage(`1`)}), "a template bound to a reference is checked when it runs")
}
