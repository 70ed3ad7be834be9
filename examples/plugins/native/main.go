// Command native is a go-plugin tool plugin: weir starts it as a
// subprocess and calls its tools over gRPC. Build it and name it in a flow:
//
//	go build -o native ./examples/plugins/native
//
//	plugins: native: goplugin: "native"
//
// Its tool hash digests text natively with crypto/sha256 and crypto/sha512,
// the kind of work that is slower in Wasm and, with cgo or a native
// library, impossible there.
package main

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"hash"

	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/goplugin"
)

// HashIn are the inputs of the hash tool.
type HashIn struct {
	Text      string `json:"text" desc:"The text to digest, as UTF-8."`
	Algorithm string `json:"algorithm,omitempty" desc:"sha256 (the default) or sha512."`
}

// HashOut are the outputs of the hash tool.
type HashOut struct {
	Algorithm string `json:"algorithm"`
	Hex       string `json:"hex" desc:"The digest in lower-case hex."`
}

func hashText(_ context.Context, in HashIn) (HashOut, error) {
	var h hash.Hash
	switch in.Algorithm {
	case "", "sha256":
		in.Algorithm, h = "sha256", sha256.New()
	case "sha512":
		h = sha512.New()
	default:
		return HashOut{}, plugins.Errorf(plugins.InvalidInput, "algorithm %q: want sha256 or sha512", in.Algorithm)
	}
	h.Write([]byte(in.Text))
	return HashOut{Algorithm: in.Algorithm, Hex: hex.EncodeToString(h.Sum(nil))}, nil
}

func main() {
	goplugin.Serve(plugins.Func("hash", "Digests text with SHA-256 or SHA-512.", hashText))
}
