package endpoint

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/weirflow/weir/hosts/bundle"
)

// codeUntrustedBundle is the error code of a bundle that Options.Trust
// refuses.
const codeUntrustedBundle = "untrusted_bundle"

var errShuttingDown = fail(http.StatusServiceUnavailable, codeUnavailable, fmt.Errorf("deploy bundle: %w: it is shutting down", ErrClosed))

// DeployBundle deploys the bundle in data (the bytes of a .weir file), as
// an upload to the admin API does: it checks the bundle, extracts it under
// Options.WorkDir (once per digest), loads its flow with the engine and
// deploys it as version, or, when version is empty, as the flow's own
// version, else v1. Deploying the same bundle as the same version again
// returns the existing deployment. A bad bundle is a *bundle.InvalidError
// naming the file at fault; a flow that does not load says where, with
// paths inside the bundle. Under Options.Trust, a bundle that no trusted
// key signed is refused with an error that wraps bundle.ErrUntrusted.
func (s *Server) DeployBundle(ctx context.Context, data []byte, version string) (Deployment, error) {
	d, _, err := s.deployBundle(ctx, data, version)
	return d, err
}

// deployBundle is DeployBundle; existed says the version was there.
func (s *Server) deployBundle(ctx context.Context, data []byte, version string) (d Deployment, existed bool, err error) {
	if s.closed.Load() {
		return d, false, errShuttingDown
	}
	b, err := s.opts.Trust.Read(data)
	switch {
	case errors.Is(err, bundle.ErrUntrusted):
		return d, false, fail(http.StatusForbidden, codeUntrustedBundle, err)
	case errors.Is(err, bundle.ErrTooLarge):
		return d, false, fail(http.StatusRequestEntityTooLarge, codeTooLarge, err)
	case err != nil:
		return d, false, fail(http.StatusBadRequest, codeInvalidBundle, err)
	}
	m := b.Manifest()
	version = cmp.Or(version, m.Version, "v1")
	if err := checkVersion(version); err != nil {
		return d, false, fail(http.StatusBadRequest, codeBadRequest, fmt.Errorf("deploy bundle: %w", err))
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return d, false, errShuttingDown
	}
	if r := s.table.Load().flows[m.Flow]; r != nil {
		if v := r.version(version); v != nil && v.digest == m.Digest {
			return r.deployment(v, s.table.Load()), true, nil
		}
	}
	dir, fresh, err := s.extract(b, m.Digest)
	if err != nil {
		return d, false, err
	}
	f, err := s.opts.Engine.Load(ctx, filepath.Join(dir, filepath.FromSlash(m.Entry)))
	if err != nil {
		if fresh {
			_ = os.RemoveAll(dir)
		}
		// Paths inside the bundle, not the server's folders.
		msg := strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
		return d, false, fail(http.StatusBadRequest, codeInvalidFlow, errors.New(msg))
	}
	d, existed, err = s.deployLocked(version, f, m.Digest)
	if errors.Is(err, ErrVersionExists) {
		return d, false, fail(http.StatusConflict, codeConflict, err)
	}
	return d, existed, err
}

// extract returns the folder of the bundle with digest under the work
// folder, extracting it there unless an earlier upload did (fresh says it
// did not). It runs under s.mu.
func (s *Server) extract(b *bundle.Bundle, digest string) (dir string, fresh bool, err error) {
	if s.workDir == "" {
		if s.workDir, err = os.MkdirTemp("", "weir-endpoint-"); err != nil {
			return "", false, fmt.Errorf("extract bundle: %w", err)
		}
		s.temp = true
	}
	dir = filepath.Join(s.workDir, strings.TrimPrefix(digest, "sha256:"))
	if _, err := os.Stat(dir); err == nil {
		return dir, false, nil
	}
	// Into a new folder, renamed when whole: a crash leaves no half bundle
	// under the digest's name.
	tmp, err := os.MkdirTemp(s.workDir, ".extract-")
	if err != nil {
		return "", false, fmt.Errorf("extract bundle: %w", err)
	}
	if _, err := b.Extract(tmp); err != nil {
		_ = os.RemoveAll(tmp)
		var invalid *bundle.InvalidError
		if errors.As(err, &invalid) {
			return "", false, fail(http.StatusBadRequest, codeInvalidBundle, err)
		}
		return "", false, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		_ = os.RemoveAll(tmp)
		return "", false, fmt.Errorf("extract bundle: %w", err)
	}
	return dir, true, nil
}
