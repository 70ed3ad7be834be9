package weir_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/internal/hoststest"
)

// notRun starts the first line of a README block that TestREADME leaves
// out, and says why after it.
const notRun = "# not run by the README test:"

// shellBlock is one ```sh block of the README.
type shellBlock struct {
	line  int // of its first command, from 1
	lines []string
}

// shellBlocks returns the ```sh blocks of a Markdown text, in order, and
// the reasons given by those that start with notRun.
func shellBlocks(text string) (run []shellBlock, skipped []string, err error) {
	var cur *shellBlock
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && strings.TrimSpace(line) == "```sh":
			cur = &shellBlock{line: n + 1}
		case cur != nil && strings.TrimSpace(line) == "```":
			if len(cur.lines) > 0 && strings.HasPrefix(cur.lines[0], notRun) {
				skipped = append(skipped, strings.TrimSpace(strings.TrimPrefix(cur.lines[0], notRun)))
			} else {
				run = append(run, *cur)
			}
			cur = nil
		case cur != nil:
			cur.lines = append(cur.lines, line)
		}
	}
	if cur != nil {
		return nil, nil, fmt.Errorf("README.md:%d: a ```sh block without its end", cur.line-1)
	}
	return run, skipped, sc.Err()
}

// script makes one bash script of blocks whose line n is the README's line
// n, so that an error names the README's line.
func script(blocks []shellBlock) string {
	var lines []string
	for _, b := range blocks {
		for len(lines) < b.line-1 {
			lines = append(lines, "")
		}
		lines = append(lines, b.lines...)
	}
	// The README's first line is its title, never a command.
	lines[0] = `set -eo pipefail; trap 'echo "README.md:$LINENO: exit status $?" >&2' ERR`
	return strings.Join(lines, "\n") + "\n"
}

func TestShellBlocks(t *testing.T) {
	run, skipped, err := shellBlocks("# t\n```sh\na\nb\n```\ntext\n```go\nno\n```\n  ```sh\n" + notRun + " needs a cluster\nc\n```\n```sh\nd\n```\n")
	require.NoError(t, err)
	assert.Equal(t, []shellBlock{{line: 3, lines: []string{"a", "b"}}, {line: 15, lines: []string{"d"}}}, run)
	assert.Equal(t, []string{"needs a cluster"}, skipped)
	assert.Equal(t, "set -eo pipefail; trap 'echo \"README.md:$LINENO: exit status $?\" >&2' ERR\n\na\nb\n"+strings.Repeat("\n", 10)+"d\n", script(run))

	_, _, err = shellBlocks("x\n```sh\na\n")
	assert.EqualError(t, err, "README.md:2: a ```sh block without its end")
}

// TestREADME runs the README's shell blocks in order, as written, in a copy
// of the repository (its git files, nothing built), as a newcomer would on
// a fresh machine: make demo, then the commands that use bin/weir. A block
// that cannot run here starts with notRun and says why. It needs a Docker
// engine (the container host), curl, jq, ssh-keygen and make, and the port
// 8080 that weir serve listens on by default.
func TestREADME(t *testing.T) {
	if testing.Short() {
		t.Skip("builds weir and deploys it; skipped under -short")
	}
	root := hoststest.Root(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	blocks, skipped, err := shellBlocks(string(readme))
	require.NoError(t, err)
	require.NotEmpty(t, blocks)
	for _, why := range skipped {
		t.Logf("a block not run: %s", why)
	}
	hoststest.Need(t, "Docker engine", dockerPing())
	for _, tool := range []string{"bash", "make", "curl", "jq", "ssh-keygen", "git"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("WEIR_REQUIRE_TOOLS") != "" {
				t.Fatalf("%s is required (WEIR_REQUIRE_TOOLS is set): %v", tool, err)
			}
			t.Skipf("SKIP LOUDLY: no %s, which the README's commands use: %v", tool, err)
		}
	}

	dir := filepath.Join(t.TempDir(), "weir")
	copyCheckout(t, root, dir)
	home := t.TempDir()
	env := []string{"HOME=" + home, "XDG_DATA_HOME=", "XDG_CACHE_HOME=", "XDG_CONFIG_HOME=", "WEIR_HOME=", "WEIR_CACHE_DIR=", "GOWORK=off"}
	// Go's own folders stay where they are, warm, whatever HOME says.
	for _, v := range []string{"GOPATH", "GOMODCACHE", "GOCACHE", "GOENV"} {
		out, err := exec.Command("go", "env", v).Output()
		require.NoError(t, err)
		env = append(env, v+"="+strings.TrimSpace(string(out)))
	}

	sh := filepath.Join(t.TempDir(), "readme.sh")
	require.NoError(t, os.WriteFile(sh, []byte(script(blocks)), 0o644))
	cmd := exec.Command("bash", sh)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	// Its own process group, so that what it leaves running (weir serve
	// &) is stopped with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		// Deployments outlive their deploy: delete any the README left,
		// as a failed run may.
		weir := func(args ...string) string {
			c := exec.Command(filepath.Join(dir, "bin", "weir"), args...)
			c.Env = cmd.Env
			out, _ := c.CombinedOutput()
			return string(out)
		}
		list := strings.Split(weir("deployments", "list"), "\n")
		if !strings.HasPrefix(list[0], "NAME") {
			return
		}
		for _, line := range list[1:] {
			if name, _, ok := strings.Cut(line, " "); ok {
				t.Logf("the README left the deployment %s: %s", name, weir("deployments", "delete", name))
			}
		}
	})
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(10 * time.Minute):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		err = <-done
	}
	require.NoError(t, err, "the README's commands, run in %s:\n%s", dir, out.String())
	t.Logf("the README's commands:\n%s", out.String())
}

// dockerPing asks the Docker engine at $DOCKER_HOST or the default socket
// whether it answers.
func dockerPing() error {
	host := os.Getenv("DOCKER_HOST")
	if host == "" {
		host = "unix:///var/run/docker.sock"
	}
	network, addr, ok := strings.Cut(host, "://")
	if !ok || (network != "unix" && network != "tcp") {
		return fmt.Errorf("DOCKER_HOST %q: want unix:// or tcp://", host)
	}
	client := &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}},
	}
	resp, err := client.Get("http://docker/_ping")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /_ping: %s", resp.Status)
	}
	return nil
}

// copyCheckout copies the files git knows in root (tracked, or new and
// not ignored) to dir: a fresh clone with the changes at hand, nothing
// built.
func copyCheckout(t *testing.T, root, dir string) {
	t.Helper()
	ls := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	ls.Dir = root
	list, err := ls.Output()
	if err != nil {
		t.Skipf("SKIP LOUDLY: %s is not a git checkout, whose files the README test copies: %v", root, err)
	}
	for _, name := range strings.Split(strings.TrimSuffix(string(list), "\x00"), "\x00") {
		src := filepath.Join(root, name)
		info, err := os.Lstat(src)
		if os.IsNotExist(err) {
			continue // deleted in the work tree
		}
		require.NoError(t, err)
		dst := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
		if info.Mode()&os.ModeSymlink != 0 {
			target, err := os.Readlink(src)
			require.NoError(t, err)
			require.NoError(t, os.Symlink(target, dst))
			continue
		}
		in, err := os.Open(src)
		require.NoError(t, err)
		outFile, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, info.Mode().Perm())
		require.NoError(t, err)
		_, err = io.Copy(outFile, in)
		in.Close()
		require.NoError(t, err)
		require.NoError(t, outFile.Close())
	}
}
