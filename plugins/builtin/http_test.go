package builtin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/internal/granthttp"
	"github.com/weirflow/weir/plugins"
)

// testServer is a real HTTP server on loopback. hits counts the requests
// that reached it, so tests can prove that a refused call sent nothing.
type testServer struct {
	*httptest.Server
	hits    atomic.Int64
	arrived chan struct{} // a request reached /slow
}

func newTestServer(t *testing.T) *testServer {
	s := &testServer{arrived: make(chan struct{}, 16)}
	mux := http.NewServeMux()
	mux.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Add("X-Multi", "first")
		w.Header().Add("X-Multi", "second")
		fmt.Fprint(w, `{"hi": "there", "n": [1, 2]}`)
	})
	mux.HandleFunc("/problem", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		fmt.Fprint(w, `{"title":"fine"}`)
	})
	mux.HandleFunc("/badjson", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"oops"`)
	})
	mux.HandleFunc("/text", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "plain <text> & more")
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{
			"method":       r.Method,
			"content_type": r.Header.Get("Content-Type"),
			"x_test":       r.Header.Get("X-Test"),
			"host":         r.Host,
			"body":         string(body),
		})
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.PathValue("code"))
		w.WriteHeader(code)
		fmt.Fprint(w, r.URL.Query().Get("body"))
	})
	mux.HandleFunc("/long-error", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, strings.Repeat("x", 199)+"é"+strings.Repeat("y", 100))
	})
	mux.HandleFunc("/size/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.PathValue("n"))
		if r.URL.Query().Has("length") {
			w.Header().Set("Content-Length", strconv.Itoa(n))
		}
		chunk := strings.Repeat("z", 64<<10)
		for n > 0 {
			k := min(n, len(chunk))
			if _, err := io.WriteString(w, chunk[:k]); err != nil {
				return
			}
			n -= k
		}
	})
	mux.HandleFunc("/stall-body", func(w http.ResponseWriter, r *http.Request) {
		// Headers and the start of the body, then nothing more.
		w.Header().Set("Content-Length", "1000")
		io.WriteString(w, "the start")
		w.(http.Flusher).Flush()
		s.arrived <- struct{}{}
		<-r.Context().Done()
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		s.arrived <- struct{}{}
		<-r.Context().Done() // answer never: only the client's deadline ends this
	})
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *testServer) port() string {
	u, _ := url.Parse(s.URL)
	return u.Port()
}

func grantedHTTP(t *testing.T, hosts ...string) plugins.Tool {
	return toolNamed(t, "http", plugins.Grants{Hosts: hosts})
}

func TestHTTP(t *testing.T) {
	s := newTestServer(t)
	tool := grantedHTTP(t, "127.0.0.1")

	out, err := call(t, tool, `{"url":"`+s.URL+`/json"}`)
	require.NoError(t, err)
	var got struct {
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Body    string            `json:"body"`
		JSON    json.RawMessage   `json:"json"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	assert.Equal(t, 200, got.Status)
	assert.Equal(t, "first", got.Headers["X-Multi"])
	assert.Equal(t, "application/json; charset=utf-8", got.Headers["Content-Type"])
	assert.Equal(t, `{"hi": "there", "n": [1, 2]}`, got.Body)
	assert.Equal(t, `{"hi":"there","n":[1,2]}`, string(got.JSON))

	out, err = call(t, tool, `{"url":"`+s.URL+`/problem"}`)
	require.NoError(t, err)
	assert.Contains(t, out, `"json":{"title":"fine"}`, "+json types are JSON")

	for _, path := range []string{"/text", "/badjson"} {
		out, err = call(t, tool, `{"url":"`+s.URL+path+`"}`)
		require.NoError(t, err)
		assert.NotContains(t, out, `"json"`, path)
	}
	assert.Contains(t, out, `"body":"{\"oops\""`)

	out, err = call(t, tool, `{"url":"`+s.URL+`/text"}`)
	require.NoError(t, err)
	assert.Contains(t, out, `"body":"plain <text> & more"`)
}

