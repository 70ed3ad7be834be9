package jinja

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

func render(t *testing.T, src string, vars map[string]any) string {
	t.Helper()
	tmpl, err := Parse("t", src)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	out, err := tmpl.Render(vars)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return out
}

// The texts a flow author reads when a template is wrong.
func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		src, err string
	}{
		{"line\n{% if x %}\nno end\n", `prompt:4:1: unexpected end of template, expected "endif" to close the "if" on line 2`},
		{"{% for x in xs %}{% else %}", `prompt:1:28: unexpected end of template, expected "endfor" to close the "for" on line 1`},
		{"{% for x in xs %}\n{{ x }}\n{% endfro %}", `prompt:3:4: encountered unknown tag "endfro", expected "endfor" to close the "for" on line 1`},
		{"a {{ x \n", "prompt:2:1: unexpected end of template, expected end of print statement"},
		{"a {# never closed", "prompt:1:3: missing end of comment tag"},
		{"{% endif %}", `prompt:1:4: encountered unknown tag "endif": no block is open that it could close`},
		{"{% macro m() %}{% endmacro %}", `prompt:1:4: encountered unknown tag "macro"; supported: if, for, set, raw`},
		{"\n  {{ x|nosuch }}", `prompt:2:8: no filter named "nosuch"`},
		{"{{ x is nosuch }}", `prompt:1:9: no test named "nosuch"`},
		{"{{ (1 + }}", "prompt:1:9: unexpected '}', expected ')'"},
		{"{{ 1 + }}", "prompt:1:8: unexpected end of print statement"},
		{"{{ a b }}", `prompt:1:6: expected token 'end of print statement', got "b"`},
		{"{{ x $ }}", `prompt:1:6: unexpected char '$'`},
		{"{% set x %}", "prompt:1:10: block assignments ({% set x %}...{% endset %}) are not supported"},
		{"{{ 'abc }}", `prompt:1:4: unexpected char '\''`},
		{"{{ " + strings.Repeat("(", 200) + "1" + strings.Repeat(")", 200) + " }}", "prompt:1:54: template nests deeper than 100 levels"},
	} {
		_, err := Parse("prompt", tc.src)
		if err == nil || err.Error() != tc.err {
			t.Errorf("Parse(%q) = %v, want %s", tc.src, err, tc.err)
		}
	}
}

func TestRenderErrors(t *testing.T) {
	for _, tc := range []struct {
		src  string
		vars map[string]any
		err  string
	}{
		{"\n{{ user.name }}", nil, "prompt:2:4: 'user' is undefined"},
		{"{{ d.a.b }}", map[string]any{"d": map[string]any{}}, "prompt:1:4: 'dict object' has no attribute 'a'"},
		{"{{ 1 + 'a' }}", nil, "prompt:1:4: unsupported operand type(s) for +: 'int' and 'str'"},
		{"{{ n / 0 }}", map[string]any{"n": 1}, "prompt:1:4: division by zero"},
		{"{% for x in n %}{% endfor %}", map[string]any{"n": nil}, "prompt:1:13: 'NoneType' object is not iterable"},
		{"{{ x|tojson }}", nil, "prompt:1:4: filter tojson: object of type Undefined is not JSON serializable"},
		{"{{ range(100001)|length }}", nil, "prompt:1:4: range passes 100000 items: limit exceeded"},
		{"{{ f() }}", nil, "prompt:1:4: 'f' is undefined"},
		{"{{ s() }}", map[string]any{"s": "x"}, "prompt:1:4: 'str' object is not callable"},
	} {
		tmpl, err := Parse("prompt", tc.src)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.src, err)
		}
		_, err = tmpl.Render(tc.vars)
		if err == nil || err.Error() != tc.err {
			t.Errorf("Render(%q) = %v, want %s", tc.src, err, tc.err)
		}
	}
}

