// Package jinja renders Jinja2 templates the way prompt flow renders its
// prompts: as Python's jinja2 does in a
// SandboxedEnvironment(trim_blocks=True, keep_trailing_newline=True).
// Values print as Python's str() prints them ({'a': 1}, None, True, 1.0),
// undefined names render as "", the one newline after a {% %} or {# #}
// tag is dropped and the one after {{ }} is kept.
//
// It is the subset prompts use: {{ }}, if/elif/else, for (with else, an
// "if" filter, unpacking and loop.*), set, raw, comments, whitespace
// control, Python's operators and literals, the common filters and tests,
// range() and the read-only methods of str and dict. Anything else is an
// error at Parse, naming the line and column.
//
// testdata/fidelity holds templates that Python's jinja2 rendered
// (testdata/gen.py, `make jinja-corpus`); TestFidelity checks byte for byte
// that this package renders them the same.
//
// Templates come from flows, variables from users: rendering is bounded
// (Limits), reaches nothing but the variables, and never panics.
package jinja
