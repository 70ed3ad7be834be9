package record

import (
	"bufio"
	"cmp"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"slices"
)

// sortChunk bounds the bytes of outputs.jsonl that a lineSorter holds in
// memory. A file of fewer is sorted in memory; a larger one in chunks of
// about this size, each written sorted to a temporary file, then merged.
// A variable for tests.
var sortChunk = 32 << 20

// mergeBuffer is the read buffer of each chunk while they are merged: the
// memory of a merge grows by this much per sortChunk bytes of the file.
const mergeBuffer = 16 << 10

// lineSorter sorts the lines of outputs.jsonl by their dataset line, with
// memory bounded by sortChunk and the merge's buffers, however long the
// file: an external merge sort. Lines of the same dataset line (a damaged
// record) keep their file order.
type lineSorter struct {
	mem    chunk
	spill  *os.File // the sorted chunks written out, one after the other
	chunks []section
	size   int64 // bytes written to spill
}

// chunk is lines held in memory: their bytes one after the other in buf.
type chunk struct {
	buf  []byte
	ents []entry
}

// entry is one line of outputs.jsonl: its dataset line, its line in the
// file (for errors), and where its bytes are in its chunk's buf.
type entry struct {
	line, at int
	off, n   int
}

// section is a sorted chunk in the spill file.
type section struct{ off, n int64 }

// grow makes room for size more bytes of lines, within sortChunk: the
// size of the file, to spare growing the buffer a step at a time.
func (s *lineSorter) grow(size int64) {
	size = min(size, int64(sortChunk))
	s.mem.buf = slices.Grow(s.mem.buf, int(size))
	s.mem.ents = slices.Grow(s.mem.ents, int(size/64)) // lines are rarely shorter
}

// add takes line number at of outputs.jsonl, b, whose dataset line is line.
// It copies b.
func (s *lineSorter) add(line, at int, b []byte) error {
	s.mem.ents = append(s.mem.ents, entry{line: line, at: at, off: len(s.mem.buf), n: len(b)})
	s.mem.buf = append(s.mem.buf, b...)
	if len(s.mem.buf) < sortChunk {
		return nil
	}
	return s.spillChunk()
}

func (c *chunk) sort() {
	slices.SortStableFunc(c.ents, func(a, b entry) int { return cmp.Compare(a.line, b.line) })
}

// spillChunk writes the chunk in memory, sorted, to the spill file: each
// line as its dataset line, its line in the file and its length (uvarints),
// then its bytes.
func (s *lineSorter) spillChunk() error {
	if s.spill == nil {
		f, err := os.CreateTemp("", "weir-outputs-*")
		if err != nil {
			return err
		}
		s.spill = f
	}
	s.mem.sort()
	w := bufio.NewWriterSize(s.spill, 256<<10)
	start := s.size
	var head []byte
	for _, e := range s.mem.ents {
		head = binary.AppendUvarint(head[:0], uint64(e.line))
		head = binary.AppendUvarint(head, uint64(e.at))
		head = binary.AppendUvarint(head, uint64(e.n))
		w.Write(head)
		w.Write(s.mem.buf[e.off : e.off+e.n])
		s.size += int64(len(head) + e.n)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	s.chunks = append(s.chunks, section{start, s.size - start})
	s.mem.buf, s.mem.ents = s.mem.buf[:0], s.mem.ents[:0]
	return nil
}

// close removes the spill file.
func (s *lineSorter) close() {
	if s.spill != nil {
		s.spill.Close()
		os.Remove(s.spill.Name())
	}
}

// sorted yields the lines added, by dataset line, with their line in the
// file. A line's bytes are valid until the next iteration.
func (s *lineSorter) sorted() iter.Seq2[entryBytes, error] {
	return func(yield func(entryBytes, error) bool) {
		if s.spill == nil {
			s.mem.sort()
			for _, e := range s.mem.ents {
				if !yield(entryBytes{e.line, e.at, s.mem.buf[e.off : e.off+e.n]}, nil) {
					return
				}
			}
			return
		}
		if len(s.mem.ents) > 0 {
			if err := s.spillChunk(); err != nil {
				yield(entryBytes{}, err)
				return
			}
		}
		s.merge(yield)
	}
}

// entryBytes is a line of outputs.jsonl as sorted yields it.
type entryBytes struct {
	line, at int
	b        []byte
}

// merge yields the lines of the spilled chunks in order: the next of each
// chunk waits in a heap.
func (s *lineSorter) merge(yield func(entryBytes, error) bool) {
	h := &mergeHeap{}
	for _, c := range s.chunks {
		r := &chunkReader{r: bufio.NewReaderSize(io.NewSectionReader(s.spill, c.off, c.n), mergeBuffer)}
		if err := r.next(); err != nil {
			yield(entryBytes{}, err)
			return
		}
		if r.ok {
			h.rs = append(h.rs, r)
		}
	}
	heap.Init(h)
	for h.Len() > 0 {
		r := h.rs[0]
		if !yield(r.cur, nil) {
			return
		}
		if err := r.next(); err != nil {
			yield(entryBytes{}, err)
			return
		}
		if r.ok {
			heap.Fix(h, 0)
		} else {
			heap.Pop(h)
		}
	}
}

// chunkReader reads one spilled chunk, a line at a time.
type chunkReader struct {
	r   *bufio.Reader
	cur entryBytes
	ok  bool // cur holds a line
}

func (c *chunkReader) next() error {
	line, err := binary.ReadUvarint(c.r)
	if errors.Is(err, io.EOF) {
		c.ok = false
		return nil
	}
	at, err2 := binary.ReadUvarint(c.r)
	n, err3 := binary.ReadUvarint(c.r)
	if err := errors.Join(err, err2, err3); err != nil {
		return fmt.Errorf("read back the sorted outputs: %w", err)
	}
	c.cur.line, c.cur.at = int(line), int(at)
	c.cur.b = slices.Grow(c.cur.b[:0], int(n))[:n]
	if _, err := io.ReadFull(c.r, c.cur.b); err != nil {
		return fmt.Errorf("read back the sorted outputs: %w", err)
	}
	c.ok = true
	return nil
}

// mergeHeap orders the chunks by their next line; chunks hold the file in
// order, so of equal lines the earlier chunk's comes first.
type mergeHeap struct{ rs []*chunkReader }

func (h *mergeHeap) Len() int { return len(h.rs) }
func (h *mergeHeap) Less(i, j int) bool {
	a, b := h.rs[i].cur, h.rs[j].cur
	return a.line < b.line || a.line == b.line && a.at < b.at
}
func (h *mergeHeap) Swap(i, j int) { h.rs[i], h.rs[j] = h.rs[j], h.rs[i] }
func (h *mergeHeap) Push(x any)    { h.rs = append(h.rs, x.(*chunkReader)) }
func (h *mergeHeap) Pop() any {
	r := h.rs[len(h.rs)-1]
	h.rs = h.rs[:len(h.rs)-1]
	return r
}
