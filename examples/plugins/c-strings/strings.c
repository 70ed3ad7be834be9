// c-strings: a weir plugin written in C, implementing weir-abi-1
// (plugins/wasm/ABI.md) by hand, with no SDK. Build it with `make` here (or
// `make plugins` at the root); it needs clang, lld and wasi-libc.
//
// Tools, each on a JSON object of inputs:
//
//	reverse  {text: string} -> {text: string}            code points reversed
//	length   {text: string} -> {bytes: int, runes: int}  UTF-8 bytes, code points
//
// Like Go's encoding/json, reading "text" turns invalid UTF-8 and lone
// surrogate escapes into U+FFFD, so outputs are always valid UTF-8 JSON.
// An unknown tool, or inputs that are not a JSON object with a string "text",
// is reported through weir.error with kind "invalid_input".

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define WEIR_EXPORT(name) __attribute__((export_name(name)))
#define WEIR_IMPORT(name) __attribute__((import_module("weir"), import_name(name)))

// weir.error(ptr, len): the current call's error, a JSON object.
WEIR_IMPORT("error") void weir_error(const uint8_t *ptr, uint32_t len);

// Deeper nesting than this in the inputs is refused rather than risking the
// 64 KiB shadow stack.
#define MAX_DEPTH 128

// A growing byte buffer. The guest keeps its buffers between calls, so a
// steady stream of calls allocates nothing.
typedef struct {
	uint8_t *data;
	size_t len, cap;
} buf;

static buf inbuf;   // weir_alloc: the tool name, then the inputs
static buf outbuf;  // weir_invoke's result, or the error payload
static buf text;    // the decoded "text" input
static buf scratch; // decoded keys, reversed text

enum { OK = 0, INVALID = 1, NOMEM = 2 };

// reserve makes room for n more bytes; it returns NOMEM when the memory
// limit is reached.
static int reserve(buf *b, size_t n) {
	if (n <= b->cap - b->len) return OK;
	if (n > SIZE_MAX / 2 - b->len) return NOMEM;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + n) cap *= 2;
	uint8_t *d = realloc(b->data, cap);
	if (!d) return NOMEM;
	b->data = d;
	b->cap = cap;
	return OK;
}

static int put(buf *b, const void *p, size_t n) {
	if (reserve(b, n)) return NOMEM;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return OK;
}

static int put_str(buf *b, const char *s) { return put(b, s, strlen(s)); }

static int put_rune(buf *b, uint32_t r) {
	uint8_t u[4];
	size_t n;
	if (r < 0x80) {
		u[0] = (uint8_t)r;
		n = 1;
	} else if (r < 0x800) {
		u[0] = (uint8_t)(0xC0 | r >> 6);
		u[1] = (uint8_t)(0x80 | (r & 0x3F));
		n = 2;
	} else if (r < 0x10000) {
		u[0] = (uint8_t)(0xE0 | r >> 12);
		u[1] = (uint8_t)(0x80 | (r >> 6 & 0x3F));
		u[2] = (uint8_t)(0x80 | (r & 0x3F));
		n = 3;
	} else {
		u[0] = (uint8_t)(0xF0 | r >> 18);
		u[1] = (uint8_t)(0x80 | (r >> 12 & 0x3F));
		u[2] = (uint8_t)(0x80 | (r >> 6 & 0x3F));
		u[3] = (uint8_t)(0x80 | (r & 0x3F));
		n = 4;
	}
	return put(b, u, n);
}

static int put_uint(buf *b, uint64_t v) {
	char d[20];
	size_t i = sizeof d;
	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return put(b, d + i, sizeof d - i);
}

// utf8_len returns the length of the valid UTF-8 sequence at p, or 0 when
// the bytes there are not one (overlong, surrogate, above U+10FFFF, cut
// short): the same rules as Go's utf8.DecodeRune.
static size_t utf8_len(const uint8_t *p, const uint8_t *end) {
	uint8_t c = p[0];
	size_t n = (size_t)(end - p);
	if (c < 0x80) return 1;
	if (c < 0xC2) return 0;
	if (c < 0xE0) return n >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c < 0xF0) {
		uint8_t lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
		return n >= 3 && p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 ? 3 : 0;
	}
	if (c < 0xF5) {
		uint8_t lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
		return n >= 4 && p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 &&
		               (p[3] & 0xC0) == 0x80
		           ? 4
		           : 0;
	}
	return 0;
}

