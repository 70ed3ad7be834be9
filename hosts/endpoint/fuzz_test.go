package endpoint

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/engine"
)

// FuzzRunInputs: whatever the body of a run request, runInputs returns an
// error or JSON, and never panics.
func FuzzRunInputs(f *testing.F) {
	for _, seed := range []string{``, `{}`, `{"inputs": {"a": 1}}`, `{"inputs": null}`, `{"x": 1}`, `[1]`, `{"inputs": {`, ` "s" `, `{"inputs": 1, "inputs": 2}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := runInputs(body)
		if err == nil && !json.Valid(in) {
			t.Fatalf("runInputs(%q) = %q, not JSON", body, in)
		}
	})
}

// FuzzAnswer feeds arbitrary bytes as a run's outputs to the server's
// answers, over HTTP: /score, the runs JSON and a stream. Whatever they
// are, the client reads a 200 with the outputs when they are JSON in
// UTF-8, else a 500 with an error body, and every body or event is valid
// JSON: never an empty reply, a cut answer or a panic.
func FuzzAnswer(f *testing.F) {
	deep := strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000)
	for _, seed := range []string{
		`{}`, `{"a": [1, 2.5, "x", null, true]}`, ` {"a" : 1} `, `{"s":"\u2028<&>"}`,
		"{\"a\":\"\x00\"}", "{\"a\":\"\xff\"}", "{\"a\":\"x\ny\"}", `{"a":` + deep + `}`,
		``, `null`, `"s"`, `{"a":1}{}`, `{"a":`, "\xef\xbb\xbf{}",
	} {
		f.Add([]byte(seed))
	}
	e, err := weir.New(engine.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { e.Close() })
	s, err := New(Options{Engine: e, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	flow, err := e.Parse(context.Background(), "flow.cue", []byte(`name: "raw"
nodes: n: {tool: "builtin.json", inputs: value: 1}
outputs: v: "${n.output.value}"
`))
	if err != nil {
		f.Fatal(err)
	}
	if err := s.Deploy(context.Background(), "v1", flow); err != nil {
		f.Fatal(err)
	}
	rt := s.table.Load().flows["raw"]
	v := rt.versions[0]
	modes := map[string]mode{"score": modeScore, "run": modeRun, "stream": modeStream}
	hs := httptest.NewServer(s.instrument("fuzz", false, func(w *recorder, r *http.Request) {
		outputs, _ := io.ReadAll(r.Body)
		res := &engine.Result{RunID: "r1", Flow: "raw", Status: engine.Succeeded, Outputs: outputs,
			Nodes: []engine.NodeResult{{Node: "n", Tool: "builtin.json", Status: engine.Succeeded, Attempts: 1}}}
		m := modes[r.URL.Query().Get("mode")]
		w.promptflow = m == modeScore // as on /score
		var ev *events
		if m == modeStream {
			ev = newEvents(w, 1)
			ev.node(res.Nodes[0])
			ev.finish()
		}
		s.answer(w, rt, v, ev, res, nil, m)
	}))
	f.Cleanup(hs.Close)

	f.Fuzz(func(t *testing.T, outputs []byte) {
		valid := checkJSON(outputs) == nil
		for name := range modes {
			resp, err := http.Post(hs.URL+"/?mode="+name, "application/octet-stream", bytes.NewReader(outputs))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("%s: read the answer: %v", name, err)
			}
			if name == "stream" {
				checkStream(t, resp, body, valid)
				continue
			}
			want := http.StatusInternalServerError
			if valid {
				want = http.StatusOK
			}
			if resp.StatusCode != want || !validJSON(body) {
				t.Fatalf("%s of %q: %d %q, want %d and JSON", name, outputs, resp.StatusCode, body, want)
			}
			switch {
			case !valid && name == "score":
				checkScoreEncodeError(t, body)
			case !valid:
				checkEncodeError(t, body)
			case name == "score" && !bytes.Equal(body, append(outputs, '\n')):
				t.Fatalf("score of %q: %q, want the outputs as they are", outputs, body)
			case name == "run":
				var got struct{ Outputs json.RawMessage }
				if err := json.Unmarshal(body, &got); err != nil || !sameJSON(got.Outputs, outputs) {
					t.Fatalf("run of %q: %q, want the outputs", outputs, body)
				}
			}
		}
	})
}

// checkStream checks the events of a stream: a node event, then the
// result when the outputs are valid, else an error event; each event's data
// is valid JSON.
func checkStream(t *testing.T, resp *http.Response, body []byte, valid bool) {
	t.Helper()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	var names []string
	var last []byte
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, len(body)+1)
	for sc.Scan() {
		line := sc.Bytes()
		if name, ok := bytes.CutPrefix(line, []byte("event: ")); ok {
			names = append(names, string(name))
		}
		if data, ok := bytes.CutPrefix(line, []byte("data: ")); ok {
			if !validJSON(data) {
				t.Fatalf("stream: event data %q is not JSON", data)
			}
			last = data
		}
	}
	want := []string{"node", "error"}
	if valid {
		want = []string{"node", "result"}
	}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("stream: events %v, want %v in %q", names, want, body)
	}
	if !valid {
		checkEncodeError(t, last)
	}
}

// checkEncodeError checks the body of the 500 that replaces outputs that
// are not JSON.
func checkEncodeError(t *testing.T, body []byte) {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Code != codeInternal ||
		!strings.HasPrefix(e.Error.Message, "encode the answer: the run's outputs are not valid JSON: ") {
		t.Fatalf("error body %q, want code internal and what is wrong with the outputs", body)
	}
}

// checkScoreEncodeError checks /score's answer to outputs that do not
// encode: a SystemError, in prompt flow's words.
func checkScoreEncodeError(t *testing.T, body []byte) {
	t.Helper()
	var e promptflowError
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Code != codeSystemError || e.Error.InnerError.Code != codeInternal ||
		!strings.HasPrefix(e.Error.Message, "encode the answer: the run's outputs are not valid JSON: ") {
		t.Fatalf("error body %q, want a SystemError, code internal within, and what is wrong with the outputs", body)
	}
}

func validJSON(b []byte) bool { return json.Valid(b) && utf8.Valid(b) }

// sameJSON reports whether a and b are the same JSON once compacted.
func sameJSON(a, b []byte) bool {
	var ca, cb bytes.Buffer
	return json.Compact(&ca, a) == nil && json.Compact(&cb, b) == nil && bytes.Equal(ca.Bytes(), cb.Bytes())
}
