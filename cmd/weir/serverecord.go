package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/engine/record"
)

// servedRecord keeps the runs weir serve --record serves in the run
// record: for each flow version (each *engine.Flow the server runs) a run
// of kind serve, made at its first request, with a line per request.
//
// It is bounded by rotation: once a run has max lines it is finished and
// a new one started, and the one before it deleted, so that a version
// keeps between max and 2*max of its latest requests. Rotating keeps the
// record's files append-only, which is what makes them safe to kill at
// any moment (see package record); dropping the oldest lines of a run in
// place would mean rewriting them.
//
// Its methods are safe for concurrent use; add holds one lock, so served
// requests record one at a time (appending a line to a buffer).
type servedRecord struct {
	store *record.Store
	max   int
	log   *slog.Logger

	mu       sync.Mutex
	versions map[*engine.Flow]*servedVersion
}

// servedVersion is a flow version's runs: the one taking lines, and the
// one before it.
type servedVersion struct {
	cur, prev *record.Lines
	stopped   bool // the record failed: this version records no more
}

// servedRecord opens the run record for weir serve --record; nil without
// --record.
func (a *app) servedRecord(fl serveFlags, stderr io.Writer) (*servedRecord, error) {
	if !fl.record {
		return nil, nil
	}
	if fl.recordLines < 1 {
		return nil, usageError{fmt.Errorf("--record-lines must be at least 1, got %d", fl.recordLines)}
	}
	store, err := a.openStore()
	if err != nil {
		return nil, fmt.Errorf("--record: %w", err)
	}
	fmt.Fprintf(stderr, "recording the runs served in %s: weir runs list\n", store.Dir())
	return &servedRecord{store: store, max: fl.recordLines, log: slog.New(slog.NewTextHandler(stderr, nil)),
		versions: map[*engine.Flow]*servedVersion{}}, nil
}

// onRun returns the server's OnRun: nil without a record.
func (r *servedRecord) onRun() func(*engine.Flow, *engine.Result, error) {
	if r == nil {
		return nil
	}
	return r.add
}

// add records a run of f, as endpoint.Options.OnRun. A record that fails
// is logged once and stops recording f.
func (r *servedRecord) add(f *engine.Flow, res *engine.Result, runErr error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v := r.versions[f]
	if v == nil {
		v = &servedVersion{}
		r.versions[f] = v
	}
	if v.stopped {
		return
	}
	if err := r.addTo(v, f, res, runErr); err != nil {
		v.stopped = true
		r.log.Warn("recording served runs stopped", "flow", f.Name(), "error", err)
	}
}

func (r *servedRecord) addTo(v *servedVersion, f *engine.Flow, res *engine.Result, runErr error) error {
	if v.cur != nil && v.cur.Len() >= r.max {
		if err := v.cur.Finish(); err != nil {
			return err
		}
		if v.prev != nil {
			if err := r.store.Delete(v.prev.ID()); err != nil {
				return err
			}
		}
		v.prev, v.cur = v.cur, nil
	}
	if v.cur == nil {
		var err error
		if v.cur, err = r.store.StartLines(f, record.Meta{Kind: record.KindServe}); err != nil {
			return err
		}
	}
	_, err := v.cur.Add(res, runErr)
	return err
}

// close finishes the runs taking lines and closes the record, saying on
// stderr what failed. Call it once the server has stopped; a nil r does
// nothing.
func (r *servedRecord) close(stderr io.Writer) {
	if r == nil {
		return
	}
	if err := errors.Join(r.finish(), r.store.Close()); err != nil {
		fmt.Fprintf(stderr, "weir: %v\n", err)
	}
}

func (r *servedRecord) finish() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for _, v := range r.versions {
		if v.cur == nil {
			continue
		}
		// A stopped version's run fails with the reason, logged already.
		if err := v.cur.Finish(); !v.stopped {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("finish the record of served runs: %w", err)
	}
	return nil
}
