package builtin

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/plugins"
)

func TestTemplate(t *testing.T) {
	tool := toolNamed(t, "template", plugins.Grants{})
	for _, tc := range []struct{ name, in, want string }{
		{"field", `{"template":"Hello {{.name}}!","name":"Ada"}`, `{"text":"Hello Ada!"}`},
		{"literal", `{"template":"no data"}`, `{"text":"no data"}`},
		{"nested", `{"template":"{{.user.name}} is {{index .tags 1}}","user":{"name":"Ada"},"tags":["a","b"]}`, `{"text":"Ada is b"}`},
		{"numbers print exactly", `{"template":"{{.n}} {{.f}} {{.big}}","n":1000000,"f":1.5,"big":1e30}`, `{"text":"1000000 1.5 1e+30"}`},
		{"numbers compare", `{"template":"{{if gt .n 3}}big{{end}} {{if lt .f 2.0}}small{{end}}","n":4,"f":1.5}`, `{"text":"big small"}`},
		{"html stays", `{"template":"<b>{{.s}}</b>","s":"a & b"}`, `{"text":"<b>a & b</b>"}`},
		{"escapes", `{"template":"{{.s}}\n\"q\"","s":"tab\t"}`, `{"text":"tab\t\n\"q\""}`},
		{"upper lower trim", `{"template":"{{upper .a}} {{lower .b}} [{{trim .c}}]","a":"ab","b":"CD","c":"  e  "}`, `{"text":"AB cd [e]"}`},
		{"upper number", `{"template":"{{upper .n}}","n":7}`, `{"text":"7"}`},
		{"join", `{"template":"{{join .l \", \"}}","l":["a",1,true,null]}`, `{"text":"a, 1, true, "}`},
		{"join null", `{"template":"[{{join .l \"-\"}}]","l":null}`, `{"text":"[]"}`},
		{"replace", `{"template":"{{replace .s \"o\" \"0\"}}","s":"foo"}`, `{"text":"f00"}`},
		{"json", `{"template":"{{json .v}}","v":{"b":[1,2.5],"a":"<x>"}}`, `{"text":"{\"a\":\"<x>\",\"b\":[1,2.5]}"}`},
		{"default null", `{"template":"{{default \"none\" .v}}","v":null}`, `{"text":"none"}`},
		{"default empty", `{"template":"{{.v | default \"none\"}}","v":""}`, `{"text":"none"}`},
		{"default empty list", `{"template":"{{default \"none\" .v}}","v":[]}`, `{"text":"none"}`},
		{"default keeps zero", `{"template":"{{default 9 .v}} {{default true .b}}","v":0,"b":false}`, `{"text":"0 false"}`},
		{"default value", `{"template":"{{.v | default \"none\"}}","v":"x"}`, `{"text":"x"}`},
		{"default missing via index", `{"template":"{{default \"none\" (index . \"v\")}}"}`, `{"text":"none"}`},
		{"template is not data", `{"template":"{{len .}}","a":1}`, `{"text":"1"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := call(t, tool, tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.want, out)
		})
	}
}

func TestTemplateErrors(t *testing.T) {
	tool := toolNamed(t, "template", plugins.Grants{})
	for _, tc := range []struct{ name, in, want string }{
		{"missing key", `{"template":"Hi {{.name}}"}`,
			`template: template:1:5: executing "template" at <.name>: map has no entry for key "name"`},
		{"missing nested key", `{"template":"{{.u.x}}","u":{}}`,
			`template: template:1:4: executing "template" at <.u.x>: map has no entry for key "x"`},
		{"parse", `{"template":"Hi {{.name"}`,
			`template: template:1: unclosed action`},
		{"unknown function", `{"template":"{{shout .x}}"}`,
			`template: template:1: function "shout" not defined`},
		{"join non-list", `{"template":"{{join .s \",\"}}","s":"x"}`,
			`template: template:1:2: executing "template" at <join .s ",">: error calling join: join: want a list, got string`},
		{"no template", `{"name":"x"}`, `input "template" is missing`},
		{"template not a string", `{"template":3}`, `input "template": want string, got number`},
		{"template null", `{"template":null}`, `input "template": want string, got null`},
		{"inputs not an object", `[1]`, `inputs: want object, got array`},
		{"bad JSON", `{"template":`, `decode inputs: unexpected end of JSON input`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := call(t, tool, tc.in)
			require.EqualError(t, err, tc.want)
			assert.Equal(t, plugins.InvalidInput, plugins.KindOf(err))
		})
	}
}

func TestTemplateCache(t *testing.T) {
	tt := &templateTool{}
	tool := tt.tool()

	out, err := call(t, tool, `{"template":"{{.a}}","a":1}`)
	require.NoError(t, err)
	assert.Equal(t, `{"text":"1"}`, out)
	first, ok := tt.cache.m.Load("{{.a}}")
	require.True(t, ok, "a parsed template is kept")
	_, err = call(t, tool, `{"template":"{{.a}}","a":2}`)
	require.NoError(t, err)
	again, _ := tt.cache.m.Load("{{.a}}")
	assert.Same(t, first, again, "and reused")

	_, err = call(t, tool, `{"template":"{{"}`)
	require.Error(t, err)
	_, ok = tt.cache.m.Load("{{")
	assert.False(t, ok, "parse errors are not kept")

	for i := range 3 * maxCachedTemplates {
		_, err := call(t, tool, fmt.Sprintf(`{"template":"%d {{.a}}","a":1}`, i))
		require.NoError(t, err)
	}
	assert.LessOrEqual(t, cached(tt), maxCachedTemplates, "the cache is bounded")
}

// Many goroutines render a mix of shared and distinct templates, enough to
// empty the cache while others read it; every result must still be right.
func TestTemplateCacheConcurrent(t *testing.T) {
	tt := &templateTool{}
	tool := tt.tool()
	workers, perWorker := 16, 200
	if testing.Short() {
		workers, perWorker = 4, 50
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			<-start
			for i := range perWorker {
				src := "shared {{upper .v}}"
				want := fmt.Sprintf(`{"text":"shared W%dI%d"}`, w, i)
				if i%2 == 1 {
					src = fmt.Sprintf("own %d-%d {{.v}}", w, i)
					want = fmt.Sprintf(`{"text":"own %d-%d w%di%d"}`, w, i, w, i)
				}
				out, err := tool.Invoke(t.Context(), fmt.Appendf(nil, `{"template":%q,"v":"w%di%d"}`, src, w, i))
				if !assert.NoError(t, err) || !assert.Equal(t, want, string(out)) {
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	assert.LessOrEqual(t, cached(tt), maxCachedTemplates+workers)
}

func cached(tt *templateTool) int {
	n := 0
	tt.cache.m.Range(func(any, any) bool { n++; return true })
	return n
}

func BenchmarkTemplate(b *testing.B) {
	tool := (&templateTool{}).tool()
	in := []byte(`{"template":"Hello {{.name}}, you are {{.age}}.","name":"Ada","age":36}`)
	for b.Loop() {
		if _, err := tool.Invoke(b.Context(), in); err != nil {
			b.Fatal(err)
		}
	}
}
