package engine

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/weirflow/weir/internal/jsonscan"
	"github.com/weirflow/weir/plugins"
)

// streamOut is the output of a flow that a run can stream.
type streamOut struct {
	name  string // "" when no output can stream
	node  int
	field string // the field of the node's outputs that its tool streams
	// head marks the nodes the other outputs use, which heads counts:
	// once they have ended, RunOptions.StreamHead can have those outputs.
	head  []bool
	heads int
}

// StreamOutput returns the name of the output that a run streams when
// RunOptions.Stream asks for it, or "" when none can stream.
//
// An output can stream when it is exactly "${node.output.F}", F being the
// output that node's tool streams (a plugins.Streamer, such as the text of
// builtin.llm), and nothing else in the flow, no other node and no other
// output, uses that node: then nothing waits for the whole text but the
// client. Of several such outputs, the first in the file streams.
func (f *Flow) StreamOutput() string { return f.stream.name }

// streamable finds the output that can stream, once the nodes know their
// dependents.
func (c *compiler) streamable() streamOut {
	none := streamOut{node: -1}
	if c.f.outputs == nil || c.f.outputs.kind != tmplObject {
		return none
	}
	// How many outputs use each node.
	uses := map[int]int{}
	for _, fl := range c.f.outputs.fields {
		seen := map[int]bool{}
		fl.val.walk(func(s *selector) {
			if s.node >= 0 && !seen[s.node] {
				seen[s.node] = true
				uses[s.node]++
			}
		})
	}
	for _, fl := range c.f.outputs.fields {
		if fl.val.kind != tmplSel || fl.val.sel.node < 0 || len(fl.val.sel.steps) != 1 || fl.val.sel.steps[0].IsIndex {
			continue
		}
		n := c.f.nodes[fl.val.sel.node]
		st, ok := n.tool.(plugins.Streamer)
		if !ok || st.Streams() != fl.val.sel.steps[0].Key || len(n.dependents) > 0 || uses[n.index] > 1 || n.aggregate {
			continue
		}
		var name string
		_ = json.Unmarshal([]byte(strings.TrimSuffix(string(fl.key), ":")), &name) // encoded by fieldKey
		out := streamOut{name: name, node: n.index, field: st.Streams(), head: make([]bool, len(c.f.nodes))}
		for _, other := range c.f.outputs.fields {
			other.val.walk(func(s *selector) {
				if s.node >= 0 && s.node != n.index && !out.head[s.node] {
					out.head[s.node] = true
					out.heads++
				}
			})
		}
		return out
	}
	return none
}

// streamHead holds the chunks of a run's stream until RunOptions.StreamHead
// has the other outputs.
type streamHead struct {
	left int // nodes of the head that have not ended, under sched.mu
	mu   sync.Mutex
	open bool     // the head is sent: chunks go straight through
	held []string // chunks made before it
}

// startHead prepares the run's stream head, and sends it at once when
// the other outputs use no node.
func (r *run) startHead() {
	if r.opts.Stream == nil || r.opts.StreamHead == nil || r.f.stream.name == "" {
		return
	}
	r.head = &streamHead{left: r.f.stream.heads}
	if r.head.left == 0 {
		r.sendHead()
	}
}

// headEnded notes that node i ended, and sends the head when it was the
// last the other outputs wait for. The caller holds sched.mu, which keeps
// the nodes' values still while the outputs are made.
func (r *run) headEnded(i int) {
	if r.head == nil || !r.f.stream.head[i] || r.head.left <= 0 {
		return
	}
	if st := r.nodes[i].Status; st != Succeeded && st != Bypassed {
		// Failed or canceled: the outputs are not known, and the run
		// fails.
		r.head.left = -1
		return
	}
	if r.head.left--; r.head.left == 0 {
		r.sendHead()
	}
}

// sendHead calls StreamHead with the other outputs, then lets the held
// chunks go.
func (r *run) sendHead() {
	h := r.head
	h.mu.Lock()
	defer h.mu.Unlock()
	if out, err := r.f.outputs.append(nil, &r.values); err == nil {
		r.opts.StreamHead(r.f.e.redactor.Bytes(withoutMember(out, r.f.stream.name)))
	}
	for _, c := range h.held {
		r.opts.Stream(r.f.stream.name, c)
	}
	h.open, h.held = true, nil
}

// emitChunk hands a chunk of the streamed output to RunOptions.Stream, or
// holds it until the head is sent.
func (r *run) emitChunk(output, chunk string) {
	h := r.head
	if h == nil {
		r.opts.Stream(output, chunk)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.open {
		h.held = append(h.held, chunk)
		return
	}
	r.opts.Stream(output, chunk)
}

// chunkSink hands the chunks of one attempt of the streaming node to
// RunOptions.Stream.
type chunkSink struct {
	emit func(output, chunk string)
	name string
	sent atomic.Bool
	// red hides secrets in the chunks, also one cut between two; nil
	// when the engine knows none.
	red *redactStream
}

func (s *chunkSink) send(chunk string) {
	if chunk == "" {
		return
	}
	s.sent.Store(true)
	if s.red != nil {
		s.red.write(chunk)
		return
	}
	s.emit(s.name, chunk)
}

// withStream returns ctx with a chunkSink when the run streams node n's
// output.
func (r *run) withStream(ctx context.Context, n *node) (context.Context, *chunkSink) {
	if r.opts.Stream == nil || r.f.stream.node != n.index {
		return ctx, nil
	}
	s := &chunkSink{emit: r.emitChunk, name: r.f.stream.name}
	s.red = r.f.e.redactor.stream(func(chunk string) { s.emit(s.name, chunk) })
	return plugins.WithStream(ctx, s.send), s
}

// endStream ends an attempt of the streaming node. One that sent chunks
// and failed is not retried, or the reader would see the text twice
// (r.streamed); one that succeeded without streaming (a tool that answered
// whole) sends its whole text as one chunk, as a cache hit does, so that
// the chunks always add up to the output.
func (r *run) endStream(s *chunkSink, out []byte, err error) {
	if s == nil {
		return
	}
	if s.red != nil {
		defer s.red.flush()
	}
	if err != nil {
		r.streamed = s.sent.Load()
		return
	}
	if !s.sent.Load() {
		s.send(r.streamText(out))
	}
}

// streamWhole streams the whole text of node n's outputs, taken from the
// node result cache, when the run streams n's output.
func (r *run) streamWhole(n *node, out []byte) {
	if r.opts.Stream != nil && r.f.stream.node == n.index {
		if text := r.streamText(out); text != "" {
			r.emitChunk(r.f.stream.name, r.f.e.redactor.String(text))
		}
	}
}

// streamText is the streamed field of the streaming node's outputs.
func (r *run) streamText(out []byte) string {
	v, err := jsonscan.Select(out, []jsonscan.Step{{Key: r.f.stream.field}})
	var text string
	if err == nil && json.Unmarshal(v, &text) == nil {
		return text
	}
	return ""
}

// withoutMember returns the JSON object obj without its member name.
func withoutMember(obj []byte, name string) []byte {
	b := []byte{'{'}
	for k, v := range jsonscan.Members(obj) {
		if string(jsonscan.AppendText(nil, k)) == name {
			continue
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = append(append(append(b, k...), ':'), v...)
	}
	return append(b, '}')
}
