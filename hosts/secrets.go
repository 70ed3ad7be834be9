package hosts

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	"github.com/weirflow/weir/engine"
)

// ResolveSecrets reads the values of a flow's secrets on this machine, the
// deploying one, as engine.ReadSecret does, and returns them by the
// environment variable that weir serve reads each from where a host runs
// it: an env secret's own variable, and engine.SecretEnv(name) for a file
// secret, whose file stays on this machine. A secret that cannot be read
// is an error naming it and where it was looked for.
func ResolveSecrets(secrets []engine.Secret) (map[string]string, error) {
	if len(secrets) == 0 {
		return nil, nil
	}
	env := make(map[string]string, len(secrets))
	for _, s := range secrets {
		v, err := engine.ReadSecret(s.Name, s.SecretSource)
		if err != nil {
			return nil, fmt.Errorf("secret %q: %w", s.Name, err)
		}
		if len(v) < engine.MinSecretLen {
			return nil, fmt.Errorf("secret %q: %d bytes: a secret needs at least %d", s.Name, len(v), engine.MinSecretLen)
		}
		env[cmp.Or(s.Env, engine.SecretEnv(s.Name))] = v
	}
	return env, nil
}

// SecretKeys returns the environment variables ResolveSecrets would set,
// with empty values: for what is exported to a file (manifests, cloud-init,
// an image), which must name the secrets but never hold them.
func SecretKeys(secrets []engine.Secret) map[string]string {
	if len(secrets) == 0 {
		return nil
	}
	keys := make(map[string]string, len(secrets))
	for _, s := range secrets {
		keys[cmp.Or(s.Env, engine.SecretEnv(s.Name))] = ""
	}
	return keys
}

// SecretEnv returns secrets as KEY=VALUE entries sorted by key, for an
// environment.
func SecretEnv(secrets map[string]string) []string {
	out := make([]string, 0, len(secrets))
	for _, k := range slices.Sorted(maps.Keys(secrets)) {
		out = append(out, k+"="+secrets[k])
	}
	return out
}
