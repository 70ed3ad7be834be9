package jinja

import (
	"encoding/json"
	"testing"
)

// TestChatLists renders templates over variables given as ChatLists and as
// they are, and compares with what Python's jinja2 printed for prompt
// flow's ChatInputList (each variable passed through its
// convert_to_chat_list) and for plain values: SandboxedEnvironment(
// trim_blocks=True, keep_trailing_newline=True).
func TestChatLists(t *testing.T) {
	const hist = `[{"inputs": {"question": "Hi"}, "outputs": {"answer": "Hello!", "tags": ["a", "b"]}},
		{"inputs": {"question": "2+2?"}, "outputs": {"answer": "4", "tags": []}}]`
	cases := []struct {
		tmpl, vars  string
		chat, plain string
	}{
		{
			"{{h}}", `{"h": ` + hist + `}`,
			"{'inputs': {'question': 'Hi'}, 'outputs': {'answer': 'Hello!', 'tags': ['a', 'b']}}\n{'inputs': {'question': '2+2?'}, 'outputs': {'answer': '4', 'tags': []}}",
			"[{'inputs': {'question': 'Hi'}, 'outputs': {'answer': 'Hello!', 'tags': ['a', 'b']}}, {'inputs': {'question': '2+2?'}, 'outputs': {'answer': '4', 'tags': []}}]",
		},
		{
			"{{xs}}|{{e}}|{{n}}", `{"xs": ["a", 1, null, true, 0.5, ["x", "y"]], "e": [], "n": [[1, 2], [3]]}`,
			"a\n1\nNone\nTrue\n0.5\nx\ny||1\n2\n3",
			"['a', 1, None, True, 0.5, ['x', 'y']]|[]|[[1, 2], [3]]",
		},
		{
			"{% for i in h %}{{i.outputs.tags}};{{i.outputs}}\n{% endfor %}", `{"h": ` + hist + `}`,
			"a\nb;{'answer': 'Hello!', 'tags': ['a', 'b']}\n;{'answer': '4', 'tags': []}\n",
			"['a', 'b'];{'answer': 'Hello!', 'tags': ['a', 'b']}\n[];{'answer': '4', 'tags': []}\n",
		},
		{
			"{{xs[1:]}}|{{xs|length}}|{{xs[0]}}|{{xs ~ '!'}}|{{'b' in xs}}|{{xs == ['a', 'b', ['c']]}}|{{xs[2]}}", `{"xs": ["a", "b", ["c"]]}`,
			"['b', ['c']]|3|a|a\nb\nc!|True|True|c",
			"['b', ['c']]|3|a|['a', 'b', ['c']]!|True|True|['c']",
		},
		{
			"{{d}}|{{d.k}}|{{s}}|{{n}}", `{"d": {"k": [1, 2]}, "s": "text", "n": 3}`,
			"{'k': [1, 2]}|1\n2|text|3",
			"{'k': [1, 2]}|[1, 2]|text|3",
		},
	}
	for _, c := range cases {
		tmpl, err := Parse("t", c.tmpl)
		if err != nil {
			t.Fatal(err)
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(c.vars), &raw); err != nil {
			t.Fatal(err)
		}
		chat, plain := map[string]any{}, map[string]any{}
		for k, v := range raw {
			d, err := DecodeJSON(v)
			if err != nil {
				t.Fatal(err)
			}
			chat[k], plain[k] = ChatLists{d}, d
		}
		for _, run := range []struct {
			vars map[string]any
			want string
		}{{chat, c.chat}, {plain, c.plain}} {
			got, err := tmpl.Render(run.vars)
			if err != nil {
				t.Fatalf("%s: %v", c.tmpl, err)
			}
			if got != run.want {
				t.Errorf("%s:\n got: %q\nwant: %q", c.tmpl, got, run.want)
			}
		}
	}
}
