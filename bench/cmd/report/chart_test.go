package main

import (
	"bytes"
	"encoding/xml"
	"io"
	"slices"
	"strings"
	"testing"
)

// svgTexts parses an SVG document and returns the contents of its text
// elements, in order; it fails the test if the document is not XML.
func svgTexts(t *testing.T, doc []byte) []string {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	var texts []string
	root := ""
	inText := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the SVG is not XML: %v\n%s", err, doc)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = tok.Name.Local
			}
			inText = tok.Name.Local == "text"
		case xml.CharData:
			if inText {
				texts = append(texts, strings.TrimSpace(string(tok)))
			}
		case xml.EndElement:
			inText = false
		}
	}
	if root != "svg" {
		t.Fatalf("the document's root is %q, not svg", root)
	}
	return texts
}

func wantTexts(t *testing.T, texts []string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !slices.Contains(texts, w) {
			t.Errorf("no text %q in the chart; its texts: %q", w, texts)
		}
	}
}

var testChart = chart{title: "Serving: requests per second", machine: "2 CPUs (AMD EPYC), linux/amd64, go1.26.8, 2026-12-03", x: "payload", y: "requests/s"}

func TestBars(t *testing.T) {
	var b bytes.Buffer
	err := bars(&b, testChart, []string{"64 B", "4096 B"}, []series{
		{name: "raw go-plugin gRPC call", y: []float64{480, 520}},
		{name: "weir go-plugin tool call", y: []float64{500, 560}},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantTexts(t, svgTexts(t, b.Bytes()), testChart.title, testChart.machine, "payload", "requests/s",
		"64 B", "4096 B", "raw go-plugin gRPC call", "weir go-plugin tool call")
}

// TestBarsOneSeries draws no legend: the y label says what the bars are.
func TestBarsOneSeries(t *testing.T) {
	var b bytes.Buffer
	if err := bars(&b, testChart, []string{"weir serve", "prompt flow"}, []series{{name: "requests/s only", y: []float64{399, 166}}}); err != nil {
		t.Fatal(err)
	}
	texts := svgTexts(t, b.Bytes())
	wantTexts(t, texts, "weir serve", "prompt flow")
	if slices.Contains(texts, "requests/s only") {
		t.Errorf("a chart of one series has a legend: %q", texts)
	}
}

func TestBarsMismatch(t *testing.T) {
	err := bars(io.Discard, testChart, []string{"a", "b"}, []series{{name: "s", y: []float64{1}}})
	if err == nil || err.Error() != `draw "Serving: requests per second": series "s" has 1 values for 2 groups` {
		t.Errorf("error %v", err)
	}
}

func TestLines(t *testing.T) {
	for _, logs := range []bool{false, true} {
		var b bytes.Buffer
		c := chart{title: "Wasm call cost by payload size", machine: testChart.machine, x: "payload (bytes)", y: "time per call (µs)"}
		err := lines(&b, c, []series{
			{name: "raw wazero", x: []float64{64, 1024, 4096}, y: []float64{0.34, 0.8, 1.25}},
			{name: "Extism Go SDK", x: []float64{64, 1024, 4096}, y: []float64{22.6, 60, 140}},
		}, logs, logs)
		if err != nil {
			t.Fatal(err)
		}
		wantTexts(t, svgTexts(t, b.Bytes()), c.title, c.machine, c.x, c.y, "raw wazero", "Extism Go SDK", "64", "1024", "4096")
	}
}

func TestLogTicks(t *testing.T) {
	var got []string
	for _, tick := range (logTicks{}).Ticks(0.3, 140) {
		got = append(got, tick.Label)
	}
	if want := []string{"0.5", "1", "2", "5", "10", "20", "50", "100"}; !slices.Equal(got, want) {
		t.Errorf("ticks from 0.3 to 140: %q, want %q", got, want)
	}
	got = got[:0]
	for _, tick := range (logTicks{}).Ticks(900, 1.1e6) {
		got = append(got, tick.Label)
	}
	if want := []string{"1000", "2000", "5000", "10000", "20000", "50000", "100000", "200000", "500000", "1000000"}; !slices.Equal(got, want) {
		t.Errorf("ticks from 900 to 1.1e6: %q, want %q", got, want)
	}
}

func TestLinesMismatch(t *testing.T) {
	err := lines(io.Discard, testChart, []series{{name: "s", x: []float64{1, 2}, y: []float64{1}}}, false, false)
	if err == nil || err.Error() != `draw "Serving: requests per second": series "s" has 2 x and 1 y values` {
		t.Errorf("error %v", err)
	}
}
