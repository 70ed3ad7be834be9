// Package lineset is a set of a dataset's line numbers: a batch's lines to
// skip on resume, the run record's lines already seen.
package lineset

// Set is a set of line numbers: a bit per line, in pages of 64Ki lines made
// as needed, so that a million lines take 128 KiB and a stray huge number
// one page. The zero value is empty. It is not safe for concurrent use.
type Set struct {
	pages map[int]*page
	last  int // the page of the last lookup, cached in cur
	cur   *page
}

type page [1024]uint64

const linesPerPage = len(page{}) * 64

func (s *Set) lookup(line int, create bool) (*page, int) {
	n, i := line/linesPerPage, line%linesPerPage
	if s.cur == nil || s.last != n {
		p := s.pages[n]
		if p == nil {
			if !create {
				return nil, 0
			}
			if s.pages == nil {
				s.pages = map[int]*page{}
			}
			p = new(page)
			s.pages[n] = p
		}
		s.last, s.cur = n, p
	}
	return s.cur, i
}

// Add adds line; a negative one is ignored.
func (s *Set) Add(line int) {
	if line < 0 {
		return
	}
	p, i := s.lookup(line, true)
	p[i/64] |= 1 << (i % 64)
}

// Has reports whether line is in the set.
func (s *Set) Has(line int) bool {
	if line < 0 {
		return false
	}
	p, i := s.lookup(line, false)
	return p != nil && p[i/64]&(1<<(i%64)) != 0
}
