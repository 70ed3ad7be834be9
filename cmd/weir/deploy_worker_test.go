package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/weirflow/weir/internal/hoststest"
)

// TestDeployWorkerKubernetesDryRun prints the worker Deployment, its NATS
// credentials from this machine's environment as a Secret of keys only.
func TestDeployWorkerKubernetesDryRun(t *testing.T) {
	t.Parallel()
	bin, root := weirBinary(t)
	r := runBinaryEnv(t, bin, root, "", []string{"NATS_USER=weir", "NATS_PASSWORD=pw-cli-planted", "NATS_TOKEN=", "NATS_CREDS=", "NATS_NKEY="},
		"deploy", "--home", t.TempDir(), "--host", "kubernetes", "--worker", "--pool", "p", "--nats", "nats://nats:4222",
		"--replicas", "3", "--concurrency", "8", "--labels", "zone=a", "--dry-run", "-o", "yaml")
	require.Equal(t, 0, r.code, r.stderr)
	assert.NotContains(t, r.stdout, "pw-cli-planted")
	assert.Regexp(t, `^apiVersion: v1\nkind: Secret\nmetadata:\n(.*\n)*  name: worker-p\n(.*\n)*stringData:\n  NATS_PASSWORD: ""\n  NATS_USER: ""\ntype: Opaque\n---\napiVersion: apps/v1\nkind: Deployment\n`, r.stdout)
	assert.Contains(t, r.stdout, "\n  replicas: 3\n")
	assert.Contains(t, r.stdout, `
      - args:
        - worker
        - --pool
        - p
        - --nats
        - nats://nats:4222
        - --concurrency
        - "8"
        - --labels
        - zone=a
        - --health-addr
        - :8080
`)
	assert.Regexp(t, `\n        image: registry\.invalid/weir/worker-p@sha256:[0-9a-f]{64}\n`, r.stdout)
	assert.Contains(t, r.stdout, "            path: /readyz\n")
	assert.NotContains(t, r.stdout, "kind: Service")
	assert.Equal(t, "the Secret worker-p holds the keys of the NATS credentials with empty values, never theirs: fill them in before applying\n"+
		"the manifests name the placeholder image registry.invalid/weir/worker-p, as no --image was given; to deploy, give --image REGISTRY/REPOSITORY[:TAG], a registry the cluster pulls from\n", r.stderr)
}

func TestDeployWorkerErrors(t *testing.T) {
	home := t.TempDir()
	t.Setenv("NATS_URL", "")
	runCases(t, []commandCase{
		{
			name:   "a flow",
			args:   []string{"deploy", "--home", home, "--host", "container", "--worker", "--pool", "p", hello},
			code:   2,
			stderr: "weir: deploy --worker takes no FLOW: a worker runs the flows the pool sends it\n" + usage("deploy"),
		},
		{
			name:   "a host without workers",
			args:   []string{"deploy", "--home", home, "--host", "local", "--worker", "--pool", "p"},
			code:   2,
			stderr: "weir: --pool is for --host container, vm or kubernetes, not local\n" + usage("deploy"),
		},
		{
			name:   "pool without --worker",
			args:   []string{"deploy", "--home", home, "--host", "container", "--pool", "p", hello},
			code:   2,
			stderr: "weir: --pool goes with --worker\n" + usage("deploy"),
		},
		{
			name:   "no pool",
			args:   []string{"deploy", "--home", home, "--host", "container", "--worker", "--nats", "nats://10.0.0.5:4222"},
			code:   2,
			stderr: "weir: a worker needs --pool NAME, the work pool it takes lines from\n" + usage("deploy"),
		},
		{
			name:   "no NATS server",
			args:   []string{"deploy", "--home", home, "--host", "container", "--worker", "--pool", "p"},
			code:   2,
			stderr: "weir: a worker needs --nats URL, the pool's NATS server as the worker reaches it\n" + usage("deploy"),
		},
		{
			name:   "credentials in the URL",
			args:   []string{"deploy", "--home", home, "--host", "vm", "--worker", "--pool", "p", "--nats", "nats://weir:secret@10.0.0.5:4222"},
			code:   2,
			stderr: "weir: --nats nats://weir:xxxxx@10.0.0.5:4222: credentials do not go in the URL, which ends up on a command line: set NATS_USER and NATS_PASSWORD, NATS_TOKEN or NATS_CREDS where you deploy\n" + usage("deploy"),
		},
		{
			name:   "bad label",
			args:   []string{"deploy", "--home", home, "--host", "vm", "--worker", "--pool", "p", "--nats", "nats://10.0.0.5:4222", "--labels", "zone"},
			code:   2,
			stderr: "weir: --labels \"zone\": use KEY=VALUE, with no spaces or quotes\n" + usage("deploy"),
		},
		{
			name:   "bad pool",
			args:   []string{"deploy", "--home", home, "--host", "vm", "--worker", "--pool", "p.q", "--nats", "nats://10.0.0.5:4222"},
			code:   2,
			stderr: "weir: pool name \"p.q\": use letters, digits, - and _\n" + usage("deploy"),
		},
	})
}

