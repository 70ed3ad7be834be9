//go:build !wasip1

package pdk

import (
	"fmt"
	"os"
)

// defaultHost stands in for weir when a plugin is built for the machine it
// runs on, as go test does: logs go to standard error, no config is set, and
// HTTP fails.
var defaultHost host = localHost{}

type localHost struct{}

func (localHost) log(level Level, msg string) {
	fmt.Fprintf(os.Stderr, "%s: %s\n", level, msg)
}

// error does nothing: Call returns the error itself.
func (localHost) error([]byte) {}

func (localHost) configGet(string, []byte) int32 { return -1 }

var noHTTP = []byte(`{"error":"no weir host: HTTP works only in a plugin that weir runs"}`)

func (localHost) httpRequest(_, buf []byte) int32 {
	return int32(copy(buf, noHTTP))
}