// put_json_string appends s as a quoted JSON string, escaping what JSON
// requires and replacing invalid UTF-8 with U+FFFD.
static int put_json_string(buf *b, const uint8_t *s, size_t n) {
	static const char hex[] = "0123456789abcdef";
	const uint8_t *p = s, *end = s + n;
	if (put(b, "\"", 1)) return NOMEM;
	while (p < end) {
		uint8_t c = *p;
		if (c >= 0x80) {
			size_t k = utf8_len(p, end);
			if (k == 0) {
				if (put_rune(b, 0xFFFD)) return NOMEM;
				p++;
			} else {
				if (put(b, p, k)) return NOMEM;
				p += k;
			}
			continue;
		}
		const char *esc = NULL;
		char u[6];
		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		}
		int st;
		if (esc) {
			st = put_str(b, esc);
		} else if (c < 0x20) {
			memcpy(u, "\\u00", 4);
			u[4] = hex[c >> 4];
			u[5] = hex[c & 0xF];
			st = put(b, u, 6);
		} else {
			st = put(b, p, 1);
		}
		if (st) return NOMEM;
		p++;
	}
	return put(b, "\"", 1);
}

// A reader over the inputs JSON.
typedef struct {
	const uint8_t *p, *end;
} cursor;

static void skip_ws(cursor *c) {
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static int hex4(cursor *c, uint32_t *v) {
	if (c->end - c->p < 4) return INVALID;
	uint32_t r = 0;
	for (int i = 0; i < 4; i++) {
		uint8_t h = c->p[i];
		r <<= 4;
		if (h >= '0' && h <= '9') r |= h - '0';
		else if (h >= 'a' && h <= 'f') r |= h - 'a' + 10;
		else if (h >= 'A' && h <= 'F') r |= h - 'A' + 10;
		else return INVALID;
	}
	c->p += 4;
	*v = r;
	return OK;
}

// read_string reads the JSON string at c (its opening quote included) and
// decodes it into out, or only checks it when out is NULL.
static int read_string(cursor *c, buf *out) {
	if (c->p >= c->end || *c->p != '"') return INVALID;
	c->p++;
	if (out) out->len = 0;
	for (;;) {
		if (c->p >= c->end) return INVALID;
		uint8_t ch = *c->p;
		if (ch == '"') {
			c->p++;
			return OK;
		}
		if (ch < 0x20) return INVALID;
		if (ch >= 0x80) {
			size_t k = utf8_len(c->p, c->end);
			int st = OK;
			if (out) st = k ? put(out, c->p, k) : put_rune(out, 0xFFFD);
			if (st) return st;
			c->p += k ? k : 1;
			continue;
		}
		if (ch != '\\') {
			if (out && put(out, &ch, 1)) return NOMEM;
			c->p++;
			continue;
		}
		c->p++;
		if (c->p >= c->end) return INVALID;
		uint32_t r;
		switch (*c->p++) {
		case '"': r = '"'; break;
		case '\\': r = '\\'; break;
		case '/': r = '/'; break;
		case 'b': r = '\b'; break;
		case 'f': r = '\f'; break;
		case 'n': r = '\n'; break;
		case 'r': r = '\r'; break;
		case 't': r = '\t'; break;
		case 'u':
			if (hex4(c, &r)) return INVALID;
			if (r >= 0xD800 && r < 0xDC00 && c->end - c->p >= 6 && c->p[0] == '\\' &&
			    c->p[1] == 'u') {
				// A high surrogate pairs only with a low one that follows
				// at once; otherwise it stands alone and becomes U+FFFD
				// while the next escape is read on its own.
				cursor look = {c->p + 2, c->end};
				uint32_t lo;
				if (hex4(&look, &lo) == OK && lo >= 0xDC00 && lo < 0xE000) {
					r = 0x10000 + ((r - 0xD800) << 10) + (lo - 0xDC00);
					c->p = look.p;
				}
			}
			if (r >= 0xD800 && r < 0xE000) r = 0xFFFD;
			break;
		default:
			return INVALID;
		}
		if (out && put_rune(out, r)) return NOMEM;
	}
}

static int skip_number(cursor *c) {
	const uint8_t *p = c->p, *end = c->end;
	if (p < end && *p == '-') p++;
	if (p >= end) return INVALID;
	if (*p == '0') {
		p++;
	} else if (*p >= '1' && *p <= '9') {
		while (p < end && *p >= '0' && *p <= '9') p++;
	} else {
		return INVALID;
	}
	if (p < end && *p == '.') {
		p++;
		if (p >= end || *p < '0' || *p > '9') return INVALID;
		while (p < end && *p >= '0' && *p <= '9') p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-')) p++;
		if (p >= end || *p < '0' || *p > '9') return INVALID;
		while (p < end && *p >= '0' && *p <= '9') p++;
	}
	c->p = p;
	return OK;
}

static int skip_literal(cursor *c, const char *lit) {
	size_t n = strlen(lit);
	if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0) return INVALID;
	c->p += n;
	return OK;
}

