package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/weirflow/weir/internal/jsonscan"
	"github.com/weirflow/weir/internal/ref"
	"github.com/weirflow/weir/internal/schemas"
)

// SecretSource is where a flow's secrets block says a secret's value comes
// from. Exactly one of Env and File is set.
type SecretSource struct {
	// Env names an environment variable.
	Env string
	// File is the path of a file holding the value, resolved against the
	// folder of the flow file that declares it.
	File string
}

// Secret is one secret a flow declares: its name and source, never its value.
type Secret struct {
	Name string
	SecretSource
}

// SecretResolver returns the value of the secret called name, which a
// flow says comes from src. Options.Secrets is one; ReadSecret is the
// default. It is called while a flow loads, from the loading goroutine.
type SecretResolver func(name string, src SecretSource) (string, error)

// MinSecretLen is the shortest value a secret may have. Redaction replaces
// a secret's value wherever it shows; a shorter one would match ordinary
// text ("a", "42") and garble every record rather than hide anything, so
// such a value is refused when the flow loads.
const MinSecretLen = 4

// SecretEnv is the environment variable a file secret's value is read from
// before its file: hosts pass file secrets to the machine they deploy to
// this way, since the file stays on the deploying machine. It is the
// name upper-cased, with "-" as "_": WEIR_SECRET_API_KEY for api-key.
func SecretEnv(name string) string {
	return "WEIR_SECRET_" + strings.ReplaceAll(strings.ToUpper(name), "-", "_")
}

// ReadSecret is the default SecretResolver: an env secret is its
// environment variable; a file secret is the variable SecretEnv(name) when
// it is set, else the file's content without one trailing newline.
func ReadSecret(name string, src SecretSource) (string, error) {
	if src.Env != "" {
		v, ok := os.LookupEnv(src.Env)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", src.Env)
		}
		return v, nil
	}
	if v, ok := os.LookupEnv(SecretEnv(name)); ok {
		return v, nil
	}
	b, err := os.ReadFile(src.File)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", fmt.Errorf("read %s: %w", src.File, err)
	}
	v := string(b)
	if rest, cut := strings.CutSuffix(v, "\n"); cut {
		v = strings.TrimSuffix(rest, "\r")
	}
	return v, nil
}

// PlaceholderSecrets is a SecretResolver that reads nothing: every secret
// is "<secret NAME>". Programs that only check flows (weir validate, weir
// graph, weir bundle) use it, so that those need no secret values; a run
// of such a flow gets the placeholders.
func PlaceholderSecrets(name string, _ SecretSource) (string, error) {
	return "<secret " + name + ">", nil
}

// secrets resolves the secrets the flow declares, before any plugin opens,
// and gives the redactor their values.
func (c *compiler) secrets() {
	c.f.secrets = make(map[string]string, len(c.spec.Secrets))
	for _, s := range c.spec.Secrets {
		src := SecretSource{Env: s.Env, File: s.File}
		c.f.declared = append(c.f.declared, Secret{Name: s.Name, SecretSource: src})
		v, err := c.e.secretOf(s.Name, src)
		if err != nil {
			c.errs.Add(s.Pos, "secret %q: %v", s.Name, err)
			continue
		}
		c.f.secrets[s.Name] = v
	}
}

func (e *Engine) secretOf(name string, src SecretSource) (string, error) {
	v, err := e.resolve(name, src)
	if err != nil {
		return "", err
	}
	if len(v) < MinSecretLen {
		where := "its file"
		if src.Env != "" {
			where = "environment variable " + src.Env
		}
		return "", fmt.Errorf("%s holds %d bytes: a secret needs at least %d, or it could not be told apart from other text to hide it", where, len(v), MinSecretLen)
	}
	e.redactor.Add(v)
	return v, nil
}

// secretNames lists the declared secrets, for messages.
func (c *compiler) secretNames() []string {
	names := make([]string, len(c.spec.Secrets))
	for i, s := range c.spec.Secrets {
		names[i] = s.Name
	}
	return names
}

