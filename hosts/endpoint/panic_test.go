package endpoint

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/engine"
)

// syncBuffer is a log that handlers write to from their goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestPanic: a handler that panics answers a 500 with an error body, or an
// error event once its stream began, and the panic is logged with its
// stack; an answer begun otherwise is cut, so the client sees it
// unfinished. The server serves on.
func TestPanic(t *testing.T) {
	t.Parallel()
	e, err := weir.New(engine.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	var logs syncBuffer
	s, err := New(Options{Engine: e, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err)
	const msg = `{"error":{"code":"internal","message":"internal error: the server failed on this request, and logged why"}}`

	mux := http.NewServeMux()
	mux.Handle("/before", s.instrument("before", false, func(w *recorder, r *http.Request) {
		w.Header().Set("Weir-Version", "v1")
		panic("boom before")
	}))
	mux.Handle("/stream", s.instrument("stream", false, func(w *recorder, r *http.Request) {
		ev := newEvents(w, 1)
		ev.node(engine.NodeResult{Node: "n", Status: engine.Succeeded})
		ev.finish()
		panic("boom in a stream")
	}))
	mux.Handle("/begun", s.instrument("begun", false, func(w *recorder, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"outputs":`))
		_ = http.NewResponseController(w).Flush()
		panic("boom mid answer")
	}))
	mux.Handle("/score", s.instrument("score", false, promptflowErrors(func(w *recorder, r *http.Request) {
		panic("boom on score")
	})))
	mux.Handle("/abort", s.instrument("abort", false, func(w *recorder, r *http.Request) {
		panic(http.ErrAbortHandler)
	}))
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	get := func(path string) (*http.Response, string, error) {
		resp, err := http.Get(hs.URL + path)
		require.NoError(t, err, path)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, string(b), err
	}

	resp, body, err := get("/before")
	require.NoError(t, err)
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.Equal(t, msg+"\n", body)

	resp, body, err = get("/stream")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, `event: node`+"\n"+`data: {"node":"n","tool":"","plugin":"","kind":"","status":"succeeded","attempts":0,"duration":0}`+"\n\n"+
		"event: error\ndata: "+msg+"\n\n", body)

	resp, body, err = get("/score")
	require.NoError(t, err)
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	assert.Equal(t, `{"error":{"code":"SystemError","message":"internal error: the server failed on this request, and logged why","innerError":{"code":"internal"}}}`+"\n", body,
		"on /score, in prompt flow's words")

	_, body, err = get("/begun")
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "the client sees the answer cut")
	assert.Equal(t, `{"outputs":`, body)

	_, err = http.Get(hs.URL + "/abort")
	assert.Error(t, err, "net/http's own abort still cuts the connection")

	log := logs.String()
	for route, p := range map[string]string{"before": "boom before", "stream": "boom in a stream", "begun": "boom mid answer", "score": "boom on score"} {
		assert.Contains(t, log, `level=ERROR msg="handler panicked" route=`+route+` path=/`+route+` panic="`+p+`" stack="goroutine `)
	}
	assert.Equal(t, 4, strings.Count(log, "handler panicked"), "http.ErrAbortHandler is not logged")

	rec := httptest.NewRecorder()
	s.metrics.handler.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	assert.Contains(t, rec.Body.String(), `weir_http_request_duration_seconds_count{code="500",method="GET",route="before"} 1`)
	assert.Contains(t, rec.Body.String(), `weir_http_request_duration_seconds_count{code="500",method="GET",route="begun"} 1`)
}

// TestGRPCPanic: a gRPC handler that panics answers INTERNAL, and the
// panic is logged with its stack, rather than ending the process.
func TestGRPCPanic(t *testing.T) {
	t.Parallel()
	e, err := weir.New(engine.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	var logs syncBuffer
	s, err := New(Options{Engine: e, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err)
	info := &grpc.UnaryServerInfo{FullMethod: "/weir.flow.v1.Flows/Run"}
	_, err = s.interceptUnary(context.Background(), nil, info, func(context.Context, any) (any, error) { panic("boom") })
	assert.Equal(t, codes.Internal, status.Code(err))
	assert.Equal(t, "internal error: the server failed on this request, and logged why", status.Convert(err).Message())
	assert.Contains(t, logs.String(), `msg="handler panicked" route=/weir.flow.v1.Flows/Run panic=boom stack=`)
}
