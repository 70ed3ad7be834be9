// Package granthttp is the HTTP client of weir's plugins: the builtin http
// tool and the http_request host function of Wasm guests both send their
// requests through it. A Client reaches only the hosts a flow grants to
// the plugin entry, redirects included; an exchange ends with the input's
// timeout, else the entry's limits.timeout, else the caller's deadline
// (a node's remaining time), else a minute; and it reads at most
// MaxResponseBody bytes of a response.
package granthttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/weirflow/weir/plugins"
)

const (
	// MaxResponseBody caps what one call may read, so a large download
	// cannot take the engine's memory with it.
	MaxResponseBody = 10 << 20
	// maxErrorBody is how much of a failed response goes into the error.
	maxErrorBody = 200
	maxRedirects = 10
	// defaultTimeout bounds an exchange (connecting, the headers and the
	// whole body) when neither the input, the plugin entry's
	// limits.timeout nor the caller's context sets a deadline: a granted
	// host that stalls must not hold a call for ever.
	defaultTimeout = time.Minute
)

// Request is what the http tool takes.
type Request struct {
	URL     string            `json:"url" desc:"The http or https URL to request. Its host must be granted to the plugin entry."`
	Method  string            `json:"method,omitempty" desc:"The request method: GET by default, POST when a body is given."`
	Headers map[string]string `json:"headers,omitempty" desc:"Request headers by name."`
	Body    json.RawMessage   `json:"body,omitempty" desc:"The request body. A string is sent as it is; any other value is sent as JSON with Content-Type application/json."`
	Timeout string            `json:"timeout,omitempty" desc:"How long the whole exchange (connecting, headers and body) may take, as a Go duration such as \"5s\". By default the plugin entry's limits.timeout, else the node's deadline, else one minute."`
}

// Response is what the http tool returns.
type Response struct {
	Status  int               `json:"status" desc:"The response status code, below 400."`
	Headers map[string]string `json:"headers" desc:"The first value of each response header, by canonical name."`
	Body    string            `json:"body" desc:"The response body as text."`
	JSON    json.RawMessage   `json:"json,omitempty" desc:"The response body as a value, when its Content-Type is JSON."`
}

// Client sends requests to granted hosts only. A grant "host" allows any
// port and "host:port" one port; both are kept lower case. A Client is safe
// for concurrent use.
type Client struct {
	plugin   string
	limit    time.Duration // the entry's limits.timeout; 0 if it has none
	anyPort  map[string]bool
	hostPort map[string]bool
	client   *http.Client
}

// New returns the Client of the plugin entry named plugin, which may reach
// hosts; limit is the entry's limits.timeout, or 0. Grants that are not
// "host" or "host:port" (see CheckHosts) match nothing.
func New(plugin string, hosts []string, limit time.Duration) *Client {
	t := &Client{plugin: plugin, limit: limit, anyPort: map[string]bool{}, hostPort: map[string]bool{}}
	for _, e := range hosts {
		host, port, ok := parseGrant(e)
		switch {
		case !ok:
		case port == "":
			t.anyPort[host] = true
		default:
			t.hostPort[net.JoinHostPort(host, port)] = true
		}
	}
	t.client = &http.Client{
		// A transport of its own: flows often call one API many times at
		// once, and the default two idle connections per host would make
		// them reconnect all the time. A server with hundreds of clients
		// calls it hundreds of times at once: keep that many idle (idle
		// ones close after 90s).
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          1024,
			MaxIdleConnsPerHost:   1024,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		},
		CheckRedirect: t.checkRedirect,
	}
	return t
}

// Tool returns the http tool, whose calls the Client sends: its inputs
// are a Request, its outputs a Response.
func (t *Client) Tool() plugins.Tool {
	return plugins.Func("http",
		"Sends an HTTP request to a granted host and returns the response. "+
			"A status of 400 or more is an error; 429 and 5xx can be retried.",
		t.Do)
}

// CloseIdleConnections closes the connections no request is using.
func (t *Client) CloseIdleConnections() { t.client.CloseIdleConnections() }