// secretSelector checks a reference to a secret, ${secrets.name}, and
// compiles it to the secret's value, a JSON string.
func (c *compiler) secretSelector(pos schemas.Pos, where string, r ref.Ref) *selector {
	text := refText(r)
	names := c.secretNames()
	if len(r.Steps) != 1 || r.Steps[0].IsIndex {
		c.errs.Add(pos, "%s: %s: name one secret, as in ${secrets.api_key}", where, text)
		return nil
	}
	name := r.Steps[0].Key
	if !slices.Contains(names, name) {
		hint := didYouMean(name, names)
		if len(names) == 0 {
			hint = `; declare it under secrets, as in secrets: ` + name + `: {env: "API_KEY"}`
		}
		c.errs.Add(pos, "%s: %s: the flow has no secret %q (secrets: %s)%s", where, text, name, listOf(names), hint)
		return nil
	}
	// A secret that did not resolve is reported at its declaration.
	return &selector{node: secretsNode, val: jsonscan.AppendString(nil, c.f.secrets[name]), text: text}
}

// pluginSecrets puts the values of the secrets that the config and env of
// plugin entry p reference into its options, before it opens. Those are
// the only references a plugin entry can hold.
func (c *compiler) pluginSecrets(p *schemas.Plugin) bool {
	ok := true
	rewrite := map[string]map[string]string{}
	for _, kv := range []struct {
		key    string
		fields []schemas.Field
	}{{"config", p.Config}, {"env", p.Env}} {
		for _, f := range kv.fields {
			if f.Value.Kind != schemas.String {
				continue // #Flow says config and env hold strings
			}
			v, changed, good := c.pluginString(p.Spec.Name, kv.key, f)
			ok = ok && good
			if changed {
				if rewrite[kv.key] == nil {
					rewrite[kv.key] = map[string]string{}
				}
				rewrite[kv.key][f.Name] = v
			}
		}
	}
	if !ok || len(rewrite) == 0 {
		return ok
	}
	opts, err := replaceOptions(p.Spec.Options, rewrite)
	if err != nil {
		c.errs.Add(p.Pos, "plugin %q: %v", p.Spec.Name, err)
		return false
	}
	p.Spec.Options = opts
	return true
}

// pluginString resolves the references of one config or env value. changed
// says whether it differs from the text of the file.
func (c *compiler) pluginString(plugin, key string, f schemas.Field) (v string, changed, ok bool) {
	ok = true
	where := fmt.Sprintf("plugin %q: %s %q", plugin, key, f.Name)
	parsed, err := ref.Parse(f.Value.Text)
	if err != nil {
		se := err.(*ref.SyntaxError)
		c.errs.Add(f.Value.PosAt(se.Offset), "%s: %s", where, se.Msg)
		return "", false, false
	}
	var b strings.Builder
	for _, part := range parsed.Parts {
		if part.Ref == nil {
			b.WriteString(part.Text)
			continue
		}
		pos := f.Value.PosAt(part.Ref.Offset)
		if part.Ref.Root != "secrets" {
			c.errs.Add(pos, "%s: %s: a plugin entry can refer only to secrets, as ${secrets.name}", where, refText(*part.Ref))
			ok = false
			continue
		}
		if c.secretSelector(pos, where, *part.Ref) == nil {
			ok = false
			continue
		}
		v, read := c.f.secrets[part.Ref.Steps[0].Key]
		if !read {
			// Reported at the declaration: the plugin does not open
			// without the value.
			ok = false
			continue
		}
		b.WriteString(v)
	}
	return b.String(), b.String() != f.Value.Text, ok
}

// replaceOptions returns a plugin entry's options with the given values of
// its config and env objects replaced.
func replaceOptions(opts []byte, rewrite map[string]map[string]string) ([]byte, error) {
	var entry map[string]json.RawMessage
	if err := json.Unmarshal(opts, &entry); err != nil {
		return nil, err
	}
	for key, values := range rewrite {
		var m map[string]any
		if err := json.Unmarshal(entry[key], &m); err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		for k, v := range values {
			m[k] = v
		}
		b, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		entry[key] = b
	}
	return json.Marshal(entry)
}

// Secrets returns the secrets the flow and its sub-flows declare, by name,
// without their values: what a host must pass to the machine it deploys
// the flow to. A name two flows declare is listed once, as the first
// declares it.
func (f *Flow) Secrets() []Secret {
	var out []Secret
	seen := map[*Flow]bool{}
	var walk func(f *Flow)
	walk = func(f *Flow) {
		if seen[f] {
			return
		}
		seen[f] = true
		for _, s := range f.declared {
			if !slices.ContainsFunc(out, func(o Secret) bool { return o.Name == s.Name }) {
				out = append(out, s)
			}
		}
		for _, n := range f.nodes {
			if t, ok := n.tool.(*subflowTool); ok {
				walk(t.flow)
			}
		}
	}
	walk(f)
	slices.SortFunc(out, func(a, b Secret) int { return strings.Compare(a.Name, b.Name) })
	return out
}
