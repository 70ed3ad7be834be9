package pool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/weirflow/weir/hosts/bundle"
)

// ErrBundleMismatch is wrapped by the error of a bundle fetched from a pool
// whose content is not the digest it was stored under: it is refused.
var ErrBundleMismatch = errors.New("bundle does not match its digest")

// PutBundle stores the bundle file at path in the pool, once: a bundle the
// pool has already is not sent again. It returns the bundle's digest, by
// which lines and runs name it.
func (p *Pool) PutBundle(ctx context.Context, path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("put bundle: %w", err)
	}
	b, err := bundle.Read(data)
	if err != nil {
		return "", fmt.Errorf("put bundle %s: %w", path, err)
	}
	digest := b.Manifest().Digest
	ctx, cancel := p.c.callContext(ctx)
	defer cancel()
	if _, err := p.bundles.GetInfo(ctx, digest); err == nil {
		return digest, nil
	} else if !errors.Is(err, jetstream.ErrObjectNotFound) {
		return "", p.c.fail("put bundle", err)
	}
	meta := jetstream.ObjectMeta{Name: digest, Description: "flow " + b.Manifest().Flow}
	if _, err := p.bundles.PutBytes(ctx, meta.Name, data); err != nil {
		return "", p.c.fail(fmt.Sprintf("put bundle of flow %q", b.Manifest().Flow), err)
	}
	return digest, nil
}

// FetchBundle returns the path of the entry flow of the bundle of digest,
// fetching it from the pool and extracting it under dir the first time
// (one folder per digest; later calls find it there). A bundle
// whose bytes are not its digest is refused (ErrBundleMismatch), and so is
// one that reads a secret from a file outside itself without
// WEIR_SECRET_<NAME> set, as weir serve refuses it.
func (p *Pool) FetchBundle(ctx context.Context, dir, digest string) (string, error) {
	if !strings.HasPrefix(digest, "sha256:") || strings.ContainsAny(digest, `/\.`) {
		return "", fmt.Errorf("fetch bundle %q: not a bundle digest", digest)
	}
	folder := filepath.Join(dir, strings.ReplaceAll(digest, ":", "-"))
	if entry, err := os.ReadFile(filepath.Join(folder, ".entry")); err == nil {
		return filepath.Join(folder, string(entry)), nil
	}
	ctx, cancel := context.WithTimeout(ctx, max(p.c.Timeout(), fetchTimeout))
	defer cancel()
	data, err := p.bundles.GetBytes(ctx, digest)
	switch {
	case errors.Is(err, jetstream.ErrObjectNotFound):
		return "", fmt.Errorf("fetch bundle %.19s…: pool %q does not have it (deleted, or the pool was made again)", digest, p.name)
	case errors.Is(err, jetstream.ErrDigestMismatch):
		return "", fmt.Errorf("fetch bundle %.19s… from pool %q: %w: its stored chunks were changed; refused", digest, p.name, ErrBundleMismatch)
	case err != nil:
		return "", p.c.fail(fmt.Sprintf("fetch bundle %.19s…", digest), err)
	}
	b, err := bundle.Read(data)
	if err != nil {
		return "", fmt.Errorf("fetch bundle %.19s… from pool %q: %w", digest, p.name, err)
	}
	if got := b.Manifest().Digest; got != digest {
		return "", fmt.Errorf("fetch bundle %.19s… from pool %q: %w: it is %.19s…; refused", digest, p.name, ErrBundleMismatch, got)
	}
	if err := b.CheckFileSecrets("the worker"); err != nil {
		return "", fmt.Errorf("bundle of flow %q: %w", b.Manifest().Flow, err)
	}
	// Extract into a fresh folder, then move it in place: a folder under
	// its digest's name is always whole.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("fetch bundle: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, ".fetch-*")
	if err != nil {
		return "", fmt.Errorf("fetch bundle: %w", err)
	}
	defer os.RemoveAll(tmp)
	flow, err := b.Extract(tmp)
	if err != nil {
		return "", err
	}
	rel, _ := filepath.Rel(tmp, flow)
	if err := os.WriteFile(filepath.Join(tmp, ".entry"), []byte(rel), 0o644); err != nil {
		return "", fmt.Errorf("fetch bundle: %w", err)
	}
	if err := os.Rename(tmp, folder); err != nil {
		if _, serr := os.Stat(filepath.Join(folder, ".entry")); serr != nil {
			return "", fmt.Errorf("fetch bundle: %w", err)
		}
		// Another process of this cache put it there first.
	}
	return filepath.Join(folder, rel), nil
}

// fetchTimeout bounds fetching a bundle, which may be large.
const fetchTimeout = 5 * time.Minute
