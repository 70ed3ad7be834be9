package jsonscan

import "bytes"

// Type names the JSON type of an encoded value (object, array, string,
// boolean, null, number) from its first byte, which is enough for valid
// JSON; it is "nothing" for empty input. Error messages use it.
func Type(b []byte) string {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// TypePhrase is Type with an article, for messages: "an object",
// "a number", "null".
func TypePhrase(b []byte) string {
	switch t := Type(b); t {
	case "null", "nothing":
		return t
	case "object", "array":
		return "an " + t
	default:
		return "a " + t
	}
}
