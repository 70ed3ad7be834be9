// Command embed is a complete Go program that embeds weir: it registers one
// of its own functions as a tool, loads a flow that uses it beside a builtin
// tool, and runs the flow on a few inputs concurrently.
package main

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/plugins"
)

//go:embed flow.cue
var flowSource []byte

// SentimentIn and SentimentOut are the tool's contract: weir derives the
// JSON Schemas that flows are checked against from these types.
type SentimentIn struct {
	Text string `json:"text" desc:"The text to score."`
}

type SentimentOut struct {
	Score int `json:"score" desc:"Positive words minus negative words."`
}

// sentiment is a toy scorer; a real program would call its own model here.
func sentiment(_ context.Context, in SentimentIn) (SentimentOut, error) {
	score := 0
	for _, w := range strings.Fields(strings.ToLower(in.Text)) {
		switch strings.Trim(w, ".,!?") {
		case "great", "love", "good", "fast":
			score++
		case "bad", "slow", "broken", "hate":
			score--
		}
	}
	return SentimentOut{Score: score}, nil
}

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "embed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer) error {
	e, err := weir.New(engine.Options{})
	if err != nil {
		return err
	}
	defer e.Close()
	if err := e.Register("app", plugins.Func("sentiment", "Scores the sentiment of a text.", sentiment)); err != nil {
		return err
	}
	f, err := e.Parse(ctx, "flow.cue", flowSource)
	if err != nil {
		return err
	}

	reviews := []string{
		"Great tool, I love how fast it is.",
		"The install was broken and support was slow.",
	}
	replies := make([]string, len(reviews))
	var wg sync.WaitGroup
	errs := make([]error, len(reviews))
	for i, review := range reviews {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := f.Run(ctx, map[string]any{"review": review})
			if err != nil {
				errs[i] = err
				return
			}
			replies[i] = string(res.Outputs)
		}()
	}
	wg.Wait()
	for i := range reviews {
		if errs[i] != nil {
			return errs[i]
		}
		fmt.Fprintln(w, replies[i])
	}
	return nil
}
