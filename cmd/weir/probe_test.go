package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestProbe(t *testing.T) {
	ready := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(ready.Close)
	draining := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(draining.Close)
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()

	runCases(t, []commandCase{
		{
			name:   "ready",
			args:   []string{"probe", ready.URL},
			stdout: ready.URL + "/readyz: 200 OK\n",
		},
		{
			name:   "another path",
			args:   []string{"probe", "--path", "/healthz", ready.URL + "/"},
			code:   1,
			stderr: "weir: probe: " + ready.URL + "/healthz answered 404 Not Found\n",
		},
		{
			name:   "not ready",
			args:   []string{"probe", draining.URL},
			code:   1,
			stderr: "weir: probe: " + draining.URL + "/readyz answered 503 Service Unavailable\n",
		},
		{
			name:   "nothing there",
			args:   []string{"probe", gone.URL},
			code:   1,
			stderr: "weir: probe: Get \"" + gone.URL + "/readyz\": dial tcp " + gone.Listener.Addr().String() + ": connect: connection refused\n",
		},
	})
}
