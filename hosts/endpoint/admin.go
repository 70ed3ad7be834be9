package endpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
)

// httpError is an error with the status and code to answer it with.
type httpError struct {
	status int
	code   string
	err    error
}

func (e *httpError) Error() string { return e.err.Error() }
func (e *httpError) Unwrap() error { return e.err }

func fail(status int, code string, err error) error { return &httpError{status, code, err} }

// writeFailure answers err: with its status and code for an *httpError,
// else 500.
func writeFailure(w *recorder, err error) {
	var he *httpError
	if errors.As(err, &he) {
		writeError(w, he.status, he.code, he.err.Error())
		return
	}
	writeError(w, http.StatusInternalServerError, codeInternal, err.Error())
}

// deploymentList is the body of GET /v1/admin/deployments and of a split.
type deploymentList struct {
	Deployments []Deployment `json:"deployments"`
}

func (s *Server) serveUpload(w *recorder, r *http.Request) {
	// A type a web form cannot send: a browser must ask first (CORS), and
	// this server never says yes.
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/octet-stream" {
		writeError(w, http.StatusUnsupportedMediaType, codeMediaType, fmt.Sprintf("upload a bundle as application/octet-stream, not %q", r.Header.Get("Content-Type")))
		return
	}
	body, ok := s.readBody(w, r, s.opts.MaxBundleBytes)
	if !ok {
		return
	}
	d, existed, err := s.deployBundle(r.Context(), body, r.URL.Query().Get("version"))
	if err != nil {
		s.log.Info("upload refused", "error", err)
		writeFailure(w, err)
		return
	}
	status := http.StatusCreated
	if existed {
		status = http.StatusOK
	} else {
		s.log.Info("bundle deployed", "flow", d.Flow, "version", d.Version, "digest", d.Digest, "weight", d.Weight)
	}
	writeJSON(w, status, d)
}

func (s *Server) serveList(w *recorder, _ *http.Request) {
	writeJSON(w, http.StatusOK, deploymentList{s.table.Load().deployments()})
}

func (s *Server) serveSplit(w *recorder, r *http.Request) {
	body, ok := s.readBody(w, r, s.opts.MaxBodyBytes)
	if !ok {
		return
	}
	var weights map[string]int
	if !json.Valid(body) {
		writeError(w, http.StatusBadRequest, codeInvalidJSON, syntaxError(body))
		return
	}
	if err := json.Unmarshal(body, &weights); err != nil || weights == nil {
		writeError(w, http.StatusBadRequest, codeInvalidJSON, `decode body: want an object of versions to whole-number weights, such as {"blue": 90, "green": 10}`)
		return
	}
	list, err := s.setSplit(r.PathValue("flow"), weights)
	if err != nil {
		writeFailure(w, err)
		return
	}
	writeJSON(w, http.StatusOK, deploymentList{list})
}

func (s *Server) serveDelete(w *recorder, r *http.Request) {
	if err := s.deleteVersion(r.PathValue("flow"), r.PathValue("version")); err != nil {
		writeFailure(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// setSplit sets the traffic split of a flow and returns its versions.
func (s *Server) setSplit(flow string, weights map[string]int) ([]Deployment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.table.Load()
	r := t.flows[flow]
	if r == nil {
		return nil, fail(http.StatusNotFound, codeNotFound, errors.New(flowNotFound(t, flow)))
	}
	nr, err := r.withSplit(weights)
	if err != nil {
		return nil, fail(http.StatusBadRequest, codeBadRequest, err)
	}
	nt := t.with(nr)
	s.storeTable(nt)
	s.log.Info("traffic split set", "flow", flow, "split", nr.split)
	list := make([]Deployment, len(nr.versions))
	for i, v := range nr.versions {
		list[i] = nr.deployment(v, nt)
	}
	return list, nil
}

// deleteVersion removes a version of a flow, and the flow with its last
// version. The runs in flight on it finish.
func (s *Server) deleteVersion(flow, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.table.Load()
	r := t.flows[flow]
	if r == nil {
		return fail(http.StatusNotFound, codeNotFound, errors.New(flowNotFound(t, flow)))
	}
	v := r.version(name)
	if v == nil {
		return fail(http.StatusNotFound, codeNotFound, fmt.Errorf("flow %q has no version %q (versions: %s)", flow, name, r.versionList()))
	}
	if len(r.versions) == 1 {
		s.storeTable(t.without(flow))
	} else {
		nr, err := r.without(v)
		if err != nil {
			return fail(http.StatusConflict, codeConflict, err)
		}
		s.storeTable(t.with(nr))
	}
	s.log.Info("deleted", "flow", flow, "version", name)
	return nil
}
