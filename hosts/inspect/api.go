package inspect

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/engine/record"
)

// runJSON is a run as the pages see it.
type runJSON struct {
	ID          string        `json:"id"`
	Kind        record.Kind   `json:"kind"`
	Name        string        `json:"name,omitempty"`
	Flow        string        `json:"flow"`
	Data        string        `json:"data,omitempty"`
	Status      engine.Status `json:"status"`
	Error       string        `json:"error,omitempty"`
	Succeeded   int           `json:"succeeded"`
	Failed      int           `json:"failed"`
	Carried     int           `json:"carried"`
	ResumedFrom string        `json:"resumed_from,omitempty"`
	BaseRun     string        `json:"base_run,omitempty"`
	Concurrency int           `json:"concurrency,omitempty"`
	Created     time.Time     `json:"created"`
	Ended       *time.Time    `json:"ended,omitempty"`
	// DurationMS is from its creation to its end, or to now while it runs.
	DurationMS float64 `json:"duration_ms"`
}

func toRunJSON(in record.Info) runJSON {
	j := runJSON{
		ID: in.ID, Kind: in.Kind, Name: in.Name, Flow: in.Flow, Data: in.Data, Status: in.Status, Error: in.Error,
		Succeeded: in.Succeeded, Failed: in.Failed, Carried: in.Carried,
		ResumedFrom: in.ResumedFrom, BaseRun: in.BaseRun, Concurrency: in.Concurrency, Created: in.Created,
	}
	end := time.Now()
	if !in.Ended.IsZero() {
		end = in.Ended
		j.Ended = &in.Ended
	}
	j.DurationMS = ms(end.Sub(in.Created))
	return j
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// serveConfig tells the pages what the handler has: the links of the
// navigation bar depend on it.
func (h *Handler) serveConfig(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"record":      homeShort(h.opts.Store.Dir()),
		"trace_url":   h.opts.TraceURL,
		"flows":       h.opts.Load != nil,
		"deployments": h.opts.Deployments != nil,
		// The pages of deployed versions' flows.
		"deployed_flows": h.opts.DeployedFlow != nil,
		"pool":           h.opts.Pool != nil,
	})
}

// homeShort is dir with the user's home folder written ~, as a shell
// prompt shows it: shorter in the navigation bar, and a screenshot of the
// page does not show whose machine it was.
func homeShort(dir string) string {
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return dir
	}
	rel, err := filepath.Rel(home, dir)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return dir
	}
	return filepath.Join("~", rel)
}

// serveRuns lists the runs, newest first, those of one status, kind or
// flow when the query names them; flows lists every flow, for the filter.
func (h *Handler) serveRuns(w http.ResponseWriter, r *http.Request) {
	all, err := h.opts.Store.List()
	if err != nil {
		h.writeFailure(w, r, err)
		return
	}
	q := r.URL.Query()
	status, kind, flow := q.Get("status"), q.Get("kind"), q.Get("flow")
	runs, flows := []runJSON{}, []string{}
	for _, in := range all {
		if !slices.Contains(flows, in.Flow) {
			flows = append(flows, in.Flow)
		}
		if (status == "" || string(in.Status) == status) && (kind == "" || string(in.Kind) == kind) && (flow == "" || in.Flow == flow) {
			runs = append(runs, toRunJSON(in))
		}
	}
	slices.Sort(flows)
	writeJSON(w, http.StatusOK, map[string]any{"runs": runs, "flows": flows})
}

// maxLines bounds the lines a batch's page lists, and maxFailed the failed
// lines it shows with their errors: a page of a million lines would not
// load.
const (
	maxLines  = 1000
	maxFailed = 200
)

// lineSummary is a line of a batch's list.
type lineSummary struct {
	Line       int           `json:"line"`
	Status     engine.Status `json:"status"`
	DurationMS float64       `json:"duration_ms"`
	Error      string        `json:"error,omitempty"`
	ErrorKind  string        `json:"error_kind,omitempty"`
}

