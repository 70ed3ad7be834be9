package builtin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"

	"github.com/weirflow/weir/internal/jinja"
	"github.com/weirflow/weir/internal/jsonscan"
	"github.com/weirflow/weir/plugins"
)

// promptIn documents the inputs; every other input is a variable of the
// template.
type promptIn struct {
	Template string   `json:"template" desc:"A Jinja2 template, rendered as prompt flow renders prompts. Every other input is a variable: {{ question }} prints the input question."`
	Trusted  []string `json:"trusted,omitempty" desc:"Variables whose role lines (\"# system:\") may start chat messages; in every other variable they stay text."`
}

type promptOut struct {
	Text     string        `json:"text" desc:"The rendered text."`
	Messages []chatMessage `json:"messages" desc:"The chat messages, when the text has role lines (\"# system:\", \"# user:\", ...); else null."`
}

var promptInputs = func() json.RawMessage {
	s := plugins.SchemaOf(reflect.TypeFor[promptIn]())
	return bytes.Replace(s, []byte(`"additionalProperties":false}`), []byte(`"additionalProperties":true}`), 1)
}()

// promptTool is builtin.prompt. It is safe for concurrent use.
type promptTool struct{}

func (promptTool) Contract() plugins.Contract {
	return plugins.Contract{
		Name: "prompt",
		Description: "Renders a Jinja2 prompt template with the other inputs as its variables, the way prompt flow does " +
			"(values print as Python prints them, undefined names as nothing), and splits the text into chat " +
			"messages at its role lines. Role lines inside variables stay text unless the variable is trusted.",
		Inputs:  promptInputs,
		Outputs: plugins.SchemaOf(reflect.TypeFor[promptOut]()),
	}
}

func (promptTool) Invoke(_ context.Context, in []byte) ([]byte, error) {
	var raw map[string]json.RawMessage
	if err := plugins.DecodeInputs(in, &raw); err != nil {
		return nil, err
	}
	src, trusted, err := splitTemplateInputs(raw)
	if err != nil {
		return nil, err
	}
	text, messages, err := renderChat(src, raw, trusted, false)
	if err != nil {
		return nil, err
	}
	return jsonscan.Marshal(promptOut{Text: text, Messages: messages})
}

// splitTemplateInputs takes the inputs template and trusted out of raw, leaving
// the template's variables. builtin.llm reads its template the same way.
func splitTemplateInputs(raw map[string]json.RawMessage) (src string, trusted []string, err error) {
	t, ok := raw["template"]
	if !ok {
		return "", nil, plugins.Errorf(plugins.InvalidInput, "input \"template\" is missing")
	}
	if err := json.Unmarshal(t, &src); err != nil {
		return "", nil, plugins.Errorf(plugins.InvalidInput, "input \"template\": want string, got %s", jsonscan.Type(t))
	}
	if tr, ok := raw["trusted"]; ok && string(tr) != "null" {
		if err := json.Unmarshal(tr, &trusted); err != nil {
			return "", nil, plugins.Errorf(plugins.InvalidInput, "input \"trusted\": want a list of input names, got %s", jsonscan.Type(tr))
		}
	}
	delete(raw, "template")
	delete(raw, "trusted")
	return src, trusted, nil
}

// CheckLiterals parses a literal template when the flow loads.
func (promptTool) CheckLiterals(lits map[string]json.RawMessage) error {
	return checkTemplate(lits)
}

// checkTemplate parses the literal input template, if there is one, and
// reports a syntax error at its line. builtin.llm checks its template with
// it too.
func checkTemplate(lits map[string]json.RawMessage) error {
	var src string
	if json.Unmarshal(lits["template"], &src) != nil {
		return nil // not a literal string: the contract check says so
	}
	if _, err := templates.parse(src); err != nil {
		var je *jinja.Error
		if errors.As(err, &je) {
			return &plugins.LiteralError{Input: "template", Line: je.Line, Err: errors.New(je.Msg)}
		}
		return &plugins.LiteralError{Input: "template", Err: err}
	}
	return nil
}

var (
	_ plugins.Tool           = promptTool{}
	_ plugins.LiteralChecker = promptTool{}
)
