package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runBinary runs the built weir in dir and returns what it did.
func runBinary(t *testing.T, bin, dir string, args ...string) result {
	t.Helper()
	return runBinaryIn(t, bin, dir, "", args...)
}

// runBinaryIn is runBinary with stdin as the command's input.
func runBinaryIn(t *testing.T, bin, dir, stdin string, args ...string) result {
	t.Helper()
	// Tracing stays off whatever the environment of the test says.
	return runBinaryEnv(t, bin, dir, stdin, []string{"OTEL_TRACES_EXPORTER=none"}, args...)
}

// runBinaryEnv is runBinaryIn with env added to the test's environment.
func runBinaryEnv(t *testing.T, bin, dir, stdin string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return result{code, stdout.String(), stderr.String()}
}

// TestBinaryBatchHello is the batch of the README: the hello example over
// its dataset, then its record.
func TestBinaryBatchHello(t *testing.T) {
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
	t.Parallel()
	bin, root := weirBinary(t)
	home := t.TempDir()
	const lines = 600
	b := startSlowBatch(t, bin, root, home, lines, 4)
	// Kill it once some lines are on disk: the record is written as the
	// batch goes, about once a second.
	b.waitForRecord(t, home, lines)
	require.NoError(t, b.cmd.Process.Kill())
	_ = b.cmd.Wait()

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

// bgBatch is a weir batch running in the background.
type bgBatch struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
}

// startSlowBatch starts weir batch on a dataset of n lines that each take
// 20ms, so that it can be stopped midway.
func startSlowBatch(t *testing.T, bin, root, home string, n, concurrency int) *bgBatch {
	t.Helper()
	data := filepath.Join(t.TempDir(), "data.jsonl")
	var lines strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&lines, `{"name":"p%d","score":1,"wait":"20ms"}`+"\n", i)
	}
	require.NoError(t, os.WriteFile(data, []byte(lines.String()), 0o644))
	b := &bgBatch{cmd: exec.Command(bin, "batch", "--home", home, "--concurrency", strconv.Itoa(concurrency), "cmd/weir/testdata/scores.cue", "--data", data)}
	b.cmd.Dir = root
	b.cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none")
	b.cmd.Stdout, b.cmd.Stderr = &b.stdout, &b.stderr
	require.NoError(t, b.cmd.Start())
	return b
}

// waitForRecord waits until some, but not all, of the batch's n lines are
// in its record.
func (b *bgBatch) waitForRecord(t *testing.T, home string, n int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		done := recordedLines(t, home)
		if done > 0 && done < n {
			return
		}
		if done >= n || time.Now().After(deadline) {
			_ = b.cmd.Process.Kill()
			_ = b.cmd.Wait()
			t.Fatalf("%d of %d lines in the record: the batch could not be stopped midway; stderr:\n%s", done, n, &b.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
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
	t.Parallel()
	bin, root := weirBinary(t)
	home := t.TempDir()
	const lines = 400
	b := startSlowBatch(t, bin, root, home, lines, 2)
	b.waitForRecord(t, home, lines)
	require.NoError(t, b.cmd.Process.Signal(os.Interrupt))
	err := b.cmd.Wait()
	stdout, stderr := b.stdout.String(), b.stderr.String()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Equal(t, 1, exit.ExitCode())
	id := runIDPattern.FindString(stdout)
	assert.Contains(t, normalize(stdout, home), "run  RUN (canceled)\n")
	assert.Regexp(t, `weir: batch canceled after \d+ lines; finish it with weir batch cmd/weir/testdata/scores.cue --resume `+id+"\n$", stderr)

	r := runBinary(t, bin, root, "runs", "show", "--home", home, id)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, normalize(r.stdout, home), "status  canceled\n")
	assert.Contains(t, normalize(r.stdout, home), "error  interrupt signal received\n")

	r = runBinary(t, bin, root, "batch", "--home", home, "--concurrency", "8", "cmd/weir/testdata/scores.cue", "--resume", id)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, fmt.Sprintf(`metrics  {"mean":{"count":%d,`, lines))
}
