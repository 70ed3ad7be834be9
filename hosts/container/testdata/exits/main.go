// exits stands in for weir in an image whose container must fail at start:
// it writes a line and exits with status 3.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "weir serve: load /srv/bundle.weir: the bundle is damaged")
	os.Exit(3)
}
