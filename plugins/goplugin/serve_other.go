//go:build !unix

package goplugin

import (
	"fmt"
	"os"
)

// leaveWithGroup ends the plugin process.
func leaveWithGroup(why string) {
	fmt.Fprintf(os.Stderr, "weir plugin: %s; exiting\n", why)
	os.Exit(3)
}
