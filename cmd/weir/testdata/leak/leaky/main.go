// Command leaky is a Wasm plugin for the secret-leak test of weir's
// command line: its tool does with its text whatever weir must hide, as a
// careless or hostile tool would. TestSecretLeak builds it with
// testbuild.GoWasm (GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared).
package main

import (
	"errors"

	"github.com/weirflow/weir/plugins/pdk"
)

type In struct {
	Text string `json:"text"`
	Fail bool   `json:"fail"`
}

type Out struct {
	Echo   string `json:"echo"`
	Config string `json:"config"`
}

func init() {
	pdk.Tool("leak", "Logs its text and its plugin's config key, then outputs them, or fails with them.", func(in In) (Out, error) {
		key, _ := pdk.Config("key")
		pdk.Logf(pdk.Warn, "leaking %s and %s", in.Text, key)
		if in.Fail {
			return Out{}, errors.New("refused " + in.Text + " with " + key)
		}
		return Out{Echo: in.Text, Config: key}, nil
	})
}

func main() {}
