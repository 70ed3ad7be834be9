package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type greetIn struct {
	Name  string   `json:"name" desc:"Who to greet."`
	Times int      `json:"times,omitempty"`
	Tags  []string `json:"tags,omitempty"`
	Inner struct {
		Level uint `json:"level"`
	} `json:"inner,omitzero"`
}

type greetOut struct {
	Message string `json:"message"`
}

func greet(_ context.Context, in greetIn) (greetOut, error) {
	if in.Name == "" {
		return greetOut{}, Errorf(InvalidInput, "name is empty")
	}
	return greetOut{Message: strings.Repeat("hello "+in.Name+"<&>! ", max(in.Times, 1))}, nil
}

func TestFuncContract(t *testing.T) {
	tool := Func("greet", "Greets someone.", greet)
	c := tool.Contract()
	assert.Equal(t, "greet", c.Name)
	assert.Equal(t, "Greets someone.", c.Description)
	assert.JSONEq(t, `{"type":"object","properties":{
		"name":{"type":"string","description":"Who to greet."},
		"times":{"type":"integer"},
		"tags":{"type":["array","null"],"items":{"type":"string"}},
		"inner":{"type":"object","properties":{"level":{"type":"integer","minimum":0}},"required":["level"],"additionalProperties":false}},
		"required":["name"],"additionalProperties":false}`, string(c.Inputs))
	assert.Equal(t, `{"type":"object","properties":{"message":{"type":"string"}},"required":["message"],"additionalProperties":false}`, string(c.Outputs))

	b, err := json.Marshal(c)
	require.NoError(t, err)
	assert.True(t, json.Valid(b))
}

func TestFuncInvoke(t *testing.T) {
	tool := Func("greet", "Greets someone.", greet)
	out, err := tool.Invoke(context.Background(), []byte(`{"name":"Ada","times":2}`))
	require.NoError(t, err)
	assert.Equal(t, `{"message":"hello Ada<&>! hello Ada<&>! "}`, string(out))

	_, err = tool.Invoke(context.Background(), []byte(`{"name":""}`))
	require.EqualError(t, err, "name is empty")
	assert.Equal(t, InvalidInput, KindOf(err), "fn's own kind is kept")
}

func TestFuncDecodeErrors(t *testing.T) {
	tool := Func("greet", "", greet)
	for _, tc := range []struct{ in, want string }{
		{`{"name":"a","times":"3"}`, `input "times": want integer, got string`},
		{`{"name":"a","times":1.5}`, `input "times": want integer, got number 1.5`},
		{`{"name":true}`, `input "name": want string, got boolean`},
		{`{"name":"a","tags":"x"}`, `input "tags": want array, got string`},
		{`{"name":"a","tags":[1]}`, `input "tags": want string, got number`},
		{`{"name":"a","inner":{"level":-1}}`, `input "inner.level": want integer, got number -1`},
		{`{"name":"a","inner":[]}`, `input "inner": want object, got array`},
		{`[1,2]`, `inputs: want object, got array`},
		{`"x"`, `inputs: want object, got string`},
		{`{"name":`, `decode inputs: unexpected end of JSON input`},
		{`{name}`, `decode inputs: invalid character 'n' looking for beginning of object key string`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			_, err := tool.Invoke(context.Background(), []byte(tc.in))
			require.EqualError(t, err, tc.want)
			assert.Equal(t, InvalidInput, KindOf(err))
		})
	}
}

func TestFuncAnyObject(t *testing.T) {
	keys := Func("keys", "", func(_ context.Context, in map[string]any) (map[string]any, error) {
		if len(in) == 0 {
			return nil, nil
		}
		return map[string]any{"n": len(in)}, nil
	})
	assert.Equal(t, `{"type":"object"}`, string(keys.Contract().Inputs))
	assert.Equal(t, `{"type":"object"}`, string(keys.Contract().Outputs))

	out, err := keys.Invoke(context.Background(), []byte(`{"a":1,"b":2}`))
	require.NoError(t, err)
	assert.Equal(t, `{"n":2}`, string(out))

	out, err = keys.Invoke(context.Background(), []byte(`{}`))
	require.NoError(t, err)
	assert.Equal(t, `{}`, string(out), "a nil map is no outputs, not null")

	raw := Func("raw", "", func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
		return in, nil
	})
	out, err = raw.Invoke(context.Background(), []byte(` { "a" : [1, 2] } `))
	require.NoError(t, err)
	assert.Equal(t, `{"a":[1,2]}`, string(out))

	_, err = raw.Invoke(context.Background(), []byte(`[1]`))
	require.EqualError(t, err, "inputs: want object, got array")
	assert.Equal(t, InvalidInput, KindOf(err))

	bad := Func("bad", "", func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
		return json.RawMessage(`[1]`), nil
	})
	_, err = bad.Invoke(context.Background(), []byte(`{}`))
	require.EqualError(t, err, "encode outputs: want object, got array")
	assert.Equal(t, Internal, KindOf(err))
}

func TestFuncRawInputIsCopied(t *testing.T) {
	var kept json.RawMessage
	tool := Func("keep", "", func(_ context.Context, in json.RawMessage) (map[string]any, error) {
		kept = in
		return nil, nil
	})
	in := []byte(`{"a":1}`)
	_, err := tool.Invoke(context.Background(), in)
	require.NoError(t, err)
	in[1] = 'X'
	assert.Equal(t, `{"a":1}`, string(kept), "fn may keep its In; the caller's buffer is not aliased")
}

