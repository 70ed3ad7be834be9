package inspect

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/weirflow/weir/engine"
)

// progress is the data of a progress event.
type progress struct {
	Status     engine.Status `json:"status"`
	Succeeded  int           `json:"succeeded"`
	Failed     int           `json:"failed"`
	DurationMS float64       `json:"duration_ms"`
}

// serveEvents streams a run's progress as server-sent events: a progress
// event now and whenever its counts or status change in the index (which
// a running batch updates at each flush), then an end event once it has
// ended. The index is looked at every Options.Poll.
func (h *Handler) serveEvents(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	in, err := h.opts.Store.Get(id)
	if err != nil {
		h.writeFailure(w, r, err)
		return
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	tick := time.NewTicker(h.opts.Poll)
	defer tick.Stop()
	var last progress
	for first := true; ; first = false {
		j := toRunJSON(in)
		p := progress{Status: in.Status, Succeeded: in.Succeeded, Failed: in.Failed, DurationMS: j.DurationMS}
		if first || p.Status != last.Status || p.Succeeded != last.Succeeded || p.Failed != last.Failed {
			if err := writeEvent(w, "progress", p); err != nil {
				return
			}
			last = p
		}
		if in.Status != engine.Running && in.Status != engine.Queued {
			_ = writeEvent(w, "end", p)
			_ = rc.Flush()
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
		if in, err = h.opts.Store.Get(id); err != nil {
			_ = writeEvent(w, "error", map[string]string{"error": err.Error()})
			return
		}
	}
}

func writeEvent(w http.ResponseWriter, event string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b)
	return err
}
