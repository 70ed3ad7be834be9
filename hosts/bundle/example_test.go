package bundle_test

import (
	"bytes"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/weirflow/weir/hosts/bundle"
)

// A bundle is built from a flow file, read back (which checks every file
// against the manifest) and extracted where a host runs it.
func Example() {
	var buf bytes.Buffer
	if _, err := bundle.Build("testdata/builtin/flow.cue", &buf); err != nil {
		log.Fatal(err)
	}

	b, err := bundle.Read(buf.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	m := b.Manifest()
	fmt.Println("flow:", m.Flow, "entry:", m.Entry)
	for _, f := range m.Files {
		fmt.Println(f.Path, f.Size, f.SHA256[:12])
	}
	fmt.Println(m.Digest)

	dir, err := os.MkdirTemp("", "deploy-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	flowPath, err := b.Extract(filepath.Join(dir, m.Digest[len("sha256:"):]))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(filepath.Base(flowPath), "is ready to load")
	// Output:
	// flow: greet entry: flow.cue
	// flow.cue 323 47ebb99a495e
	// upper.cue 177 bc857844e850
	// sha256:bd2102679fa83e4bd52ce4ff93570dece6a7c9468410d36c4dda9583ce6ebf72
	// flow.cue is ready to load
}