func TestHTTPRequest(t *testing.T) {
	s := newTestServer(t)
	tool := grantedHTTP(t, "127.0.0.1")
	for _, tc := range []struct {
		name string
		in   string
		want map[string]string
	}{
		{"get", `{"url":"` + s.URL + `/echo"}`,
			map[string]string{"method": "GET", "content_type": "", "body": ""}},
		{"json body posts", `{"url":"` + s.URL + `/echo","body":{"a": [1]}}`,
			map[string]string{"method": "POST", "content_type": "application/json", "body": `{"a": [1]}`}},
		{"string body as is", `{"url":"` + s.URL + `/echo","body":"a=1&b=2","method":"put","headers":{"Content-Type":"application/x-www-form-urlencoded"}}`,
			map[string]string{"method": "PUT", "content_type": "application/x-www-form-urlencoded", "body": "a=1&b=2"}},
		{"json body keeps a given type", `{"url":"` + s.URL + `/echo","body":[1],"headers":{"content-type":"application/vnd.x+json"}}`,
			map[string]string{"method": "POST", "content_type": "application/vnd.x+json", "body": "[1]"}},
		{"null body is no body", `{"url":"` + s.URL + `/echo","body":null}`,
			map[string]string{"method": "GET", "body": ""}},
		{"headers", `{"url":"` + s.URL + `/echo","headers":{"x-test":"yes","Host":"virtual.example"}}`,
			map[string]string{"x_test": "yes", "host": "virtual.example"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := call(t, tool, tc.in)
			require.NoError(t, err)
			var got struct {
				JSON map[string]string `json:"json"`
			}
			require.NoError(t, json.Unmarshal([]byte(out), &got))
			for k, v := range tc.want {
				assert.Equal(t, v, got.JSON[k], k)
			}
		})
	}
}

func TestHTTPGrants(t *testing.T) {
	s := newTestServer(t)
	port := s.port()
	local := "http://localhost:" + port
	for _, tc := range []struct {
		name   string
		grants []string
		url    string
		want   string // empty when the call is allowed
	}{
		{"host grants any port", []string{"127.0.0.1"}, s.URL + "/text", ""},
		{"host:port grants that port", []string{"127.0.0.1:" + port}, s.URL + "/text", ""},
		{"case does not matter", []string{"LOCALHOST"}, "http://LocalHost:" + port + "/text", ""},
		{"trailing dots do not matter", []string{"localhost."}, "http://localhost:" + port + "/text", ""},
		{"nothing granted", nil, s.URL + "/text",
			`http: host "127.0.0.1:` + port + `" is not granted; add it to the flow's plugins.builtin.grants.hosts`},
		{"other port", []string{"127.0.0.1:1"}, s.URL + "/text",
			`http: host "127.0.0.1:` + port + `" is not granted; add it to the flow's plugins.builtin.grants.hosts`},
		{"other host", []string{"127.0.0.1"}, local + "/text",
			`http: host "localhost:` + port + `" is not granted; add it to the flow's plugins.builtin.grants.hosts`},
		{"default https port", []string{"example.com:80"}, "https://example.com/",
			`http: host "example.com:443" is not granted; add it to the flow's plugins.builtin.grants.hosts`},
		{"default http port", []string{"example.com:443"}, "http://Example.COM/",
			`http: host "example.com:80" is not granted; add it to the flow's plugins.builtin.grants.hosts`},
		{"ipv6", []string{"::2"}, "http://[::1]:" + port + "/",
			`http: host "[::1]:` + port + `" is not granted; add it to the flow's plugins.builtin.grants.hosts`},
		{"redirect within grants", []string{"127.0.0.1"}, s.URL + "/redirect?to=/text", ""},
		{"redirect to an ungranted host", []string{"127.0.0.1"}, s.URL + "/redirect?to=" + url.QueryEscape(local+"/text"),
			`http: host "localhost:` + port + `" is not granted; add it to the flow's plugins.builtin.grants.hosts`},
		{"redirect loop", []string{"127.0.0.1"}, s.URL + "/loop", "http: stopped after 10 redirects"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := s.hits.Load()
			out, err := call(t, grantedHTTP(t, tc.grants...), `{"url":"`+tc.url+`"}`)
			if tc.want == "" {
				require.NoError(t, err)
				assert.Contains(t, out, `"body":"plain <text> & more"`)
				return
			}
			require.EqualError(t, err, tc.want)
			assert.Equal(t, plugins.Internal, plugins.KindOf(err))
			assert.False(t, plugins.CanRetry(err))
			if !strings.Contains(tc.name, "redirect") {
				assert.Equal(t, before, s.hits.Load(), "no request was sent")
			}
		})
	}
}

