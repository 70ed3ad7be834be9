package jinja_test

import (
	"fmt"

	"github.com/weirflow/weir/internal/jinja"
)

// Values decoded with DecodeJSON print as Python prints them, in their
// JSON order; the newline after a {% %} tag is dropped.
func Example() {
	tmpl, err := jinja.Parse("prompt", "{% for d in docs %}\n- {{ d.title }} {{ d.meta }}\n{% endfor %}\n{{ missing }}done\n")
	if err != nil {
		panic(err)
	}
	docs, err := jinja.DecodeJSON([]byte(`[{"title": "A", "meta": {"z": 1.0, "a": null}}, {"title": "B", "meta": [true, "x"]}]`))
	if err != nil {
		panic(err)
	}
	out, err := tmpl.Render(map[string]any{"docs": docs})
	if err != nil {
		panic(err)
	}
	fmt.Print(out)
	// Output:
	// - A {'z': 1.0, 'a': None}
	// - B [True, 'x']
	// done
}
