package endpoint_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts/endpoint"
)

// edgesFlow passes its inputs on: outputs not in name order, an integer
// beyond a float64's precision, text with <, > and &, and an object input
// whose check decodes it.
const edgesFlow = `name: "edges"
inputs: {
	big:  int
	text: string
	meta: {tag: string | *"<none>", ...}
}
nodes: echo: {
	tool: "builtin.json"
	inputs: value: {big: "${inputs.big}", text: "${inputs.text}"}
}
outputs: {
	text: "${echo.output.value.text}"
	big:  "${echo.output.value.big}"
	meta: "${inputs.meta}"
}
`

// TestJSONEdges checks that answers keep the bytes of what was run: key
// order, big numbers, and <, > and &, which encoding/json would escape.
func TestJSONEdges(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{}, engine.Options{})
	fx.deploy(t, "v1", edgesFlow)
	const inputs = `{"meta": {"z": 1, "a": "<"}, "text": "<&>", "big": 9007199254740993}`
	const outputs = `{"text":"<&>","big":9007199254740993,"meta":{"z":1,"a":"<","tag":"<none>"}}`

	got := do(t, "POST", fx.url+"/v1/flows/edges/runs", `{"inputs": `+inputs+`}`)
	require.Equal(t, http.StatusOK, got.status, got.body)
	var body struct{ Outputs json.RawMessage }
	require.NoError(t, json.Unmarshal([]byte(got.body), &body))
	assert.Equal(t, outputs, string(body.Outputs))

	got = do(t, "POST", fx.url+"/score", inputs)
	assert.Equal(t, http.StatusOK, got.status)
	assert.Equal(t, outputs+"\n", got.body)

	// The OpenAPI document quotes the flow's types as they are too.
	got = do(t, "GET", fx.url+"/openapi.json", "")
	assert.Contains(t, got.body, `"tag":{"default":"<none>","type":"string"}`)

	// A node's event quotes its error as it is.
	fx.deploy(t, "v1", `name: "picky"
nodes: bad: {tool: "builtin.json", inputs: {value: {a: 1}, pick: #"["<b>"]"#}}
outputs: v: "${bad.output.value}"
`)
	resp := stream(t, context.Background(), fx.url+"/v1/flows/picky/runs", `{}`)
	defer resp.Body.Close()
	event, data := sse{bufio.NewReader(resp.Body)}.next(t)
	assert.Equal(t, "node", event)
	assert.Contains(t, data, `"error":"pick \"[\\\"<b>\\\"]\": no field \"<b>\" in object"`)
}
