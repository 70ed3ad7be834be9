package engine_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/engine"
)

// embedFlow is a prompt whose template is a file beside the flow.
const embedFlow = `@extern(embed)

name: "embed"
inputs: q: string
nodes: ask: {tool: "builtin.prompt", inputs: {
	question: "${inputs.q}"
	template: _ @embed(file="prompts/ask.jinja2", type=text)
}}
outputs: text: "${ask.output.text}"
`

// TestEmbedPrompt runs a builtin.prompt node whose template is embedded:
// the file's text is the template as it is, "${" included, which is no
// reference there.
func TestEmbedPrompt(t *testing.T) {
	e, _ := newEngine(t, engine.Options{})
	dir := writeFlow(t, map[string]string{"flow.cue": embedFlow})
	require.NoError(t, writeFile(filepath.Join(dir, "prompts", "ask.jinja2"), "# user:\nQ: {{ question }} (costs ${price})\n"))
	f, err := e.Load(context.Background(), filepath.Join(dir, "flow.cue"))
	require.NoError(t, err)
	res, err := f.Run(context.Background(), map[string]any{"q": "why?"})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"text": "# user:\nQ: why? (costs ${price})\n"}, outputs(t, res))

	// The embedded file is one of the flow's files: a snapshot holds it.
	assert.Equal(t, []string{filepath.Join(dir, "flow.cue"), filepath.Join(dir, "prompts", "ask.jinja2")}, f.Files())
	ff := f.FlowFiles()
	require.Len(t, ff, 1)
	assert.Equal(t, []engine.Embed{{
		Pos:  engine.Pos{File: filepath.Join(dir, "flow.cue"), Line: 7, Col: 14},
		Path: filepath.Join(dir, "prompts", "ask.jinja2"), Written: "prompts/ask.jinja2",
	}}, ff[0].Embeds)
}

// TestEmbedTemplateError shows a syntax error inside an embedded template
// reported at load, at the attribute, with the line of the file.
func TestEmbedTemplateError(t *testing.T) {
	e, _ := newEngine(t, engine.Options{})
	dir := writeFlow(t, map[string]string{"flow.cue": embedFlow})
	require.NoError(t, writeFile(filepath.Join(dir, "prompts", "ask.jinja2"), "# user:\n{% if question %}\n{{ question }}\n"))
	_, err := e.Load(context.Background(), filepath.Join(dir, "flow.cue"))
	require.Error(t, err)
	assert.Equal(t, `flow.cue:7:14: node "ask": input "template": line 4 of prompts/ask.jinja2: unexpected end of template, expected "endif" to close the "if" on line 2`,
		strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), ""))
}
