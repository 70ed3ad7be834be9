// Command host opens the plugin named by its argument, prints the pid of
// the plugin's process, and blocks: the test of orphans kills it.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/goplugin"
)

func main() {
	p := goplugin.NewProvider(goplugin.Options{})
	pl, err := p.Open(context.Background(), plugins.Spec{Name: "tools", Kind: "goplugin", Source: os.Args[1]})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(pl.(*goplugin.Plugin).Stats().PID)
	select {}
}
