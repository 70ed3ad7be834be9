package record

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/engine/internal/lineset"
	"github.com/weirflow/weir/internal/jsonscan"
)

// Output is one line of a run's outputs.jsonl.
type Output struct {
	Line    int
	Status  engine.Status // Succeeded or Failed
	Outputs json.RawMessage
	// Err is why a failed line failed, an *engine.LineError holding the
	// error's text and kind (engine.UnknownFailure in records written
	// before weir kept kinds); nil for a line that succeeded.
	Err      error
	Duration time.Duration
	// Started is when the line started, to the millisecond; zero in
	// records of older weirs.
	Started time.Time
	// TraceID is the trace of the line's run, in hex, when the engine
	// traced it.
	TraceID   string
	Aggregate json.RawMessage
}

// Outputs yields the lines of the run's outputs.jsonl by dataset line (the
// file has them in the order they ended). A line being written (the run is
// running, or was killed while writing it) is left out. It yields one
// error and stops if the run is unknown (ErrNotFound) or its file missing
// (ErrDamaged). A malformed line (ErrDamaged) ends what is read: the lines
// before it in the file are yielded, then the error. After the last line
// it yields ErrDamaged if the file disagrees with the run's counts (see
// checkCount): a file cut short yields the lines it still has, then that
// error. The yielded Outputs are the caller's.
//
// The file is read whole before the first line is yielded, and sorted with
// memory bounded however long it is (see lineSorter): a run of more than
// sortChunk bytes of outputs is sorted through a temporary file.
func (s *Store) Outputs(id string) iter.Seq2[Output, error] {
	return func(yield func(Output, error) bool) {
		in, err := s.Get(id)
		if err != nil {
			yield(Output{}, err)
			return
		}
		path := filepath.Join(in.Dir, "outputs.jsonl")
		f, err := s.openJSONL(id, path)
		if err != nil {
			yield(Output{}, err)
			return
		}
		defer f.Close()
		var sorter lineSorter
		defer sorter.close()
		if fi, err := f.Stat(); err == nil {
			sorter.grow(fi.Size())
		}
		last := s.sortOutputs(in, f, &sorter)
		for e, err := range sorter.sorted() {
			if err != nil {
				yield(Output{}, fmt.Errorf("read run %q: %w", id, err))
				return
			}
			o, err := parseOutput(e.b, true)
			if err != nil {
				yield(Output{}, damaged(id, "outputs.jsonl:%d: %v", e.at, err))
				return
			}
			if !yield(o, nil) {
				return
			}
		}
		if last != nil {
			yield(Output{}, last)
		}
	}
}

// sortOutputs reads the outputs.jsonl of run in from f into sorter, up to
// its end or a line that is not whole and valid, and returns what is wrong
// with the file, or nil.
func (s *Store) sortOutputs(in Info, f io.Reader, sorter *lineSorter) error {
	n := 0
	torn := false
	for b, err := range lines(f, &torn) {
		n++
		if err != nil {
			return fmt.Errorf("read run %q: %w", in.ID, err)
		}
		o, err := parseOutput(b, false)
		if err != nil {
			return damaged(in.ID, "outputs.jsonl:%d: %v", n, err)
		}
		if err := sorter.add(o.Line, n, b); err != nil {
			return fmt.Errorf("sort the outputs of run %q: %w", in.ID, err)
		}
	}
	return s.checkCount(in, n, torn)
}

// checkCount compares the n whole lines of run in's outputs.jsonl, and
// whether a cut-off line follows them, with the counts in its index row.
// The index follows the file (a Flush writes the lines, then the counts),
// so the file has at least the lines the index counts; while the run is
// running, or if it stopped before finishing, it may have more, and end
// with a line cut by a kill. Once the run finished with metrics the counts
// are final: the file has exactly those lines, all whole.
func (s *Store) checkCount(in Info, n int, torn bool) error {
	recorded := in.Succeeded + in.Failed
	final := s.hasMetrics(in)
	switch {
	case n < recorded || final && n != recorded:
		msg := fmt.Sprintf("outputs.jsonl has %d lines but the run recorded %d", n, recorded)
		if final && torn {
			msg += fmt.Sprintf(", and its line %d is cut off", n+1)
		}
		return damaged(in.ID, "%s", msg)
	case final && torn:
		return damaged(in.ID, "outputs.jsonl:%d is cut off: the run finished, but the line has no end", n+1)
	}
	return nil
}

// openJSONL opens one of a run's JSONL files, naming what is missing.
func (s *Store) openJSONL(id, path string) (*os.File, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		missing := path
		if _, err := os.Stat(filepath.Dir(path)); errors.Is(err, fs.ErrNotExist) {
			missing = filepath.Dir(path)
		}
		return nil, damaged(id, "%s is missing", s.rel(missing))
	}
	if err != nil {
		return nil, fmt.Errorf("read run %q: %w", id, err)
	}
	return f, nil
}

