// Command garbage is a plugin that writes to stdout before Serve, which
// breaks go-plugin's handshake.
package main

import (
	"context"
	"fmt"

	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/goplugin"
)

func main() {
	fmt.Println("starting up...")
	goplugin.Serve(plugins.Func("id", "", func(_ context.Context, in map[string]any) (map[string]any, error) {
		return in, nil
	}))
}
