package endpoint_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts/bundle"
	"github.com/weirflow/weir/hosts/endpoint"
)

const token = "s3cret-token"

// versionFlow is a builtin-only flow that answers its version.
func versionFlow(version string) string {
	return `name: "split"
nodes: say: {tool: "builtin.json", inputs: value: "` + version + `"}
outputs: version: "${say.output.value}"
`
}

// buildBundle bundles the flow files (the first is the entry) and returns
// the bundle's bytes.
func buildBundle(t *testing.T, files ...string) []byte {
	t.Helper()
	dir := t.TempDir()
	for i := 0; i < len(files); i += 2 {
		require.NoError(t, os.WriteFile(filepath.Join(dir, files[i]), []byte(files[i+1]), 0o644))
	}
	var buf bytes.Buffer
	_, err := bundle.Build(filepath.Join(dir, files[0]), &buf)
	require.NoError(t, err)
	return buf.Bytes()
}

func TestAdminAuth(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{AdminToken: token}, engine.Options{})
	list := fx.url + "/v1/admin/deployments"
	tests := []struct {
		name   string
		method string
		url    string
		header string
		status int
		body   string
	}{
		{"missing token", "GET", list, "", 401, errorBody("unauthorized", "missing bearer token: send Authorization: Bearer TOKEN")},
		{"not bearer", "GET", list, "Authorization: Basic " + token, 401, errorBody("unauthorized", "missing bearer token: send Authorization: Bearer TOKEN")},
		{"wrong token", "GET", list, "Authorization: Bearer nope", 401, errorBody("unauthorized", "wrong bearer token")},
		{"a prefix of the token", "GET", list, "Authorization: Bearer s3cret", 401, errorBody("unauthorized", "wrong bearer token")},
		{"unknown admin route", "GET", fx.url + "/v1/admin/secrets", "", 401, errorBody("unauthorized", "missing bearer token: send Authorization: Bearer TOKEN")},
		{"wrong method", "PATCH", list, "", 401, errorBody("unauthorized", "missing bearer token: send Authorization: Bearer TOKEN")},
		{"split", "PUT", fx.url + "/v1/admin/flows/x/split", "Authorization: Bearer nope", 401, errorBody("unauthorized", "wrong bearer token")},
		{"delete", "DELETE", fx.url + "/v1/admin/flows/x/versions/v1", "", 401, errorBody("unauthorized", "missing bearer token: send Authorization: Bearer TOKEN")},
		{"right token", "GET", list, "Authorization: Bearer " + token, 200, `{"deployments":[]}` + "\n"},
		{"right token, unknown route", "GET", fx.url + "/v1/admin/secrets", "Authorization: Bearer " + token, 404, errorBody("not_found", "no route GET /v1/admin/secrets")},
		{"right token, wrong method", "PATCH", list, "Authorization: Bearer " + token, 405, errorBody("method_not_allowed", "PATCH /v1/admin/deployments: allowed: POST, GET")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var headers []string
			if tc.header != "" {
				headers = append(headers, tc.header)
			}
			got := do(t, tc.method, tc.url, "", headers...)
			assert.Equal(t, tc.status, got.status)
			assert.Equal(t, tc.body, got.body)
			if tc.status == 401 {
				assert.Contains(t, got.header.Get("WWW-Authenticate"), `Bearer realm="weir"`)
			}
		})
	}
}

func TestInsecureAdmin(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{InsecureAdmin: true}, engine.Options{})
	got := do(t, "GET", fx.url+"/v1/admin/deployments", "")
	assert.Equal(t, answer{200, nil, `{"deployments":[]}` + "\n"}, strip(got))
	got = do(t, "GET", strings.Replace(fx.url, "127.0.0.1", "localhost", 1)+"/v1/admin/deployments", "")
	assert.Equal(t, 200, got.status)

	// A page of another site that resolves its name to 127.0.0.1 gets nothing.
	req, err := http.NewRequest("GET", fx.url+"/v1/admin/deployments", nil)
	require.NoError(t, err)
	req.Host = "evil.example:8080"
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Equal(t, errorBody("forbidden", `the admin API has no token, so it answers requests for localhost only, not for Host "evil.example:8080"`), string(b))

	// Nor can a form upload a bundle: it cannot say application/octet-stream.
	got = do(t, "POST", fx.url+"/v1/admin/deployments", "x", "Content-Type: text/plain")
	assert.Equal(t, answer{415, nil, errorBody("unsupported_media_type", `upload a bundle as application/octet-stream, not "text/plain"`)}, strip(got))
}

