package jsonscan

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMembers(t *testing.T) {
	tests := []struct {
		name, obj string
		want      []string // key, value, key, value...
	}{
		{"in order", `{"b": 1, "a": [2, {"x": "}"}], "c\"": "<"}`, []string{`"b"`, `1`, `"a"`, `[2, {"x": "}"}]`, `"c\""`, `"<"`}},
		{"numbers as written", `{"big":9007199254740993,"f":1.50}`, []string{`"big"`, `9007199254740993`, `"f"`, `1.50`}},
		{"empty", ` { } `, nil},
		{"not an object", `[1]`, nil},
		{"stops at damage", `{"a": 1, "b" 2}`, []string{`"a"`, `1`}},
		{"unterminated", `{"a": "x`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for k, v := range Members([]byte(tt.obj)) {
				got = append(got, string(k), string(v))
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestMembersStop(t *testing.T) {
	n := 0
	for range Members([]byte(`{"a":1,"b":2}`)) {
		n++
		break
	}
	assert.Equal(t, 1, n)
}

func TestElements(t *testing.T) {
	tests := []struct {
		name, arr string
		want      []string
	}{
		{"in order", `[1, "a]", {"b": [2]}, null]`, []string{`1`, `"a]"`, `{"b": [2]}`, `null`}},
		{"empty", ` [ ] `, nil},
		{"not an array", `{"a":1}`, nil},
		{"stops at damage", `[1, "x`, []string{`1`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for v := range Elements([]byte(tt.arr)) {
				got = append(got, string(v))
			}
			assert.Equal(t, tt.want, got)
		})
	}
}