func TestLimits(t *testing.T) {
	tmpl, err := Parse("big", "{% for i in range(1000) %}{% for j in range(1000) %}{{ s }}{% endfor %}{% endfor %}")
	if err != nil {
		t.Fatal(err)
	}
	tmpl.Limits = Limits{MaxOutput: 1 << 20, MaxIterations: 5000}
	_, err = tmpl.Render(map[string]any{"s": ""})
	if want := "big:1:30: render: loops pass 5000 iterations: limit exceeded"; err == nil || err.Error() != want {
		t.Errorf("iterations: got %v, want %s", err, want)
	}
	if !errors.Is(err, ErrLimit) {
		t.Errorf("iterations: %v does not wrap ErrLimit", err)
	}
	_, err = tmpl.Render(map[string]any{"s": strings.Repeat("x", 1000)})
	if want := "big:1:56: render: output passes 1048576 bytes: limit exceeded"; err == nil || err.Error() != want {
		t.Errorf("output: got %v, want %s", err, want)
	}
	if !errors.Is(err, ErrLimit) {
		t.Errorf("output: %v does not wrap ErrLimit", err)
	}
	tmpl, _ = Parse("big", "{{ 'x' * 100000000 }}")
	if _, err := tmpl.Render(nil); !errors.Is(err, ErrLimit) {
		t.Errorf("repeat: got %v, want a limit error", err)
	}
	for _, src := range []string{
		"{% set a = 'x' * 4000000 %}{% set b = a ~ a %}{% set c = b ~ b %}",
		"{% set a = 'x' * 4000000 %}{% set b = a + a %}",
		"{% set a = ['x' * 4000000] * 2 %}{{ a|join }}",
		"{{ ('x' * 4000000)|replace('x', 'yy') }}",
	} {
		tmpl, _ = Parse("big", src)
		if _, err := tmpl.Render(nil); !errors.Is(err, ErrLimit) {
			t.Errorf("%s: got %v, want a limit error", src, err)
		}
	}
	tmpl, _ = Parse("big", "{{ 2 ** 100000 }}")
	if _, err := tmpl.Render(nil); !errors.Is(err, ErrLimit) {
		t.Errorf("power: got %v, want a limit error", err)
	}
}

// Values that Go callers pass without DecodeJSON still print as Python
// would; a map's keys come out sorted, having no order of their own.
func TestGoValues(t *testing.T) {
	got := render(t, "{{ m }} {{ i }} {{ f }} {{ ss }} {{ n }}", map[string]any{
		"m": map[string]any{"b": 1, "a": []any{true, nil}}, "i": 3, "f": 2.0, "ss": []string{"x"}, "n": nil,
	})
	if want := "{'a': [True, None], 'b': 1} 3 2.0 ['x'] None"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// A Template renders from many goroutines at once.
func TestConcurrentRender(t *testing.T) {
	tmpl, err := Parse("t", "{% for x in xs %}{{ loop.index }}{{ x }}{% set y = x %}{% endfor %}")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				out, err := tmpl.Render(map[string]any{"xs": []any{int64(i), "a"}})
				if err != nil || out != "1"+str(int64(i))+"2a" {
					t.Errorf("render: %q, %v", out, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// FuzzRender parses and renders arbitrary templates: it must never panic,
// and every failure must be an *Error with a position.
func FuzzRender(f *testing.F) {
	for _, seed := range []string{
		"{% for k, v in d.items() if v %}{{ loop.index }}{{ k|upper }}{% else %}none{% endfor %}",
		"{%- if a is defined and a.b[0] not in [1, 'x'] -%}{{ a ~ 1 }}{% elif x %}{% else %}}}{% endif %}",
		"{% set a, b = (1, 2.5e3) %}{{ [a, b]|tojson }}{{ {'k': none}|string }}{# c #}{% raw %}{{{% endraw %}",
		"{{ s[1:-1:2] }}{{ 'x' * 3 if 0x1f > 1_0 else -2 ** 3 // 2 % 3 }}{{ d.get('a', range(3)) }}",
	} {
		f.Add(seed)
	}
	vars := map[string]any{"d": map[string]any{"a": []any{int64(1), "x", nil}}, "s": "héllo", "a": map[string]any{"b": []any{2.5}}}
	f.Fuzz(func(t *testing.T, src string) {
		tmpl, err := Parse("f", src)
		var te *Error
		if err != nil {
			if !errors.As(err, &te) || te.Line < 1 {
				t.Fatalf("Parse error %v is not an *Error with a line", err)
			}
			return
		}
		tmpl.Limits = Limits{MaxOutput: 1 << 16, MaxIterations: 10000}
		if _, err := tmpl.Render(vars); err != nil && (!errors.As(err, &te) || te.Line < 1) {
			t.Fatalf("Render error %v is not an *Error with a line", err)
		}
	})
}

func TestEvalLiteral(t *testing.T) {
	v, err := EvalLiteral(`[{'id': 'call_1', 'type': 'function', 'function': {'name': 'f', 'arguments': '{"a": 1}'}}, (1, -2.5, True, None)]`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := MarshalJSON(v)
	if err != nil {
		t.Fatal(err)
	}
	if want := `[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\": 1}"}},[1,-2.5,true,null]]`; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
	for src, want := range map[string]string{
		"[x]":           "read literal: not a literal",
		"[1] + [2]":     "read literal: not a literal",
		"range(10)":     "read literal: not a literal",
		"[1, 2":         "read literal: unexpected end, expected ']'",
		"{'a': 1} junk": `read literal: expected token 'end of template', got "junk"`,
	} {
		if _, err := EvalLiteral(src); err == nil || err.Error() != want {
			t.Errorf("EvalLiteral(%q) = %v, want %s", src, err, want)
		}
	}
}