// The error names the plugin entry the flow must change.
func TestHTTPGrantErrorNamesEntry(t *testing.T) {
	s := newTestServer(t)
	pl, err := NewProvider().Open(context.Background(), plugins.Spec{Name: "web", Kind: "builtin"})
	require.NoError(t, err)
	defer pl.Close()
	var tool plugins.Tool
	for _, tl := range pl.Tools() {
		if tl.Contract().Name == "http" {
			tool = tl
		}
	}
	_, err = call(t, tool, `{"url":"`+s.URL+`/text"}`)
	require.EqualError(t, err, `http: host "127.0.0.1:`+s.port()+`" is not granted; add it to the flow's plugins.web.grants.hosts`)
}

func TestHTTPStatus(t *testing.T) {
	s := newTestServer(t)
	tool := grantedHTTP(t, "127.0.0.1")
	for _, tc := range []struct {
		path string
		want string
		kind plugins.Kind
	}{
		{"/status/503?body=try+later", `status 503 Service Unavailable: try later`, plugins.Retryable},
		{"/status/500", `status 500 Internal Server Error`, plugins.Retryable},
		{"/status/429?body=slow+down", `status 429 Too Many Requests: slow down`, plugins.Retryable},
		{"/status/404?body=+no+such+thing%0A", `status 404 Not Found: no such thing`, plugins.Internal},
		{"/status/400", `status 400 Bad Request`, plugins.Internal},
		{"/long-error", `status 400 Bad Request: ` + strings.Repeat("x", 199), plugins.Internal},
	} {
		t.Run(tc.path, func(t *testing.T) {
			_, err := call(t, tool, `{"url":"`+s.URL+tc.path+`"}`)
			require.EqualError(t, err, `http: GET "`+s.URL+tc.path+`": `+tc.want)
			assert.Equal(t, tc.kind, plugins.KindOf(err))
		})
	}

	out, err := call(t, tool, `{"url":"`+s.URL+`/status/204"}`)
	require.NoError(t, err)
	assert.Contains(t, out, `"status":204`)
}

func TestHTTPBodyLimit(t *testing.T) {
	s := newTestServer(t)
	tool := grantedHTTP(t, "127.0.0.1")

	out, err := tool.Invoke(t.Context(), []byte(`{"url":"`+s.URL+`/size/`+strconv.Itoa(granthttp.MaxResponseBody)+`"}`))
	require.NoError(t, err)
	assert.Greater(t, len(out), granthttp.MaxResponseBody, "exactly the limit is allowed")

	for _, path := range []string{"/size/" + strconv.Itoa(granthttp.MaxResponseBody+1), "/size/" + strconv.Itoa(granthttp.MaxResponseBody+1) + "?length"} {
		_, err = tool.Invoke(t.Context(), []byte(`{"url":"`+s.URL+path+`"}`))
		require.EqualError(t, err, `http: GET "`+s.URL+path+`": response body is over the 10 MiB limit`)
		assert.Equal(t, plugins.Limit, plugins.KindOf(err))
	}
}

