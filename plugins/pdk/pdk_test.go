package pdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/plugins"
)

// fakeHost records what the guest sends and answers config_get and
// http_request by the ABI's buffer protocol.
type fakeHost struct {
	logs     []string
	errors   []string
	config   map[string]string
	response string // http_request's reply
	requests []string
	configN  int // config_get calls
	// grow makes every reply this much longer than the last, as a broken
	// host would.
	grow int
}

func (h *fakeHost) log(level Level, msg string) {
	h.logs = append(h.logs, level.String()+": "+msg)
}

func (h *fakeHost) error(payload []byte) { h.errors = append(h.errors, string(payload)) }

func (h *fakeHost) configGet(key string, buf []byte) int32 {
	h.configN++
	v, ok := h.config[key]
	if !ok {
		return -1
	}
	v += strings.Repeat("+", h.grow*h.configN)
	copy(buf, v) // a partial write must not matter
	return int32(len(v))
}

func (h *fakeHost) httpRequest(req, buf []byte) int32 {
	h.requests = append(h.requests, string(req))
	if len(h.response) <= len(buf) {
		copy(buf, h.response)
	}
	return int32(len(h.response))
}

type textIO struct {
	Text string `json:"text"`
}

type timesIn struct {
	Text  string `json:"text"`
	Times int    `json:"times,omitempty"`
}

// testRegistry has typed and raw tools that succeed, fail and panic.
func testRegistry(t testing.TB) (*registry, *fakeHost) {
	t.Helper()
	h := &fakeHost{}
	r := newRegistry(h)
	addTool(r, "upper", "Upper-cases text.", func(in timesIn) (textIO, error) {
		return textIO{Text: strings.Repeat(strings.ToUpper(in.Text), max(in.Times, 1))}, nil
	})
	addTool(r, "fail", "", func(in textIO) (textIO, error) {
		switch in.Text {
		case "retry":
			return textIO{}, plugins.Errorf(plugins.Retryable, "upstream busy: %w", errors.New("503"))
		case "deadline":
			return textIO{}, fmt.Errorf("fetch: %w", context.DeadlineExceeded)
		case "limit":
			return textIO{}, plugins.Errorf(plugins.Limit, "too big")
		case "odd":
			return textIO{}, &plugins.Error{Kind: 42, Err: errors.New("odd kind")}
		case "panic-error":
			panic(errors.New("boom"))
		}
		panic("at the \"disco\"\n")
	})
	addTool(r, "any", "", func(in map[string]any) (json.RawMessage, error) {
		if s, ok := in["raw"].(string); ok {
			return json.RawMessage(s), nil
		}
		return nil, nil
	})
	r.addRawTool(plugins.Contract{Name: "echo"}, func(in []byte) ([]byte, error) { return in, nil })
	r.addRawTool(plugins.Contract{Name: "none"}, func([]byte) ([]byte, error) { return nil, nil })
	return r, h
}

func TestDescribe(t *testing.T) {
	r, _ := testRegistry(t)
	want := `{"abi":"weir-abi-1","tools":[` +
		`{"name":"upper","description":"Upper-cases text.","inputs":{"type":"object","properties":{"text":{"type":"string"},"times":{"type":"integer"}},"required":["text"],"additionalProperties":false},"outputs":{"type":"object","properties":{"text":{"type":"string"}},"required":["text"],"additionalProperties":false}},` +
		`{"name":"fail","inputs":{"type":"object","properties":{"text":{"type":"string"}},"required":["text"],"additionalProperties":false},"outputs":{"type":"object","properties":{"text":{"type":"string"}},"required":["text"],"additionalProperties":false}},` +
		`{"name":"any","inputs":{"type":"object"},"outputs":{"type":"object"}},` +
		`{"name":"echo","inputs":{"type":"object"},"outputs":{"type":"object"}},` +
		`{"name":"none","inputs":{"type":"object"},"outputs":{"type":"object"}}]}`
	d := r.describe()
	assert.Equal(t, want, string(d))
	assert.Same(t, &d[0], &r.describe()[0], "built once")

	r.addRawTool(plugins.Contract{Name: "late", Inputs: json.RawMessage(`{"type":"object","properties":{"a":{"type":"string"}}}`)},
		func([]byte) ([]byte, error) { return nil, nil })
	assert.Contains(t, string(r.describe()), `{"name":"late","inputs":{"type":"object","properties":{"a":{"type":"string"}}},"outputs":{"type":"object"}}]}`)
}

