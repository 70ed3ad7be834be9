package engine

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"

	"github.com/weirflow/weir/internal/jsonscan"
)

// Record is one line of a dataset: a JSON object of columns.
type Record struct {
	// Line numbers the record in its dataset, from 1: the line of a JSONL
	// file, the line of a CSV file where the row starts (the header is
	// line 1), or the position in a Go sequence. Results, resume and the
	// run record name lines by it, so a source must number the same
	// dataset the same way every time.
	Line int
	// Data is the record's columns as a JSON object.
	Data json.RawMessage
	// Text marks columns that are untyped text, as CSV cells are: a string
	// is converted to the number or boolean a flow input wants.
	Text bool
}

// Source yields the records of a dataset in order, with Line increasing.
// For a line it cannot read it yields a *LineError (Kind left unset), which
// fails that line alone; any other error it yields stops the batch.
// Sources stream: a batch holds only the records it is running.
type Source = iter.Seq2[Record, error]

// maxLine bounds one line of a JSONL dataset.
const maxLine = 64 << 20

// JSONL reads a dataset of one JSON object per line. Blank lines are
// skipped but counted, so that Line is the line of the file. A line that is
// not a JSON object is a *LineError; a read error stops the source.
func JSONL(r io.Reader) Source {
	return func(yield func(Record, error) bool) {
		br := bufio.NewReaderSize(r, 64<<10)
		var long []byte
		for line := 1; ; line++ {
			b, err := br.ReadSlice('\n')
			if errors.Is(err, bufio.ErrBufferFull) {
				// A line longer than the buffer: gather it.
				long = append(long[:0], b...)
				for errors.Is(err, bufio.ErrBufferFull) && len(long) <= maxLine {
					b, err = br.ReadSlice('\n')
					long = append(long, b...)
				}
				b = long
				if len(long) > maxLine {
					if !yield(Record{}, &LineError{Line: line, Err: fmt.Errorf("line is longer than %d MiB", maxLine>>20)}) {
						return
					}
					for errors.Is(err, bufio.ErrBufferFull) {
						_, err = br.ReadSlice('\n')
					}
					b = nil
				}
			}
			if err != nil && err != io.EOF {
				yield(Record{}, fmt.Errorf("read dataset: line %d: %w", line, err))
				return
			}
			if line == 1 {
				b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
			}
			if b = bytes.TrimSpace(b); len(b) > 0 {
				var rec Record
				var lerr error
				if b[0] == '{' && json.Valid(b) {
					// The reader reuses its buffer: the record gets a copy.
					rec = Record{Line: line, Data: bytes.Clone(b)}
				} else {
					lerr = &LineError{Line: line, Err: notObject(b)}
				}
				if !yield(rec, lerr) {
					return
				}
			}
			if err == io.EOF {
				return
			}
		}
	}
}

// notObject says why b is not a JSON object, briefly.
func notObject(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("invalid JSON at column %d: %v", se.Offset, err)
		}
		return fmt.Errorf("invalid JSON: %v", err)
	}
	return fmt.Errorf("want a JSON object of columns, got %s", jsonscan.TypePhrase(b))
}

// CSV reads a dataset with a header row naming the columns. Every cell is
// a string (Record.Text is set). A row with the wrong number of cells is a
// *LineError; a header that is missing, has an empty or a repeated name
// stops the source.
func CSV(r io.Reader) Source {
	return func(yield func(Record, error) bool) {
		cr := csv.NewReader(r)
		cr.FieldsPerRecord = -1
		cr.ReuseRecord = true
		header, err := cr.Read()
		if err == io.EOF {
			return
		}
		if err != nil {
			yield(Record{}, fmt.Errorf("read dataset header: %w", err))
			return
		}
		if len(header) > 0 {
			header[0] = strings.TrimPrefix(header[0], "\ufeff")
		}
		keys := make([][]byte, len(header))
		for i, h := range header {
			if h == "" {
				yield(Record{}, fmt.Errorf("read dataset header: column %d has no name", i+1))
				return
			}
			if j := slices.Index(header[:i], h); j >= 0 {
				yield(Record{}, fmt.Errorf("read dataset header: column %q appears twice (columns %d and %d)", h, j+1, i+1))
				return
			}
			keys[i] = append(jsonscan.AppendString(nil, h), ':')
		}
		for {
			row, err := cr.Read()
			if err == io.EOF {
				return
			}
			line, _ := cr.FieldPos(0)
			var pe *csv.ParseError
			switch {
			case errors.As(err, &pe):
				if !yield(Record{}, &LineError{Line: pe.StartLine, Err: pe.Err}) {
					return
				}
				continue
			case err != nil:
				yield(Record{}, fmt.Errorf("read dataset: %w", err))
				return
			case len(row) != len(keys):
				if !yield(Record{}, &LineError{Line: line, Err: fmt.Errorf("%d cells, but the header has %d columns", len(row), len(keys))}) {
					return
				}
				continue
			}
			n := 2
			for i, cell := range row {
				n += len(keys[i]) + len(cell) + 3
			}
			b := make([]byte, 0, n+n/8)
			b = append(b, '{')
			for i, cell := range row {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, keys[i]...)
				b = jsonscan.AppendString(b, cell)
			}
			if !yield(Record{Line: line, Data: append(b, '}'), Text: true}, nil) {
				return
			}
		}
	}
}

// Records makes a Source of a Go sequence: each value is encoded as JSON
// (a map or a struct, as for Run) and numbered from 1. A value that does
// not encode to a JSON object is a *LineError.
func Records[T any](seq iter.Seq[T]) Source {
	return func(yield func(Record, error) bool) {
		line := 0
		for v := range seq {
			line++
			var (
				rec Record
				err error
			)
			switch raw := any(v).(type) {
			case json.RawMessage:
				rec.Data = raw
			case []byte:
				rec.Data = raw
			default:
				rec.Data, err = json.Marshal(v)
			}
			if err == nil && !json.Valid(rec.Data) {
				err = notObject(rec.Data)
			} else if err == nil && !isObject(rec.Data) {
				err = fmt.Errorf("want a JSON object of columns, got %s", preview(rec.Data))
			}
			if err != nil {
				err = &LineError{Line: line, Err: err}
			}
			rec.Line = line
			if !yield(rec, err) {
				return
			}
		}
	}
}
