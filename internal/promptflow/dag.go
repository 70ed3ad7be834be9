package promptflow

import (
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// dag is flow.dag.yaml as prompt flow reads it (SPEC §2).
type dag struct {
	Inputs               ordered[inputDef]    `yaml:"inputs"`
	Outputs              ordered[outputDef]   `yaml:"outputs"`
	Nodes                []nodeDef            `yaml:"nodes"`
	NodeVariants         ordered[variantsDef] `yaml:"node_variants"`
	Environment          environment          `yaml:"environment"`
	EnvironmentVariables ordered[yaml.Node]   `yaml:"environment_variables"`
	AdditionalIncludes   []string             `yaml:"additional_includes"`
	Language             string               `yaml:"language"`
	MessageFormat        string               `yaml:"message_format"`
	Entry                string               `yaml:"entry"`
	Name                 string               `yaml:"name"`
	Extra                map[string]yaml.Node `yaml:",inline"`
	nodes                map[string]*nodeDef  // by name, after variants
	pos                  map[string]yaml.Node // top-level keys
}

type environment struct {
	PythonRequirementsTxt string `yaml:"python_requirements_txt"`
	Image                 string `yaml:"image"`
}

// inputDef is a flow input (SPEC §2.1).
type inputDef struct {
	Type          string    `yaml:"type"`
	Default       yaml.Node `yaml:"default"`
	Description   string    `yaml:"description"`
	Enum          []any     `yaml:"enum"`
	IsChatInput   bool      `yaml:"is_chat_input"`
	IsChatHistory *bool     `yaml:"is_chat_history"`
}

// outputDef is a flow output (SPEC §2.2).
type outputDef struct {
	Type           string    `yaml:"type"`
	Reference      yaml.Node `yaml:"reference"`
	Description    string    `yaml:"description"`
	IsChatOutput   bool      `yaml:"is_chat_output"`
	EvaluationOnly bool      `yaml:"evaluation_only"`
}

// nodeDef is a node (SPEC §2.3). at is where it was written.
type nodeDef struct {
	Name        string             `yaml:"name"`
	Type        string             `yaml:"type"`
	Source      source             `yaml:"source"`
	Inputs      ordered[yaml.Node] `yaml:"inputs"`
	Activate    *activate          `yaml:"activate"`
	Aggregation bool               `yaml:"aggregation"`
	Reduce      bool               `yaml:"reduce"`
	UseVariants bool               `yaml:"use_variants"`
	Connection  string             `yaml:"connection"`
	API         string             `yaml:"api"`
	Provider    string             `yaml:"provider"`
	Module      string             `yaml:"module"`
	Skip        *yaml.Node         `yaml:"skip"`
	Comment     string             `yaml:"comment"`
	EnableCache bool               `yaml:"enable_cache"`
	at          yaml.Node
	// variant is the variant this node's body came from, if any.
	variant string
}

type source struct {
	Type string `yaml:"type"`
	Path string `yaml:"path"`
	Tool string `yaml:"tool"`
}

type activate struct {
	When yaml.Node `yaml:"when"`
	Is   yaml.Node `yaml:"is"`
}

// variantsDef is node_variants[name] (SPEC §2.5).
type variantsDef struct {
	DefaultVariantID string           `yaml:"default_variant_id"`
	Variants         ordered[variant] `yaml:"variants"`
}

type variant struct {
	Node        nodeDef `yaml:"node"`
	Description string  `yaml:"description"`
}

// ordered is a YAML mapping that keeps its keys' order and positions: the
// converted flow lists them as the author did.
type ordered[T any] struct {
	Keys   []string
	Values map[string]T
	At     map[string]yaml.Node // each key's node
}

func (o *ordered[T]) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: want a mapping, not %s", n.Line, kindName(n))}}
	}
	o.Values = map[string]T{}
	o.At = map[string]yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if _, dup := o.Values[k.Value]; dup {
			return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: duplicate key %q", k.Line, k.Value)}}
		}
		var t T
		if err := v.Decode(&t); err != nil {
			return err
		}
		o.Keys = append(o.Keys, k.Value)
		o.Values[k.Value] = t
		o.At[k.Value] = *k
	}
	return nil
}

func (n *nodeDef) UnmarshalYAML(y *yaml.Node) error {
	type plain nodeDef
	if y.Kind != yaml.MappingNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: a node is a mapping, not %s", y.Line, kindName(y))}}
	}
	if err := y.Decode((*plain)(n)); err != nil {
		return err
	}
	n.at = *y
	return nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	}
	return fmt.Sprintf("%q", n.Value)
}

// parseDAG reads flow.dag.yaml. Its errors carry the line.
func parseDAG(src []byte) (*dag, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(src, &root); err != nil {
		return nil, yamlError(err)
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("1:1: flow.dag.yaml is not a mapping of inputs, outputs and nodes")
	}
	var d dag
	if err := root.Content[0].Decode(&d); err != nil {
		return nil, yamlError(err)
	}
	d.pos = map[string]yaml.Node{}
	top := root.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		d.pos[top.Content[i].Value] = *top.Content[i]
	}
	return &d, nil
}

// yamlError turns the YAML reader's "yaml: line 3: ..." into "3:1: ...".
func yamlError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		var lines []string
		for _, e := range te.Errors {
			lines = append(lines, lineCol(e))
		}
		return errors.New(strings.Join(lines, "\n"))
	}
	return errors.New(lineCol(strings.TrimPrefix(err.Error(), "yaml: ")))
}

// lineCol rewrites "line N: msg" as "N:1: msg".
func lineCol(s string) string {
	var n int
	var rest string
	if k, _ := fmt.Sscanf(s, "line %d:", &n); k == 1 {
		if i := strings.Index(s, ":"); i >= 0 {
			rest = strings.TrimSpace(s[i+1:])
		}
		return fmt.Sprintf("%d:1: %s", n, rest)
	}
	return "1:1: " + s
}
