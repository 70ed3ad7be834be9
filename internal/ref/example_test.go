package ref_test

import (
	"errors"
	"fmt"

	"github.com/weirflow/weir/internal/ref"
)

func ExampleParse() {
	t, _ := ref.Parse("Hello ${inputs.name}, costs $${price} ${node.output.items[0][\"unit price\"]}")
	for _, p := range t.Parts {
		if p.Ref != nil {
			fmt.Printf("ref  %s at %d\n", p.Ref, p.Ref.Offset)
		} else {
			fmt.Printf("text %q\n", p.Text)
		}
	}

	t, _ = ref.Parse("${greet.output}")
	fmt.Println(t.IsRef())

	_, err := ref.Parse("Hi ${inputs name}")
	var se *ref.SyntaxError
	if errors.As(err, &se) {
		fmt.Printf("offset %d: %s\n", se.Offset, se.Msg)
	}
	// Output:
	// text "Hello "
	// ref  inputs.name at 6
	// text ", costs ${price} "
	// ref  node.output.items[0]["unit price"] at 38
	// true
	// offset 11: bad reference "${inputs name}": unexpected " " after "${inputs"; spaces are not allowed in a reference
}
