package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts/endpoint"
	"github.com/weirflow/weir/internal/mockllm"
)

// llmFlow asks the mock s one question through builtin.llm.
func llmFlow(s *mockllm.Server) string {
	return fmt.Sprintf(`name: "ask"
inputs: question: string
plugins: openai: {builtin: true, config: {api_base: %q, api_key: %q}, grants: hosts: [%q]}
nodes: chat: {tool: "openai.llm", inputs: {model: "gpt-4o", messages: [{role: "user", content: "${inputs.question}"}]}}
outputs: answer: "${chat.output.text}"
`, s.URL+"/v1", mockllm.DefaultKey, s.Host())
}

// llmEngine returns an engine, closed when b ends, and llmFlow on it.
func llmEngine(b *testing.B, s *mockllm.Server) (*engine.Engine, *engine.Flow) {
	e, err := weir.New(engine.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	f, err := e.Parse(context.Background(), "bench/llm.cue", []byte(llmFlow(s)))
	if err != nil {
		b.Fatal(err)
	}
	return e, f
}

// reportCPU reports the process's CPU time per op since cpu, the mock's
// included: it blurs less than wall time on a busy machine.
func reportCPU(b *testing.B, cpu time.Duration) {
	if d := CPUTime() - cpu; d > 0 {
		b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

const llmQuestion = "What is the capital of France?"

// BenchmarkLLM is the cost of one chat call to a mock model on loopback:
// a plain Go HTTP client that sends the same request and decodes the
// answer (direct), against a whole weir run of a one-node flow that makes
// it with builtin.llm (weir). Their ratio is what weir adds to a call;
// cpu-ns/op, the process's CPU time with the mock's, blurs less on a busy
// machine.
//
//	go test -run '^$' -bench 'LLM$' -benchtime 300ms -count 5 ./bench
func BenchmarkLLM(b *testing.B) {
	s := mockllm.Start(mockllm.Options{Text: "Paris is the capital of France."})
	defer s.Close()
	b.Run("direct", func(b *testing.B) {
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
		body, _ := json.Marshal(map[string]any{"model": "gpt-4o", "messages": []any{map[string]any{"role": "user", "content": llmQuestion}}})
		b.ReportAllocs()
		cpu := CPUTime()
		for b.Loop() {
			req, _ := http.NewRequest("POST", s.URL+"/v1/chat/completions", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+mockllm.DefaultKey)
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var a struct {
				Choices []struct {
					Message struct{ Content string }
				}
			}
			err = json.NewDecoder(resp.Body).Decode(&a)
			resp.Body.Close()
			if err != nil || len(a.Choices) == 0 {
				b.Fatal(err)
			}
		}
		reportCPU(b, cpu)
	})
	b.Run("weir", func(b *testing.B) {
		_, f := llmEngine(b, s)
		in := []byte(`{"question":"` + llmQuestion + `"}`)
		b.ReportAllocs()
		cpu := CPUTime()
		for b.Loop() {
			if _, err := f.Run(context.Background(), in); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, cpu)
	})
}

// BenchmarkLLMFirstChunk is the time to the first chunk of a streamed
// answer: read straight from the mock model (direct), against read from
// weir serve's /score, which runs the flow and streams the model's answer
// on (serve). The mock sends its chunks without delay.
//
//	go test -run '^$' -bench LLMFirstChunk -benchtime 300ms -count 5 ./bench
func BenchmarkLLMFirstChunk(b *testing.B) {
	s := mockllm.Start(mockllm.Options{Text: "Paris is the capital of France."})
	defer s.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	// first sends a request and returns how long its first chunk took;
	// it reads the rest too, so that the connections are reused.
	first := func(b *testing.B, url, body string, header ...string) time.Duration {
		start := time.Now()
		req, _ := http.NewRequest("POST", url, strings.NewReader(body))
		for i := 0; i < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		r := bufio.NewReader(resp.Body)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				b.Fatalf("no chunk: %v", err)
			}
			// The first event with text: the mock's role event has none.
			if strings.HasPrefix(line, "data: ") && strings.Contains(line, "Paris") {
				break
			}
		}
		took := time.Since(start)
		if _, err := io.Copy(io.Discard, r); err != nil {
			b.Fatal(err)
		}
		return took
	}
	// report reports the median time to the first chunk: a busy
	// machine's scheduler makes a few of them long, which a mean would
	// count.
	report := func(b *testing.B, took []time.Duration) {
		slices.Sort(took)
		b.ReportMetric(float64(took[len(took)/2].Nanoseconds()), "ns/first-chunk-p50")
	}
	b.Run("direct", func(b *testing.B) {
		body, _ := json.Marshal(map[string]any{"model": "gpt-4o", "stream": true, "messages": []any{map[string]any{"role": "user", "content": llmQuestion}}})
		var took []time.Duration
		for b.Loop() {
			took = append(took, first(b, s.URL+"/v1/chat/completions", string(body), "Content-Type", "application/json", "Authorization", "Bearer "+mockllm.DefaultKey))
		}
		report(b, took)
	})
	b.Run("serve", func(b *testing.B) {
		e, f := llmEngine(b, s)
		srv, err := endpoint.New(endpoint.Options{Engine: e})
		if err != nil {
			b.Fatal(err)
		}
		defer srv.Close()
		if err := srv.Deploy(context.Background(), "v1", f); err != nil {
			b.Fatal(err)
		}
		hs := httptest.NewServer(srv.Handler())
		defer hs.Close()
		var took []time.Duration
		for b.Loop() {
			took = append(took, first(b, hs.URL+"/score", `{"question":"`+llmQuestion+`"}`, "Accept", "text/event-stream"))
		}
		report(b, took)
	})
}
