package load

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// NewHTTPClient returns a client that keeps up to conns connections to one
// server, each request bounded by timeout; when dials is not nil, it counts
// the connections the client opens.
func NewHTTPClient(conns int, timeout time.Duration, dials *atomic.Int64) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				if dials != nil {
					dials.Add(1)
				}
				return dialer.DialContext(ctx, network, addr)
			},
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
		Timeout: timeout,
	}
}

// maxErrorBody bounds the part of an answer's body an error quotes.
const maxErrorBody = 200

// Post sends body to url as JSON and returns the answer's body, read whole
// so that the connection is kept for the next request. An answer whose
// status is not 2xx is an error that quotes it.
func Post(ctx context.Context, hc *http.Client, url string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	switch {
	case err != nil:
		return nil, fmt.Errorf("read answer: %w", err)
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		b = bytes.TrimSpace(b)
		if len(b) > maxErrorBody {
			b = append(b[:maxErrorBody:maxErrorBody], "…"...)
		}
		return nil, fmt.Errorf("status %s: %s", resp.Status, b)
	}
	return b, nil
}
