package wasm

import (
	"context"
	"errors"
	"sync"
	"time"
)

var errClosed = errors.New("plugin is closed")

// pool keeps initialised instances of one module. A call takes a slot (at
// most max run at once), then an idle instance or a new one; afterwards the
// instance goes back, or is closed when it is broken or worn out. Instances
// idle for longer than ttl are closed, but for one kept warm.
type pool struct {
	pl    *Plugin
	slots chan struct{}
	ttl   time.Duration

	mu     sync.Mutex
	idle   []*instance                   // most recently used last
	busy   map[*instance]context.Context // the caller's, for the watchdog
	st     Stats
	closed bool
	stop   chan struct{}
}

func newPool(pl *Plugin, max int, ttl time.Duration) *pool {
	p := &pool{pl: pl, slots: make(chan struct{}, max), ttl: ttl, stop: make(chan struct{}), busy: map[*instance]context.Context{}}
	go p.watch()
	return p
}

func (p *pool) get(ctx context.Context) (*instance, error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.slots
		return nil, errClosed
	}
	if n := len(p.idle); n > 0 {
		in := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.st.Idle--
		p.busy[in] = ctx
		p.mu.Unlock()
		return in, nil
	}
	p.mu.Unlock()
	in, err := p.pl.newInstance(ctx)
	if err != nil {
		<-p.slots
		return nil, err
	}
	p.mu.Lock()
	p.st.Created++
	p.st.Live++
	p.busy[in] = ctx
	p.mu.Unlock()
	return in, nil
}

// put returns a healthy instance, or closes it once it served its calls or
// when the watchdog halted it (as its call was ending: the call is fine,
// the instance cannot serve another).
func (p *pool) put(in *instance) {
	if in.calls >= p.pl.limits.Recycle || in.halted.Load() != 0 {
		p.discard(in)
		return
	}
	in.idle = time.Now().UnixNano()
	// An idle instance keeps no bytes of its last call.
	in.httpReq, in.httpResp = nil, nil
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.discard(in)
		return
	}
	delete(p.busy, in)
	p.idle = append(p.idle, in)
	p.st.Idle++
	p.mu.Unlock()
	<-p.slots
}

// discard closes an instance that must not serve another call.
func (p *pool) discard(in *instance) {
	in.close()
	p.mu.Lock()
	delete(p.busy, in)
	p.st.Live--
	p.st.Discarded++
	p.mu.Unlock()
	<-p.slots
}

func (p *pool) stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st
}

// watch stops calls that outlive limits.timeout or their caller's context
// (see callContext), and closes instances idle for longer than ttl, keeping
// one warm. A caller's end thus reaches a guest within a period, at most
// 100ms.
func (p *pool) watch() {
	period := min(max(p.pl.limits.Timeout/8, 5*time.Millisecond), 100*time.Millisecond, p.ttl/2+1)
	t := time.NewTicker(period)
	defer t.Stop()
	lastTrim := time.Now()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		now := time.Now()
		p.stopOverdue(now.UnixNano())
		if now.Sub(lastTrim) >= p.ttl/2 {
			p.trim(now.Add(-p.ttl).UnixNano())
			lastTrim = now
		}
	}
}

// stopOverdue halts the calls past their deadline, and those whose caller
// went away or ran out of time.
func (p *pool) stopOverdue(now int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for in, caller := range p.busy {
		switch d := in.deadline.Load(); {
		case d != 0 && d < now:
			in.halt(exitTimeout)
		case d != 0 && caller.Err() != nil:
			in.halt(exitCanceled)
		}
	}
}

// trim closes the idle instances put back before cutoff (unix nanos), but
// for the one used last.
func (p *pool) trim(cutoff int64) {
	var old []*instance
	p.mu.Lock()
	keep := p.idle[:0]
	last := len(p.idle) - 1
	for i, in := range p.idle {
		if in.idle < cutoff && i < last {
			old = append(old, in)
			continue
		}
		keep = append(keep, in)
	}
	p.idle = keep
	p.st.Idle -= len(old)
	p.st.Live -= len(old)
	p.mu.Unlock()
	for _, in := range old {
		in.close()
	}
}

// close closes the idle instances and refuses new ones; instances in use
// are closed as they come back.
func (p *pool) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	close(p.stop)
	idle := p.idle
	p.idle = nil
	p.st.Idle = 0
	p.st.Live -= len(idle)
	p.mu.Unlock()
	for _, in := range idle {
		in.close()
	}
}