// bucket is a bar of the latency histogram: the lines that took up to
// LeMS, and more than the bar before's.
type bucket struct {
	LeMS  float64 `json:"le_ms"`
	Count int     `json:"count"`
}

// serveRun answers a run with its metrics (once it finished), the latency
// histogram of its lines, its failed lines and the first maxLines lines.
func (h *Handler) serveRun(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	in, err := h.opts.Store.Get(id)
	if err != nil {
		h.writeFailure(w, r, err)
		return
	}
	out := map[string]any{"run": toRunJSON(in)}
	m, err := h.opts.Store.Metrics(id)
	switch {
	case err == nil:
		out["metrics"] = m
	case !errors.Is(err, record.ErrNoMetrics):
		h.writeFailure(w, r, err)
		return
	}
	lines, failed := []lineSummary{}, []lineSummary{}
	var durations []time.Duration
	total := 0
	for o, err := range h.opts.Store.Outputs(id) {
		if err != nil {
			// The lines read so far are shown, and what is wrong after them.
			out["lines_error"] = err.Error()
			break
		}
		total++
		l := lineSummary{Line: o.Line, Status: o.Status, DurationMS: ms(o.Duration)}
		l.Error, l.ErrorKind = lineError(o.Err)
		durations = append(durations, o.Duration)
		if len(lines) < maxLines {
			lines = append(lines, l)
		}
		if l.Status == engine.Failed && len(failed) < maxFailed {
			failed = append(failed, l)
		}
	}
	out["lines"], out["lines_total"], out["failed_lines"] = lines, total, failed
	out["histogram"] = histogram(durations, 20)
	writeJSON(w, http.StatusOK, out)
}

// histogram counts durations in n bars of equal width from 0 to the
// longest; none for no durations.
func histogram(durations []time.Duration, n int) []bucket {
	if len(durations) == 0 {
		return []bucket{}
	}
	longest := slices.Max(durations)
	width := float64(longest) / float64(n)
	if width == 0 {
		return []bucket{{LeMS: 0, Count: len(durations)}}
	}
	bars := make([]bucket, n)
	for i := range bars {
		bars[i].LeMS = ms(time.Duration(width * float64(i+1)))
	}
	for _, d := range durations {
		i := min(int(math.Ceil(float64(d)/width))-1, n-1)
		bars[max(i, 0)].Count++
	}
	return bars
}

// serveLine answers one line of a run: its outputs or error, and what the
// record kept of its inputs and nodes.
func (h *Handler) serveLine(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	n, err := strconv.Atoi(r.PathValue("line"))
	if err != nil || n < 1 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("line %q: want a whole number from 1", r.PathValue("line")))
		return
	}
	in, err := h.opts.Store.Get(id)
	if err != nil {
		h.writeFailure(w, r, err)
		return
	}
	rl, err := h.opts.Store.Line(id, n)
	if err != nil {
		h.writeFailure(w, r, err)
		return
	}
	l := toLineJSON(rl)
	l.Run = toRunJSON(in)
	if l.TraceID != "" && h.opts.TraceURL != "" {
		l.TraceURL = strings.ReplaceAll(h.opts.TraceURL, "{trace_id}", l.TraceID)
	}
	writeJSON(w, http.StatusOK, l)
}

func (h *Handler) serveDeployments(w http.ResponseWriter, _ *http.Request) {
	if h.opts.Deployments == nil {
		writeError(w, http.StatusNotFound, errNoDeployments.Error())
		return
	}
	// In the server's order: flows as they were deployed, versions oldest
	// first.
	writeJSON(w, http.StatusOK, map[string]any{"deployments": h.opts.Deployments()})
}

func (h *Handler) servePool(w http.ResponseWriter, r *http.Request) {
	if h.opts.Pool == nil {
		writeError(w, http.StatusNotFound, "no pool here: the inspector shows it inside weir serve --pool")
		return
	}
	st, err := h.opts.Pool(r.Context())
	if err != nil {
		h.writeFailure(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}
