package record

import (
	"bytes"
	"cmp"
	"context"
	crand "crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/engine/internal/lineset"
	"github.com/weirflow/weir/internal/jsonscan"
)

// maxFlowInID bounds the flow name's part of a run id.
const maxFlowInID = 64

// NewID returns a new run id, "<flow>-<YYYYMMDD-HHMMSS>-<4 hex digits>" with
// now in UTC and random digits. Characters of flow other than ASCII
// letters, digits, '_' and '-' become '_'; an empty flow is "run".
func NewID(flow string, now time.Time) string {
	var b strings.Builder
	for _, r := range flow {
		if b.Len() == maxFlowInID {
			break
		}
		if idChar(r) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		b.WriteString("run")
	}
	var rnd [2]byte
	_, _ = crand.Read(rnd[:])
	return b.String() + "-" + now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(rnd[:])
}

func idChar(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_' || r == '-'
}

// maxID bounds the length of a run id.
const maxID = 128

func checkID(id string) error {
	switch {
	case id == "":
		return errors.New("a run needs an id")
	case len(id) > maxID:
		return fmt.Errorf("the id is longer than %d characters", maxID)
	case strings.IndexFunc(id, func(r rune) bool { return !idChar(r) }) >= 0:
		return errors.New("an id may hold only ASCII letters, digits, '_' and '-'")
	}
	return nil
}

// Kind says what made a run of the record.
type Kind string

const (
	KindBatch Kind = "batch" // weir batch, Store.StartBatch
	KindRun   Kind = "run"   // weir run --record: one line
	KindServe Kind = "serve" // weir serve --record: a line per request
)

// Meta describes a batch run when it is created.
type Meta struct {
	ID   string // required: letters, digits, '_' and '-' (see NewID)
	Name string // display name, optional
	Kind Kind   // KindBatch when empty
	Flow string // flow name
	// FlowFiles are the flow file first, then its sub-flow files and the
	// files they embed: they are copied into the run folder as a snapshot.
	FlowFiles   []string
	Data        string            // dataset path as given
	DataSHA256  string            // hex digest of the dataset, "" if unknown
	Map         map[string]string // the column mapping
	ResumedFrom string            // id of the run this one resumes, or ""
	// BaseRun is the id of the earlier run whose lines the mapping reads
	// with ${run.outputs.x} (prompt flow's --run), or "".
	BaseRun     string
	Concurrency int
	LineTimeout time.Duration
}

// Run writes the record of one running batch, from Create to Finish. Its
// methods are safe for concurrent use; Write and Flush calls are
// serialized.
type Run struct {
	s   *Store
	id  string
	dir string

	mu   sync.Mutex
	lock *os.File // held until Finish
	log  *os.File
	// files and bufs are inputs.jsonl, nodes.jsonl and outputs.jsonl, in
	// the order they are written out.
	files [3]*os.File
	bufs  [3][]byte
	lines lineset.Set // the lines written
	// pending counts the lines in the outputs buffer; done those written to
	// outputs.jsonl, which the index shows.
	pending, done counts
	shown         counts // the counts the index has
	err           error  // the first write error: the record stops there
	finished      bool
}

type counts struct{ succeeded, failed int }

const (
	inputsFile = iota
	nodesFile
	outputsFile
)

var jsonlNames = [3]string{"inputs.jsonl", "nodes.jsonl", "outputs.jsonl"}

// flushAt is the size at which a buffer is written out.
const flushAt = 64 << 10

// Create starts the record of a run: its folder with a snapshot of the flow
// files and the lock, held until Finish, and its row, status running. It
// fails if the id is taken, or if m.ResumedFrom is not in the record or is
// still running.
func (s *Store) Create(m Meta) (*Run, error) {
	if err := checkID(m.ID); err != nil {
		return nil, fmt.Errorf("create run %q: %w", m.ID, err)
	}
	if m.ResumedFrom != "" {
		p, err := s.Get(m.ResumedFrom)
		if err != nil {
			return nil, fmt.Errorf("create run %q: resume: %w", m.ID, err)
		}
		if unfinished(p.Status) {
			return nil, errorf(ErrRunning, "create run %q: resume run %q: it is still running", m.ID, p.ID)
		}
	}
	switch m.Kind {
	case "", KindBatch, KindRun, KindServe:
	default:
		return nil, fmt.Errorf("create run %q: kind %q is not %s, %s or %s", m.ID, m.Kind, KindBatch, KindRun, KindServe)
	}
	r := &Run{s: s, id: m.ID, dir: s.runDir(m.ID)}
	if err := os.Mkdir(r.dir, 0o755); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("create run %q: it exists already", m.ID)
		}
		return nil, fmt.Errorf("create run %q: %w", m.ID, err)
	}
	now := time.Now()
	if err := r.start(m, now); err != nil {
		r.close()
		os.RemoveAll(r.dir)
		return nil, fmt.Errorf("create run %q: %w", m.ID, err)
	}
	return r, nil
}