func TestHTTPTimeout(t *testing.T) {
	s := newTestServer(t)
	tool := grantedHTTP(t, "127.0.0.1")

	_, err := call(t, tool, `{"url":"`+s.URL+`/slow","timeout":"50ms"}`)
	require.EqualError(t, err, `http: GET "`+s.URL+`/slow": no response within the 50ms timeout: context deadline exceeded`)
	assert.Equal(t, plugins.Timeout, plugins.KindOf(err))
	assert.True(t, errors.Is(err, context.DeadlineExceeded))
}

func TestHTTPContext(t *testing.T) {
	s := newTestServer(t)
	tool := grantedHTTP(t, "127.0.0.1")

	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-s.arrived
		cancel()
	}()
	_, err := callCtx(t, ctx, tool, `{"url":"`+s.URL+`/slow","timeout":"1h"}`)
	require.EqualError(t, err, `http: GET "`+s.URL+`/slow": context canceled`)
	assert.True(t, errors.Is(err, context.Canceled))

	ctx, cancel = context.WithTimeout(t.Context(), 50_000_000)
	defer cancel()
	_, err = callCtx(t, ctx, tool, `{"url":"`+s.URL+`/slow"}`)
	require.EqualError(t, err, `http: GET "`+s.URL+`/slow": context deadline exceeded`)
	assert.Equal(t, plugins.Timeout, plugins.KindOf(err))
}

// openHTTP opens a builtin plugin entry named web from its options, as a
// flow writes them, and returns its http tool.
func openHTTP(t *testing.T, options string) plugins.Tool {
	t.Helper()
	p, err := NewProvider().Open(t.Context(), plugins.Spec{Name: "web", Kind: "builtin",
		Grants: plugins.Grants{Hosts: []string{"127.0.0.1"}}, Options: json.RawMessage(options)})
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	for _, tool := range p.Tools() {
		if tool.Contract().Name == "http" {
			return tool
		}
	}
	t.Fatal("no http tool")
	return nil
}

// A granted host that sends the headers and then stalls in the body is cut
// off by the entry's limits.timeout, which covers the whole exchange, not
// only the wait for headers; the next call works. The limit leaves the
// headers ample time to arrive first, so the message is about the body.
func TestHTTPLimitCoversTheBody(t *testing.T) {
	s := newTestServer(t)
	tool := openHTTP(t, `{"builtin":true,"limits":{"timeout":"2s"}}`)

	start := time.Now()
	_, err := call(t, tool, `{"url":"`+s.URL+`/stall-body"}`)
	took := time.Since(start)
	require.EqualError(t, err, `http: GET "`+s.URL+`/stall-body": response body not complete within the 2s timeout of plugins.web.limits: context deadline exceeded`)
	assert.Equal(t, plugins.Timeout, plugins.KindOf(err))
	assert.Less(t, took, 10*time.Second)

	_, err = call(t, tool, `{"url":"`+s.URL+`/slow"}`)
	require.EqualError(t, err, `http: GET "`+s.URL+`/slow": no response within the 2s timeout of plugins.web.limits: context deadline exceeded`)

	_, err = call(t, tool, `{"url":"`+s.URL+`/json"}`)
	require.NoError(t, err)

	// The input's own timeout wins over the entry's.
	_, err = call(t, tool, `{"url":"`+s.URL+`/slow","timeout":"50ms"}`)
	require.EqualError(t, err, `http: GET "`+s.URL+`/slow": no response within the 50ms timeout: context deadline exceeded`)
}

// With no limit of its own, the tool stops at the caller's deadline, body
// included.
func TestHTTPContextDeadlineCoversTheBody(t *testing.T) {
	s := newTestServer(t)
	tool := grantedHTTP(t, "127.0.0.1")

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err := callCtx(t, ctx, tool, `{"url":"`+s.URL+`/stall-body"}`)
	require.EqualError(t, err, `http: GET "`+s.URL+`/stall-body": context deadline exceeded`)
	assert.Equal(t, plugins.Timeout, plugins.KindOf(err))
	assert.ErrorIs(t, ctx.Err(), context.DeadlineExceeded, "the call ended at the deadline, not before it")
}

