package jsonschema

import (
	"bytes"
	"maps"
	"slices"

	"github.com/weirflow/weir/internal/jsonscan"
)

// appendLike appends v, which Decode made from raw and ApplyDefaults may
// have added members to, encoded with raw's bytes: the members of raw's
// objects in their order, its numbers and strings as written, and the
// members ApplyDefaults added after them, in name order.
func appendLike(dst, raw []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case map[string]any:
		dst = append(dst, '{')
		seen := make(map[string]bool, len(v))
		for key, val := range jsonscan.Members(raw) {
			name := string(jsonscan.AppendText(nil, key))
			if len(seen) > 0 {
				dst = append(dst, ',')
			}
			seen[name] = true
			dst = append(append(dst, key...), ':')
			var err error
			// A name twice in raw is written twice: readers take the
			// last, as Decode did.
			if dst, err = appendLike(dst, val, v[name]); err != nil {
				return nil, err
			}
		}
		for _, name := range slices.Sorted(maps.Keys(v)) {
			if seen[name] {
				continue
			}
			if len(seen) > 0 {
				dst = append(dst, ',')
			}
			seen[name] = true
			dst = append(jsonscan.AppendString(dst, name), ':')
			def, err := jsonscan.Marshal(v[name])
			if err != nil {
				return nil, err
			}
			dst = append(dst, def...)
		}
		return append(dst, '}'), nil
	case []any:
		dst = append(dst, '[')
		i := 0
		for val := range jsonscan.Elements(raw) {
			if i >= len(v) {
				break
			}
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendLike(dst, val, v[i]); err != nil {
				return nil, err
			}
			i++
		}
		return append(dst, ']'), nil
	}
	return append(dst, bytes.TrimSpace(raw)...), nil
}
