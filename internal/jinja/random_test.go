package jinja

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"os"
	"os/exec"
	"testing"
)

// TestRandomAgainstJinja2 renders templates that testdata/random.py makes
// at random and renders with Python's jinja2, and wants the same text, or
// an error where jinja2 raised. It needs python3 with jinja2 (Debian's
// python3-jinja2) and skips loudly without. WEIR_JINJA_SEED and
// WEIR_JINJA_COUNT pick other templates and more of them.
func TestRandomAgainstJinja2(t *testing.T) {
	count := "2000"
	if testing.Short() {
		count = "300"
	}
	count = cmp.Or(os.Getenv("WEIR_JINJA_COUNT"), count)
	seed := cmp.Or(os.Getenv("WEIR_JINJA_SEED"), "1")
	if err := exec.Command("python3", "-c", "import jinja2").Run(); err != nil {
		t.Skipf("SKIP LOUDLY: no python3 with jinja2 (apt-get install python3-jinja2): %v", err)
	}
	out, err := exec.Command("python3", "testdata/random.py", seed, count).Output()
	if err != nil {
		t.Fatalf("testdata/random.py: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<24)
	if !sc.Scan() {
		t.Fatal("testdata/random.py wrote nothing")
	}
	var head struct{ Vars json.RawMessage }
	if err := json.Unmarshal(sc.Bytes(), &head); err != nil {
		t.Fatal(err)
	}
	rendered, raised, differ := 0, 0, 0
	for sc.Scan() {
		var c struct {
			Src string
			Out *string
			Err string
		}
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		// Fresh variables each time, as the script renders a copy.
		v, err := DecodeJSON(head.Vars)
		if err != nil {
			t.Fatal(err)
		}
		vars := map[string]any{}
		for _, k := range v.(*Dict).Keys() {
			vars[k], _ = v.(*Dict).Get(k)
		}
		var got string
		tmpl, err := Parse("random", c.Src)
		if err == nil {
			got, err = tmpl.Render(vars)
		}
		switch {
		case c.Out != nil && err == nil && got == *c.Out:
			rendered++
		case c.Out == nil && err != nil:
			raised++
		default:
			differ++
			if differ <= 10 {
				if c.Out != nil {
					t.Errorf("template %q\njinja2: %q\n  weir: %q, %v", c.Src, *c.Out, got, err)
				} else {
					t.Errorf("template %q\njinja2 raised %s\n  weir: %q", c.Src, c.Err, got)
				}
			}
		}
	}
	t.Logf("%d rendered alike, %d raised by both, %d differ", rendered, raised, differ)
}
