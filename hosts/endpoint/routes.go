package endpoint

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// handlerFunc is a route's handler; the recorder keeps its status code.
type handlerFunc func(w *recorder, r *http.Request)

// routes builds the server's handler.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	allowed := map[string][]string{} // path pattern -> methods
	add := func(pattern string, traced bool, h handlerFunc) {
		method, path, _ := strings.Cut(pattern, " ")
		allowed[path] = append(allowed[path], method)
		mux.Handle(pattern, s.instrument(pattern, traced, h))
	}
	add("POST /v1/flows/{flow}/runs", true, s.serveRuns)
	add("POST /score", true, promptflowErrors(s.serveScore))
	add("GET /health", false, s.serveHealth)
	add("GET /version", false, s.serveVersion)
	add("GET /swagger.json", false, s.serveSwagger)
	add("POST /feedback", true, s.serveFeedback)
	add("GET /healthz", false, s.serveHealthz)
	add("GET /readyz", false, s.serveReadyz)
	add("GET /metrics", false, func(w *recorder, r *http.Request) { s.metrics.handler.ServeHTTP(w, r) })
	add("GET /openapi.json", false, s.serveOpenAPI)
	add("POST /v1/admin/deployments", true, s.admin(s.serveUpload))
	add("GET /v1/admin/deployments", true, s.admin(s.serveList))
	add("PUT /v1/admin/flows/{flow}/split", true, s.admin(s.serveSplit))
	add("DELETE /v1/admin/flows/{flow}/versions/{version}", true, s.admin(s.serveDelete))
	// The Open Inference Protocol (oip.go).
	add("GET /v2/health/live", false, oipErrors(s.serveOIPLive))
	add("GET /v2/health/ready", false, oipErrors(s.serveOIPReady))
	add("GET /v2", false, oipErrors(s.serveOIPServer))
	for _, model := range []string{"/v2/models/{model}", "/v2/models/{model}/versions/{version}"} {
		add("GET "+model, false, oipErrors(s.serveOIPModel))
		add("GET "+model+"/ready", false, oipErrors(s.serveOIPModelReady))
		add("POST "+model+"/infer", true, oipErrors(s.serveInfer))
	}

	// The same paths without a method answer 405; anything else 404, in
	// JSON like every other error. Unknown admin paths need the token too.
	for path, methods := range allowed {
		allow := strings.Join(methods, ", ")
		h := func(w *recorder, r *http.Request) {
			w.Header().Set("Allow", allow)
			writeError(w, http.StatusMethodNotAllowed, codeNotAllowed, r.Method+" "+r.URL.Path+": allowed: "+allow)
		}
		if strings.HasPrefix(path, "/v1/admin/") {
			h = s.admin(h)
		}
		switch {
		case path == "/score":
			h = promptflowErrors(h)
		case path == "/v2" || strings.HasPrefix(path, "/v2/"):
			h = oipErrors(h)
		}
		mux.Handle(path, s.instrument("other", false, h))
	}
	notFound := func(w *recorder, r *http.Request) {
		writeError(w, http.StatusNotFound, codeNotFound, "no route "+r.Method+" "+r.URL.Path)
	}
	mux.Handle("/", s.instrument("other", false, notFound))
	mux.Handle("/v1/admin/", s.instrument("other", false, s.admin(notFound)))
	mux.Handle("/v2/", s.instrument("other", false, oipErrors(notFound)))
	return mux
}

var traceContext = propagation.TraceContext{}

// instrument wraps h with a server span, when traced, and the request
// latency histogram, under route: a pattern ("POST /score") whose path is
// the route label, or a name alone for requests of any method.
func (s *Server) instrument(route string, traced bool, h handlerFunc) http.Handler {
	method, path, ok := strings.Cut(route, " ")
	if !ok {
		method, path = "", route
	}
	byRoute := s.metrics.requests.MustCurryWith(map[string]string{"route": path})
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		start := time.Now()
		w := &recorder{ResponseWriter: rw}
		if r.ContentLength != 0 {
			// The http.Server's header timeout ends where the body starts:
			// a client that sent its headers, then trickles or withholds
			// its body, would hold its connection, and a run's slot, for
			// as long as it liked. readBody lifts the deadline once the
			// body is whole; until then it also bounds what net/http
			// reads of a body the handler left.
			_ = http.NewResponseController(w).SetReadDeadline(start.Add(s.opts.BodyTimeout))
		}
		var span trace.Span
		if traced {
			ctx := r.Context()
			if _, ok := r.Header["Traceparent"]; ok {
				ctx = traceContext.Extract(ctx, propagation.HeaderCarrier(r.Header))
			}
			if s.tracer != nil {
				ctx, span = s.tracer.Start(ctx, route, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
					attribute.String("http.request.method", method),
					attribute.String("http.route", path),
					attribute.String("url.path", r.URL.Path),
				))
				// W3C Trace Context Level 2: the client learns the trace
				// its request made, to find it in the operator's backend.
				sc := span.SpanContext()
				w.Header().Set("Traceresponse", "00-"+sc.TraceID().String()+"-"+sc.SpanID().String()+"-"+sc.TraceFlags().String())
			}
			if ctx != r.Context() {
				r = r.WithContext(ctx)
			}
		}
		defer func() {
			code := w.status()
			m := method
			if m == "" {
				m = methodLabel(r.Method)
			}
			byRoute.WithLabelValues(m, strconv.Itoa(code)).Observe(time.Since(start).Seconds())
			if span != nil {
				span.SetAttributes(attribute.Int("http.response.status_code", code))
				if code >= 500 {
					span.SetStatus(codes.Error, http.StatusText(code))
				}
				span.End()
			}
		}()
		defer s.recoverPanic(w, r, route)
		h(w, r)
	})
}

