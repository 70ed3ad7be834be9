package record

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/weirflow/weir/engine"
)

// Lines records runs made one at a time, rather than by a batch, as the
// lines of one run of the record: weir run --record makes a run of one
// line, weir serve --record a line per request. Its methods are safe for
// concurrent use.
type Lines struct {
	run   *Run
	flow  string
	start time.Time

	mu    sync.Mutex
	n     int // lines added
	tally engine.Tally
	flush *time.Timer // pending write of the lines added; nil when none
	err   error       // the first error of a flush, returned by Add and Finish
	done  bool
}

// StartLines creates a run of kind m.Kind, KindRun or KindServe, for
// runs of flow f, to which Add adds lines. It fills m.ID when empty
// (NewID), and m.Flow and m.FlowFiles from f.
func (s *Store) StartLines(f *engine.Flow, m Meta) (*Lines, error) {
	if m.Kind != KindRun && m.Kind != KindServe {
		return nil, fmt.Errorf("start a run of kind %q: runs made one at a time are of kind %s or %s", m.Kind, KindRun, KindServe)
	}
	if m.ID == "" {
		m.ID = NewID(f.Name(), time.Now())
	}
	m.Flow, m.FlowFiles = f.Name(), f.Files()
	r, err := s.Create(m)
	if err != nil {
		return nil, err
	}
	return &Lines{run: r, flow: f.Name(), start: time.Now()}, nil
}

// ID returns the run's id.
func (l *Lines) ID() string { return l.run.ID() }

// Dir returns the run's folder.
func (l *Lines) Dir() string { return l.run.Dir() }

// Len returns the number of lines added.
func (l *Lines) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// Add records a run of the flow as the next line, numbered from 1, and
// returns its number: res and err are what engine.Flow.RunWith returned.
// The line's inputs and its nodes' values are recorded when res has them
// (engine.RunOptions.NodeValues). The line reaches the run's files within
// a second, and at once with Finish. An error writing the record stops
// it: Add and Finish return that error from then on.
func (l *Lines) Add(res *engine.Result, err error) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.done:
		return 0, fmt.Errorf("add a line to run %q: %w", l.run.ID(), ErrFinished)
	case l.err != nil:
		return 0, l.err
	}
	lr := res.Line(l.n+1, err)
	if err := l.run.Write(lr); err != nil {
		l.err = err
		return 0, err
	}
	l.n++
	l.tally.Add(lr)
	if l.flush == nil {
		l.flush = time.AfterFunc(flushEvery, l.flushNow)
	}
	return lr.Line, nil
}

// flushNow writes out the lines added since the last flush.
func (l *Lines) flushNow() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.flush = nil
	if l.done || l.err != nil {
		return
	}
	l.err = l.run.Flush()
}

// Finish writes out the lines and finishes the run, completed; a run
// whose record could not be written fails with the reason. A second
// Finish returns an error wrapping ErrFinished.
func (l *Lines) Finish() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return fmt.Errorf("finish run %q: %w", l.run.ID(), ErrFinished)
	}
	l.done = true
	if l.flush != nil {
		l.flush.Stop()
		l.flush = nil
	}
	sum := l.tally.Summary()
	sum.RunID, sum.Flow, sum.Status = l.run.ID(), l.flow, engine.Completed
	sum.Start, sum.Duration = l.start, time.Since(l.start)
	return errors.Join(l.err, l.run.Finish(&sum, l.err))
}
