package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/internal/jsonscan"
)

var inputsField = []jsonscan.Step{{Key: "inputs"}}

// BaseRun reads what a batch's mapping takes from the finished run id with
// ${run.outputs.x} and ${run.inputs.x} (prompt flow's --run; see
// engine.BatchOptions.Run): the outputs and inputs of each line that run,
// or a run it resumes, succeeded. Every such line is held in memory, about
// the size of those runs' outputs.jsonl and inputs.jsonl, so that lines
// are found in any order.
//
// The function it returns gives a line's {"outputs": {...}, "inputs":
// {...}}, and for a line with none the error `run "ID" has no succeeded
// line N`. It is safe for concurrent use. An unknown run is ErrNotFound, a
// running one ErrRunning, a damaged one ErrDamaged.
func (s *Store) BaseRun(id string) (func(line int) (json.RawMessage, error), error) {
	in, err := s.Get(id)
	if err != nil {
		return nil, err
	}
	if unfinished(in.Status) {
		return nil, errorf(ErrRunning, "run %q is still running: a batch reads its lines once it has finished", id)
	}
	chain, err := s.chain(id)
	if err != nil {
		return nil, err
	}
	lines := map[int]json.RawMessage{}
	for _, in := range chain {
		// A line succeeds in one run of a chain at most: its inputs are
		// those of that run.
		outputs := map[int][]byte{}
		for o, err := range s.Outputs(in.ID) {
			if err != nil {
				return nil, err
			}
			if o.Status == engine.Succeeded {
				outputs[o.Line] = o.Outputs
				if len(o.Outputs) == 0 {
					outputs[o.Line] = []byte("{}")
				}
			}
		}
		if err := readInputs(in.ID, in.Dir, outputs, lines); err != nil {
			return nil, err
		}
	}
	return func(line int) (json.RawMessage, error) {
		if v, ok := lines[line]; ok {
			return v, nil
		}
		return nil, fmt.Errorf("run %q has no succeeded line %d", id, line)
	}, nil
}

// readInputs reads the inputs.jsonl of run id in dir, and puts in lines
// dst each line that has outputs, with its inputs.
func readInputs(id, dir string, outputs map[int][]byte, dst map[int]json.RawMessage) error {
	f, err := os.Open(filepath.Join(dir, "inputs.jsonl"))
	if errors.Is(err, fs.ErrNotExist) {
		return damaged(id, "inputs.jsonl is missing")
	}
	if err != nil {
		return fmt.Errorf("read run %q: %w", id, err)
	}
	defer f.Close()
	n := 0
	for b, err := range lines(f, nil) {
		n++
		if err != nil {
			return fmt.Errorf("read run %q: %w", id, err)
		}
		lv, lerr := jsonscan.Select(b, lineField)
		iv, ierr := jsonscan.Select(b, inputsField)
		line, perr := strconv.Atoi(string(lv))
		if lerr != nil || ierr != nil || perr != nil || !json.Valid(b) {
			return damaged(id, "inputs.jsonl:%d: not a line's inputs", n)
		}
		out, ok := outputs[line]
		if !ok {
			continue
		}
		var v bytes.Buffer
		v.WriteString(`{"outputs":`)
		v.Write(out)
		v.WriteString(`,"inputs":`)
		v.Write(iv)
		v.WriteByte('}')
		dst[line] = v.Bytes()
	}
	return nil
}