// recoverPanic, deferred, turns a panic in a handler into an answer the
// client can read: a 500 with an error body or, once a stream has begun,
// an error event; it logs the panic with its stack. Any other answer
// begun cannot be mended: the connection is cut, so that the client sees
// it unfinished rather than whole.
func (s *Server) recoverPanic(w *recorder, r *http.Request, route string) {
	p := recover()
	if p == nil {
		return
	}
	if p == http.ErrAbortHandler {
		panic(p)
	}
	s.log.Error("handler panicked", "route", route, "path", r.URL.Path, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	const msg = "internal error: the server failed on this request, and logged why"
	switch {
	case w.code == 0:
		writeError(w, http.StatusInternalServerError, codeInternal, msg)
	case strings.HasPrefix(w.Header().Get("Content-Type"), "text/event-stream"):
		_ = writeEvent(w, "error", w.errorJSON(http.StatusInternalServerError, codeInternal, msg))
	default:
		w.code = http.StatusInternalServerError
		panic(http.ErrAbortHandler)
	}
}

// promptflowErrors makes h answer errors as prompt flow's server does.
func promptflowErrors(h handlerFunc) handlerFunc {
	return func(w *recorder, r *http.Request) {
		w.promptflow = true
		h(w, r)
	}
}

// admin wraps h with the admin API's checks: on, and the bearer token.
func (s *Server) admin(h handlerFunc) handlerFunc {
	return func(w *recorder, r *http.Request) {
		switch {
		case s.opts.AdminToken == "" && !s.opts.InsecureAdmin:
			writeError(w, http.StatusNotFound, codeNotFound, "the admin API is off")
			return
		case s.opts.InsecureAdmin && !LoopbackHost(r.Host):
			// Without a token, a web page could reach the admin API through
			// a name that resolves to 127.0.0.1 (DNS rebinding).
			writeError(w, http.StatusForbidden, codeForbidden, fmt.Sprintf("the admin API has no token, so it answers requests for localhost only, not for Host %q", r.Host))
			return
		case s.opts.AdminToken != "":
			token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok {
				w.Header().Set("WWW-Authenticate", `Bearer realm="weir"`)
				writeError(w, http.StatusUnauthorized, codeUnauthorized, "missing bearer token: send Authorization: Bearer TOKEN")
				return
			}
			// Hashing first makes the comparison constant-time whatever the
			// token's length.
			sum := sha256.Sum256([]byte(token))
			if subtle.ConstantTimeCompare(sum[:], s.adminKey[:]) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="weir", error="invalid_token"`)
				writeError(w, http.StatusUnauthorized, codeUnauthorized, "wrong bearer token")
				return
			}
		}
		h(w, r)
	}
}

// LoopbackHost reports whether a Host header names this machine:
// localhost or a loopback IP, with or without a port. A handler that needs
// no token on loopback answers only such requests, against DNS rebinding.
func LoopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

func (s *Server) serveHealthz(w *recorder, _ *http.Request) {
	writeRaw(w, http.StatusOK, []byte(`{"status":"ok"}`))
}

func (s *Server) serveReadyz(w *recorder, _ *http.Request) {
	t := s.table.Load()
	switch {
	case s.closed.Load():
		writeError(w, http.StatusServiceUnavailable, codeUnavailable, "draining: the server is shutting down")
	case len(t.order) == 0:
		writeError(w, http.StatusServiceUnavailable, codeUnavailable, "no flow is deployed")
	default:
		writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "flows": t.order})
	}
}

func (s *Server) serveOpenAPI(w *recorder, _ *http.Request) {
	writeRaw(w, http.StatusOK, s.table.Load().openAPI())
}