func TestRegisterPanics(t *testing.T) {
	r := newRegistry(&fakeHost{})
	addTool(r, "taken", "", func(textIO) (textIO, error) { return textIO{}, nil })
	raw := func([]byte) ([]byte, error) { return nil, nil }
	cases := []struct {
		name string
		f    func()
		want string
	}{
		{"empty name", func() { addTool(r, "", "", func(textIO) (textIO, error) { return textIO{}, nil }) },
			`pdk.Tool: tool name "" must be letters, digits, _ and - (weir-abi-1)`},
		{"dotted name", func() { r.addRawTool(plugins.Contract{Name: "a.b"}, raw) },
			`pdk.RawTool: tool name "a.b" must be letters, digits, _ and - (weir-abi-1)`},
		{"unicode name", func() { r.addRawTool(plugins.Contract{Name: "grüß"}, raw) },
			`pdk.RawTool: tool name "grüß" must be letters, digits, _ and - (weir-abi-1)`},
		{"twice", func() { addTool(r, "taken", "", func(textIO) (textIO, error) { return textIO{}, nil }) },
			`pdk.Tool: tool "taken" is registered twice`},
		{"nil fn", func() { addTool[textIO, textIO](r, "nil", "", nil) }, `pdk.Tool("nil"): nil function`},
		{"nil raw fn", func() { r.addRawTool(plugins.Contract{Name: "nil"}, nil) }, `pdk.RawTool("nil"): nil function`},
		{"not an object", func() { addTool(r, "str", "", func(string) (textIO, error) { return textIO{}, nil }) },
			`plugins.Func("str"): inputs type string is not a struct, map[string]any or json.RawMessage`},
		{"bad schema", func() { r.addRawTool(plugins.Contract{Name: "bad", Outputs: json.RawMessage(`{`)}, raw) },
			`plugins.RawFunc("bad"): the contract's schemas are not valid JSON`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.PanicsWithValue(t, tc.want, tc.f)
		})
	}
	assert.Len(t, r.tools, 1, "nothing half-registered")
}

func TestInvoke(t *testing.T) {
	cases := []struct {
		tool, in string
		want     string // outputs, or the error JSON sent to weir.error
		log      string // the start of a logged line
	}{
		{"upper", `{"text":"a<b>&","times":2}`, `{"text":"A<B>&A<B>&"}`, ""},
		{"upper", `{}`, `{"text":""}`, ""},
		{"upper", `null`, `{"text":""}`, ""},
		{"upper", `{"text":"a","times":"2"}`, `{"kind":"invalid_input","message":"input \"times\": want integer, got string"}`, ""},
		{"upper", `[1]`, `{"kind":"invalid_input","message":"inputs: want object, got array"}`, ""},
		{"upper", `{"text":`, `{"kind":"invalid_input","message":"decode inputs: unexpected end of JSON input"}`, ""},
		{"fail", `{"text":"retry"}`, `{"kind":"retryable","message":"upstream busy: 503"}`, ""},
		{"fail", `{"text":"deadline"}`, `{"kind":"timeout","message":"fetch: context deadline exceeded"}`, ""},
		{"fail", `{"text":"limit"}`, `{"kind":"limit","message":"too big"}`, ""},
		{"fail", `{"text":"odd"}`, `{"kind":"internal","message":"odd kind"}`, ""},
		{"fail", `{"text":"panic"}`, `{"kind":"internal","message":"tool \"fail\" panicked: at the \"disco\"\n"}`,
			"error: tool \"fail\" panicked: at the \"disco\"\n\n\ngoroutine "},
		{"fail", `{"text":"panic-error"}`, `{"kind":"internal","message":"tool \"fail\" panicked: boom"}`,
			"error: tool \"fail\" panicked: boom\n\ngoroutine "},
		{"any", `{"raw":"{\"a\":1}"}`, `{"a":1}`, ""},
		{"any", `{}`, `{}`, ""},
		{"any", `{"raw":"[1]"}`, `{"kind":"internal","message":"encode outputs: want object, got array"}`, ""},
		{"any", `{"raw":"nul"}`, `{"kind":"internal","message":"encode outputs: json: error calling MarshalJSON for type json.RawMessage: invalid character ' ' in literal null (expecting 'l')"}`, ""},
		{"echo", ` {"x": [1, 2]} `, ` {"x": [1, 2]} `, ""},
		{"none", `{}`, `{}`, ""},
		{"non", `{}`, `{"kind":"internal","message":"unknown tool \"non\""}`, ""}, // after "none"
		{"nope", `{}`, `{"kind":"internal","message":"unknown tool \"nope\""}`, ""},
		{"", `{}`, `{"kind":"internal","message":"unknown tool \"\""}`, ""},
	}
	r, h := testRegistry(t)
	const base = 0x10000
	for _, tc := range cases {
		t.Run(tc.tool+" "+tc.in, func(t *testing.T) {
			h.errors, h.logs = nil, nil
			buf := r.alloc(len(tc.tool) + len(tc.in))
			copy(buf, tc.tool)
			copy(buf[len(tc.tool):], tc.in)
			out := r.export(base, base, uint32(len(tc.tool)), base+uint32(len(tc.tool)), uint32(len(tc.in)))
			if out != nil {
				assert.Equal(t, tc.want, string(out))
				assert.Empty(t, h.errors)
				assert.Equal(t, out, r.result, "kept until the next call")
			} else {
				require.Len(t, h.errors, 1)
				assert.Equal(t, tc.want, h.errors[0])
				assert.True(t, json.Valid([]byte(h.errors[0])))
				assert.Nil(t, r.result)
			}
			if tc.log == "" {
				assert.Empty(t, h.logs)
			} else {
				require.Len(t, h.logs, 1)
				assert.True(t, strings.HasPrefix(h.logs[0], tc.log), "log %q", h.logs[0])
				assert.Contains(t, h.logs[0], "pdk.(*registry).invoke")
			}
		})
	}
}

