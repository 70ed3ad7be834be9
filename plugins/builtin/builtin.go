package builtin

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/weirflow/weir/internal/granthttp"
	"github.com/weirflow/weir/internal/progdigest"
	"github.com/weirflow/weir/plugins"
)

// defaultName is the plugin name the tools report when they are not opened
// from a flow's plugin entry, as with Tools.
const defaultName = "builtin"

// NewProvider returns the Provider of kind "builtin". Each Open makes a fresh
// set of tools bound to the entry's name and grants; nothing is shared
// between entries. The Provider is safe for concurrent use.
func NewProvider() plugins.Provider { return provider{} }

type provider struct{}

func (provider) Kind() string { return "builtin" }

// Open checks the entry's host grants and returns its tools. A grant that is
// not "host" or "host:port" is an error, since it could never match. The
// entry's limits.timeout, when set, bounds each request of the http tool
// that does not set its own timeout input (by default, a minute when the
// caller's context has no deadline), and each exchange of the llm tool.
// The entry's config is the llm tool's connection (api_base, api_key,
// api_type, api_version, organization, max_tries): a value there that is
// wrong is an error too.
func (provider) Open(_ context.Context, spec plugins.Spec) (plugins.Plugin, error) {
	name := spec.Name
	if name == "" {
		name = defaultName
	}
	if err := granthttp.CheckHosts(spec.Grants.Hosts); err != nil {
		return nil, fmt.Errorf("open plugin %q: %w", name, err)
	}
	limit, err := parseTimeout(spec.Options)
	if err != nil {
		return nil, fmt.Errorf("open plugin %q: %w", name, err)
	}
	conn, err := parseLLMConfig(spec.Options)
	if err != nil {
		return nil, fmt.Errorf("open plugin %q: %w", name, err)
	}
	return newPlugin(name, spec.Grants, conn, limit), nil
}

// parseTimeout reads limits.timeout from a plugin entry, or returns 0.
func parseTimeout(opts json.RawMessage) (time.Duration, error) {
	var entry struct {
		Limits struct {
			Timeout string `json:"timeout"`
		} `json:"limits"`
	}
	if len(opts) > 0 {
		if err := json.Unmarshal(opts, &entry); err != nil {
			return 0, fmt.Errorf("read entry: %w", err)
		}
	}
	if entry.Limits.Timeout == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(entry.Limits.Timeout)
	if err != nil {
		return 0, fmt.Errorf("limits.timeout: %w", err)
	}
	if d <= 0 {
		return 0, fmt.Errorf("limits.timeout: %q is not positive", entry.Limits.Timeout)
	}
	return d, nil
}

// Tools returns the builtin tools http, json, llm, prompt, sleep, stats and template, in that
// order, with grants g, naming the plugin "builtin" in their errors. Host
// grants that are not "host" or "host:port" match nothing. The tools are
// safe for concurrent use; the http tool's idle connections close by
// themselves after 90 seconds.
func Tools(g plugins.Grants) []plugins.Tool {
	conn, _ := parseLLMConfig(nil) // OpenAI's defaults: no error
	return newPlugin(defaultName, g, conn, 0).Tools()
}

type plugin struct {
	tools  []plugins.Tool
	client *granthttp.Client
}

func newPlugin(name string, g plugins.Grants, conn llmConfig, limit time.Duration) *plugin {
	client := granthttp.New(name, g.Hosts, limit)
	return &plugin{
		tools: []plugins.Tool{
			client.Tool(),
			jsonTool(),
			newLLMTool(name, client, conn, limit).tool(),
			promptTool{},
			sleepTool(),
			statsTool(),
			(&templateTool{}).tool(),
		},
		client: client,
	}
}

func (p *plugin) Tools() []plugins.Tool { return append([]plugins.Tool(nil), p.tools...) }

// Digest names the tools' code for the node result cache by weir's build
// (see progdigest). The http tool is cached like the others: that is what
// makes re-running an evaluation that calls a model cheap.
func (p *plugin) Digest() (string, error) { return progdigest.Of() }

// Close drops the http tool's idle connections; the tools hold nothing else.
func (p *plugin) Close() error {
	p.client.CloseIdleConnections()
	return nil
}

var (
	_ plugins.Provider = provider{}
	_ plugins.Plugin   = (*plugin)(nil)
	_ plugins.Digester = (*plugin)(nil)
)