func TestFuncPanicsOnBadTypes(t *testing.T) {
	ok := func(context.Context, greetIn) (greetOut, error) { return greetOut{}, nil }
	assert.PanicsWithValue(t, `plugins.Func("n"): inputs type int is not a struct, map[string]any or json.RawMessage`, func() {
		Func("n", "", func(context.Context, int) (greetOut, error) { return greetOut{}, nil })
	})
	assert.PanicsWithValue(t, `plugins.Func("n"): outputs type []string is not a struct, map[string]any or json.RawMessage`, func() {
		Func("n", "", func(context.Context, greetIn) ([]string, error) { return nil, nil })
	})
	assert.PanicsWithValue(t, `plugins.Func("n"): inputs type *plugins.greetIn is not a struct, map[string]any or json.RawMessage`, func() {
		Func("n", "", func(context.Context, *greetIn) (greetOut, error) { return greetOut{}, nil })
	})
	assert.PanicsWithValue(t, `plugins.Func("n"): inputs type map[string]int is not a struct, map[string]any or json.RawMessage`, func() {
		Func("n", "", func(context.Context, map[string]int) (greetOut, error) { return greetOut{}, nil })
	})
	assert.Panics(t, func() {
		// time.Time is a struct but encodes as a string.
		Func("n", "", func(context.Context, struct{ timeLike }) (greetOut, error) { return greetOut{}, nil })
	})
	assert.PanicsWithValue(t, `plugins.Func: tool name "" must be non-empty, without dots or spaces`, func() { Func("", "", ok) })
	assert.PanicsWithValue(t, `plugins.Func: tool name "a.b" must be non-empty, without dots or spaces`, func() { Func("a.b", "", ok) })
	assert.PanicsWithValue(t, `plugins.Func("n"): nil function`, func() { Func[greetIn, greetOut]("n", "", nil) })
}

// timeLike marshals itself, so a struct embedding it is not an object.
type timeLike struct{}

func (timeLike) MarshalJSON() ([]byte, error) { return []byte(`"x"`), nil }

func TestRawFunc(t *testing.T) {
	echo := RawFunc(Contract{Name: "echo", Description: "Echoes."}, func(_ context.Context, in []byte) ([]byte, error) {
		return append([]byte(nil), in...), nil
	})
	c := echo.Contract()
	assert.Equal(t, Contract{Name: "echo", Description: "Echoes.", Inputs: json.RawMessage(`{"type":"object"}`), Outputs: json.RawMessage(`{"type":"object"}`)}, c)
	out, err := echo.Invoke(context.Background(), []byte(`{"a":1}`))
	require.NoError(t, err)
	assert.Equal(t, `{"a":1}`, string(out))

	in := json.RawMessage(`{"type":"object","required":["a"]}`)
	typed := RawFunc(Contract{Name: "typed", Inputs: in}, func(context.Context, []byte) ([]byte, error) {
		return nil, Errorf(Retryable, "busy")
	})
	assert.Equal(t, string(in), string(typed.Contract().Inputs))
	_, err = typed.Invoke(context.Background(), nil)
	require.EqualError(t, err, "busy")
	assert.Equal(t, Retryable, KindOf(err))

	assert.PanicsWithValue(t, `plugins.RawFunc: tool name "" must be non-empty, without dots or spaces`, func() {
		RawFunc(Contract{}, func(context.Context, []byte) ([]byte, error) { return nil, nil })
	})
	assert.PanicsWithValue(t, `plugins.RawFunc("x"): nil function`, func() { RawFunc(Contract{Name: "x"}, nil) })
	assert.PanicsWithValue(t, `plugins.RawFunc("x"): the contract's schemas are not valid JSON`, func() {
		RawFunc(Contract{Name: "x", Outputs: json.RawMessage(`{`)}, func(context.Context, []byte) ([]byte, error) { return nil, nil })
	})
}

func TestDecodeInputs(t *testing.T) {
	var v struct {
		N int `json:"n"`
	}
	require.NoError(t, DecodeInputs([]byte(`{"n":3}`), &v))
	assert.Equal(t, 3, v.N)

	err := DecodeInputs([]byte(`{"n":"3"}`), &v)
	require.EqualError(t, err, `input "n": want integer, got string`)
	var pe *Error
	require.True(t, errors.As(err, &pe))
	assert.Equal(t, InvalidInput, pe.Kind)
}

func TestFuncConcurrent(t *testing.T) {
	tool := Func("greet", "", greet)
	n := 200
	if testing.Short() {
		n = 20
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			name := fmt.Sprint("n", i)
			out, err := tool.Invoke(context.Background(), []byte(`{"name":"`+name+`"}`))
			if assert.NoError(t, err) {
				assert.Equal(t, `{"message":"hello `+name+`<&>! "}`, string(out))
			}
		})
	}
	wg.Wait()
}

func BenchmarkFuncInvoke(b *testing.B) {
	tool := Func("greet", "", greet)
	in := []byte(`{"name":"Ada","times":1}`)
	ctx := context.Background()
	for b.Loop() {
		if _, err := tool.Invoke(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}