// lines yields the lines of r that end with a newline, without it; a last
// line without one was torn by a kill and is left out, and sets *torn when
// torn is not nil. The slice is valid until the next iteration.
func lines(r io.Reader, torn *bool) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		br := bufio.NewReaderSize(r, 64<<10)
		var long []byte
		for {
			b, err := br.ReadSlice('\n')
			if errors.Is(err, bufio.ErrBufferFull) {
				long = append(long[:0], b...)
				for errors.Is(err, bufio.ErrBufferFull) {
					b, err = br.ReadSlice('\n')
					long = append(long, b...)
				}
				b = long
			}
			if err == io.EOF {
				if torn != nil && len(b) > 0 {
					*torn = true
				}
				return
			}
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(b[:len(b)-1], nil) {
				return
			}
		}
	}
}

var (
	lineField      = []jsonscan.Step{{Key: "line"}}
	statusField    = []jsonscan.Step{{Key: "status"}}
	durationField  = []jsonscan.Step{{Key: "duration_ms"}}
	outputsField   = []jsonscan.Step{{Key: "outputs"}}
	errorField     = []jsonscan.Step{{Key: "error"}}
	errorKindField = []jsonscan.Step{{Key: "error_kind"}}
	aggregateField = []jsonscan.Step{{Key: "aggregate"}}
	startedField   = []jsonscan.Step{{Key: "started"}}
	traceIDField   = []jsonscan.Step{{Key: "trace_id"}}
)

// parseOutput reads one line of outputs.jsonl: its line and status, and
// with full the rest. Its errors say what is wrong with the line. The
// result's raw values are copies.
func parseOutput(b []byte, full bool) (Output, error) {
	if !json.Valid(b) {
		return Output{}, errors.New("not valid JSON")
	}
	if b = bytes.TrimLeft(b, " \t\r"); b[0] != '{' {
		return Output{}, errors.New("not a JSON object")
	}
	var o Output
	v, err := jsonscan.Select(b, lineField)
	if err != nil {
		return o, errors.New(`no "line" field`)
	}
	if o.Line, err = strconv.Atoi(string(v)); err != nil || o.Line < 1 {
		return o, fmt.Errorf(`"line" is %s, not a whole number from 1`, v)
	}
	if v, err = jsonscan.Select(b, statusField); err != nil {
		return o, errors.New(`no "status" field`)
	}
	switch string(v) {
	case `"succeeded"`:
		o.Status = engine.Succeeded
	case `"failed"`:
		o.Status = engine.Failed
	default:
		return o, fmt.Errorf(`"status" is %s, not "succeeded" or "failed"`, v)
	}
	if !full {
		return o, nil
	}
	if v, err = jsonscan.Select(b, aggregateField); err == nil {
		o.Aggregate = json.RawMessage(bytes.Clone(v))
	}
	if v, err = jsonscan.Select(b, durationField); err == nil {
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return o, fmt.Errorf(`"duration_ms" is %s, not a number`, v)
		}
		o.Duration = fromMS(f)
	}
	if v, err = jsonscan.Select(b, outputsField); err == nil {
		o.Outputs = json.RawMessage(bytes.Clone(v))
	}
	if v, err = jsonscan.Select(b, startedField); err == nil {
		if err := json.Unmarshal(v, &o.Started); err != nil {
			return o, fmt.Errorf(`"started" is %s, not an RFC 3339 time`, v)
		}
	}
	if v, err = jsonscan.Select(b, traceIDField); err == nil {
		if err := json.Unmarshal(v, &o.TraceID); err != nil {
			return o, fmt.Errorf(`"trace_id" is %s, not a string`, v)
		}
	}
	if o.Status == engine.Failed {
		if o.Err, err = parseError(b, o.Line); err != nil {
			return o, err
		}
	}
	return o, nil
}

// parseError reads the error of a failed line of outputs.jsonl.
func parseError(b []byte, line int) (error, error) {
	le := &engine.LineError{Line: line}
	var msg string
	if v, err := jsonscan.Select(b, errorField); err == nil {
		if err := json.Unmarshal(v, &msg); err != nil {
			return nil, fmt.Errorf(`"error" is %s, not a string`, v)
		}
	}
	le.Err = errors.New(msg)
	if v, err := jsonscan.Select(b, errorKindField); err == nil {
		var kind string
		if err := json.Unmarshal(v, &kind); err != nil {
			return nil, fmt.Errorf(`"error_kind" is %s, not a string`, v)
		}
		_ = le.Kind.UnmarshalText([]byte(kind)) // an unknown kind stays UnknownFailure
	}
	return le, nil
}

