package promptflow

import (
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Connection is one of prompt flow's connections, as `pf connection
// create -f FILE` reads it (SPEC §5): its name, type and fields. Only the
// names of secret fields are used: their values always come from the
// environment where the flow runs.
type Connection struct {
	Name string
	Type string // azure_open_ai, open_ai, serverless, custom, ...
	// Fields are the fields that are not secrets, by name (for a custom
	// connection, its configs).
	Fields map[string]string
	// Secrets are the names of the secret fields (api_key; a custom
	// connection's secrets).
	Secrets []string
	// assumed is set when no file was given and the type was guessed.
	assumed string
}

// ReadConnection reads a connection YAML file.
func ReadConnection(path string) (Connection, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return Connection{}, err
	}
	var raw struct {
		Name    string         `yaml:"name"`
		Type    string         `yaml:"type"`
		Configs map[string]any `yaml:"configs"`
		Secrets map[string]any `yaml:"secrets"`
		Rest    map[string]any `yaml:",inline"`
	}
	if err := yaml.Unmarshal(src, &raw); err != nil {
		return Connection{}, fmt.Errorf("%s: %w", path, yamlError(err))
	}
	if raw.Type == "" {
		return Connection{}, fmt.Errorf("%s: the connection has no type (azure_open_ai, open_ai, custom, ...)", path)
	}
	c := Connection{Name: raw.Name, Type: raw.Type, Fields: map[string]string{}}
	if c.Type == "custom" {
		for k, v := range raw.Configs {
			c.Fields[k] = fmt.Sprint(v)
		}
		for k := range raw.Secrets {
			c.Secrets = append(c.Secrets, k)
		}
	} else {
		for k, v := range raw.Rest {
			switch {
			case k == "$schema" || k == "module" || k == "expiry_time" || k == "created_date" || k == "last_modified_date":
			case isSecretField(k):
				c.Secrets = append(c.Secrets, k)
			case v != nil:
				c.Fields[k] = fmt.Sprint(v)
			}
		}
		if len(c.Secrets) == 0 && c.Type != "custom" {
			c.Secrets = []string{"api_key"}
		}
	}
	sort.Strings(c.Secrets)
	return c, nil
}

// isSecretField says which fields of a typed connection are secrets.
func isSecretField(k string) bool {
	return k == "api_key" || strings.HasSuffix(k, "_key") || k == "key" || strings.HasSuffix(k, "password") || strings.HasSuffix(k, "token")
}

// assumeConnection is the connection a flow names when no file describes
// it: its type comes from the node's provider, else from its name.
func assumeConnection(name, provider, class string) Connection {
	c := Connection{Name: name, Fields: map[string]string{}, Secrets: []string{"api_key"}}
	lower := strings.ToLower(name)
	switch {
	case class == "CustomConnection":
		c.Type = "custom"
		c.Secrets = nil
		c.assumed = "a custom connection (its parameter's annotation)"
	case class == "AzureOpenAIConnection" || provider == "AzureOpenAI" || provider == "deployment_name" ||
		(class == "" && (strings.Contains(lower, "azure") || strings.Contains(lower, "aoai"))):
		c.Type = "azure_open_ai"
		c.Fields["api_base"] = placeholderAzureBase
		switch {
		case class == "AzureOpenAIConnection":
			c.assumed = "azure_open_ai (its parameter's annotation)"
		case provider == "AzureOpenAI":
			c.assumed = "azure_open_ai (its node's provider)"
		case provider == "deployment_name":
			c.assumed = "azure_open_ai (its node names a deployment_name and no model)"
		default:
			c.assumed = "azure_open_ai (from its name)"
		}
	default:
		c.Type = "open_ai"
		c.assumed = "open_ai"
		if class == "OpenAIConnection" {
			c.assumed = "open_ai (its parameter's annotation)"
		}
	}
	return c
}

// placeholderAzureBase stands for an Azure OpenAI resource the flow does
// not name; the import's README says to replace it.
const placeholderAzureBase = "https://your-resource.openai.azure.com"

// envName is the variable a connection's field is read from: prompt flow's
// override name when serving, <CONNECTION>_<FIELD> in upper case (SPEC
// §5), with every character a shell variable cannot hold as "_".
func envName(conn, field string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(conn + "_" + field) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// secretName is the weir secret of a connection's field.
func secretName(conn, field string) string { return strings.ToLower(envName(conn, field)) }

// isLLM says whether a connection's type can serve llm nodes.
func (c Connection) isLLM() bool {
	return c.Type == "azure_open_ai" || c.Type == "open_ai" || c.Type == "serverless"
}

// llmConfig returns the builtin entry's config (without the key) and the
// host to grant.
func (c Connection) llmConfig() (config [][2]string, host string, err error) {
	var base string
	switch c.Type {
	case "azure_open_ai":
		base = c.Fields["api_base"]
		if base == "" {
			return nil, "", fmt.Errorf("connection %q (azure_open_ai) has no api_base", c.Name)
		}
		config = append(config, [2]string{"api_type", "azure"}, [2]string{"api_base", base})
		if v := c.Fields["api_version"]; v != "" {
			config = append(config, [2]string{"api_version", v})
		}
	case "open_ai":
		base = c.Fields["base_url"]
		if base == "" {
			base = "https://api.openai.com/v1"
		}
		config = append(config, [2]string{"api_base", base})
		if v := c.Fields["organization"]; v != "" {
			config = append(config, [2]string{"organization", v})
		}
	case "serverless":
		base = strings.TrimSuffix(c.Fields["api_base"], "/") + "/v1"
		config = append(config, [2]string{"api_base", base})
	default:
		return nil, "", fmt.Errorf("connection %q is a %s connection, which cannot call a model: llm nodes need azure_open_ai, open_ai or serverless", c.Name, c.Type)
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, "", fmt.Errorf("connection %q: api_base %q is not an http or https URL", c.Name, base)
	}
	return config, u.Hostname(), nil
}