// TestUpload deploys bundles through the admin client, as the endpoint
// host does.
func TestUpload(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{AdminToken: token, WorkDir: t.TempDir()}, engine.Options{})
	c := &endpoint.Client{URL: fx.url, Token: token}
	ctx := context.Background()

	hello := buildBundle(t, "flow.cue", helloFlow)
	m, err := bundleManifest(hello)
	require.NoError(t, err)
	d, err := c.Upload(ctx, hello, "")
	require.NoError(t, err)
	assert.False(t, d.Created.IsZero())
	d.Created = d.Created.UTC().Truncate(0)
	assert.Equal(t, endpoint.Deployment{Flow: "hello", Version: "v1", Digest: m.Digest, Weight: 100, Default: true, Created: d.Created}, d)
	got := do(t, "POST", fx.url+"/score", `{"name": "Ada"}`)
	assert.Equal(t, `{"message":"Hello, Ada!"}`+"\n", got.body)

	// The same bundle as the same version again: nothing changes.
	again, err := c.Upload(ctx, hello, "v1")
	require.NoError(t, err)
	assert.Equal(t, d.Digest, again.Digest)

	// Another bundle as an existing version: refused.
	other := buildBundle(t, "flow.cue", strings.Replace(helloFlow, "Hello", "Hi", 1))
	_, err = c.Upload(ctx, other, "v1")
	assert.EqualError(t, err, `upload bundle: deploy flow "hello" version "v1": version exists: delete it first, or pick another version (HTTP 409, conflict)`)
	var apiErr *endpoint.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, endpoint.APIError{Status: 409, Code: "conflict", Message: `deploy flow "hello" version "v1": version exists: delete it first, or pick another version`}, *apiErr)

	// As a new version, it takes the traffic: no split was set.
	d2, err := c.Upload(ctx, other, "v2")
	require.NoError(t, err)
	assert.Equal(t, 100, d2.Weight)
	got = do(t, "POST", fx.url+"/score", `{"name": "Ada"}`)
	assert.Equal(t, `{"message":"Hi, Ada!"}`+"\n", got.body)
	assert.Equal(t, "v2", got.header.Get("Weir-Version"))

	list, err := c.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, []string{"v1 0", "v2 100"}, []string{list[0].Version + " " + itoa(list[0].Weight), list[1].Version + " " + itoa(list[1].Weight)})

	// Each digest is extracted once, under the work folder.
	entries, err := os.ReadDir(fx.opts.WorkDir)
	require.NoError(t, err)
	assert.Len(t, entries, 2)

	require.NoError(t, c.Delete(ctx, "hello", "v2"), "without a split, the newest version can go: v1 takes over")
	assert.Equal(t, `{"message":"Hello, Ada!"}`+"\n", do(t, "POST", fx.url+"/score", `{"name": "Ada"}`).body)
	require.NoError(t, c.Delete(ctx, "hello", "v1"), "the last version takes the flow with it")
	list, err = c.List(ctx)
	require.NoError(t, err)
	assert.Empty(t, list)
	assert.False(t, fx.s.Ready())
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func bundleManifest(data []byte) (bundle.Manifest, error) {
	b, err := bundle.Read(data)
	if err != nil {
		return bundle.Manifest{}, err
	}
	return b.Manifest(), nil
}

func TestUploadErrors(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{InsecureAdmin: true, MaxBundleBytes: 1 << 20}, engine.Options{})
	c := &endpoint.Client{URL: fx.url}
	ctx := context.Background()

	_, err := c.Upload(ctx, []byte("not a bundle"), "")
	assert.EqualError(t, err, `upload bundle: read bundle: not a weir bundle (a tar archive compressed with gzip) (HTTP 400, invalid_bundle)`)

	bad := buildBundle(t, "flow.cue", `name: "bad"
nodes: a: {tool: "builtin.json", inputs: value: "${nowhere.output}"}
outputs: v: "${a.output.value}"
`)
	_, err = c.Upload(ctx, bad, "")
	assert.EqualError(t, err, `upload bundle: flow.cue:2:50: node "a": input "value": ${nowhere.output}: unknown node "nowhere"; `+
		`refer to an input as ${inputs.x}, to a node as ${node.output} and to a secret as ${secrets.x} (HTTP 400, invalid_flow)`)

	_, err = c.Upload(ctx, buildBundle(t, "flow.cue", helloFlow), "v/1")
	assert.EqualError(t, err, `upload bundle: deploy bundle: version "v/1": use letters, digits, '.', '_' and '-', at most 63, starting with a letter or digit (HTTP 400, bad_request)`)

	got := do(t, "POST", fx.url+"/v1/admin/deployments", strings.Repeat("x", 1<<20+1), "Content-Type: application/octet-stream")
	assert.Equal(t, answer{413, nil, errorBody("too_large", "read body: larger than the limit of 1048576 bytes")}, strip(got))
}