func TestOpenLimitsTimeout(t *testing.T) {
	for options, want := range map[string]string{
		`{"builtin":true,"limits":{"timeout":"soon"}}`: `open plugin "web": limits.timeout: time: invalid duration "soon"`,
		`{"builtin":true,"limits":{"timeout":"0s"}}`:   `open plugin "web": limits.timeout: "0s" is not positive`,
	} {
		_, err := NewProvider().Open(t.Context(), plugins.Spec{Name: "web", Kind: "builtin", Options: json.RawMessage(options)})
		assert.EqualError(t, err, want, options)
	}
}

func TestHTTPTransportError(t *testing.T) {
	// A port that was just free and has nobody listening.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())

	_, err = call(t, grantedHTTP(t, "127.0.0.1"), `{"url":"http://`+addr+`/"}`)
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), `http: GET "http://`+addr+`/": dial tcp `+addr+`: `), err.Error())
	assert.Equal(t, plugins.Retryable, plugins.KindOf(err))
}

func TestHTTPInvalidInputs(t *testing.T) {
	tool := grantedHTTP(t, "127.0.0.1")
	for _, tc := range []struct{ in, want string }{
		{`{"url":"ftp://127.0.0.1/x"}`, `input "url": "ftp://127.0.0.1/x" is not an http or https URL`},
		{`{"url":"127.0.0.1/x"}`, `input "url": "127.0.0.1/x" is not an http or https URL`},
		{`{"url":"http:///x"}`, `input "url": "http:///x" has no host`},
		{`{"url":"http://u:secret@127.0.0.1:1/"}`, ``},
		{`{"url":"::"}`, `input "url": parse "::": missing protocol scheme`},
		{`{}`, `input "url": "" is not an http or https URL`},
		{`{"url":1}`, `input "url": want string, got number`},
		{`{"url":"http://127.0.0.1:1/","timeout":"soon"}`, `input "timeout": time: invalid duration "soon"`},
		{`{"url":"http://127.0.0.1:1/","timeout":"0s"}`, `input "timeout": "0s" is not positive`},
		{`{"url":"http://127.0.0.1:1/","method":"GE T"}`, `input "method": net/http: invalid method "GE T"`},
		{`{"url":"http://127.0.0.1:1/","headers":{"a b":"x"}}`, `input "headers": "a b" is not a valid header name`},
		{`{"url":"http://127.0.0.1:1/","headers":{"a":"x\r\ny: z"}}`, `input "headers": the value of "a" holds a line break or NUL`},
		{`{"url":"http://127.0.0.1:1/","headers":{"a":1}}`, `input "headers": want string, got number`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			_, err := call(t, tool, tc.in)
			if tc.want == "" {
				// Credentials never appear in errors.
				require.Error(t, err)
				assert.NotContains(t, err.Error(), "secret")
				assert.Contains(t, err.Error(), `"http://u:xxxxx@127.0.0.1:1/"`)
				return
			}
			require.EqualError(t, err, tc.want)
			assert.Equal(t, plugins.InvalidInput, plugins.KindOf(err))
		})
	}
}

func TestHTTPConcurrent(t *testing.T) {
	s := newTestServer(t)
	tool := grantedHTTP(t, "127.0.0.1")
	n := 64
	if testing.Short() {
		n = 8
	}
	errs := make(chan error, n)
	for i := range n {
		go func() {
			_, err := tool.Invoke(t.Context(), fmt.Appendf(nil, `{"url":"%s/echo","body":"%d"}`, s.URL, i))
			errs <- err
		}()
	}
	for range n {
		assert.NoError(t, <-errs)
	}
}