func TestExportPointers(t *testing.T) {
	r, h := testRegistry(t)
	const base = 0x10000
	buf := r.alloc(len(`echo{}`))
	copy(buf, `echo{}`)

	out := r.export(base, base, 4, base+4, 2)
	assert.Equal(t, `{}`, string(out))

	// The name and the inputs may be anywhere in the buffer, in any order.
	copy(buf, `{}echo`)
	out = r.export(base, base+2, 4, base, 2)
	assert.Equal(t, `{}`, string(out))

	bad := []struct{ toolPtr, toolLen, inPtr, inLen uint32 }{
		{base - 1, 4, base + 4, 2},
		{base, 4, base + uint32(cap(r.in)) - 1, 2},
		{base, 4, base + uint32(cap(r.in)) + 1, 0},
		{base, 4, 0xffffffff, 2},
		{0, 4, base + 4, 2},
		{base, 0xffffffff, base, 2},
	}
	for _, p := range bad {
		h.errors = nil
		assert.Nil(t, r.export(base, p.toolPtr, p.toolLen, p.inPtr, p.inLen), "%+v", p)
		assert.Equal(t, []string{`{"kind":"internal","message":"weir_invoke: the tool name and inputs must be in the buffer from weir_alloc"}`}, h.errors)
	}

	// Before any weir_alloc there is no buffer to point into.
	r2, h2 := testRegistry(t)
	assert.Nil(t, r2.export(0, 0, 4, 4, 2))
	assert.Len(t, h2.errors, 1)
	// An empty name at the start of an empty buffer is only an unknown tool.
	assert.Nil(t, r2.export(0, 0, 0, 0, 0))
	assert.Equal(t, `{"kind":"internal","message":"unknown tool \"\""}`, h2.errors[1])
}

func TestAlloc(t *testing.T) {
	r := newRegistry(&fakeHost{})
	b := r.alloc(0)
	assert.Len(t, b, 0)
	assert.Equal(t, minAlloc, cap(b), "the first byte is addressable")
	first := &b[:1][0]

	b = r.alloc(minAlloc)
	assert.Same(t, first, &b[0], "reused while it fits")
	b = r.alloc(10)
	assert.Same(t, first, &b[0])

	b = r.alloc(minAlloc + 1)
	assert.Len(t, b, minAlloc+1)
	assert.Equal(t, 2*minAlloc, cap(b), "doubles")
	assert.NotSame(t, first, &b[0])

	b = r.alloc(10 * minAlloc)
	assert.Equal(t, 10*minAlloc, cap(b), "or grows to fit")
	b2 := r.alloc(5)
	assert.Same(t, &b[0], &b2[0], "and never shrinks")
}

