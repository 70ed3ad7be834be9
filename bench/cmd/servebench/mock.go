package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"text/template"
	"time"
)

// mockAPI stands for the slow API at the end of the scenario's flow: it
// answers each request after its delay, with a small JSON body, as prompt
// flow's mock service does.
type mockAPI struct {
	srv    *http.Server
	host   string       // 127.0.0.1:port
	served atomic.Int64 // answers
	conns  atomic.Int64 // connections accepted from weir
	done   chan error
}

func startMockAPI(delay time.Duration) (*mockAPI, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	body := []byte(`{"answer":"42","delay_ms":` + strconv.FormatInt(delay.Milliseconds(), 10) + "}\n")
	m := &mockAPI{host: ln.Addr().String(), done: make(chan error, 1)}
	m.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// Drain the body, so the connection goes back to weir's pool.
			_, _ = io.Copy(io.Discard, r.Body)
			t := time.NewTimer(delay)
			defer t.Stop()
			select {
			case <-t.C:
			case <-r.Context().Done():
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(body)
			m.served.Add(1)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(_ net.Conn, state http.ConnState) {
			if state == http.StateNew {
				m.conns.Add(1)
			}
		},
	}
	go func() { m.done <- m.srv.Serve(ln) }()
	return m, nil
}

func (m *mockAPI) url() string { return "http://" + m.host + "/answer" }

func (m *mockAPI) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if m.srv.Shutdown(ctx) != nil {
		_ = m.srv.Close()
	}
	<-m.done
}

// writeFlow fills bench/testdata/serve-flow.cue.tmpl with the mock API's
// address and writes it into dir.
func writeFlow(root, dir string, api *mockAPI) (string, error) {
	tmpl, err := template.ParseFiles(filepath.Join(root, "bench", "testdata", "serve-flow.cue.tmpl"))
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := tmpl.Execute(&b, struct{ Host, URL string }{api.host, api.url()}); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "flow.cue")
	return path, os.WriteFile(path, []byte(b.String()), 0o644)
}
