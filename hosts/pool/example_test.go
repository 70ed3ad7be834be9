package pool_test

import (
	"context"
	"fmt"
	"log"

	"github.com/weirflow/weir/hosts/pool"
)

// A NATS server in the process, a connection to it and a pool on it: what
// weir pool serve and weir pool create do.
func ExampleStartServer() {
	s, err := pool.StartServer(pool.ServerOptions{Addr: "127.0.0.1:0"})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Shutdown()

	ctx := context.Background()
	c, err := pool.Connect(ctx, pool.Options{URL: s.URL()})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	p, err := pool.Create(ctx, c, "demo", pool.Settings{})
	if err != nil {
		log.Fatal(err)
	}
	names, err := pool.List(ctx, c)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(names, p.Settings())
	// Output: [demo] replicas 1, max-deliver 5, ack-wait 30s
}

// A server that nothing listens on is an error at once, never a hang.
func ExampleConnect_unreachable() {
	_, err := pool.Connect(context.Background(), pool.Options{URL: "nats://127.0.0.1:1"})
	fmt.Println(err)
	// Output: connect to nats://127.0.0.1:1: no server is listening there (start one with weir pool serve, or pass --nats URL)
}
