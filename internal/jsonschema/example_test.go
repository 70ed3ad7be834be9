package jsonschema_test

import (
	"fmt"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"

	"github.com/weirflow/weir/internal/jsonschema"
)

func Example() {
	flow := cuecontext.New().CompileString(`inputs: {
	name:  string & !=""
	times: int & >=1 & <=5 | *1
}`, cue.Filename("flow.cue"))

	// Once per flow.
	raw, err := jsonschema.FromCUE(flow.LookupPath(cue.ParsePath("inputs")))
	if err != nil {
		panic(err)
	}
	fmt.Println(string(raw))
	schema, err := jsonschema.Compile(raw)
	if err != nil {
		panic(err)
	}

	// Once per run.
	for _, line := range []string{`{"name":"ada"}`, `{"times":7}`} {
		in, err := jsonschema.Decode([]byte(line))
		if err != nil {
			panic(err)
		}
		schema.ApplyDefaults(in.(map[string]any))
		fmt.Println(in, schema.Validate(in))
	}

	// Static checks of references.
	_, res := schema.Lookup([]any{"name", "first"})
	fmt.Println("${inputs.name.first}:", res)
	// Output:
	// {"additionalProperties":false,"properties":{"name":{"not":{"const":""},"type":"string"},"times":{"default":1,"maximum":5,"minimum":1,"type":"integer"}},"required":["name"],"type":"object"}
	// map[name:ada times:1] <nil>
	// map[times:7] name: is required; times: must be <= 5, got 7
	// ${inputs.name.first}: missing
}