// A credentials file cannot travel: the deploy says what can.
func TestDeployWorkerCredsFile(t *testing.T) {
	t.Setenv("NATS_CREDS", "/somewhere/user.creds")
	r := weir(t, "", "deploy", "--home", t.TempDir(), "--host", "container", "--worker", "--pool", "p", "--nats", "nats://10.0.0.5:4222")
	assert.Equal(t, result{1, "", "weir: deploy: NATS_CREDS is set, but a worker deployment cannot take a credentials file along: deploy with NATS_USER and NATS_PASSWORD, or NATS_TOKEN, or put the file on the machine and run weir worker there\n"}, r)
}

// TestDeployWorkersBatch deploys workers as the README does, on the Docker
// engine and on the SSH server, of a pool that weir pool serve keeps on
// this machine's loopback, and runs weir batch --pool on each in turn:
// the container's worker takes every line of the first batch, and, once
// deleted (it drains), the VM's every line of the second.
func TestDeployWorkersBatch(t *testing.T) {
	t.Parallel()
	bin, root := weirBinary(t)
	if err := exec.Command("docker", "version").Run(); err != nil {
		hoststest.Need(t, "Docker engine", err)
	}
	target, key, knownHosts := os.Getenv("WEIR_TEST_SSH"), os.Getenv("WEIR_TEST_SSH_KEY"), os.Getenv("WEIR_TEST_SSH_KNOWN_HOSTS")
	if target == "" || key == "" || knownHosts == "" {
		hoststest.Need(t, "SSH server", errors.New(`WEIR_TEST_SSH, WEIR_TEST_SSH_KEY and WEIR_TEST_SSH_KNOWN_HOSTS are not set: eval "$(.ci/sshd)"`))
	}
	ns := startPoolServe(t, t.TempDir())
	r := weirNATS(t, nil, "pool", "create", "--nats", ns.url, "fleet")
	require.Equal(t, 0, r.code, r.stderr)
	home := t.TempDir()
	run := func(args ...string) result {
		return runBinaryEnv(t, bin, root, "", noNATSEnv, append(args[:1:1], append([]string{"--home", home}, args[1:]...)...)...)
	}
	batch := func(where string) {
		t.Helper()
		r := run("batch", "--nats", ns.url, "--pool", "fleet", "examples/hello/flow.cue", "--data", "examples/hello/data.jsonl")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Contains(t, r.stdout, "lines    10: 10 succeeded, 0 failed\n")
		require.Eventually(t, func() bool {
			for _, w := range statusOf(t, ns.url, "fleet").Workers {
				if w.Labels["where"] == where && w.Lines == 10 {
					return true
				}
			}
			return false
		}, 20*time.Second, 100*time.Millisecond, "the %s worker did not take the 10 lines", where)
	}

	r = run("deploy", "--host", "container", "--worker", "--pool", "fleet", "--nats", ns.url, "--labels", "where=docker", "--name", "fleet-docker")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "deployed a worker of pool \"fleet\" on container as \"fleet-docker\"\n", r.stderr)
	t.Cleanup(func() { run("deployments", "delete", "fleet-docker") })
	r = run("deployments", "list")
	assert.Regexp(t, `\nfleet-docker +container +worker of pool fleet +- +- +http://127\.0\.0\.1:\d+ `, r.stdout)
	batch("docker")
	r = run("deployments", "delete", "fleet-docker")
	assert.Equal(t, result{0, "deleted fleet-docker\n", ""}, r)

	r = run("deploy", "--host", "vm", "--worker", "--pool", "fleet", "--nats", ns.url, "--labels", "where=vm", "--name", "fleet-vm",
		"--ssh", target, "--identity", key, "--known-hosts", knownHosts, "--addr", freePort(t), "--dir", filepath.Join(t.TempDir(), "fleet-vm"))
	require.Equal(t, 0, r.code, r.stderr)
	t.Cleanup(func() { run("deployments", "delete", "fleet-vm") })
	batch("vm")
	for _, w := range statusOf(t, ns.url, "fleet").Workers {
		assert.Equal(t, "vm", w.Labels["where"], "the container's worker is still in the pool: it did not drain")
	}
	r = run("deployments", "delete", "fleet-vm")
	assert.Equal(t, result{0, "deleted fleet-vm\n", ""}, r)
}
