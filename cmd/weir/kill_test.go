package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runBinary runs the built weir in dir and returns what it did.
func runBinary(t *testing.T, bin, dir string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if exit, ok := err.(*exec.ExitError); ok {
		code = exit.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return result{code, stdout.String(), stderr.String()}
}

// TestBinaryBatchHello is the batch of the README: the hello example over
// its dataset, then its record.
func TestBinaryBatchHello(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the weir binary; skipped under -short")
	}
	t.Parallel()
	bin, root := weirBinary(t)
	home := t.TempDir()
	r := runBinary(t, bin, root, "batch", "--home", home, "examples/hello/flow.cue", "--data", "examples/hello/data.jsonl", "--map", "name=${data.name}")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "batch RUN: 10 lines to run\n", normalize(r.stderr, home), "no terminal: no bar, and 10s pass before a progress line")
	assert.Contains(t, normalize(r.stdout, home), "lines  10: 10 succeeded, 0 failed\n")
	id := runIDPattern.FindString(r.stdout)
	r = runBinary(t, bin, root, "runs", "show", "--home", home, id)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, normalize(r.stdout, home), "status  completed\n")
	assert.Contains(t, normalize(r.stdout, home), "shout  4  0  6  0  Nms  Nms  Nms\n")
}

// TestBatchKillAndResume kills a batch with SIGKILL midway, as a crash or
// an out-of-memory killer would, then resumes it: every line of the
// dataset ends up done exactly once across the two runs.
func TestBatchKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the weir binary; skipped under -short")
	}
	t.Parallel()
	bin, root := weirBinary(t)
	home := t.TempDir()
	const lines = 600
	data := filepath.Join(t.TempDir(), "data.jsonl")
	var b strings.Builder
	for i := 1; i <= lines; i++ {
		fmt.Fprintf(&b, `{"name":"p%d","score":%d,"wait":"20ms"}`+"\n", i, i)
	}
	require.NoError(t, os.WriteFile(data, []byte(b.String()), 0o644))

	cmd := exec.Command(bin, "batch", "--home", home, "--concurrency", "4", "cmd/weir/testdata/scores.cue", "--data", data)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none")
	errFile, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	require.NoError(t, err)
	defer errFile.Close()
	cmd.Stderr = errFile
	require.NoError(t, cmd.Start())
	// Kill it once some lines are on disk: the record is written as the
	// batch goes, about once a second.
	deadline := time.Now().Add(time.Minute)
	for {
		n := recordedLines(t, home)
		if n > 0 && n < lines {
			break
		}
		require.Less(t, n, lines, "the batch finished before it could be killed")
		if time.Now().After(deadline) {
			msg, _ := os.ReadFile(errFile.Name())
			t.Fatalf("no line reached the record in a minute; stderr:\n%s", msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()

	var runs []struct {
		ID, Status, Error string
	}
	r := runBinary(t, bin, root, "runs", "list", "--home", home, "-o", "json")
	require.Equal(t, 0, r.code, r.stderr)
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &runs))
	require.Len(t, runs, 1)
	killed := runs[0]
	assert.Equal(t, "failed", killed.Status)
	assert.Equal(t, "interrupted: the batch stopped without finishing (killed?); resume it with weir batch --resume "+killed.ID, killed.Error)

	r = runBinary(t, bin, root, "batch", "--home", home, "--concurrency", "8", "cmd/weir/testdata/scores.cue", "--resume", killed.ID)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, fmt.Sprintf(`metrics  {"mean":{"count":%d,`, lines), "the metrics cover every line")

	seen := map[int]int{}
	for _, id := range []string{killed.ID, runIDPattern.FindString(r.stdout)} {
		r := runBinary(t, bin, root, "runs", "outputs", "--home", home, "-o", "jsonl", id)
		require.Equal(t, 0, r.code, r.stderr)
		for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			var o struct {
				Line   int
				Status string
			}
			require.NoError(t, json.Unmarshal([]byte(l), &o), l)
			require.Equal(t, "succeeded", o.Status, l)
			seen[o.Line]++
		}
	}
	for i := 1; i <= lines; i++ {
		assert.Equal(t, 1, seen[i], "line %d", i)
	}
	assert.Len(t, seen, lines)
}

// recordedLines counts the complete lines of the only run's outputs.jsonl.
func recordedLines(t *testing.T, home string) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(home, "runs", "*", "outputs.jsonl"))
	require.NoError(t, err)
	if len(files) == 0 {
		return 0
	}
	b, err := os.ReadFile(files[0])
	require.NoError(t, err)
	return bytes.Count(b, []byte("\n"))
}

// TestBatchInterrupt stops a batch with Ctrl-C (SIGINT): it ends cleanly,
// says how to finish, and its record resumes.
func TestBatchInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the weir binary; skipped under -short")
	}
	t.Parallel()
	bin, root := weirBinary(t)
	home := t.TempDir()
	const lines = 400
	data := filepath.Join(t.TempDir(), "data.jsonl")
	var b strings.Builder
	for i := 1; i <= lines; i++ {
		fmt.Fprintf(&b, `{"name":"p%d","score":1,"wait":"20ms"}`+"\n", i)
	}
	require.NoError(t, os.WriteFile(data, []byte(b.String()), 0o644))

	cmd := exec.Command(bin, "batch", "--home", home, "--concurrency", "2", "cmd/weir/testdata/scores.cue", "--data", data)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())
	deadline := time.Now().Add(time.Minute)
	for recordedLines(t, home) == 0 {
		require.True(t, time.Now().Before(deadline), "no line reached the record in a minute")
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	err := cmd.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "stdout:\n%s\nstderr:\n%s", &stdout, &stderr)
	assert.Equal(t, 1, exit.ExitCode())
	id := runIDPattern.FindString(stdout.String())
	assert.Contains(t, normalize(stdout.String(), home), "run  RUN (canceled)\n")
	assert.Regexp(t, `weir: batch canceled after \d+ lines; finish it with weir batch cmd/weir/testdata/scores.cue --resume `+id+"\n$", stderr.String())

	r := runBinary(t, bin, root, "runs", "show", "--home", home, id)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, normalize(r.stdout, home), "status  canceled\n")
	assert.Contains(t, normalize(r.stdout, home), "error  interrupt signal received\n")

	r = runBinary(t, bin, root, "batch", "--home", home, "--concurrency", "8", "cmd/weir/testdata/scores.cue", "--resume", id)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, fmt.Sprintf(`metrics  {"mean":{"count":%d,`, lines))
}
