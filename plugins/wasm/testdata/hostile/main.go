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

// pair names two paths: for symlink, From is the link's target and To the
// link, as os.Symlink takes them.
type pair struct {
	From string `json:"from"`
	To   string `json:"to"`
}

type entries struct {
	Names []string `json:"names"`
}

type info struct {
	Size int64  `json:"size"`
	Mode string `json:"mode"`
}

type clock struct {
	Unix   int64  `json:"unix"`
	Random string `json:"random"`
}

// opens is what openmany reports.
type opens struct {
	Opened int    `json:"opened"`
	Error  string `json:"error"`
}

type many struct {
	Path string `json:"path"`
	N    int    `json:"n"`
}

var hoard [][]byte

// held keeps openmany's files reachable, so that no finalizer closes them.
var held []*os.File

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
	pdk.Tool("openmany", "Opens a file N times and never closes it.", func(in many) (opens, error) {
		var out opens
		for range in.N {
			f, err := os.Open(in.Path)
			if err != nil {
				out.Error = err.Error()
				break
			}
			held = append(held, f)
			out.Opened++
		}
		return out, nil
	})
	pdk.Tool("write", "Writes a file.", func(in path) (none, error) {
		return none{}, os.WriteFile(in.Path, []byte(in.Text), 0o644)
	})
	pdk.Tool("symlink", "Makes a symbolic link To pointing at From.", func(in pair) (none, error) {
		return none{}, os.Symlink(in.From, in.To)
	})
	pdk.Tool("link", "Makes a hard link To of From.", func(in pair) (none, error) {
		return none{}, os.Link(in.From, in.To)
	})
	pdk.Tool("rename", "Renames From to To.", func(in pair) (none, error) {
		return none{}, os.Rename(in.From, in.To)
	})
	pdk.Tool("readlink", "Reads a symbolic link's target.", func(in path) (text, error) {
		s, err := os.Readlink(in.Path)
		return text{Text: s}, err
	})
	pdk.Tool("mkdir", "Makes a folder.", func(in path) (none, error) {
		return none{}, os.Mkdir(in.Path, 0o755)
	})
	pdk.Tool("remove", "Removes a file or an empty folder.", func(in path) (none, error) {
		return none{}, os.Remove(in.Path)
	})
	pdk.Tool("list", "Lists a folder, a / after each folder's name.", func(in path) (entries, error) {
		des, err := os.ReadDir(in.Path)
		names := []string{}
		for _, de := range des {
			if de.IsDir() {
				names = append(names, de.Name()+"/")
			} else {
				names = append(names, de.Name())
			}
		}
		return entries{Names: names}, err
	})
	pdk.Tool("stat", "Describes what a path leads to.", func(in path) (info, error) {
		fi, err := os.Stat(in.Path)
		if err != nil {
			return info{}, err
		}
		return info{Size: fi.Size(), Mode: fi.Mode().String()}, nil
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
