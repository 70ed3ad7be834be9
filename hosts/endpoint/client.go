package endpoint

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Deployment is one version of a deployed flow.
type Deployment struct {
	Flow    string `json:"flow"`
	Version string `json:"version"`
	// Digest is the content address of the bundle the version came from;
	// empty for a flow deployed from Go with Server.Deploy.
	Digest string `json:"digest,omitempty"`
	// Weight is the percentage of the flow's requests the version takes.
	Weight int `json:"weight"`
	// Default is true for the versions of the flow /score runs.
	Default bool      `json:"default"`
	Created time.Time `json:"created"`
}

// Client calls the admin API of a runtime server. Its fields are read on
// every call; a Client is safe for concurrent use as long as they do not
// change.
type Client struct {
	// URL is the server's base URL, such as http://127.0.0.1:8080.
	URL string
	// Token is the admin token; empty sends no Authorization header.
	Token string
	// HTTP sends the requests; nil means http.DefaultClient.
	HTTP *http.Client
}

// APIError is an error answer of the server: its status and the code and
// message of its {"error": ...} body.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("%s (HTTP %d)", e.Message, e.Status)
	}
	return fmt.Sprintf("%s (HTTP %d, %s)", e.Message, e.Status, e.Code)
}

// Upload deploys a bundle (the bytes of a .weir file) as version, or, when
// version is empty, as the bundle's flow version, else v1. Uploading the
// same bundle as the same version again is not an error. A bad bundle or
// flow is an *APIError naming the file at fault.
func (c *Client) Upload(ctx context.Context, bundle []byte, version string) (Deployment, error) {
	path := "/v1/admin/deployments"
	if version != "" {
		path += "?version=" + url.QueryEscape(version)
	}
	var d Deployment
	if err := c.do(ctx, http.MethodPost, path, "application/octet-stream", bundle, &d); err != nil {
		return Deployment{}, fmt.Errorf("upload bundle: %w", err)
	}
	return d, nil
}

// List returns every version of every deployed flow.
func (c *Client) List(ctx context.Context) ([]Deployment, error) {
	var list deploymentList
	if err := c.do(ctx, http.MethodGet, "/v1/admin/deployments", "", nil, &list); err != nil {
		return nil, fmt.Errorf("list deployments: %w", err)
	}
	return list.Deployments, nil
}

// SetSplit sets how a flow's traffic splits between its versions: weights
// by version, whole numbers from 0 summing to 100. Versions left out take
// none.
func (c *Client) SetSplit(ctx context.Context, flow string, weights map[string]int) error {
	body, err := json.Marshal(weights)
	if err != nil {
		return fmt.Errorf("set split of flow %q: %w", flow, err)
	}
	if err := c.do(ctx, http.MethodPut, "/v1/admin/flows/"+url.PathEscape(flow)+"/split", "application/json", body, nil); err != nil {
		return fmt.Errorf("set split of flow %q: %w", flow, err)
	}
	return nil
}

// Delete removes a version of a flow; the flow goes with its last version.
// A version that takes traffic under a split cannot be deleted: set a
// split without it first.
func (c *Client) Delete(ctx context.Context, flow, version string) error {
	path := "/v1/admin/flows/" + url.PathEscape(flow) + "/versions/" + url.PathEscape(version)
	if err := c.do(ctx, http.MethodDelete, path, "", nil, nil); err != nil {
		return fmt.Errorf("delete version %q of flow %q: %w", version, flow, err)
	}
	return nil
}

// do sends a request and decodes a 2xx answer into out, when not nil, or
// returns an *APIError.
func (c *Client) do(ctx context.Context, method, path, contentType string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.URL, "/")+path, rd)
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		return apiError(resp.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}

// apiError reads an error answer, which may not be weir's when a proxy
// sent it.
func apiError(status int, data []byte) *APIError {
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &body) == nil && body.Error.Message != "" {
		return &APIError{Status: status, Code: body.Error.Code, Message: body.Error.Message}
	}
	msg := strings.TrimSpace(string(data))
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	if len(msg) > 200 || msg == "" {
		msg = http.StatusText(status)
	}
	return &APIError{Status: status, Message: msg}
}