// CheckHosts reports the first host grant that is not "host" or
// "host:port", since it could never match.
func CheckHosts(hosts []string) error {
	for i, h := range hosts {
		if _, _, ok := parseGrant(h); !ok {
			return fmt.Errorf("grants.hosts[%d] %q is not \"host\" or \"host:port\"", i, h)
		}
	}
	return nil
}

// checkRedirect holds redirects to the grants too, or a granted host could
// send the tool anywhere.
func (t *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return plugins.Errorf(plugins.Internal, "http: stopped after %d redirects", maxRedirects)
	}
	return t.check(req.URL)
}

func (t *Client) check(u *url.URL) error {
	if err := t.allowed(u); err != nil {
		return plugins.Errorf(plugins.Internal, "http: %w", err)
	}
	return nil
}

// allowed reports a host that is not granted.
func (t *Client) allowed(u *url.URL) error {
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	hp := net.JoinHostPort(host, port)
	if t.anyPort[host] || t.hostPort[hp] {
		return nil
	}
	return plugins.Errorf(plugins.Internal,
		"host %q is not granted; add it to the flow's plugins.%s.grants.hosts", hp, t.plugin)
}

// Send sends req, a request another tool built (builtin.llm), if its host
// is granted, with the Client's transport and its checks of redirects, and
// returns the response whatever its status, its body unread: the caller
// closes it. A host that is not granted is an error of kind Internal whose
// message starts "host", for the caller to prefix with its own name.
// Send sets no timeout: req's context bounds the exchange.
func (t *Client) Send(req *http.Request) (*http.Response, error) {
	if err := t.allowed(req.URL); err != nil {
		return nil, err
	}
	return t.client.Do(req)
}

// Do sends the request in, as the http tool does: its errors are
// plugins.Error values whose Kind says whether a retry can help.
func (t *Client) Do(ctx context.Context, in Request) (Response, error) {
	u, err := url.Parse(in.URL)
	if err != nil {
		return Response{}, plugins.Errorf(plugins.InvalidInput, "input \"url\": %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return Response{}, plugins.Errorf(plugins.InvalidInput, "input \"url\": %q is not an http or https URL", u.Redacted())
	}
	if u.Host == "" {
		return Response{}, plugins.Errorf(plugins.InvalidInput, "input \"url\": %q has no host", u.Redacted())
	}
	if err := t.check(u); err != nil {
		return Response{}, err
	}

	var timeout time.Duration
	if in.Timeout != "" {
		timeout, err = time.ParseDuration(in.Timeout)
		if err != nil {
			return Response{}, plugins.Errorf(plugins.InvalidInput, "input \"timeout\": %w", err)
		}
		if timeout <= 0 {
			return Response{}, plugins.Errorf(plugins.InvalidInput, "input \"timeout\": %q is not positive", in.Timeout)
		}
	}

	var body io.Reader
	contentType := ""
	if len(in.Body) > 0 && string(in.Body) != "null" {
		if in.Body[0] == '"' {
			var s string
			if err := json.Unmarshal(in.Body, &s); err != nil {
				return Response{}, plugins.Errorf(plugins.InvalidInput, "input \"body\": %w", err)
			}
			body = strings.NewReader(s)
		} else {
			body = bytes.NewReader(in.Body)
			contentType = "application/json"
		}
	}
	method := strings.ToUpper(in.Method)
	if method == "" {
		method = http.MethodGet
		if body != nil {
			method = http.MethodPost
		}
	}

	reqCtx := ctx
	timeout, limit := t.budget(ctx, timeout)
	if timeout > 0 {
		var cancel context.CancelFunc
		reqCtx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(reqCtx, method, u.String(), body)
	if err != nil {
		return Response{}, plugins.Errorf(plugins.InvalidInput, "input \"method\": %w", err)
	}
	for k, v := range in.Headers {
		if !validHeaderName(k) {
			return Response{}, plugins.Errorf(plugins.InvalidInput, "input \"headers\": %q is not a valid header name", k)
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return Response{}, plugins.Errorf(plugins.InvalidInput, "input \"headers\": the value of %q holds a line break or NUL", k)
		}
		if strings.EqualFold(k, "Host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	if contentType != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", contentType)
	}

	call := fmt.Sprintf("http: %s %q", method, u.Redacted())
	resp, err := t.client.Do(req)
	if err != nil {
		return Response{}, failed(ctx, reqCtx, call, "no response within "+limit, err)
	}
	defer resp.Body.Close()

	if resp.StatusCode >= 400 {
		return Response{}, statusError(call, resp)
	}
	if resp.ContentLength > MaxResponseBody {
		return Response{}, plugins.Errorf(plugins.Limit, "%s: response body is over the 10 MiB limit", call)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBody+1))
	if err != nil {
		return Response{}, failed(ctx, reqCtx, call, "response body not complete within "+limit, err)
	}
	if len(b) > MaxResponseBody {
		return Response{}, plugins.Errorf(plugins.Limit, "%s: response body is over the 10 MiB limit", call)
	}

	out := Response{Status: resp.StatusCode, Headers: make(map[string]string, len(resp.Header)), Body: string(b)}
	for k, vs := range resp.Header {
		if len(vs) > 0 {
			out.Headers[http.CanonicalHeaderKey(k)] = vs[0]
		}
	}
	if isJSON(resp.Header.Get("Content-Type")) && json.Valid(b) {
		out.JSON = b
	}
	return out, nil
}

