package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
)

// listenHydro listens on APP_PORT, which Hydrosphere gives its runtime
// images, for the gRPC server (Hydrosphere's PredictionService among
// weir's services): on the host of --addr when it was given, else on
// every interface, as a runtime image listens. Without APP_PORT it returns
// a nil listener.
func listenHydro(fl serveFlags) (net.Listener, error) {
	port := os.Getenv("APP_PORT")
	if port == "" {
		return nil, nil
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return nil, fmt.Errorf("APP_PORT %q: want a port number, or 0 for a free one", port)
	}
	host := ""
	if fl.addrSet {
		host, _, _ = net.SplitHostPort(fl.addr)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("serve APP_PORT: %w: another program listens there; pick another port", err)
	}
	if err != nil {
		return nil, fmt.Errorf("serve APP_PORT: %w", err)
	}
	return ln, nil
}
