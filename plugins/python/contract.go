package python

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/weirflow/weir/internal/cachefile"
	"github.com/weirflow/weir/plugins"
)

// toolSpec is what the reader of contracts says about one tool: its
// contract, and what the runner needs to call it.
type toolSpec struct {
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Inputs      json.RawMessage   `json:"inputs"`
	Outputs     json.RawMessage   `json:"outputs"`
	File        string            `json:"file"`
	Line        int               `json:"line"`
	Wrap        bool              `json:"wrap"`
	Generator   bool              `json:"generator"`
	Connections map[string]string `json:"connections"`
}

func (s *toolSpec) contract() plugins.Contract {
	return plugins.Contract{Name: s.Name, Description: s.Description, Inputs: s.Inputs, Outputs: s.Outputs}
}

// returnsValue makes the tool's output its return value under "value",
// whatever the annotation says (python.returns: "value"), with the
// metrics it logs beside it.
func (s *toolSpec) returnsValue() {
	var out struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	_ = json.Unmarshal(s.Outputs, &out)
	s.Outputs = json.RawMessage(`{"type":"object","properties":{"value":{}},"required":["value"]}`)
	if _, logs := out.Properties["metrics"]; logs {
		s.Outputs = json.RawMessage(`{"type":"object","properties":{"value":{},"metrics":{"type":"object"}},"required":["value"]}`)
	}
	s.Wrap = true
}

// readContracts returns the tools of t, from the cache folder when it holds
// them for the same files, interpreter and weir module, else from
// _weir_contract.py run by interpreter (which parses the files with ast
// and imports none of them).
func (p *Provider) readContracts(ctx context.Context, interpreter string, t *tree) ([]toolSpec, error) {
	rt, err := p.runtime()
	if err != nil {
		return nil, err
	}
	// The files' names are in the key: two tool files with the same bytes
	// have one digest but not one contract, which names its file.
	key := sha256.Sum256([]byte(interpreter + "\x00" + runtimeDigest() + "\x00" + strings.Join(t.tools, "\x00")))
	cached := filepath.Join(p.dir, "contracts", fmt.Sprintf("%s-%x.json", t.digest, key[:8]))
	if raw, err := os.ReadFile(cached); err == nil {
		var specs []toolSpec
		if json.Unmarshal(raw, &specs) == nil {
			return specs, nil
		}
	}
	ctx, cancel := context.WithTimeout(ctx, p.opts.StartTimeout)
	defer cancel()
	args := append([]string{"-I", "-S", filepath.Join(rt, "_weir_contract.py"), t.shown}, t.tools...)
	cmd := exec.CommandContext(ctx, interpreter, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("read the tools' contracts: %w", ctx.Err())
		}
		return nil, fmt.Errorf("read the tools' contracts with %s: %w: %s", interpreter, err, bytes.TrimSpace(stderr.Bytes()))
	}
	var res struct {
		Tools []toolSpec `json:"tools"`
		Error string     `json:"error"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("read the tools' contracts with %s: %w", interpreter, err)
	}
	if res.Error != "" {
		return nil, errors.New(res.Error)
	}
	raw, _ := json.Marshal(res.Tools)
	cachefile.Keep(cached, raw)
	return res.Tools, nil
}