static int skip_value(cursor *c, int depth);

// read_object reads the JSON object at c. At the top level (want_text) it
// decodes the last "text" member into text and sets *found; a "text" that is
// not a string is invalid. Nested objects are only checked.
static int read_object(cursor *c, int depth, int want_text, int *found) {
	if (depth > MAX_DEPTH) return INVALID;
	c->p++; // '{'
	skip_ws(c);
	if (c->p < c->end && *c->p == '}') {
		c->p++;
		return OK;
	}
	for (;;) {
		skip_ws(c);
		int st = read_string(c, want_text ? &scratch : NULL);
		if (st) return st;
		skip_ws(c);
		if (c->p >= c->end || *c->p != ':') return INVALID;
		c->p++;
		skip_ws(c);
		if (want_text && scratch.len == 4 && memcmp(scratch.data, "text", 4) == 0) {
			st = read_string(c, &text);
			if (st == OK) *found = 1;
		} else {
			st = skip_value(c, depth + 1);
		}
		if (st) return st;
		skip_ws(c);
		if (c->p >= c->end) return INVALID;
		if (*c->p == '}') {
			c->p++;
			return OK;
		}
		if (*c->p != ',') return INVALID;
		c->p++;
	}
}

static int skip_array(cursor *c, int depth) {
	if (depth > MAX_DEPTH) return INVALID;
	c->p++; // '['
	skip_ws(c);
	if (c->p < c->end && *c->p == ']') {
		c->p++;
		return OK;
	}
	for (;;) {
		int st = skip_value(c, depth + 1);
		if (st) return st;
		skip_ws(c);
		if (c->p >= c->end) return INVALID;
		if (*c->p == ']') {
			c->p++;
			return OK;
		}
		if (*c->p != ',') return INVALID;
		c->p++;
		skip_ws(c);
	}
}

static int skip_value(cursor *c, int depth) {
	skip_ws(c);
	if (c->p >= c->end) return INVALID;
	switch (*c->p) {
	case '{': return read_object(c, depth, 0, NULL);
	case '[': return skip_array(c, depth);
	case '"': return read_string(c, NULL);
	case 't': return skip_literal(c, "true");
	case 'f': return skip_literal(c, "false");
	case 'n': return skip_literal(c, "null");
	default: return skip_number(c);
	}
}

// read_text decodes the "text" field of the inputs object into text.
static int read_text(const uint8_t *in, size_t n, const char **why) {
	cursor c = {in, in + n};
	int found = 0;
	skip_ws(&c);
	if (c.p >= c.end || *c.p != '{') {
		*why = "inputs are not a JSON object";
		return INVALID;
	}
	int st = read_object(&c, 0, 1, &found);
	if (st == OK) {
		skip_ws(&c);
		if (c.p != c.end) st = INVALID;
	}
	if (st == INVALID) *why = "inputs are not a valid JSON object with a string \"text\"";
	if (st == OK && !found) {
		*why = "missing input \"text\"";
		st = INVALID;
	}
	return st;
}

static uint64_t result(const buf *b) {
	return (uint64_t)(uintptr_t)b->data << 32 | (uint64_t)b->len;
}

