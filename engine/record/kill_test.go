package record_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/engine/record"
)

// helperEnv makes the test binary a batch process (helperBatch) writing to
// the record in the folder it names.
const helperEnv = "WEIR_RECORD_TEST_HELPER"

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		if err := helperBatch(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// helperBatch records a run "killed" as a batch would, up to the middle of
// an outputs line, says "ready", and waits to be killed (or for its stdin
// to close).
func helperBatch(dir string) error {
	s, err := record.Open(dir)
	if err != nil {
		return err
	}
	r, err := s.Create(record.Meta{ID: "killed", Flow: "hello", Data: "data.jsonl"})
	if err != nil {
		return err
	}
	for _, lr := range []engine.LineResult{ok(1, `{"n":1}`), bad(2), ok(3, `{"n":3}`)} {
		if err := r.Write(lr); err != nil {
			return err
		}
	}
	if err := r.Flush(); err != nil {
		return err
	}
	// Buffered, never written out.
	if err := r.Write(ok(5, "")); err != nil {
		return err
	}
	// As if killed while writing out line 4.
	f, err := os.OpenFile(filepath.Join(r.Dir(), "outputs.jsonl"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(`{"line":4,"status":"succeeded","dur`); err != nil {
		return err
	}
	fmt.Println("ready")
	_, err = io.Copy(io.Discard, os.Stdin)
	return err
}

// TestKilledRun kills a process in the middle of a batch: the record says
// the run was interrupted, keeps what it wrote, and resumes it.
func TestKilledRun(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err, "helper: %s", &stderr)
	require.Equal(t, "ready\n", line)

	s := openStore(t, dir)
	in, err := s.Get("killed")
	require.NoError(t, err)
	assert.Equal(t, engine.Running, in.Status, "the helper holds the lock")
	assert.Equal(t, [2]int{2, 1}, [2]int{in.Succeeded, in.Failed})
	require.EqualError(t, s.Delete("killed"), `delete run "killed": it is still running`)
	_, err = s.Completed("killed")
	require.EqualError(t, err, `resume run "killed": it is still running`)

	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	require.EqualError(t, cmd.Wait(), "signal: killed")

	const msg = "interrupted: the batch stopped without finishing (killed?); resume it with weir batch --resume killed"
	list, err := s.List()
	require.NoError(t, err)
	require.Len(t, list, 1)
	in = list[0]
	assert.Equal(t, engine.Failed, in.Status)
	assert.Equal(t, msg, in.Error)
	assert.Equal(t, [3]int{2, 1, 0}, [3]int{in.Succeeded, in.Failed, in.Carried})
	assert.False(t, in.Ended.Before(in.Created), "ended %v, created %v", in.Ended, in.Created)
	again, err := s.Get("killed")
	require.NoError(t, err)
	assert.Equal(t, in, again)
	assert.True(t, strings.HasSuffix(readFile(t, in.Dir, "log.txt"), "Z marked failed: "+msg+"\n"), readFile(t, in.Dir, "log.txt"))

	_, err = s.Metrics("killed")
	require.EqualError(t, err, `run "killed" has no metrics: it did not finish`)
	seq, err := s.Completed("killed")
	require.NoError(t, err)
	assert.Equal(t, []engine.LineResult{done(1, `{"n":1}`), done(3, `{"n":3}`)}, collect(t, seq))

	// Resume it: the torn line 4 and the lost line 5 run again.
	r, err := s.Create(record.Meta{ID: "resumed", ResumedFrom: "killed"})
	require.NoError(t, err)
	rerun := []engine.LineResult{ok(2, `{"n":2}`), ok(4, `{"n":4}`), ok(5, `{"n":5}`)}
	for _, lr := range rerun {
		require.NoError(t, r.Write(lr))
	}
	require.NoError(t, r.Finish(summary("resumed", rerun, 2), nil))
	seq, err = s.Completed("resumed")
	require.NoError(t, err)
	assert.Equal(t, []engine.LineResult{done(1, `{"n":1}`), done(2, `{"n":2}`), done(3, `{"n":3}`), done(4, `{"n":4}`), done(5, `{"n":5}`)}, collect(t, seq))

	require.NoError(t, s.Delete("resumed"))
	require.NoError(t, s.Delete("killed"))
}