func TestInvokeAllocs(t *testing.T) {
	r, _ := testRegistry(t)
	const base = 0x10000
	in := `echo{"text":"hello"}`
	call := func() {
		copy(r.alloc(len(in)), in)
		if r.export(base, base, 4, base+4, uint32(len(in)-4)) == nil {
			t.Fatal("echo failed")
		}
	}
	call()
	assert.Zero(t, testing.AllocsPerRun(100, call), "raw path")

	// A typed tool of flat structs: the fast paths allocate the decoded
	// string, and upper its result.
	in = `upper{"text":"hello"}`
	call = func() {
		copy(r.alloc(len(in)), in)
		if r.export(base, base, 5, base+5, uint32(len(in)-5)) == nil {
			t.Fatal("upper failed")
		}
	}
	call()
	out := r.flat
	call()
	assert.Same(t, &out[0], &r.flat[0], "the output buffer is reused")
	assert.Equal(t, 2.0, testing.AllocsPerRun(100, call), "typed flat path")

	// Through encoding/json.
	in = `any{"raw":"{}"}`
	call = func() {
		copy(r.alloc(len(in)), in)
		if r.export(base, base, 3, base+3, uint32(len(in)-3)) == nil {
			t.Fatal("any failed")
		}
	}
	call()
	out = r.out.Bytes()
	call()
	assert.Same(t, &out[0], &r.out.Bytes()[0], "the output buffer is reused")
	t.Logf("typed encoding/json path: %.0f allocations per call", testing.AllocsPerRun(100, call))
}

func TestAppendError(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{errors.New("plain"), `{"kind":"internal","message":"plain"}`},
		{plugins.Errorf(plugins.InvalidInput, `input "x": bad`), `{"kind":"invalid_input","message":"input \"x\": bad"}`},
		{errors.New("a\\b\n\r\t\x00\x1f\x7f<&>é\xff€\u2028"), `{"kind":"internal","message":"a\\b\n\r\t\u0000\u001f` + "\x7f" + `<&>é\ufffd€\u2028"}`},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, string(appendError(nil, tc.err)))
	}
}

func TestConfig(t *testing.T) {
	long := strings.Repeat("x", 3*minReply)
	h := &fakeHost{config: map[string]string{"model": "small", "empty": "", "long": long}}
	var r replies

	cases := []struct {
		key   string
		want  string
		ok    bool
		calls int
	}{
		{"model", "small", true, 1},
		{"empty", "", true, 1},
		{"unset", "", false, 1},
		{"long", long, true, 2},
		{"long", long, true, 1}, // the buffer grew
		{"model", "small", true, 1},
	}
	for _, tc := range cases {
		h.configN = 0
		v, ok := config(h, &r, tc.key)
		assert.Equal(t, tc.want, v, tc.key)
		assert.Equal(t, tc.ok, ok, tc.key)
		assert.Equal(t, tc.calls, h.configN, tc.key)
	}

	h.grow, h.configN = 1, 0
	assert.PanicsWithValue(t, `pdk: config "model": the reply kept growing after 4 calls`, func() {
		// Each reply is one byte longer than the buffer the last call had.
		r := replies{buf: make([]byte, 0)}
		config(h, &r, "model")
	})
}

