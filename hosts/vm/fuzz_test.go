package vm

import "testing"

// FuzzParseTarget checks that parseTarget does not panic, and that a
// target it accepts reads back the same from its String.
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"root@10.0.0.5", "ada@vm.example.com:2222", "root@[::1]:2222", "root@::1", "vm", "@", "a@b@c:1", "root@[::1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := parseTarget(s)
		if err != nil {
			return
		}
		again, err := parseTarget(tg.String())
		if err != nil {
			t.Fatalf("%q parses to %q, which does not parse: %v", s, tg, err)
		}
		if again != tg {
			t.Fatalf("%q parses to %+v, and its String %q to %+v", s, tg, tg.String(), again)
		}
	})
}