// Completed returns the lines that run id and the runs it resumes, back
// along ResumedFrom, completed: a LineResult with Line, Status Succeeded
// and Aggregate for each, as BatchOptions.Resume takes them. Lines that
// failed are left out, to be run again.
//
// It reads every outputs.jsonl of the chain once to check it before it
// returns: a run still running (ErrRunning), a missing file, a malformed or
// repeated line, or a file that disagrees with the run's counts
// (ErrDamaged; see checkCount) is an error. The sequence reads the files again, holding one
// line at a time; create the resuming run (Meta.ResumedFrom), which keeps
// the chain from being deleted, before ranging over it. It may be ranged
// over more than once.
func (s *Store) Completed(id string) (iter.Seq[engine.LineResult], error) {
	chain, err := s.chain(id)
	if err != nil {
		return nil, err
	}
	// Oldest first: a line that succeeded in a run must not appear in the
	// runs that resume it.
	slices.Reverse(chain)
	parts := make([]part, len(chain))
	succeeded := make([]lineset.Set, len(chain))
	for i, in := range chain {
		if parts[i], succeeded[i], err = s.check(in, chain[:i], succeeded[:i]); err != nil {
			return nil, err
		}
	}
	return func(yield func(engine.LineResult) bool) {
		for _, p := range parts {
			if !p.yield(yield) {
				return
			}
		}
	}, nil
}

// chain returns run id and the runs it resumes, newest first.
func (s *Store) chain(id string) ([]Info, error) {
	in, err := s.Get(id)
	if err != nil {
		return nil, err
	}
	chain := []Info{in}
	for {
		if unfinished(in.Status) {
			return nil, errorf(ErrRunning, "resume run %q: it is still running", in.ID)
		}
		if in.ResumedFrom == "" {
			return chain, nil
		}
		child := in
		if slices.ContainsFunc(chain, func(c Info) bool { return c.ID == child.ResumedFrom }) {
			return nil, damaged(child.ID, "it resumes run %q, which resumes it", child.ResumedFrom)
		}
		in, err = s.Get(child.ResumedFrom)
		if errors.Is(err, ErrNotFound) {
			return nil, damaged(child.ID, "it resumes run %q, which is not in the record", child.ResumedFrom)
		}
		if err != nil {
			return nil, err
		}
		chain = append(chain, in)
	}
}

// part is the validated prefix of one run's outputs.jsonl.
type part struct {
	id, path string
	size     int64 // bytes of complete lines
	lines    int
}

// check reads the outputs.jsonl of run in, whose ancestors (oldest first)
// succeeded the lines of done, and returns the lines it succeeded.
func (s *Store) check(in Info, ancestors []Info, done []lineset.Set) (part, lineset.Set, error) {
	p := part{id: in.ID, path: filepath.Join(in.Dir, "outputs.jsonl")}
	f, err := s.openJSONL(in.ID, p.path)
	if err != nil {
		return p, lineset.Set{}, err
	}
	defer f.Close()
	var seen, succeeded lineset.Set
	torn := false
	for b, err := range lines(f, &torn) {
		if err != nil {
			return p, lineset.Set{}, fmt.Errorf("read run %q: %w", in.ID, err)
		}
		p.lines++
		o, err := parseOutput(b, false)
		if err != nil {
			return p, lineset.Set{}, damaged(in.ID, "outputs.jsonl:%d: %v", p.lines, err)
		}
		if seen.Has(o.Line) {
			return p, lineset.Set{}, damaged(in.ID, "outputs.jsonl:%d: dataset line %d is recorded twice", p.lines, o.Line)
		}
		for i := len(done) - 1; i >= 0; i-- {
			if done[i].Has(o.Line) {
				return p, lineset.Set{}, damaged(in.ID, "outputs.jsonl:%d: dataset line %d already succeeded in run %q", p.lines, o.Line, ancestors[i].ID)
			}
		}
		seen.Add(o.Line)
		if o.Status == engine.Succeeded {
			succeeded.Add(o.Line)
		}
		p.size += int64(len(b)) + 1
	}
	if err := s.checkCount(in, p.lines, torn); err != nil {
		return p, lineset.Set{}, err
	}
	return p, succeeded, nil
}

// hasMetrics reports whether run in finished with metrics: its counts are
// final and must match its outputs.jsonl.
func (s *Store) hasMetrics(in Info) bool {
	if unfinished(in.Status) {
		return false
	}
	_, err := os.Stat(filepath.Join(in.Dir, "metrics.json"))
	return err == nil
}

// yield reads the part again and yields its succeeded lines. It stops
// early if the file changed since it was checked.
func (p part) yield(yield func(engine.LineResult) bool) bool {
	f, err := os.Open(p.path)
	if err != nil {
		return true
	}
	defer f.Close()
	for b, err := range lines(io.LimitReader(f, p.size), nil) {
		if err != nil {
			return true
		}
		o, err := parseOutput(b, false)
		if err != nil {
			return true
		}
		if o.Status != engine.Succeeded {
			continue
		}
		lr := engine.LineResult{Line: o.Line, Status: engine.Succeeded}
		if v, err := jsonscan.Select(b, aggregateField); err == nil {
			lr.Aggregate = json.RawMessage(bytes.Clone(v))
		}
		if !yield(lr) {
			return false
		}
	}
	return true
}
