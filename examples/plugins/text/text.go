package main

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/pdk"
)

func init() {
	pdk.Tool("greet", "Greets someone by name.", greet)
	pdk.Tool("upper", "Upper-cases text.", upper)
	pdk.Tool("lower", "Lower-cases text.", lower)
	pdk.Tool("count", "Counts the words and characters of text.", count)
}

// GreetIn is the inputs of greet.
type GreetIn struct {
	Name string `json:"name" desc:"Who to greet."`
}

// GreetOut is the outputs of greet.
type GreetOut struct {
	Message string `json:"message"`
}

// Text is the inputs of upper, lower and count, and the outputs of upper and
// lower.
type Text struct {
	Text string `json:"text"`
}

// Counts is the outputs of count.
type Counts struct {
	Words int `json:"words" desc:"Runs of characters between white space."`
	Chars int `json:"chars" desc:"Unicode code points."`
}

func greet(in GreetIn) (GreetOut, error) {
	if in.Name == "" {
		return GreetOut{}, plugins.Errorf(plugins.InvalidInput, `input "name" is empty`)
	}
	return GreetOut{Message: "Hello, " + in.Name + "!"}, nil
}

func upper(in Text) (Text, error) { return Text{Text: strings.ToUpper(in.Text)}, nil }

func lower(in Text) (Text, error) { return Text{Text: strings.ToLower(in.Text)}, nil }

func count(in Text) (Counts, error) { return countText([]byte(in.Text)), nil }

// countText counts the words of s as strings.Fields splits them, and its
// code points as utf8.RuneCount does, without allocating.
func countText(s []byte) Counts {
	var c Counts
	inWord := false
	for i := 0; i < len(s); {
		var space bool
		if b := s[i]; b < utf8.RuneSelf {
			space = asciiSpace[b]
			i++
		} else {
			r, size := utf8.DecodeRune(s[i:])
			space = unicode.IsSpace(r)
			i += size
		}
		c.Chars++
		if space {
			inWord = false
		} else if !inWord {
			inWord = true
			c.Words++
		}
	}
	return c
}

// asciiSpace marks the ASCII bytes unicode.IsSpace reports.
var asciiSpace = [utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}
