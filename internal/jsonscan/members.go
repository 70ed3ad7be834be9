package jsonscan

import "iter"

// Members returns the members of the JSON object obj in their order: each
// key as its string literal, quotes and escapes included (AppendText
// decodes it), and each value as its bytes. Neither is copied. obj must be
// valid JSON; at bytes that are not, the iteration stops.
func Members(obj []byte) iter.Seq2[[]byte, []byte] {
	return func(yield func(key, val []byte) bool) {
		p := Space(obj, 0)
		if p >= len(obj) || obj[p] != '{' {
			return
		}
		for p = Space(obj, p+1); p < len(obj) && obj[p] == '"'; {
			end, err := skipString(obj, p)
			if err != nil {
				return
			}
			key := obj[p:end]
			p = Space(obj, end)
			if p >= len(obj) || obj[p] != ':' {
				return
			}
			start := Space(obj, p+1)
			if end, err = skipValue(obj, start); err != nil || !yield(key, obj[start:end]) {
				return
			}
			if p = Space(obj, end); p < len(obj) && obj[p] == ',' {
				p = Space(obj, p+1)
			}
		}
	}
}

// Elements returns the elements of the JSON array arr in their order, each
// as its bytes, not copied. arr must be valid JSON; at bytes that are not,
// the iteration stops.
func Elements(arr []byte) iter.Seq[[]byte] {
	return func(yield func(val []byte) bool) {
		p := Space(arr, 0)
		if p >= len(arr) || arr[p] != '[' {
			return
		}
		for p = Space(arr, p+1); p < len(arr) && arr[p] != ']'; {
			end, err := skipValue(arr, p)
			if err != nil || !yield(arr[p:end]) {
				return
			}
			if p = Space(arr, end); p < len(arr) && arr[p] == ',' {
				p = Space(arr, p+1)
			}
		}
	}
}
