package kubernetes

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"slices"
	"strings"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// client speaks to a cluster's API server as the kubeconfig says: its
// address, its credentials (certificates, tokens, exec plugins) and its
// namespace.
type client struct {
	http *http.Client
	base string
	// kubeconfig and context are as the user gave them, for the
	// deployment's state; namespace is the context's.
	kubeconfig, context, namespace string
}

// connect loads the kubeconfig (path, else $KUBECONFIG, else
// ~/.kube/config) and its context (kubeContext, else the current one).
func connect(path, kubeContext string) (*client, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = path
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: kubeContext})
	raw, err := cc.RawConfig()
	if path != "" && errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("kubeconfig %s: no such file; give an existing one with --kubeconfig, or leave it out for $KUBECONFIG or ~/.kube/config", path)
	}
	if err != nil {
		return nil, fmt.Errorf("read kubeconfig: %w", err)
	}
	if len(raw.Contexts) == 0 {
		where := strings.Join(rules.Precedence, ", ")
		if path != "" {
			where = path
		}
		return nil, fmt.Errorf("no kubeconfig with a context in %s: give one with --kubeconfig or KUBECONFIG", where)
	}
	current := cmp.Or(kubeContext, raw.CurrentContext)
	if raw.Contexts[current] == nil {
		contexts := slices.Sorted(maps.Keys(raw.Contexts))
		if current == "" {
			return nil, fmt.Errorf("kubeconfig has no current context; choose one with --context: %s", strings.Join(contexts, ", "))
		}
		return nil, fmt.Errorf("kubeconfig has no context %q; choose one with --context: %s", current, strings.Join(contexts, ", "))
	}
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	base, _, err := rest.DefaultServerUrlFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	return &client{http: hc, base: strings.TrimRight(base.String(), "/"), kubeconfig: path, context: current, namespace: ns}, nil
}

// statusError is a reply of the API server that is not a success, with
// its Status message.
type statusError struct {
	code    int
	message string
}

func (e *statusError) Error() string { return e.message }

func isNotFound(err error) bool {
	var se *statusError
	return errors.As(err, &se) && se.code == http.StatusNotFound
}

// do sends a request and returns the body of a successful reply.
func (c *client) do(ctx context.Context, method, path, contentType string, body []byte) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reach the cluster at %s: %w", c.base, errors.Unwrap(err))
	}
	if resp.StatusCode < 300 {
		return resp.Body, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var status struct{ Message string }
	if json.Unmarshal(b, &status) != nil || status.Message == "" {
		status.Message = strings.TrimSpace(string(b))
	}
	return nil, &statusError{code: resp.StatusCode, message: fmt.Sprintf("%s %s: %s: %s", method, path, resp.Status, status.Message)}
}

// get decodes the JSON object at path into out.
func (c *client) get(ctx context.Context, path string, out any) error {
	body, err := c.do(ctx, http.MethodGet, path, "", nil)
	if err != nil {
		return err
	}
	defer body.Close()
	return json.NewDecoder(body).Decode(out)
}

// open returns the body of a GET of path.
func (c *client) open(ctx context.Context, path string) (io.ReadCloser, error) {
	return c.do(ctx, http.MethodGet, path, "", nil)
}

// apply creates or updates obj with server-side apply, as the field
// manager "weir", taking over fields another manager set.
func (c *client) apply(ctx context.Context, obj any) error {
	path, err := pathOf(obj)
	if err != nil {
		return err
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	body, err := c.do(ctx, http.MethodPatch, path+"?fieldManager=weir&force=true", "application/apply-patch+yaml", b)
	if err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	body.Close()
	return nil
}

// delete removes the object at path.
func (c *client) delete(ctx context.Context, path string) error {
	body, err := c.do(ctx, http.MethodDelete, path, "", nil)
	if err != nil {
		return err
	}
	body.Close()
	return nil
}
