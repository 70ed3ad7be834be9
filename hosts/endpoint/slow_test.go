package endpoint_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts/endpoint"
)

// rawConn is a client connection that sends what the test writes, as a
// slowloris would.
type rawConn struct {
	net.Conn
	r *bufio.Reader
}

func dialRaw(t *testing.T, url string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	// The bound for "it did not hang", not a timing the test relies on.
	require.NoError(t, c.SetDeadline(time.Now().Add(30*time.Second)))
	return &rawConn{c, bufio.NewReader(c)}
}

func (c *rawConn) send(t *testing.T, s string) {
	t.Helper()
	_, err := io.WriteString(c, s)
	require.NoError(t, err)
}

// answer reads the response to the request sent.
func (c *rawConn) answer(t *testing.T) answer {
	t.Helper()
	resp, err := http.ReadResponse(c.r, nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if resp.Close {
		// Go takes Connection out of the header it parses.
		resp.Header.Set("Connection", "close")
	}
	return answer{resp.StatusCode, resp.Header, string(b)}
}

// closed reports whether the server closed the connection: EOF, or a
// reset when the client was still sending.
func (c *rawConn) closed(t *testing.T) bool {
	t.Helper()
	_, err := c.r.ReadByte()
	return err == io.EOF || errors.Is(err, syscall.ECONNRESET)
}

// TestBodyTimeout: a client that sends its headers, then withholds or
// trickles its body, gets 408 once BodyTimeout passes, on every route that
// reads a body, and the connection is closed; the server serves on.
func TestBodyTimeout(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{AdminToken: token, BodyTimeout: 200 * time.Millisecond}, engine.Options{})
	fx.deploy(t, "v1", helloFlow)
	const msg = "read body: not complete within the limit of 200ms"
	auth := "Authorization: Bearer " + token + "\r\n"
	tests := []struct {
		name    string
		head    string
		trickle bool
	}{
		{"score, stalled", "POST /score HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"name\":", false},
		{"score, trickled", "POST /score HTTP/1.1\r\nContent-Length: 100000\r\n\r\n", true},
		{"score, chunked and stalled", "POST /score HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n", false},
		{"runs, stalled", "POST /v1/flows/hello/runs HTTP/1.1\r\nContent-Length: 100\r\n\r\n", false},
		{"runs, trickled", "POST /v1/flows/hello/runs HTTP/1.1\r\nAccept: text/event-stream\r\nContent-Length: 100000\r\n\r\n", true},
		{"upload, stalled", "POST /v1/admin/deployments HTTP/1.1\r\n" + auth + "Content-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\nxx", false},
		{"split, trickled", "PUT /v1/admin/flows/hello/split HTTP/1.1\r\n" + auth + "Content-Length: 100000\r\n\r\n", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := dialRaw(t, fx.url)
			c.send(t, strings.Replace(tc.head, "\r\n", "\r\nHost: localhost\r\n", 1))
			if tc.trickle {
				// A byte every 10ms: never idle for long, never done
				// within the limit. It stops when the server hangs up.
				go func() {
					for {
						if _, err := c.Write([]byte(" ")); err != nil {
							return
						}
						time.Sleep(10 * time.Millisecond)
					}
				}()
			}
			got := c.answer(t)
			assert.Equal(t, http.StatusRequestTimeout, got.status)
			want := errorBody("request_timeout", msg)
			if strings.HasPrefix(tc.head, "POST /score ") {
				want = scoreError("UserError", "request_timeout", msg)
			}
			assert.Equal(t, want, got.body)
			assert.Equal(t, "close", got.header.Get("Connection"))
			assert.True(t, c.closed(t), "the server closes the connection")
		})
	}
	t.Cleanup(func() {
		// After them all: the slots are free and the server serves.
		assert.Contains(t, do(t, "GET", fx.url+"/metrics", "").body, "\nweir_runs_in_flight 0\n")
		got := do(t, "POST", fx.url+"/score", `{"name": "Ada"}`)
		assert.Equal(t, answer{200, nil, `{"message":"Hello, Ada!"}` + "\n"}, strip(got))
	})
}

// TestSlowBodyTakesSlot: a request takes its slot of MaxConcurrent before
// its body is read, so a client that withholds its body holds one; past
// the limit a request gets 429 at once, without its body being read.
func TestSlowBodyTakesSlot(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{MaxConcurrent: 1, BodyTimeout: time.Hour}, engine.Options{})
	fx.deploy(t, "v1", helloFlow)

	slow := dialRaw(t, fx.url)
	slow.send(t, "POST /score HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{")
	inFlight(t, fx, 1)

	// Headers alone: an answer that comes shows the body was not awaited.
	for _, path := range []string{"/score", "/v1/flows/hello/runs"} {
		c := dialRaw(t, fx.url)
		c.send(t, "POST "+path+" HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n")
		got := c.answer(t)
		assert.Equal(t, http.StatusTooManyRequests, got.status, path)
		assert.Equal(t, "1", got.header.Get("Retry-After"), path)
		want := errorBody("too_many_requests", "too many runs in flight: the limit is 1")
		if path == "/score" {
			want = scoreError("UserError", "too_many_requests", "too many runs in flight: the limit is 1")
		}
		assert.Equal(t, want, got.body, path)
	}

	// The slow client leaves: its slot is free again.
	require.NoError(t, slow.Close())
	inFlight(t, fx, 0)
	got := do(t, "POST", fx.url+"/score", `{"name": "Ada"}`)
	assert.Equal(t, answer{200, nil, `{"message":"Hello, Ada!"}` + "\n"}, strip(got))
}

// inFlight waits until /metrics counts n runs in flight.
func inFlight(t *testing.T, fx *fixture, n int) {
	t.Helper()
	line := "\nweir_runs_in_flight " + itoa(n) + "\n"
	require.Eventually(t, func() bool {
		return strings.Contains(do(t, "GET", fx.url+"/metrics", "").body, line)
	}, 30*time.Second, 5*time.Millisecond, "waiting for %q", line)
}
