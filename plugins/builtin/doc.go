// Package builtin holds the native tools that ship with weir: http, json,
// llm, prompt, sleep, stats and template, opened under the plugin kind "builtin" and
// addressed in a flow as "<entry name>.<tool>", usually "builtin.template".
// weir plugin describe builtin prints their contracts.
//
// They are plain plugins.Tool values with published contracts, so a flow
// cannot tell them from Wasm or go-plugin tools. The http tool reaches only
// the hosts that the flow grants to the plugin entry, and so does the llm
// tool, which calls OpenAI-compatible and Azure OpenAI models with the
// connection in the entry's config. The prompt tool renders Jinja2
// templates as prompt flow does (package internal/jinja) and splits the
// text into chat messages at its role lines.
package builtin
