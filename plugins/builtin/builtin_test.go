package builtin

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/plugins"
)

func TestProvider(t *testing.T) {
	p := NewProvider()
	assert.Equal(t, "builtin", p.Kind())

	pl, err := p.Open(context.Background(), plugins.Spec{Name: "web", Kind: "builtin", Grants: plugins.Grants{
		Hosts: []string{"example.com", "API.example.com:8443", "[::1]:80", "[::1]", "::1", "127.0.0.1:8080"},
	}})
	require.NoError(t, err)
	var names []string
	for _, tool := range pl.Tools() {
		names = append(names, tool.Contract().Name)
	}
	assert.Equal(t, []string{"http", "json", "llm", "prompt", "sleep", "stats", "template"}, names)
	require.NoError(t, pl.Close())
	require.NoError(t, pl.Close(), "Close is idempotent")
}

func TestProviderBadGrants(t *testing.T) {
	for _, tc := range []struct{ host, want string }{
		{"http://example.com", `open plugin "web": grants.hosts[1] "http://example.com" is not "host" or "host:port"`},
		{"example.com/api", `open plugin "web": grants.hosts[1] "example.com/api" is not "host" or "host:port"`},
		{"example.com:0", `open plugin "web": grants.hosts[1] "example.com:0" is not "host" or "host:port"`},
		{"example.com:http", `open plugin "web": grants.hosts[1] "example.com:http" is not "host" or "host:port"`},
		{"example.com:99999", `open plugin "web": grants.hosts[1] "example.com:99999" is not "host" or "host:port"`},
		{":80", `open plugin "web": grants.hosts[1] ":80" is not "host" or "host:port"`},
		{"", `open plugin "web": grants.hosts[1] "" is not "host" or "host:port"`},
		{"[::1", `open plugin "web": grants.hosts[1] "[::1" is not "host" or "host:port"`},
	} {
		t.Run(tc.host, func(t *testing.T) {
			_, err := NewProvider().Open(context.Background(), plugins.Spec{
				Name:   "web",
				Grants: plugins.Grants{Hosts: []string{"ok.example", tc.host}},
			})
			require.EqualError(t, err, tc.want)
		})
	}
}

// Every contract must be a schema that a draft 2020-12 validator accepts,
// since the engine compiles them to check flows.
func TestContracts(t *testing.T) {
	for _, tool := range Tools(plugins.Grants{}) {
		c := tool.Contract()
		t.Run(c.Name, func(t *testing.T) {
			assert.NotEmpty(t, c.Description)
			compile(t, c.Inputs)
			compile(t, c.Outputs)
			b, err := json.Marshal(c)
			require.NoError(t, err)
			assert.True(t, json.Valid(b))
		})
	}
}

func TestContractSchemas(t *testing.T) {
	tools := map[string]plugins.Contract{}
	for _, tool := range Tools(plugins.Grants{}) {
		tools[tool.Contract().Name] = tool.Contract()
	}
	assert.JSONEq(t, `{"type":"object","properties":{
		"template":{"type":"string","description":"A Go text/template. Every other input is its data: {{.name}} reads the input name."}},
		"required":["template"],"additionalProperties":true}`, string(tools["template"].Inputs))
	assert.JSONEq(t, `{"type":"object","properties":{"text":{"type":"string","description":"The rendered text."}},
		"required":["text"],"additionalProperties":false}`, string(tools["template"].Outputs))
	assert.JSONEq(t, `{"type":"object","properties":{
		"value":{"description":"The value to start from: null by default, {} when merge is given."},
		"pick":{"type":"string","description":"A path into the result to return instead of all of it, written as the steps of a reference: a.b[0], or [\"odd key\"].x for a key that is not a name."},
		"merge":{"type":["array","null"],"items":{"type":["object","null"],"additionalProperties":{}},"description":"Objects merged into value in order, one level deep: later keys win. Null entries are skipped."}},
		"additionalProperties":false}`, string(tools["json"].Inputs))
	assert.JSONEq(t, `{"type":"object","properties":{"value":{"description":"The result."}},"required":["value"],"additionalProperties":false}`,
		string(tools["json"].Outputs))
	assert.JSONEq(t, `{"type":"object","properties":{
		"duration":{"type":"string","description":"How long to wait, as a Go duration such as \"250ms\"."},
		"value":{"description":"A value to pass through."}},
		"required":["duration"],"additionalProperties":false}`, string(tools["sleep"].Inputs))
	assert.JSONEq(t, `{"type":"object","properties":{
		"url":{"type":"string","description":"The http or https URL to request. Its host must be granted to the plugin entry."},
		"method":{"type":"string","description":"The request method: GET by default, POST when a body is given."},
		"headers":{"type":["object","null"],"additionalProperties":{"type":"string"},"description":"Request headers by name."},
		"body":{"description":"The request body. A string is sent as it is; any other value is sent as JSON with Content-Type application/json."},
		"timeout":{"type":"string","description":"How long the whole exchange (connecting, headers and body) may take, as a Go duration such as \"5s\". By default the plugin entry's limits.timeout, else the node's deadline, else one minute."}},
		"required":["url"],"additionalProperties":false}`, string(tools["http"].Inputs))
	assert.JSONEq(t, `{"type":"object","properties":{
		"status":{"type":"integer","description":"The response status code, below 400."},
		"headers":{"type":["object","null"],"additionalProperties":{"type":"string"},"description":"The first value of each response header, by canonical name."},
		"body":{"type":"string","description":"The response body as text."},
		"json":{"description":"The response body as a value, when its Content-Type is JSON."}},
		"required":["status","headers","body"],"additionalProperties":false}`, string(tools["http"].Outputs))
}

func compile(t *testing.T, schema json.RawMessage) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	require.NoError(t, c.AddResource("mem:///schema.json", doc))
	s, err := c.Compile("mem:///schema.json")
	require.NoError(t, err, "schema %s", schema)
	return s
}

// call invokes tool and, when it succeeds, checks the outputs against the
// tool's own output schema.
func call(t *testing.T, tool plugins.Tool, in string) (string, error) {
	t.Helper()
	return callCtx(t, context.Background(), tool, in)
}

func callCtx(t *testing.T, ctx context.Context, tool plugins.Tool, in string) (string, error) {
	t.Helper()
	out, err := tool.Invoke(ctx, []byte(in))
	if err != nil {
		assert.Nil(t, out)
		return "", err
	}
	require.True(t, json.Valid(out), "outputs %s", out)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(out))
	require.NoError(t, err)
	require.NoError(t, compile(t, tool.Contract().Outputs).Validate(doc), "outputs %s", out)
	return string(out), nil
}

func toolNamed(t *testing.T, name string, g plugins.Grants) plugins.Tool {
	t.Helper()
	for _, tool := range Tools(g) {
		if tool.Contract().Name == name {
			return tool
		}
	}
	t.Fatalf("no tool %q", name)
	return nil
}