// fail reports the call's error and returns the 0 that weir_invoke returns
// with it. The message is JSON-escaped; detail, when given, is quoted after it.
static uint64_t fail(const char *kind, const char *msg, const uint8_t *detail, size_t n) {
	outbuf.len = 0;
	int st = put_str(&outbuf, "{\"kind\":\"");
	if (!st) st = put_str(&outbuf, kind);
	if (!st) st = put_str(&outbuf, "\",\"message\":");
	if (!st && detail) {
		// "msg \"detail\"" built in scratch, then escaped as one string.
		scratch.len = 0;
		st = put_str(&scratch, msg);
		if (!st) st = put(&scratch, " \"", 2);
		if (!st) st = put(&scratch, detail, n);
		if (!st) st = put(&scratch, "\"", 1);
		if (!st) st = put_json_string(&outbuf, scratch.data, scratch.len);
	} else if (!st) {
		st = put_json_string(&outbuf, (const uint8_t *)msg, strlen(msg));
	}
	if (!st) st = put(&outbuf, "}", 1);
	if (st) {
		static const char oom[] = "{\"kind\":\"limit\",\"message\":\"out of memory\"}";
		weir_error((const uint8_t *)oom, sizeof oom - 1);
		return 0;
	}
	weir_error(outbuf.data, (uint32_t)outbuf.len);
	return 0;
}

static uint64_t fail_status(int st, const char *why) {
	if (st == NOMEM) return fail("limit", "out of memory", NULL, 0);
	return fail("invalid_input", why, NULL, 0);
}

static uint64_t tool_reverse(void) {
	scratch.len = 0;
	if (reserve(&scratch, text.len)) return fail_status(NOMEM, NULL);
	// text is valid UTF-8: walk back to each code point's lead byte.
	size_t end = text.len;
	while (end > 0) {
		size_t start = end - 1;
		while (start > 0 && (text.data[start] & 0xC0) == 0x80) start--;
		memcpy(scratch.data + scratch.len, text.data + start, end - start);
		scratch.len += end - start;
		end = start;
	}
	outbuf.len = 0;
	int st = put_str(&outbuf, "{\"text\":");
	if (!st) st = put_json_string(&outbuf, scratch.data, scratch.len);
	if (!st) st = put(&outbuf, "}", 1);
	if (st) return fail_status(st, NULL);
	return result(&outbuf);
}

static uint64_t tool_length(void) {
	uint64_t runes = 0;
	for (size_t i = 0; i < text.len; i++)
		if ((text.data[i] & 0xC0) != 0x80) runes++;
	outbuf.len = 0;
	int st = put_str(&outbuf, "{\"bytes\":");
	if (!st) st = put_uint(&outbuf, text.len);
	if (!st) st = put_str(&outbuf, ",\"runes\":");
	if (!st) st = put_uint(&outbuf, runes);
	if (!st) st = put(&outbuf, "}", 1);
	if (st) return fail_status(st, NULL);
	return result(&outbuf);
}

#define TEXT_SCHEMA \
	"{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"}},\"required\":[\"text\"]}"

static const char contract[] =
    "{\"abi\":\"weir-abi-1\",\"tools\":["
    "{\"name\":\"reverse\","
    "\"description\":\"Reverses text by Unicode code points.\","
    "\"inputs\":" TEXT_SCHEMA ","
    "\"outputs\":" TEXT_SCHEMA "},"
    "{\"name\":\"length\","
    "\"description\":\"Counts the UTF-8 bytes and the Unicode code points of text.\","
    "\"inputs\":" TEXT_SCHEMA ","
    "\"outputs\":{\"type\":\"object\",\"properties\":{"
    "\"bytes\":{\"type\":\"integer\",\"minimum\":0},"
    "\"runes\":{\"type\":\"integer\",\"minimum\":0}},"
    "\"required\":[\"bytes\",\"runes\"]}}"
    "]}";

// weir_alloc returns a buffer of at least n bytes, reused between calls. The
// host cannot be told of a failure here, so running out of memory traps.
WEIR_EXPORT("weir_alloc") uint8_t *weir_alloc(uint32_t n) {
	inbuf.len = 0;
	if (reserve(&inbuf, n ? n : 1)) __builtin_trap();
	return inbuf.data;
}

WEIR_EXPORT("weir_describe") uint64_t weir_describe(void) {
	return (uint64_t)(uintptr_t)contract << 32 | (uint64_t)(sizeof contract - 1);
}

WEIR_EXPORT("weir_invoke")
uint64_t weir_invoke(const uint8_t *tool, uint32_t tool_len, const uint8_t *in, uint32_t in_len) {
	uint64_t (*run)(void);
	if (tool_len == 7 && memcmp(tool, "reverse", 7) == 0) run = tool_reverse;
	else if (tool_len == 6 && memcmp(tool, "length", 6) == 0) run = tool_length;
	else return fail("invalid_input", "unknown tool", tool, tool_len);
	const char *why = NULL;
	int st = read_text(in, in_len, &why);
	if (st) return fail_status(st, why);
	return run();
}
