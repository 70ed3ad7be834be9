package endpoint

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/weirflow/weir/hosts/bundle"
)

// uploads is the state of the bundles being extracted and loaded. Loading
// runs outside Server.mu: a plugin's describe or a contract's schemas may
// take long, or, from a hostile bundle, forever until canceled, and must
// hold up neither the other admin calls nor a shutdown.
type uploads struct {
	// ctx is canceled by Close, and with it every load.
	ctx    context.Context
	cancel context.CancelFunc
	// loading counts the bundles being extracted and loaded, for /metrics.
	loading atomic.Int64
	// users counts, per digest, the loads using its folder, under
	// Server.mu: the last one to fail removes the folder, unless a
	// deployed version uses it.
	users map[string]int
}

func (u *uploads) init() {
	u.ctx, u.cancel = context.WithCancel(context.Background())
	u.users = map[string]int{}
}

func (u *uploads) stop() { u.cancel() }

// loadBundle extracts b and loads its flow, outside s.mu, then deploys it
// as version, taking s.mu only to swap the routing table. The load ends
// when ctx does (the client went away) or when Close is called.
func (s *Server) loadBundle(ctx context.Context, b *bundle.Bundle, m bundle.Manifest, version string) (d Deployment, existed bool, err error) {
	t := s.table.Load()
	if r := t.flows[m.Flow]; r != nil {
		if v := r.version(version); v != nil && v.digest == m.Digest {
			return r.deployment(v, t), true, nil
		}
	}
	s.uploads.loading.Add(1)
	defer s.uploads.loading.Add(-1)
	dir, err := s.extract(b, m.Digest)
	if err != nil {
		return d, false, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	defer context.AfterFunc(s.uploads.ctx, func() { cancel(errShuttingDown) })()
	s.log.Debug("loading bundle", "flow", m.Flow, "version", version, "digest", m.Digest)
	f, err := s.opts.Engine.Load(ctx, filepath.Join(dir, filepath.FromSlash(m.Entry)))
	if err != nil {
		s.release(m.Digest, dir)
		if errors.Is(context.Cause(ctx), errShuttingDown) || s.closed.Load() {
			return d, false, errShuttingDown
		}
		// Paths inside the bundle, not the server's folders.
		msg := strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
		return d, false, fail(http.StatusBadRequest, codeInvalidFlow, errors.New(msg))
	}
	s.mu.Lock()
	d, existed, err = s.deployLocked(version, f, m.Digest)
	s.mu.Unlock()
	s.release(m.Digest, dir)
	switch {
	case errors.Is(err, ErrVersionExists):
		return d, false, fail(http.StatusConflict, codeConflict, err)
	case errors.Is(err, ErrClosed):
		return d, false, errShuttingDown
	}
	return d, existed, err
}

// extract returns the folder of the bundle with digest under the work
// folder, extracting it there unless an earlier upload did, and counts a
// use of it: release ends that use.
func (s *Server) extract(b *bundle.Bundle, digest string) (string, error) {
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return "", errShuttingDown
	}
	if s.workDir == "" {
		var err error
		if s.workDir, err = os.MkdirTemp("", "weir-endpoint-"); err != nil {
			s.mu.Unlock()
			return "", fmt.Errorf("extract bundle: %w", err)
		}
		s.temp = true
	}
	work := s.workDir
	s.uploads.users[digest]++
	s.mu.Unlock()

	dir := filepath.Join(work, strings.TrimPrefix(digest, "sha256:"))
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	if err := extractInto(b, work, dir); err != nil {
		s.release(digest, dir)
		if s.closed.Load() {
			return "", errShuttingDown // Close removed the work folder under it
		}
		return "", err
	}
	return dir, nil
}

// extractInto extracts b into a new folder under work, renamed to dir
// when whole: a crash leaves no half bundle under the digest's name.
func extractInto(b *bundle.Bundle, work, dir string) error {
	tmp, err := os.MkdirTemp(work, ".extract-")
	if err != nil {
		return fmt.Errorf("extract bundle: %w", err)
	}
	if _, err := b.Extract(tmp); err != nil {
		_ = os.RemoveAll(tmp)
		var invalid *bundle.InvalidError
		if errors.As(err, &invalid) {
			return fail(http.StatusBadRequest, codeInvalidBundle, err)
		}
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		_ = os.RemoveAll(tmp)
		// An upload of the same bundle at the same time got there first.
		if _, serr := os.Stat(dir); serr == nil {
			return nil
		}
		return fmt.Errorf("extract bundle: %w", err)
	}
	return nil
}

// release ends a use of the folder dir of the bundle with digest. The last
// use removes the folder unless a deployed version runs from it: moved
// aside under s.mu, so that an upload of the same bundle starting then
// extracts it anew, and removed after.
func (s *Server) release(digest, dir string) {
	s.mu.Lock()
	s.uploads.users[digest]--
	var trash string
	if s.uploads.users[digest] == 0 {
		delete(s.uploads.users, digest)
		if !s.table.Load().hasDigest(digest) {
			if t, err := os.MkdirTemp(filepath.Dir(dir), ".remove-"); err == nil {
				trash = t
				_ = os.Rename(dir, filepath.Join(trash, "bundle"))
			}
		}
	}
	s.mu.Unlock()
	if trash != "" {
		_ = os.RemoveAll(trash)
	}
}
