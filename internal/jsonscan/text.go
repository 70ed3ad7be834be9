package jsonscan

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// AppendText appends val, one JSON value such as Select returns, as text for
// string interpolation: the content of a string, unescaped, or the compact
// JSON text of anything else. Like encoding/json, it decodes invalid UTF-8 and
// unpaired surrogates in strings as U+FFFD. val must be valid JSON; for other
// input the result is unspecified, but AppendText does not panic.
func AppendText(dst, val []byte) []byte {
	val = trimSpace(val)
	if len(val) == 0 || val[0] != '"' {
		return appendCompact(dst, val)
	}
	s := val[1:]
	if len(s) > 0 && s[len(s)-1] == '"' {
		s = s[:len(s)-1]
	}
	for i := 0; i < len(s); {
		// Copy the run that needs no decoding in one append.
		j := i
		for j < len(s) && s[j] != '\\' && s[j] < utf8.RuneSelf {
			j++
		}
		dst = append(dst, s[i:j]...)
		if i = j; i == len(s) {
			break
		}
		r, n := decodeRune(s[i:])
		dst = utf8.AppendRune(dst, r)
		i += n
	}
	return dst
}

// appendCompact appends val without the whitespace between its tokens.
func appendCompact(dst, val []byte) []byte {
	start := 0
	for i := 0; i < len(val); i++ {
		switch c := val[i]; {
		case c == '"':
			end, err := skipString(val, i)
			if err != nil {
				end = len(val)
			}
			i = end - 1
		case isSpace[c]:
			dst = append(dst, val[start:i]...)
			start = i + 1
		}
	}
	return append(dst, val[start:]...)
}

func trimSpace(b []byte) []byte {
	i, j := 0, len(b)
	for i < j && isSpace[b[i]] {
		i++
	}
	for j > i && isSpace[b[j-1]] {
		j--
	}
	return b[i:j]
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string literal, escaped exactly as
// encoding/json escapes it with HTML escaping off: short escapes for quote,
// backslash, \b, \f, \n, \r and \t, \u00XX for other control bytes, \ufffd
// for each byte of invalid UTF-8, and \u2028 and \u2029 (which break
// JavaScript).
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if plain[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += n
			continue
		}
		i += n
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// Marshal is json.Marshal with <, > and & left as they are: weir passes
// JSON on as it came, and escapes for HTML only change its bytes.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}
