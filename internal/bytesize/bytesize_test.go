package bytesize

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]int64{"1048576": 1 << 20, "1MiB": 1 << 20, "512KiB": 512 << 10, "2GiB": 2 << 30,
		"10MB": 10e6, "1 KB": 1000, "7B": 7, "64 MiB": 64 << 20, "4611686018427387904": 1 << 62} {
		got, ok := Parse(in)
		assert.True(t, ok, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "MiB", "-1", "0", "0KiB", "+1", " 1", "1.5MiB", "1TiB", "1 mib", "1MiB ", "1 ", "99999999999GiB", "4611686018427387905"} {
		_, ok := Parse(in)
		assert.False(t, ok, in)
	}
}

func TestFormat(t *testing.T) {
	for n, want := range map[int64]string{0: "0 bytes", 1000: "1000 bytes", 1024: "1 KiB", 1536: "1536 bytes",
		128 << 10: "128 KiB", 64 << 20: "64 MiB", 1<<30 + 1<<20: "1025 MiB", 4 << 30: "4 GiB"} {
		assert.Equal(t, want, Format(n), n)
	}
}

func TestRound(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB",
		1 << 20: "1.0 MiB", 5<<30 + 1<<29: "5.5 GiB", 3 << 40: "3072.0 GiB"} {
		assert.Equal(t, want, Round(n), n)
	}
}
