package builtin

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// pathSeg is one step of a pick path: a field of an object or an index of
// an array.
type pathSeg struct {
	key     string
	index   int
	isIndex bool
	end     int // offset just past the step, so errors can quote the path so far
}

// parsePath reads a path like a.b[0] or ["odd key"].x. A field name is any
// run of characters other than ".", "[" and "]"; anything else goes in a
// quoted key, which is a JSON string.
func parsePath(p string) ([]pathSeg, error) {
	var segs []pathSeg
	i := 0
	for i < len(p) {
		switch {
		case p[i] == '[':
			seg, err := parseBracket(p, i)
			if err != nil {
				return nil, err
			}
			segs = append(segs, seg)
			i = seg.end
		case p[i] == '.' && len(segs) > 0:
			i++
			fallthrough
		case len(segs) == 0:
			name := readName(p, i)
			if name == "" {
				return nil, fmt.Errorf("want a field name at offset %d", i)
			}
			i += len(name)
			segs = append(segs, pathSeg{key: name, end: i})
		default:
			return nil, fmt.Errorf(`want "." or "[" at offset %d`, i)
		}
	}
	return segs, nil
}

func readName(p string, i int) string {
	j := i
	for j < len(p) && p[j] != '.' && p[j] != '[' && p[j] != ']' {
		j++
	}
	return p[i:j]
}

// parseBracket reads [N] or ["key"] starting at the "[" at offset i.
func parseBracket(p string, i int) (pathSeg, error) {
	j := i + 1
	if j < len(p) && p[j] == '"' {
		k := j + 1
		for ; k < len(p) && p[k] != '"'; k++ {
			if p[k] == '\\' {
				k++
			}
		}
		if k >= len(p) {
			return pathSeg{}, fmt.Errorf("unterminated key at offset %d", j)
		}
		var key string
		if err := json.Unmarshal([]byte(p[j:k+1]), &key); err != nil {
			return pathSeg{}, fmt.Errorf("invalid quoted key at offset %d", j)
		}
		if k+1 >= len(p) || p[k+1] != ']' {
			return pathSeg{}, fmt.Errorf(`want "]" at offset %d`, k+1)
		}
		return pathSeg{key: key, end: k + 2}, nil
	}
	k := j
	for k < len(p) && '0' <= p[k] && p[k] <= '9' {
		k++
	}
	if k == j {
		return pathSeg{}, fmt.Errorf("want an index or a quoted key at offset %d", j)
	}
	if k >= len(p) || p[k] != ']' {
		return pathSeg{}, fmt.Errorf(`want "]" at offset %d`, k)
	}
	n, err := strconv.Atoi(p[j:k])
	if err != nil {
		return pathSeg{}, fmt.Errorf("index too large at offset %d", j)
	}
	return pathSeg{index: n, isIndex: true, end: k + 1}, nil
}