// budget returns how long one exchange may take, from the input's timeout,
// else the entry's limits.timeout, else the default when ctx has no
// deadline of its own, and how messages name that limit. It returns 0 when
// ctx's deadline is the only one.
func (t *Client) budget(ctx context.Context, input time.Duration) (time.Duration, string) {
	switch {
	case input > 0:
		return input, fmt.Sprintf("the %s timeout", input)
	case t.limit > 0:
		return t.limit, fmt.Sprintf("the %s timeout of plugins.%s.limits", t.limit, t.plugin)
	}
	if _, ok := ctx.Deadline(); ok {
		return 0, ""
	}
	return defaultTimeout, fmt.Sprintf("the default %s timeout", defaultTimeout)
}

// failed classifies an error of a request that got no usable response;
// late says what was late when the tool's own deadline passed.
func failed(ctx, reqCtx context.Context, call, late string, err error) error {
	var pe *plugins.Error
	if errors.As(err, &pe) {
		// A redirect that the grants refused: say so plainly, not as a
		// transport failure that looks worth retrying.
		return pe
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", call, ctx.Err())
	}
	if reqCtx.Err() != nil {
		return plugins.Errorf(plugins.Timeout, "%s: %s: %w", call, late, context.DeadlineExceeded)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return plugins.Errorf(plugins.Retryable, "%s: %w", call, err)
}

// statusError reports a response of status 400 or more with the start of its
// body, which is where servers put the reason.
func statusError(call string, resp *http.Response) error {
	head, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	msg := fmt.Sprintf("%s: status %s", call, resp.Status)
	if s := strings.TrimSpace(strings.ToValidUTF8(string(head), "")); s != "" {
		msg += ": " + s
	}
	kind := plugins.Internal
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		kind = plugins.Retryable
	}
	return &plugins.Error{Kind: kind, Err: errors.New(msg)}
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// validHeaderName reports whether s is an RFC 9110 token, which is what a
// header name must be; net/http would only notice once the request is sent.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// parseGrant splits a host grant into a lower-case host and a port, which is
// empty when any port is allowed.
func parseGrant(g string) (host, port string, ok bool) {
	g = strings.ToLower(strings.TrimSpace(g))
	switch {
	case g == "" || strings.ContainsAny(g, "/@?# "):
		return "", "", false
	case strings.HasPrefix(g, "[") && strings.HasSuffix(g, "]"):
		host = g[1 : len(g)-1]
	case strings.Count(g, ":") > 1 && !strings.HasPrefix(g, "["):
		host = g // a bare IPv6 address
	case strings.Contains(g, ":"):
		var err error
		host, port, err = net.SplitHostPort(g)
		if err != nil {
			return "", "", false
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
			return "", "", false
		}
	default:
		host = g
	}
	host = strings.TrimSuffix(host, ".")
	if host == "" || strings.ContainsAny(host, "[]") {
		return "", "", false
	}
	return host, port, true
}
