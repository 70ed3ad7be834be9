// Command hostile is a Wasm plugin that misbehaves on request, for the
// runtime's sandbox and fault tests. Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o hostile.wasm .
package main

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"time"

	"github.com/weirflow/weir/plugins/pdk"
)

type value struct {
	Value any `json:"value"`
}

type path struct {
	Path string `json:"path"`
	Text string `json:"text,omitempty"`
}

type text struct {
	Text string `json:"text"`
}

type size struct {
	Bytes int `json:"bytes"`
}

type key struct {
	Key string `json:"key"`
}

type found struct {
	Value string `json:"value"`
	Found bool   `json:"found"`
}

type url struct {
	URL string `json:"url"`
}

type response struct {
	Status int    `json:"status"`
	Body   string `json:"body"`
}

type none struct{}

type clock struct {
	Unix   int64  `json:"unix"`
	Random string `json:"random"`
}

var hoard [][]byte

func init() {
	pdk.Tool("echo", "Returns its value.", func(in value) (value, error) { return in, nil })
	pdk.Tool("loop", "Never returns.", func(none) (none, error) {
		n := 0
		for {
			n++
		}
	})
	pdk.Tool("grow", "Allocates until memory runs out.", func(none) (none, error) {
		for {
			hoard = append(hoard, make([]byte, 1<<20))
		}
	})
	pdk.Tool("panic", "Panics.", func(in text) (none, error) { panic(in.Text) })
	pdk.Tool("read", "Reads a file.", func(in path) (text, error) {
		b, err := os.ReadFile(in.Path)
		return text{Text: string(b)}, err
	})
	pdk.Tool("write", "Writes a file.", func(in path) (none, error) {
		return none{}, os.WriteFile(in.Path, []byte(in.Text), 0o644)
	})
	pdk.Tool("big", "Returns a text of the given size.", func(in size) (text, error) {
		return text{Text: strings.Repeat("x", in.Bytes)}, nil
	})
	pdk.Tool("config", "Reads a config value.", func(in key) (found, error) {
		v, ok := pdk.Config(in.Key)
		return found{Value: v, Found: ok}, nil
	})
	pdk.Tool("env", "Reads an environment variable.", func(in key) (found, error) {
		v, ok := os.LookupEnv(in.Key)
		return found{Value: v, Found: ok}, nil
	})
	pdk.Tool("get", "Sends an HTTP GET.", func(in url) (response, error) {
		resp, err := pdk.HTTP(pdk.Request{URL: in.URL})
		if err != nil {
			return response{}, err
		}
		return response{Status: resp.Status, Body: resp.Body}, nil
	})
	pdk.Tool("log", "Logs its text.", func(in text) (none, error) {
		pdk.Log(pdk.Warn, in.Text)
		return none{}, nil
	})
	pdk.Tool("clock", "Reads the clock and the random source.", func(none) (clock, error) {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		return clock{Unix: time.Now().Unix(), Random: hex.EncodeToString(b)}, nil
	})
}

func main() {}