func TestSplit(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{InsecureAdmin: true}, engine.Options{})
	c := &endpoint.Client{URL: fx.url}
	ctx := context.Background()
	fx.deploy(t, "blue", versionFlow("blue"))
	fx.deploy(t, "green", versionFlow("green"))

	assert.Equal(t, `{"version":"green"}`+"\n", do(t, "POST", fx.url+"/score", `{}`).body, "the newest takes all")

	for _, tc := range []struct {
		weights map[string]int
		err     string
	}{
		{map[string]int{"blue": 50, "green": 60}, `the weights sum to 110, not 100 (HTTP 400, bad_request)`},
		{map[string]int{}, `the weights sum to 0, not 100 (HTTP 400, bad_request)`},
		{map[string]int{"blue": 100, "red": 0}, `no version "red" (versions: blue, green) (HTTP 400, bad_request)`},
		{map[string]int{"blue": 110, "green": -10}, `the weight of version "green" is -10: weights are 0 or more (HTTP 400, bad_request)`},
	} {
		err := c.SetSplit(ctx, "split", tc.weights)
		assert.EqualError(t, err, `set split of flow "split": `+tc.err)
	}
	assert.EqualError(t, c.SetSplit(ctx, "nope", map[string]int{"v1": 100}),
		`set split of flow "nope": flow "nope" is not deployed (deployed: split) (HTTP 404, not_found)`)
	got := do(t, "PUT", fx.url+"/v1/admin/flows/split/split", `{"blue": 0.5}`)
	assert.Equal(t, answer{400, nil, errorBody("invalid_json", `decode body: want an object of versions to whole-number weights, such as {"blue": 90, "green": 10}`)}, strip(got))

	require.NoError(t, c.SetSplit(ctx, "split", map[string]int{"blue": 100}))
	assert.Equal(t, `{"version":"blue"}`+"\n", do(t, "POST", fx.url+"/score", `{}`).body)

	// Once a split is set, a new version takes no traffic until named.
	fx.deploy(t, "red", versionFlow("red"))
	assert.Equal(t, `{"version":"blue"}`+"\n", do(t, "POST", fx.url+"/score", `{}`).body)
	list, err := c.List(ctx)
	require.NoError(t, err)
	weights := map[string]int{}
	for _, d := range list {
		weights[d.Version] = d.Weight
	}
	assert.Equal(t, map[string]int{"blue": 100, "green": 0, "red": 0}, weights)

	assert.EqualError(t, c.Delete(ctx, "split", "blue"),
		`delete version "blue" of flow "split": version "blue" takes 100% of the traffic: set a split without it first (HTTP 409, conflict)`)
	assert.EqualError(t, c.Delete(ctx, "split", "purple"),
		`delete version "purple" of flow "split": flow "split" has no version "purple" (versions: blue, green, red) (HTTP 404, not_found)`)
	assert.EqualError(t, c.Delete(ctx, "nope", "v1"),
		`delete version "v1" of flow "nope": flow "nope" is not deployed (deployed: split) (HTTP 404, not_found)`)
	require.NoError(t, c.Delete(ctx, "split", "green"))
	require.NoError(t, c.SetSplit(ctx, "split", map[string]int{"red": 100}))
	require.NoError(t, c.Delete(ctx, "split", "blue"))
	assert.Equal(t, `{"version":"red"}`+"\n", do(t, "POST", fx.url+"/score", `{}`).body)
}

// TestUploadFileSecretOutside: an uploaded bundle cannot make the server
// read a file of its own as a secret and hand it to the bundle's tools.
// Its value must come from the variable the hosts pass it in.
func TestUploadFileSecretOutside(t *testing.T) {
	fx := newFixture(t, endpoint.Options{AdminToken: token, WorkDir: t.TempDir()}, engine.Options{})
	c := &endpoint.Client{URL: fx.url, Token: token}
	ctx := context.Background()
	flow := func(file string) []byte {
		return buildBundle(t, "flow.cue", `name: "steal"
secrets: loot: file: "`+file+`"
nodes: say: {tool: "builtin.json", inputs: value: "${secrets.loot}"}
outputs: loot: "${say.output.value}"
`)
	}
	for _, file := range []string{"/etc/hostname", "../../etc/hostname"} {
		_, err := c.Upload(ctx, flow(file), "")
		assert.EqualError(t, err, `upload bundle: secret "loot": a bundle reads a file secret only inside itself, and `+file+` is not; set WEIR_SECRET_LOOT where weir serve runs to give its value (HTTP 400, invalid_bundle)`)
	}

	// Given the variable, the engine reads it, never the file.
	t.Setenv("WEIR_SECRET_LOOT", "from-the-host")
	d, err := c.Upload(ctx, flow("/etc/hostname"), "")
	require.NoError(t, err)
	assert.Equal(t, "steal", d.Flow)
}
