package pdk

import (
	"encoding/json"
	"fmt"
	"sync"
)

// host is the weir host as the guest sees it: the imports of module "weir"
// (see plugins/wasm/ABI.md). The wasip1 build calls the real imports; other
// builds use a stand-in, and tests replace it with a fake.
//
// configGet and httpRequest follow the ABI's buffer protocol: they return the
// length of the reply and write it to buf only when it fits.
type host interface {
	log(level Level, msg string)
	error(payload []byte)
	configGet(key string, buf []byte) int32
	httpRequest(req, buf []byte) int32
}

// replies is the buffer the host writes config values and HTTP responses to.
// It grows to the largest reply seen and is reused; the mutex keeps the
// goroutines of a tool, if it starts any, from sharing it.
type replies struct {
	mu  sync.Mutex
	buf []byte
}

// minReply is the first size of the replies buffer: most config values and
// small JSON responses fit, and a larger one costs one more host call.
const minReply = 1 << 10

// maxAttempts bounds the "call again with a bigger buffer" loop. A host that
// follows the ABI needs two calls; more means its reply keeps growing.
const maxAttempts = 4

// call runs f, a host function of the buffer protocol, until its reply fits,
// and passes the reply to use while the buffer is still locked. It returns
// the host's negative result as it is, without calling use.
func (r *replies) call(f func(buf []byte) int32, use func(reply []byte)) (int32, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.buf == nil {
		r.buf = make([]byte, minReply)
	}
	for range maxAttempts {
		n := f(r.buf[:cap(r.buf)])
		if n < 0 {
			return n, nil
		}
		if int(n) <= cap(r.buf) {
			use(r.buf[:n])
			return n, nil
		}
		r.buf = make([]byte, n)
	}
	return 0, fmt.Errorf("the reply kept growing after %d calls", maxAttempts)
}

// config is Config for a host h.
func config(h host, r *replies, key string) (string, bool) {
	var v string
	n, err := r.call(func(buf []byte) int32 { return h.configGet(key, buf) }, func(b []byte) { v = string(b) })
	if err != nil {
		// Config has no error result and a value that keeps changing size
		// is a broken host; inside a tool the panic becomes an internal error.
		panic(fmt.Sprintf("pdk: config %q: %v", key, err))
	}
	return v, n >= 0
}

// hostResponse is the response JSON of http_request, or its error.
type hostResponse struct {
	Response
	Error *string `json:"error"`
}

// httpDo is HTTP for a host h.
func httpDo(h host, r *replies, req Request) (*Response, error) {
	method := req.Method
	if method == "" {
		method = "GET"
		if req.Body != "" {
			method = "POST"
		}
	}
	enc, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("http %s %s: encode request: %w", method, req.URL, err)
	}
	var resp hostResponse
	var decodeErr error
	n, err := r.call(func(buf []byte) int32 { return h.httpRequest(enc, buf) }, func(b []byte) {
		decodeErr = json.Unmarshal(b, &resp)
	})
	switch {
	case err != nil:
		return nil, fmt.Errorf("http %s %s: %w", method, req.URL, err)
	case n < 0:
		return nil, fmt.Errorf("http %s %s: the host failed with %d", method, req.URL, n)
	case decodeErr != nil:
		return nil, fmt.Errorf("http %s %s: decode response: %w", method, req.URL, decodeErr)
	case resp.Error != nil:
		return nil, fmt.Errorf("http %s %s: %s", method, req.URL, *resp.Error)
	}
	return &resp.Response, nil
}
