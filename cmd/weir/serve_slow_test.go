package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/hosts/bundle"
	"github.com/weirflow/weir/hosts/endpoint"
)

// TestServeBodyTimeout: a client of weir serve that sends its headers and
// then withholds its body gets 408 at --body-timeout, and the server
// serves on.
func TestServeBodyTimeout(t *testing.T) {
	t.Parallel()
	got := weir(t, "", "serve", "--body-timeout", "0s", hello)
	assert.Equal(t, result{2, "", "weir: --body-timeout must be positive, got 0s\n" + usage("serve")}, got)

	_, root := weirBinary(t)
	s := startServe(t, root, nil, 1, "--body-timeout", "1s", "examples/hello/flow.cue")
	c, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(30*time.Second))) // it did not hang
	_, err = io.WriteString(c, "POST /score HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{\"name\":")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, http.StatusRequestTimeout, resp.StatusCode)
	assert.Equal(t, `{"error":{"code":"UserError","message":"read body: not complete within the limit of 1s","innerError":{"code":"request_timeout"}}}`+"\n", string(body))
	assert.True(t, resp.Close, "the connection is closed")

	code, out := post(t, s.url+"/score", "application/json", `{"name":"Ada"}`)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, `{"message":"Hello, Ada!","shouted":null}`+"\n", out)
	exit, _ := s.stop(t, syscall.SIGTERM)
	assert.Equal(t, 0, exit)
}

// TestServeHostileUpload uploads a bundle whose plugin never finishes
// loading (its weir_describe loops): the admin API answers meanwhile, and
// SIGTERM cancels the load, so the upload fails with 503 and weir exits 0
// long before --grace.
func TestServeHostileUpload(t *testing.T) {
	t.Parallel()
	wat := watGuests(t)
	dir := t.TempDir()
	wasm, err := os.ReadFile(filepath.Join(wat, "loadloop.wasm"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "loadloop.wasm"), wasm, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "flow.cue"), []byte(`name: "evil"
plugins: bad: wasm: "loadloop.wasm"
nodes: n: tool: "bad.any"
`), 0o644))
	var evil bytes.Buffer
	_, err = bundle.Build(filepath.Join(dir, "flow.cue"), &evil)
	require.NoError(t, err)

	s := startServe(t, t.TempDir(), []string{"WEIR_ADMIN_TOKEN="}, 2, "--admin", "--grace", "10m")
	ctx := context.Background()
	c := &endpoint.Client{URL: s.url}
	done := make(chan error, 1)
	go func() {
		_, err := c.Upload(ctx, evil.Bytes(), "")
		done <- err
	}()
	require.Eventually(t, func() bool {
		resp, err := http.Get(s.url + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return err == nil && strings.Contains(string(b), "\nweir_bundles_loading 1\n")
	}, 30*time.Second, 10*time.Millisecond, "the upload never started loading")

	list, err := c.List(ctx)
	require.NoError(t, err, "the admin API answers while a load hangs")
	assert.Empty(t, list)

	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-done:
		assert.EqualError(t, err, "upload bundle: deploy bundle: server is closed: it is shutting down (HTTP 503, unavailable)")
	case <-time.After(30 * time.Second):
		t.Fatal("the upload still hangs 30s after SIGTERM")
	}
	select {
	case <-s.waited: // the lines it printed wait in s.lines, which is closed
	case <-time.After(30 * time.Second):
		t.Fatal("weir serve still runs 30s after SIGTERM")
	}
	var rest []string
	for line := range s.lines {
		rest = append(rest, line)
	}
	assert.Equal(t, 0, s.code, "%q", rest)
	assert.Equal(t, "draining: no new requests; those in flight have 10m0s to finish", rest[0])
	assert.Contains(t, strings.Join(rest, "\n"), fmt.Sprintf(`level=INFO msg="upload refused" error=%q`, "deploy bundle: server is closed: it is shutting down"))
}
