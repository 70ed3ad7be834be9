//go:build !wasip1

package pdk

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The stand-in host of a non-Wasm build.
func TestLocalHost(t *testing.T) {
	var r replies
	_, ok := config(localHost{}, &r, "anything")
	assert.False(t, ok)
	_, err := httpDo(localHost{}, &r, Request{URL: "https://api.example"})
	assert.EqualError(t, err, "http GET https://api.example: no weir host: HTTP works only in a plugin that weir runs")
}
