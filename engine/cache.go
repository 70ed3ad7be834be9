package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/weirflow/weir/internal/progdigest"
	"github.com/weirflow/weir/internal/schemas"
	"github.com/weirflow/weir/plugins"
)

// Cache keeps the outputs of node calls, for the nodes whose flow sets
// cache. The engine asks it before calling such a node's tool, and gives
// it the outputs of each call that succeeded. Keys are the hex of a sha256
// over the tool plugin's digest (plugins.Digester), the config of its
// plugin entry, the tool's name and the exact inputs, so neither the
// inputs nor any secret in them can be read from a key.
//
// A Cache must be safe for concurrent use. Its failures are misses: Get
// reports none, and the engine ignores an error from Put, which a run
// never fails for. Package engine/cache stores entries in files.
type Cache interface {
	// Get returns the outputs stored under key when the entry is younger
	// than ttl, or of any age when ttl is zero. The engine checks them as
	// it checks a tool's outputs, and calls the tool when they fail.
	Get(ctx context.Context, key string, ttl time.Duration) (out []byte, ok bool)
	// Put stores out, which the Cache must not modify, under key; tool is
	// the tool's address in the flow ("text.upper"), for people.
	Put(ctx context.Context, key, tool string, out []byte) error
}

// nodeCache is how a cached node keys and ages its entries.
type nodeCache struct {
	// prefix is what the key hashes before the inputs: the digest, the
	// config and the tool's name, each ended by a 0 byte, which none of
	// them holds (JSON escapes it).
	prefix []byte
	ttl    time.Duration
}

// key returns the entry key of a call with inputs in.
func (c *nodeCache) key(in []byte) string {
	h := sha256.New()
	h.Write(c.prefix)
	h.Write(in)
	return hex.EncodeToString(h.Sum(nil))
}

// cacheVersion changes when what a key covers does, so that old entries
// are never read in a new way.
const cacheVersion = "weir-cache-1\x00"

// cache compiles node sn's cache setting: its own, else the defaults'
// (which leave out aggregate and sub-flow nodes), nil when off.
func (c *compiler) cache(sn *schemas.Node, te *toolEntry) *nodeCache {
	set := sn.Cache
	if set == nil && !sn.Aggregate && sn.Flow == "" {
		set = c.spec.Defaults.Cache
	}
	switch {
	case set == nil || !set.On:
		return nil
	case sn.Aggregate:
		c.errs.Add(set.Pos, "node %q: an aggregate node cannot be cached: its inputs are a whole batch's, which a later batch hardly repeats; remove cache", sn.Name)
		return nil
	case sn.Flow != "":
		c.errs.Add(set.Pos, "node %q: a sub-flow node cannot be cached: set cache on the sub-flow's nodes, or in its defaults", sn.Name)
		return nil
	case te == nil:
		return nil // the tool's own error says why
	}
	digest, err := toolDigest(te)
	if err != nil {
		fix := "remove cache"
		if sn.Cache == nil {
			fix = "set cache: false on the node"
		}
		c.errs.Add(set.Pos, "node %q: cannot cache %s: %v; %s", sn.Name, sn.Tool, err, fix)
		return nil
	}
	var config []byte
	if te.opened != nil {
		config = entryConfig(te.opened.spec.Options)
	}
	prefix := make([]byte, 0, len(cacheVersion)+len(digest)+len(config)+64)
	prefix = append(prefix, cacheVersion...)
	prefix = append(append(prefix, digest...), 0)
	prefix = append(append(prefix, config...), 0)
	prefix = append(append(prefix, te.tool.Contract().Name...), 0)
	return &nodeCache{prefix: prefix, ttl: set.TTL}
}

// errNoDigest is the error of a tool whose plugin cannot name its code.
type errNoDigest struct{ plugin, kind string }

func (e errNoDigest) Error() string {
	return "plugin " + e.plugin + " (kind " + e.kind + ") gives no digest of its code to key the cache on (plugins.Digester)"
}

// toolDigest names the code of te's tool: the tool's own digest, else its
// plugin's, else, for a Go function the program registered, the program's.
func toolDigest(te *toolEntry) (string, error) {
	if d, ok := te.tool.(plugins.Digester); ok {
		return d.Digest()
	}
	if te.opened != nil {
		if d, ok := te.opened.plugin.(plugins.Digester); ok {
			return d.Digest()
		}
		return "", errNoDigest{te.plugin, te.kind}
	}
	if te.kind == kindNative {
		return progdigest.Of()
	}
	return "", errNoDigest{te.plugin, te.kind}
}

// configKeys are the fields of a plugin entry that change what its tools
// answer, and so the cache's key. Paths, pins, grants and limits do not:
// the digest covers the code, and a limit only fails calls, which are
// never cached.
var configKeys = []string{"args", "config", "env"}

// entryConfig returns configKeys of a plugin entry as canonical JSON
// (sorted keys), so that the order the flow writes them in does not
// matter.
func entryConfig(options json.RawMessage) []byte {
	var entry map[string]any
	if json.Unmarshal(options, &entry) != nil {
		return nil
	}
	picked := map[string]any{}
	for _, k := range configKeys {
		if v, ok := entry[k]; ok {
			picked[k] = v
		}
	}
	b, _ := json.Marshal(picked) // values that came from JSON encode
	return b
}

// noCacheKey marks the context of a run made with NoCache, for its
// sub-flows to follow.
type noCacheKey struct{}

// useCache sets the run's cache, and returns ctx marked for sub-flows when
// the run must not use it.
func (r *run) useCache(ctx context.Context) context.Context {
	if r.opts.NoCache {
		return context.WithValue(ctx, noCacheKey{}, true)
	}
	if r.f.e.cache != nil && r.f.cached && ctx.Value(noCacheKey{}) == nil {
		r.cache = r.f.e.cache
	}
	return ctx
}

// cached runs node n through the cache: the stored outputs of an earlier
// call on the same inputs if there are any, which skip the tool (and so
// its retries and timeout), else a call whose outputs are stored when it
// succeeds and hold no secret.
func (r *run) cached(ctx context.Context, n *node, in []byte) ([]byte, error) {
	key := n.cache.key(in)
	if out, ok := r.cache.Get(ctx, key, n.cache.ttl); ok && checkOutput(out) == nil {
		nr := &r.nodes[n.index]
		nr.Attempts, nr.Cached = 0, true
		if t := r.f.e.tracer; t != nil {
			_, span := t.Start(ctx, "node "+n.name, trace.WithAttributes(r.nodeAttrs(n, 0)...))
			span.SetAttributes(
				attrNodeStatus.String(string(Succeeded)),
				attrNodeBypassed.Bool(false),
				attrNodeCacheHit.Bool(true),
				attrNodeBytesIn.Int(len(in)),
				attrNodeBytesOut.Int(len(out)),
			)
			span.End()
		}
		return out, nil
	}
	out, err := r.retry(ctx, n, in)
	// Outputs that hold a secret's value stay off the disk, where nothing
	// would redact them. A store that fails is a miss next time, not this
	// run's failure.
	if err == nil && !r.f.e.redactor.contains(out) {
		_ = r.cache.Put(ctx, key, n.toolName, out)
	}
	return out, err
}
