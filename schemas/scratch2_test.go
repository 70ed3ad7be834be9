package schemas_test

import (
	"testing"
)

func TestScratch2(t *testing.T) {
	try("f.yaml", "# comment\nname: x\nnodes: {a: {tool: t.x}}\n")
	try("f.yaml", "name: x\n\n# trailing comment\n")
	try("f.yaml", "name: x # c\nnodes: {a: {tool: t.x}}\n# end\n")
	try("f.yaml", "")
	try("f.yaml", "# only\n")
	try("f.yaml", "---\nname: x\n")
	try("f.yaml", "name: x\n---\nname: y\n")
	try("f.yaml", "null\n")
	try("f.yaml", "name: &a x\ndescription: *a\nnodes: {a: {tool: t.x}}\n")
	try("f.yaml", "name: x\nnodes:\n  a: &n {tool: t.x}\n  b: *n\n  c:\n    <<: *n\n    timeout: 1s\n")
	try("f.yaml", "name: x\n? [a]\n: 1\n")
	try("f.yaml", "name: x\n1: 2\n")
	try("f.yaml", "name: x\nnodes: {a: {tool: t.x, inputs: {1: 2, true: 3, ~: 4}}}\n")
	try("f.json", "{\"name\": \"x\", \"name\": \"x\", \"nodes\": {\"a\": {\"tool\": \"t.x\", \"tool\": \"t.y\"}}}")
	try("f.json", "{\"name\": \"x\", \"nodes\": {\"a\": {\"tool\": \"t.x\"}}, \"inputs\": {\"t\": \"int & >=1 | *2\", \"s\": \"int &\", \"n\": 3}}")
	try("f.json", "{\"name\": \"x\",\n \"nodes\": {\"a\": {\"tool\": \"t.x\"}}\n,}")
	try("f.json", "{\"name\": \"x\",\n \"nodes\": tru}")
	try("f.json", "{\"name\": \"x\",\n \"nodes\": \"\\x\"}")
	try("f.json", "{\"name\": \"x\"}\n]")
	try("f.cue", "name: \"x\"\nnodes: {a: {tool: \"t.x\"}\n")
	try("f.cue", "name: \"x\nnodes: {}\n")
	try("f.cue", "name: \"x\"\nnodes: a: tool: \"t.x\"\nnodes: a: tool: \"t.y\"\n")
	try("f.cue", "name: \"x\"\nnodes: a: tool: foo\n")
	try("f.cue", "name: \"x\"\nnodes: a: tool: \"t.x\"\n#Def: int\n_hidden: 1\nlet x = 1\n")
	try("f.cue", "package foo\nname: \"x\"\nnodes: a: tool: \"t.x\"\n")
	try("f.CUE", "name: \"x\"\nnodes: a: tool: \"t.x\"\n")
	try("f", "name: \"x\"\n")
	try("f.yml", "name: x\nnodes: {a: {tool: t.x}}\n")
}
