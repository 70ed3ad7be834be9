package endpoint

import (
	"fmt"
	"mime"
	"net/http"
	"strings"
	"sync"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/internal/jsonscan"
)

// scoreMode picks how POST /score answers a request that accepts accept,
// from version v of a flow, as prompt flow's server does: server-sent
// events when the client accepts them and the flow has an output to
// stream, else JSON when the client accepts it (no Accept, */* and
// application/* do). ok is false, after a 406, when it accepts neither.
func scoreMode(w *recorder, accept string, v *version) (m mode, ok bool) {
	sse, json := false, accept == ""
	for _, part := range strings.Split(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "text/event-stream":
			sse = true
		case "application/json", "application/*", "*/*":
			json = true
		}
	}
	canStream := v.flow.StreamOutput() != ""
	switch {
	case sse && canStream:
		return modeScoreStream, true
	case json:
		return modeScore, true
	case sse:
		writeError(w, http.StatusNotAcceptable, codeNotAcceptable,
			fmt.Sprintf("flow %q has no output to stream (one that is exactly the text of an LLM node that nothing else uses): accept application/json", v.flow.Name()))
	default:
		writeError(w, http.StatusNotAcceptable, codeNotAcceptable,
			fmt.Sprintf("cannot answer Accept %q: /score answers application/json, or text/event-stream for a flow that streams", accept))
	}
	return 0, false
}

// chunkJSON is the data of a chunk's event: {"<output>": "<chunk>"}.
func chunkJSON(output, chunk string) []byte {
	b := jsonscan.AppendString([]byte{'{'}, output)
	b = jsonscan.AppendString(append(b, ':'), chunk)
	return append(b, '}')
}

// events streams a run as server-sent events. For /v1/flows/{flow}/runs:
// "node" as each node ends and "chunk" as the streamed output grows, then
// "result" or "error". For /score: data alone, {"<output>": "<chunk>"} per
// chunk. A goroutine of its own writes them, so that a slow client never
// holds up the run's scheduler nor its model; they wait in a queue, which
// is bounded by what the run produces.
type events struct {
	w           *recorder
	contentType string
	mu          sync.Mutex
	queue       [][]byte      // whole events, encoded
	wake        chan struct{} // has a value when queue may hold events
	stop        chan struct{} // closed by finish
	done        chan struct{} // closed when the writer goroutine returns
	once        sync.Once
	// started is set by the writer goroutine, and read after done.
	started bool
	broken  bool
}

// newEvents starts the stream's writer; nodes is how many events the
// queue holds before it grows.
func newEvents(w *recorder, nodes int) *events {
	return startEvents(w, "text/event-stream", nodes)
}

func startEvents(w *recorder, contentType string, size int) *events {
	ev := &events{w: w, contentType: contentType, queue: make([][]byte, 0, size),
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go ev.loop()
	return ev
}

// push queues an event; it never blocks, and after finish it drops the
// event.
func (ev *events) push(event string, data []byte) {
	b := appendEvent(nil, event, data)
	ev.mu.Lock()
	ev.queue = append(ev.queue, b)
	ev.mu.Unlock()
	select {
	case ev.wake <- struct{}{}:
	default:
	}
}

// node queues a node's event; the engine calls it once per node at most.
func (ev *events) node(n engine.NodeResult) {
	b, err := jsonscan.Marshal(n)
	if err != nil {
		return
	}
	ev.push("node", b)
}

// chunk queues a "chunk" event of the run's streamed output.
func (ev *events) chunk(output, chunk string) { ev.push("chunk", chunkJSON(output, chunk)) }

// data queues a chunk of /score's stream, an event of data alone.
func (ev *events) data(output, chunk string) { ev.push("", chunkJSON(output, chunk)) }

func (ev *events) loop() {
	defer close(ev.done)
	for {
		select {
		case <-ev.wake:
			ev.flush()
		case <-ev.stop:
			ev.flush()
			return
		}
	}
}

// flush writes the queued events and flushes them once.
func (ev *events) flush() {
	ev.mu.Lock()
	q := ev.queue
	ev.queue = nil
	ev.mu.Unlock()
	if len(q) == 0 {
		return
	}
	ev.start()
	for _, b := range q {
		if ev.broken {
			return
		}
		if _, err := ev.w.Write(b); err != nil {
			ev.broken = true
		}
	}
	if !ev.broken && http.NewResponseController(ev.w).Flush() != nil {
		ev.broken = true
	}
}

// finish waits for the queued events to be written; after it, the handler
// alone writes. It is safe to call more than once.
func (ev *events) finish() {
	ev.once.Do(func() {
		close(ev.stop)
		<-ev.done
	})
}

func (ev *events) start() {
	if ev.started {
		return
	}
	ev.started = true
	h := ev.w.Header()
	h.Set("Content-Type", ev.contentType)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx would buffer the stream
	ev.w.WriteHeader(http.StatusOK)
}

// write sends one event, unless the connection broke already: the run's
// context then ends the run.
func (ev *events) write(event string, data []byte) {
	if ev.broken {
		return
	}
	if writeEvent(ev.w, event, data) != nil {
		ev.broken = true
	}
}

// writeEvent sends one server-sent event and flushes it. data must hold no
// line break, as compact JSON does not.
func writeEvent(w *recorder, event string, data []byte) error {
	if _, err := w.Write(appendEvent(nil, event, data)); err != nil {
		return err
	}
	return http.NewResponseController(w).Flush()
}

// appendEvent encodes a server-sent event: "event: NAME" unless event is
// empty, then "data: DATA".
func appendEvent(b []byte, event string, data []byte) []byte {
	if event != "" {
		b = append(append(append(b, "event: "...), event...), '\n')
	}
	b = append(append(append(b, "data: "...), data...), "\n\n"...)
	return b
}
