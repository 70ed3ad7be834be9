package endpoint

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"

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
	if err := b.CheckFileSecrets("weir serve"); err != nil {
		return d, false, fail(http.StatusBadRequest, codeInvalidBundle, err)
	}
	m := b.Manifest()
	version = cmp.Or(version, m.Version, "v1")
	if err := checkVersion(version); err != nil {
		return d, false, fail(http.StatusBadRequest, codeBadRequest, fmt.Errorf("deploy bundle: %w", err))
	}

	return s.loadBundle(ctx, b, m, version)
}
