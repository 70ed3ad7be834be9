package schemas_test

import (
	"fmt"
	"testing"

	"github.com/weirflow/weir/schemas"
)

func try(name, src string) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Printf("%s: PANIC %v\n", name, r)
		}
	}()
	fl, err := schemas.Parse(name, []byte(src))
	fmt.Printf("== %s %q\nerr=%v\n", name, src, err)
	if fl != nil {
		fmt.Printf("name=%q plugins=%d nodes=%d\n", fl.Name, len(fl.Plugins), len(fl.Nodes))
		for _, n := range fl.Nodes {
			for _, in := range n.Inputs {
				fmt.Printf("  in %s %+v\n", in.Name, in.Value)
			}
		}
	}
}

func TestScratch(t *testing.T) {
	try("f.json", `[]`)
	try("f.json", `1`)
	try("f.yaml", "- a\n")
	try("f.yaml", "x\n")
	try("f.json", `{"name": "x"`)
	try("f.json", ``)
	try("f.json", `{} {}`)
	try("f.cue", "name: \"x\"\nplugins: t: wasm: string\nnodes: a: tool: \"t.x\"\n")
	try("f.cue", "name: string\nnodes: a: tool: \"t.x\"\nconcurrency: int\ntimeout: string\n")
	try("f.cue", "name: \"x\"\nnodes: a: {tool: \"t.x\", inputs: {a: *\"s\" | int, b: *\"${inputs.x}\" | \"y\", c: 1 & 2}}\n")
	try("f.json", `{"name":"x","nodes":{"a":{"tool":"t.x","inputs":{"l":[{"k":1,"k":1}]}}}}`)
	try("f.yaml", "name: x\nnodes:\n  a: {tool: t.x, inputs: {é: ${inputs.x}}}\n")
	try("f.cue", "name: \"x\"\nbogus: {a: 1}\nnodes: a: tool: \"t.x\"\n")
	try("f.cue", "name: \"x\"\nnodes: a: {tool: \"t.x\", timeout: \"0s\", retry: {attempts: 0, backoff: \"99999999999h\"}}\n")
}