func TestHTTP(t *testing.T) {
	body := strings.Repeat("b", 2*minReply)
	resp := `{"status":404,"headers":{"Content-Type":"text/plain"},"body":"` + body + `"}`
	h := &fakeHost{response: resp}
	var r replies

	got, err := httpDo(h, &r, Request{URL: "https://api.example/x?a=1&b=2", Headers: map[string]string{"Accept": "text/plain"}})
	require.NoError(t, err)
	assert.Equal(t, &Response{Status: 404, Headers: map[string]string{"Content-Type": "text/plain"}, Body: body}, got)
	want := `{"url":"https://api.example/x?a=1\u0026b=2","headers":{"Accept":"text/plain"}}`
	assert.Equal(t, []string{want, want}, h.requests, "called again with the same request and a bigger buffer")

	h.requests, h.response = nil, `{"status":201,"headers":{},"body":""}`
	got, err = httpDo(h, &r, Request{Method: "PUT", URL: "https://api.example/y", Body: "data"})
	require.NoError(t, err)
	assert.Equal(t, 201, got.Status)
	assert.Equal(t, []string{`{"method":"PUT","url":"https://api.example/y","body":"data"}`}, h.requests, "one call when it fits")

	errCases := []struct {
		req      Request
		response string
		want     string
	}{
		{Request{URL: "https://evil.example"}, `{"error":"host \"evil.example\" is not granted"}`,
			`http GET https://evil.example: host "evil.example" is not granted`},
		{Request{URL: "https://x.example", Body: "b"}, `{"error":"dial tcp: connection refused"}`,
			`http POST https://x.example: dial tcp: connection refused`},
		{Request{URL: "https://x.example"}, `{"status":`,
			`http GET https://x.example: decode response: unexpected end of JSON input`},
	}
	for _, tc := range errCases {
		h.response = tc.response
		_, err := httpDo(h, &r, tc.req)
		assert.EqualError(t, err, tc.want)
		assert.Equal(t, plugins.Internal, plugins.KindOf(err))
	}

	_, err = httpDo(negativeHost{&fakeHost{}}, &r, Request{URL: "https://x.example"})
	assert.EqualError(t, err, "http GET https://x.example: the host failed with -1")
}

type negativeHost struct{ *fakeHost }

func (negativeHost) httpRequest(_, _ []byte) int32 { return -1 }

func TestPublicAPI(t *testing.T) {
	saved := std
	defer func() { std = saved }()
	h := &fakeHost{config: map[string]string{"k": "v"}, response: `{"status":200,"headers":{},"body":"ok"}`}
	std = newRegistry(h)

	Tool("upper", "Upper-cases text.", func(in textIO) (textIO, error) { return textIO{Text: strings.ToUpper(in.Text)}, nil })
	RawTool(plugins.Contract{Name: "raw"}, func(in []byte) ([]byte, error) { return []byte(`{"n":1}`), nil })
	assert.Equal(t, []string{"upper", "raw"}, []string{Contracts()[0].Name, Contracts()[1].Name})

	out, err := Call("upper", []byte(`{"text":"hi"}`))
	require.NoError(t, err)
	assert.Equal(t, `{"text":"HI"}`, string(out))
	out2, err := Call("upper", []byte(`{"text":"yo"}`))
	require.NoError(t, err)
	assert.Equal(t, `{"text":"HI"}`, string(out), "Call returns a copy")
	assert.Equal(t, `{"text":"YO"}`, string(out2))

	_, err = Call("upper", []byte(`{"text":1}`))
	assert.EqualError(t, err, `input "text": want string, got number`)
	assert.Equal(t, plugins.InvalidInput, plugins.KindOf(err))
	assert.Empty(t, h.errors, "Call returns errors instead of reporting them")

	Log(Warn, "careful")
	Logf(Debug, "n=%d", 3)
	Log(Level(7), "odd")
	assert.Equal(t, []string{"warn: careful", "debug: n=3", "level(7): odd"}, h.logs)

	v, ok := Config("k")
	assert.True(t, ok)
	assert.Equal(t, "v", v)

	resp, err := HTTP(Request{URL: "https://api.example"})
	require.NoError(t, err)
	assert.Equal(t, "ok", resp.Body)
}

// FuzzExport feeds weir_invoke arbitrary pointers and bytes: it must answer
// with outputs or one error, and never panic.
func FuzzExport(f *testing.F) {
	f.Add([]byte(`echo{}`), uint32(0), uint32(4), uint32(4), uint32(2))
	f.Add([]byte(`upper{"text":"x"}`), uint32(0), uint32(5), uint32(5), uint32(12))
	f.Add([]byte(`fail{"text":"panic"}`), uint32(0), uint32(4), uint32(4), uint32(16))
	f.Add([]byte(`any{"raw":"[]"}`), uint32(0), uint32(3), uint32(3), uint32(12))
	f.Fuzz(func(t *testing.T, msg []byte, toolOff, toolLen, inOff, inLen uint32) {
		r, h := testRegistry(t)
		const base = 0x10000
		copy(r.alloc(len(msg)), msg)
		out := r.export(base, base+toolOff, toolLen, base+inOff, inLen)
		if out == nil {
			require.Len(t, h.errors, 1)
			assert.True(t, json.Valid([]byte(h.errors[0])), h.errors[0])
		} else {
			assert.Empty(t, h.errors)
		}
	})
}
