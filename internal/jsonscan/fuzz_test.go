package jsonscan

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
)

// FuzzSelect checks that Select never panics and, on valid documents, agrees
// with encoding/json. sel drives the path: on valid documents it walks the
// decoded value, mostly to present fields and elements, sometimes off them;
// on other bytes it is read as steps directly.
func FuzzSelect(f *testing.F) {
	seeds := []struct{ doc, sel string }{
		{`{"a":{"b":[1,2]}}`, "\x00\x00\x00"},
		{` { "a" : { "b" : [ 1 , 2 ] } } `, "\x00\x00\x02"},
		{`{"s":"a\"}]{[\\","t":{"u":"]}\""},"a":3}`, "\x04"},
		{`{"\u0061":1,"\ud83d\ude00":[true,false,null],"é":{"":-1.5e3}}`, "\x02\x04\x06"},
		{`[[1,[2,3]],[4],"x",{"k":"v"}]`, "\x00\x02\x02\x03"},
		{`{"a":"s"}`, "\x00\x00"},
		{`{"a":1,"a":2}`, "\x00"},
		{`"str"`, "\x01"},
		{`[]`, "\x03"},
		{`{"a":[1 2 x],"b":"\q"}`, "\x01\x03"},
		{`{"a":`, "\x01"},
		{`{"a":"x\"}`, "\x01"},
		{`[1,`, "\x02"},
	}
	for _, s := range seeds {
		f.Add([]byte(s.doc), []byte(s.sel))
	}
	f.Fuzz(func(t *testing.T, doc, sel []byte) {
		if !json.Valid(doc) {
			path := stepsFrom(sel)
			got, err := Select(doc, path)
			if err == nil && !isSubslice(doc, got) {
				t.Fatalf("Select(%q, %v) = %q is not a slice of the document", doc, path, got)
			}
			var me *MissingError
			if err != nil && !errors.Is(err, ErrMalformed) && !errors.As(err, &me) {
				t.Fatalf("Select(%q, %v): untyped error %v", doc, path, err)
			}
			AppendText(nil, got)
			AppendText(nil, doc)
			return
		}
		v, err := decode(doc)
		if err != nil {
			t.Fatal(err)
		}
		path := walk(v, sel)
		if hasDuplicateKeys(doc) {
			// Select takes the first of two equal names, encoding/json the
			// last: only check that nothing breaks.
			if _, err := Select(doc, path); errors.Is(err, ErrMalformed) {
				t.Fatalf("Select(%q, %v): %v on a valid document", doc, path, err)
			}
			return
		}
		checkAgainstOracle(t, doc, path)
	})
}

// probeKeys are the keys tried where the fuzzer chooses one not taken from
// the document; they may or may not be present.
var probeKeys = []string{"a", "", "missing", "é", `a"b`, "😀", "\ufffd"}

// walk turns sel into a path through v: each byte picks a step, whose low bit
// chooses between a step that exists (when one does) and one that may not.
func walk(v any, sel []byte) []Step {
	var path []Step
	for _, b := range sel {
		if len(path) == 8 {
			break
		}
		n := int(b >> 1)
		switch x := v.(type) {
		case map[string]any:
			if b&1 == 0 && len(x) > 0 {
				keys := make([]string, 0, len(x))
				for k := range x {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				k := keys[n%len(keys)]
				path = append(path, Step{Key: k})
				v = x[k]
				continue
			}
			if b&2 == 0 {
				k := probeKeys[n%len(probeKeys)]
				path = append(path, Step{Key: k})
				v = x[k]
				continue
			}
			path = append(path, Step{Index: n % 3, IsIndex: true})
			return path
		case []any:
			if b&1 == 0 && len(x) > 0 {
				i := n % len(x)
				path = append(path, Step{Index: i, IsIndex: true})
				v = x[i]
				continue
			}
			if b&2 == 0 {
				path = append(path, Step{Index: len(x) + n%3 - 1, IsIndex: true})
				if i := path[len(path)-1].Index; i >= 0 && i < len(x) {
					v = x[i]
					continue
				}
				return path
			}
			path = append(path, Step{Key: probeKeys[n%len(probeKeys)]})
			return path
		default:
			return append(path, stepsFrom([]byte{b})...)
		}
	}
	return path
}

// stepsFrom reads sel as steps: even bytes are indexes, odd ones probe keys.
func stepsFrom(sel []byte) []Step {
	var path []Step
	for _, b := range sel {
		if b&1 == 0 {
			path = append(path, Step{Index: int(b>>1) % 4, IsIndex: true})
		} else {
			path = append(path, Step{Key: probeKeys[int(b>>1)%len(probeKeys)]})
		}
	}
	return path
}

// FuzzAppendString checks that AppendString writes what encoding/json writes,
// and that the result decodes back to s, each byte of invalid UTF-8 replaced
// by U+FFFD, through both encoding/json and AppendText.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", `a"b\c`, "\b\f\n\r\t\x00\x1f\x7f", "<&>", "café 😀", "a\xffb\xc3", "\u2028\u2029", "\ufffd", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := AppendString([]byte("x"), s)
		if got[0] != 'x' {
			t.Fatalf("AppendString overwrote dst")
		}
		got = got[1:]
		if want := encodeString(t, s); string(got) != want {
			t.Fatalf("AppendString(%q) = %s; encoding/json writes %s", s, got, want)
		}
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("AppendString(%q) = %s: %v", s, got, err)
		}
		if want := string([]rune(s)); back != want {
			t.Fatalf("AppendString(%q) = %s decodes to %q", s, got, back)
		}
		if text := AppendText(nil, got); string(text) != back {
			t.Fatalf("AppendText(AppendString(%q)) = %q; want %q", s, text, back)
		}
	})
}
