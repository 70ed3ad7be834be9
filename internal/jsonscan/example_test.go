package jsonscan_test

import (
	"errors"
	"fmt"

	"github.com/weirflow/weir/internal/jsonscan"
)

func ExampleSelect() {
	output := []byte(`{"a": {"b": [{"name": "first"}, 2]}, "text": "long, skipped"}`)

	val, err := jsonscan.Select(output, []jsonscan.Step{{Key: "a"}, {Key: "b"}, {Index: 0, IsIndex: true}})
	fmt.Println(string(val), err)

	_, err = jsonscan.Select(output, []jsonscan.Step{{Key: "a"}, {Key: "c"}})
	var missing *jsonscan.MissingError
	if errors.As(err, &missing) {
		fmt.Printf("step %d: %v\n", missing.At, err)
	}

	_, err = jsonscan.Select([]byte(`{"a" 1}`), []jsonscan.Step{{Key: "a"}})
	fmt.Println(errors.Is(err, jsonscan.ErrMalformed), err)
	// Output:
	// {"name": "first"} <nil>
	// step 1: no field "c"
	// true malformed JSON at byte 5: unexpected "1", expected ":" after object key
}

func ExampleAppendText() {
	// Interpolating "Hello ${inputs.name}, you sent ${inputs.tags}" into a
	// JSON string input, without decoding either value.
	name := []byte(`"Ada \"the first\""`)
	tags := []byte(`[ "x", 1 ]`)

	var text []byte
	text = append(text, "Hello "...)
	text = jsonscan.AppendText(text, name)
	text = append(text, ", you sent "...)
	text = jsonscan.AppendText(text, tags)

	input := []byte(`{"prompt":`)
	input = jsonscan.AppendString(input, string(text))
	input = append(input, '}')
	fmt.Println(string(input))
	// Output:
	// {"prompt":"Hello Ada \"the first\", you sent [\"x\",1]"}
}
