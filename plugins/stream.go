package plugins

import "context"

// Streamer is a Tool that can hand one text output over in chunks as it
// makes it, such as the text of an LLM's answer. Streams names that output.
//
// The engine streams a flow's output to a client that asks for it only
// when the output is exactly that field of one node whose tool is a
// Streamer, and no other node or output uses that node: then nothing waits
// for the whole text but the client.
type Streamer interface {
	Tool
	Streams() string
}

type streamKey struct{}

// WithStream returns a context whose StreamTo is emit. The engine sets it
// around a call whose output a client reads as a stream.
func WithStream(ctx context.Context, emit func(chunk string)) context.Context {
	return context.WithValue(ctx, streamKey{}, emit)
}

// StreamTo returns the function a Streamer calls with each chunk of the
// output it streams, in order, from one goroutine at a time; nil when
// nobody reads the stream, so that the tool need not ask its service for
// one. The tool's output still holds the whole text, which the chunks add
// up to; once it has sent a chunk, a tool must not retry the call on its
// own, or the reader would see the text twice.
func StreamTo(ctx context.Context) func(chunk string) {
	emit, _ := ctx.Value(streamKey{}).(func(string))
	return emit
}
