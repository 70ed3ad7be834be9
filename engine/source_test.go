package engine_test

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/engine"
)

// read collects what a source yields: "N:data" per record and "!error" per
// error.
func read(src engine.Source) []string {
	var got []string
	for rec, err := range src {
		if err != nil {
			got = append(got, "!"+err.Error())
			continue
		}
		text := ""
		if rec.Text {
			text = " text"
		}
		got = append(got, fmt.Sprintf("%d:%s%s", rec.Line, rec.Data, text))
	}
	return got
}

func TestJSONL(t *testing.T) {
	long := `{"a":"` + strings.Repeat("x", 100<<10) + `"}`
	data := "\xef\xbb\xbf{\"a\":1}\n\n  {\"a\":2}  \r\n{\"a\":\n[1]\n\"s\"\n" + long + "\n{\"a\":3}"
	assert.Equal(t, []string{
		`1:{"a":1}`,
		`3:{"a":2}`,
		`!line 4: invalid JSON at column 5: unexpected end of JSON input`,
		`!line 5: want a JSON object of columns, got an array`,
		`!line 6: want a JSON object of columns, got a string`,
		`7:` + long,
		`8:{"a":3}`,
	}, read(engine.JSONL(strings.NewReader(data))))

	assert.Empty(t, read(engine.JSONL(strings.NewReader(""))))
	assert.Empty(t, read(engine.JSONL(strings.NewReader("\n \n"))))

	// A read error stops the source, after the lines read before it.
	r := io.MultiReader(strings.NewReader("{\"a\":1}\n"), iotest.ErrReader(errors.New("disk on fire")))
	assert.Equal(t, []string{`1:{"a":1}`, `!read dataset: line 2: disk on fire`}, read(engine.JSONL(r)))
}

func TestJSONLRecordsAreCopies(t *testing.T) {
	var recs []engine.Record
	for rec, err := range engine.JSONL(strings.NewReader("{\"a\":1}\n{\"b\":2}\n")) {
		require.NoError(t, err)
		recs = append(recs, rec)
	}
	assert.Equal(t, `{"a":1}`, string(recs[0].Data))
	assert.Equal(t, `{"b":2}`, string(recs[1].Data))
}

func TestCSV(t *testing.T) {
	data := "\ufeffname,times,note\nAda,2,\"two\nlines\"\nBob,1\n\"Cy\"\"\",3,ok\nDi,x\"y,z\n"
	assert.Equal(t, []string{
		`2:{"name":"Ada","times":"2","note":"two\nlines"} text`,
		`!line 4: 2 cells, but the header has 3 columns`,
		`5:{"name":"Cy\"","times":"3","note":"ok"} text`,
		`!line 6: bare " in non-quoted-field`,
	}, read(engine.CSV(strings.NewReader(data))))

	cases := map[string][]string{
		"":                  nil,
		"a,b\n":             nil,
		"a,,b\n1,2,3\n":     {`!read dataset header: column 2 has no name`},
		"a,b,a\n1,2,3\n":    {`!read dataset header: column "a" appears twice (columns 1 and 3)`},
		"a,\"b\n1,2\n3,4\n": {`!read dataset header: record on line 1; parse error on line 3, column 5: extraneous or missing " in quoted-field`},
	}
	for in, want := range cases {
		assert.Equal(t, want, read(engine.CSV(strings.NewReader(in))), "%q", in)
	}
}

func TestRecords(t *testing.T) {
	type row struct {
		Q string `json:"q"`
	}
	src := engine.Records(slices.Values([]any{row{"a"}, map[string]int{"n": 1}, []byte(`{"raw":true}`), 7, func() {}}))
	assert.Equal(t, []string{
		`1:{"q":"a"}`,
		`2:{"n":1}`,
		`3:{"raw":true}`,
		`!line 4: want a JSON object of columns, got "7"`,
		`!line 5: json: unsupported type: func()`,
	}, read(src))
}