// start fills the new run folder and inserts the row, in that order: a row
// that says running always has a lock to check.
func (r *Run) start(m Meta, now time.Time) error {
	var err error
	if r.lock, err = os.OpenFile(filepath.Join(r.dir, "lock"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644); err != nil {
		return err
	}
	if err := lock(r.lock); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(r.lock, "pid %d\n", os.Getpid()); err != nil {
		return err
	}
	if err := snapshot(filepath.Join(r.dir, "flow"), m.FlowFiles); err != nil {
		return err
	}
	for i, name := range jsonlNames {
		if r.files[i], err = os.OpenFile(filepath.Join(r.dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644); err != nil {
			return err
		}
		r.bufs[i] = make([]byte, 0, flushAt+flushAt/4)
	}
	if r.log, err = os.OpenFile(filepath.Join(r.dir, "log.txt"), os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644); err != nil {
		return err
	}
	r.logf(now, "%s", startLine(m))

	mapJSON := []byte("{}")
	if len(m.Map) > 0 {
		mapJSON, _ = json.Marshal(m.Map) // a map of strings always encodes
	}
	ctx := context.Background()
	tx, err := r.s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if m.ResumedFrom != "" {
		// Again in the transaction: Delete may have removed it since.
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM runs WHERE id = ?`, m.ResumedFrom).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("resume: %w", notFound(m.ResumedFrom))
		}
		if err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO runs (id, name, kind, flow, data, data_sha256, map, resumed_from, base_run,
		concurrency, line_timeout, status, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.Name, cmp.Or(m.Kind, KindBatch), m.Flow, m.Data, m.DataSHA256, string(mapJSON), m.ResumedFrom, m.BaseRun,
		m.Concurrency, int64(m.LineTimeout), engine.Running, now.UnixNano())
	if err != nil {
		return err
	}
	return tx.Commit()
}

func startLine(m Meta) string {
	var b strings.Builder
	fmt.Fprintf(&b, "run %s started: flow %q, data %q", m.ID, m.Flow, m.Data)
	if m.DataSHA256 != "" {
		fmt.Fprintf(&b, " (sha256 %s)", m.DataSHA256)
	}
	if m.Name != "" {
		fmt.Fprintf(&b, ", name %q", m.Name)
	}
	if m.ResumedFrom != "" {
		fmt.Fprintf(&b, ", resumes %s", m.ResumedFrom)
	}
	if m.BaseRun != "" {
		fmt.Fprintf(&b, ", reads run %s", m.BaseRun)
	}
	if m.Concurrency > 0 {
		fmt.Fprintf(&b, ", concurrency %d", m.Concurrency)
	}
	if m.LineTimeout > 0 {
		fmt.Fprintf(&b, ", line timeout %s", m.LineTimeout)
	}
	return b.String()
}

// ID returns the run's id.
func (r *Run) ID() string { return r.id }

// Dir returns the run's folder.
func (r *Run) Dir() string { return r.dir }

// Write records one line's result. It buffers the line and writes the
// buffers out once they are large; Flush writes them at once. lr.Line must
// be positive and not written before, lr.Status Succeeded or Failed.
// Inputs, Outputs and Aggregate must be valid JSON (as the engine gives
// them); they are copied. After a write to disk fails, Write returns that
// error from then on.
func (r *Run) Write(lr engine.LineResult) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.usable(); err != nil {
		return fmt.Errorf("write line %d: %w", lr.Line, err)
	}
	switch {
	case lr.Line < 1:
		return fmt.Errorf("write line %d: line numbers start at 1", lr.Line)
	case lr.Status != engine.Succeeded && lr.Status != engine.Failed:
		return fmt.Errorf("write line %d: status %q is neither succeeded nor failed", lr.Line, lr.Status)
	case r.lines.Has(lr.Line):
		return fmt.Errorf("write line %d: it is written already", lr.Line)
	}
	in, nodes, out := r.bufs[inputsFile], r.bufs[nodesFile], r.bufs[outputsFile]
	var err error
	if len(lr.Inputs) > 0 {
		in = strconv.AppendInt(append(in, `{"line":`...), int64(lr.Line), 10)
		if in, err = appendRaw(append(in, `,"inputs":`...), lr.Inputs); err != nil {
			return fmt.Errorf("write line %d: inputs: %w", lr.Line, err)
		}
		in = append(in, "}\n"...)
	}
	if len(lr.Nodes) > 0 {
		if nodes, err = appendNodes(nodes, lr); err != nil {
			return fmt.Errorf("write line %d: %w", lr.Line, err)
		}
	}
	out = strconv.AppendInt(append(out, `{"line":`...), int64(lr.Line), 10)
	out = append(append(append(out, `,"status":"`...), lr.Status...), `","duration_ms":`...)
	out = appendMS(out, lr.Duration)
	if !lr.Start.IsZero() {
		out = append(lr.Start.UTC().AppendFormat(append(out, `,"started":"`...), startedLayout), '"')
	}
	if lr.TraceID != "" {
		out = jsonscan.AppendString(append(out, `,"trace_id":`...), lr.TraceID)
	}
	if len(lr.Outputs) > 0 {
		if out, err = appendRaw(append(out, `,"outputs":`...), lr.Outputs); err != nil {
			return fmt.Errorf("write line %d: outputs: %w", lr.Line, err)
		}
	}
	if lr.Err != nil {
		out = appendError(out, lr.Err)
	}
	if len(lr.Aggregate) > 0 {
		if out, err = appendRaw(append(out, `,"aggregate":`...), lr.Aggregate); err != nil {
			return fmt.Errorf("write line %d: aggregate: %w", lr.Line, err)
		}
	}
	out = append(out, "}\n"...)
	// Only now, with the line whole, do the buffers take it.
	r.bufs = [3][]byte{in, nodes, out}
	r.lines.Add(lr.Line)
	if lr.Status == engine.Succeeded {
		r.pending.succeeded++
	} else {
		r.pending.failed++
	}
	if len(in) >= flushAt || len(nodes) >= flushAt || len(out) >= flushAt {
		if err := r.writeOut(false); err != nil {
			return fmt.Errorf("write line %d: %w", lr.Line, err)
		}
	}
	return nil
}

// appendError appends a failed line's error: its text, and its kind when
// it is an engine.LineError.
func appendError(dst []byte, err error) []byte {
	var le *engine.LineError
	if !errors.As(err, &le) {
		return jsonscan.AppendString(append(dst, `,"error":`...), err.Error())
	}
	dst = jsonscan.AppendString(append(dst, `,"error":`...), le.Err.Error())
	if le.Kind != engine.UnknownFailure {
		dst = append(append(append(dst, `,"error_kind":"`...), le.Kind.String()...), '"')
	}
	return dst
}

// startedLayout is how outputs.jsonl writes when a line started: RFC 3339
// in UTC, to the millisecond.
const startedLayout = "2006-01-02T15:04:05.000Z07:00"

// appendNodes appends the nodes.jsonl line of lr. Node values that are not
// JSON are an error.
func appendNodes(dst []byte, lr engine.LineResult) ([]byte, error) {
	dst = strconv.AppendInt(append(dst, `{"line":`...), int64(lr.Line), 10)
	dst = append(dst, `,"nodes":[`...)
	for i, n := range lr.Nodes {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonscan.AppendString(append(dst, `{"node":`...), n.Node)
		dst = jsonscan.AppendString(append(dst, `,"tool":`...), n.Tool)
		dst = jsonscan.AppendString(append(dst, `,"status":`...), string(n.Status))
		dst = strconv.AppendInt(append(dst, `,"attempts":`...), int64(n.Attempts), 10)
		if !n.Start.IsZero() {
			dst = appendMS(append(dst, `,"start_ms":`...), max(n.Start.Sub(lr.Start), 0))
		}
		dst = appendMS(append(dst, `,"duration_ms":`...), n.Duration)
		if n.Error != "" {
			dst = jsonscan.AppendString(append(dst, `,"error":`...), n.Error)
		}
		if n.Usage != nil {
			if u, err := jsonscan.Marshal(n.Usage); err == nil {
				dst = append(append(dst, `,"usage":`...), u...)
			}
		}
		if n.Cached {
			dst = append(dst, `,"cached":true`...)
		}
		// The values last: a reader sees the rest first.
		var err error
		if len(n.Inputs) > 0 {
			if dst, err = appendRaw(append(dst, `,"inputs":`...), n.Inputs); err != nil {
				return nil, fmt.Errorf("node %q: inputs: %w", n.Node, err)
			}
		}
		if len(n.Outputs) > 0 {
			if dst, err = appendRaw(append(dst, `,"outputs":`...), n.Outputs); err != nil {
				return nil, fmt.Errorf("node %q: outputs: %w", n.Node, err)
			}
		}
		if len(n.Logs) > 0 {
			logs, err := jsonscan.Marshal(n.Logs)
			if err != nil {
				return nil, fmt.Errorf("node %q: logs: %w", n.Node, err)
			}
			dst = append(append(dst, `,"logs":`...), logs...)
		}
		dst = append(dst, '}')
	}
	return append(dst, "]}\n"...), nil
}

// appendRaw appends one JSON value. The engine's values are compact; one
// with a line break (a tool's indented output) is compacted, since a JSONL
// line must not break.
func appendRaw(dst, v []byte) ([]byte, error) {
	if bytes.IndexByte(v, '\n') < 0 && bytes.IndexByte(v, '\r') < 0 {
		return append(dst, v...), nil
	}
	b := bytes.NewBuffer(dst)
	if err := json.Compact(b, v); err != nil {
		return dst, err
	}
	return b.Bytes(), nil
}

// appendMS appends d in milliseconds, to the microsecond.
func appendMS(dst []byte, d time.Duration) []byte {
	return strconv.AppendFloat(dst, ms(d), 'f', -1, 64)
}

func ms(d time.Duration) float64 {
	return float64(d.Round(time.Microsecond)) / float64(time.Millisecond)
}

func fromMS(f float64) time.Duration {
	return time.Duration(f * float64(time.Millisecond)).Round(time.Microsecond)
}

func (r *Run) usable() error {
	if r.finished {
		return ErrFinished
	}
	return r.err
}

// writeOut writes the buffers to their files, outputs last. With sync, the
// details reach the disk before the outputs do, and the outputs after.
func (r *Run) writeOut(sync bool) error {
	for i, f := range r.files {
		if i == outputsFile && sync {
			for _, g := range r.files[:outputsFile] {
				if err := g.Sync(); err != nil {
					return r.fail(err)
				}
			}
		}
		if len(r.bufs[i]) == 0 {
			continue
		}
		if _, err := f.Write(r.bufs[i]); err != nil {
			return r.fail(err)
		}
		r.bufs[i] = r.bufs[i][:0]
	}
	r.done.succeeded += r.pending.succeeded
	r.done.failed += r.pending.failed
	r.pending = counts{}
	if sync {
		if err := r.files[outputsFile].Sync(); err != nil {
			return r.fail(err)
		}
	}
	return nil
}

// fail stops the record at a write error: the files may end with part of
// a line, and nothing may follow it.
func (r *Run) fail(err error) error {
	r.err = err
	return err
}

// Flush writes out the buffered lines, syncs them to disk, and updates the
// counts in the index. Call it every second or so while the batch runs.
func (r *Run) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.usable(); err != nil {
		return fmt.Errorf("flush run %q: %w", r.id, err)
	}
	if err := r.writeOut(true); err != nil {
		return fmt.Errorf("flush run %q: %w", r.id, err)
	}
	if err := r.showCounts(); err != nil {
		return fmt.Errorf("flush run %q: %w", r.id, err)
	}
	return nil
}

// showCounts puts the counts of outputs.jsonl in the index.
func (r *Run) showCounts() error {
	if r.done == r.shown {
		return nil
	}
	_, err := r.s.db.Exec(`UPDATE runs SET succeeded = ?, failed = ? WHERE id = ?`, r.done.succeeded, r.done.failed, r.id)
	if err != nil {
		return err
	}
	r.shown = r.done
	return nil
}

// Logf appends a line to the run's log.txt, with the time. It does nothing
// after Finish, and a log that cannot be written is not an error of the
// run.
func (r *Run) Logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.log != nil {
		r.logf(time.Now(), format, args...)
	}
}

func (r *Run) logf(t time.Time, format string, args ...any) {
	_, _ = r.log.Write(logLine(t, fmt.Sprintf(format, args...)))
}

func logLine(t time.Time, msg string) []byte {
	b := t.UTC().AppendFormat(nil, "2006-01-02T15:04:05.000Z ")
	return append(append(b, strings.TrimRight(msg, "\n")...), '\n')
}

// appendLog appends one line to the log at path, if it exists.
func appendLog(path string, t time.Time, msg string) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = f.Write(logLine(t, msg))
}

// Finish ends the run: it writes out the buffered lines and metrics.json,
// sets the run's final status and counts in the index, and releases the
// lock. sum and err are what Batch.Wait returned; err may also be the
// caller's own reason to stop (a failed Write), which fails a run the
// engine completed. If sum is nil the batch never started: the run fails
// with err's text and has no metrics. The counts are those of the lines
// written to outputs.jsonl. A second Finish returns an error wrapping
// ErrFinished.
func (r *Run) Finish(sum *engine.BatchSummary, err error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finished {
		return fmt.Errorf("finish run %q: %w", r.id, ErrFinished)
	}
	defer r.close()
	status, msg := engine.Failed, "the batch never started"
	if sum != nil {
		status, msg = sum.Status, sum.Error
		if status != engine.Completed && status != engine.Canceled {
			status = engine.Failed
		}
	}
	if err != nil {
		if status == engine.Completed {
			status = engine.Failed
		}
		if msg == "" || sum == nil {
			msg = err.Error()
		}
	}
	var errs []error
	if werr := r.usable(); werr != nil {
		errs = append(errs, werr)
	} else if werr := r.writeOut(true); werr != nil {
		errs = append(errs, werr)
	}
	if r.err != nil {
		// The record is short of lines the batch ran: without metrics,
		// a resume reruns them.
		status, msg, sum = engine.Failed, r.err.Error(), nil
	}
	carried := 0
	if sum != nil {
		carried = sum.Carried
		// The index has the final counts before metrics.json says they
		// are final: a kill in between must not leave a record that
		// looks damaged.
		if cerr := r.showCounts(); cerr != nil {
			errs = append(errs, cerr)
		} else if merr := r.writeMetrics(sum, status, msg); merr != nil {
			errs = append(errs, merr)
		}
		if ran := sum.Succeeded + sum.Failed; ran != r.done.succeeded+r.done.failed {
			r.logf(time.Now(), "the batch ran %d lines but %d were written to the record", ran, r.done.succeeded+r.done.failed)
		}
	}
	end := time.Now()
	_, dberr := r.s.db.Exec(`UPDATE runs SET status = ?, error = ?, succeeded = ?, failed = ?, carried = ?, ended = ? WHERE id = ?`,
		status, msg, r.done.succeeded, r.done.failed, carried, end.UnixNano(), r.id)
	if dberr != nil {
		errs = append(errs, dberr)
	}
	r.logf(end, "%s", endLine(status, msg, r.done, carried, sum))
	if len(errs) > 0 {
		return fmt.Errorf("finish run %q: %w", r.id, errors.Join(errs...))
	}
	return nil
}

func endLine(status engine.Status, msg string, c counts, carried int, sum *engine.BatchSummary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "run %s", status)
	if sum != nil {
		fmt.Fprintf(&b, " in %s", sum.Duration.Round(time.Millisecond))
	}
	fmt.Fprintf(&b, ": %d succeeded, %d failed, %d carried", c.succeeded, c.failed, carried)
	if msg != "" {
		fmt.Fprintf(&b, ": %s", msg)
	}
	return b.String()
}

// close closes the run's files and releases its lock.
func (r *Run) close() {
	r.finished = true
	for i, f := range r.files {
		if f != nil {
			f.Close()
			r.files[i] = nil
		}
	}
	if r.log != nil {
		r.log.Close()
		r.log = nil
	}
	if r.lock != nil {
		r.lock.Close()
		r.lock = nil
	}
}
