// Command host opens the plugin named by its argument, has its spawn tool
// start a child, prints the pids of the plugin and of that child on one
// line, and blocks: the tests of orphans kill it.
package main

import (
	"context"
	"encoding/json"
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
	var child struct {
		PID int `json:"pid"`
	}
	for _, t := range pl.Tools() {
		if t.Contract().Name != "spawn" {
			continue
		}
		out, err := t.Invoke(context.Background(), []byte(`{}`))
		if err == nil {
			err = json.Unmarshal(out, &child)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	fmt.Println(pl.(*goplugin.Plugin).Stats().PID, child.PID)
	select {}
}
