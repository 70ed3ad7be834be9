package endpoint_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts/endpoint"
)

// OnRun gets each run, with its nodes' values, before the answer, which
// has none of them.
func TestOnRun(t *testing.T) {
	type seen struct {
		flow          *engine.Flow
		inputs, greet string
		status        engine.Status
		err           string
	}
	var (
		mu  sync.Mutex
		got []seen
	)
	fx := newFixture(t, endpoint.Options{OnRun: func(f *engine.Flow, res *engine.Result, err error) {
		mu.Lock()
		defer mu.Unlock()
		s := seen{flow: f, inputs: string(res.Inputs), greet: string(res.Nodes[0].Inputs), status: res.Status}
		if err != nil {
			s.err = err.Error()
		}
		got = append(got, s)
	}}, engine.Options{})
	f := fx.deploy(t, "v1", helloFlow)

	a := do(t, "POST", fx.url+"/v1/flows/hello/runs", `{"inputs":{"name":"Ada"}}`)
	require.Equal(t, http.StatusOK, a.status, a.body)
	assert.NotContains(t, a.body, `"template"`)
	a = do(t, "POST", fx.url+"/score", `{"name":""}`)
	require.Equal(t, http.StatusBadRequest, a.status, a.body)

	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []seen{
		{f, `{"name":"Ada"}`, `{"template":"Hello, {{.name}}!","name":"Ada"}`, engine.Succeeded, ""},
		// Inputs that break the flow's types are not kept, as in a batch.
		{f, ``, ``, engine.Failed, `flow "hello": invalid inputs: name: must not be ""`},
	}, got)
}
