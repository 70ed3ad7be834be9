package jsonscan

import "testing"

func TestTypeName(t *testing.T) {
	for in, want := range map[string][2]string{
		` {"a":1}`: {"object", "an object"},
		"[1]":      {"array", "an array"},
		`"s"`:      {"string", "a string"},
		"true":     {"boolean", "a boolean"},
		"null":     {"null", "null"},
		"-1.5":     {"number", "a number"},
		" \n":      {"nothing", "nothing"},
	} {
		if got := [2]string{Type([]byte(in)), TypePhrase([]byte(in))}; got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}
