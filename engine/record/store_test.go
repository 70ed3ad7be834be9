package record_test

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/engine/record"
)

func TestDefaultDir(t *testing.T) {
	home := t.TempDir()
	native := filepath.Join(home, ".local", "share", "weir")
	if runtime.GOOS == "darwin" {
		native = filepath.Join(home, "Library", "Application Support", "weir")
	}
	tests := []struct {
		name, weirHome, xdg, want string
	}{
		{"WEIR_HOME first", "/srv/weir", "/data", "/srv/weir"},
		{"XDG_DATA_HOME", "", "/data", "/data/weir"},
		{"relative XDG_DATA_HOME ignored", "", "data", native},
		{"home", "", "", native},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("HOME", home)
			t.Setenv("WEIR_HOME", tt.weirHome)
			t.Setenv("XDG_DATA_HOME", tt.xdg)
			got, err := record.DefaultDir()
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestNewID(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))
	tests := []struct{ flow, prefix string }{
		{"hello", "hello-20260102-020405-"},
		{"my flow/v2.cue", "my_flow_v2_cue-20260102-020405-"},
		{"héllo", "h_llo-20260102-020405-"},
		{"", "run-20260102-020405-"},
		{strings.Repeat("x", 100), strings.Repeat("x", 64) + "-20260102-020405-"},
	}
	for _, tt := range tests {
		id := record.NewID(tt.flow, now)
		assert.Regexp(t, "^"+regexp.QuoteMeta(tt.prefix)+"[0-9a-f]{4}$", id, tt.flow)
	}
	seen := map[string]bool{}
	for range 8 {
		seen[record.NewID("hello", now)] = true
	}
	assert.Greater(t, len(seen), 1, "the suffix is random")
}

func TestCreateErrors(t *testing.T) {
	s := newStore(t)
	running, err := s.Create(record.Meta{ID: "running"})
	require.NoError(t, err)
	defer running.Finish(nil, nil)
	finished(t, s, "done", "")

	tests := []struct {
		meta record.Meta
		want string
		is   error
	}{
		{record.Meta{}, `create run "": a run needs an id`, nil},
		{record.Meta{ID: "a/b"}, `create run "a/b": an id may hold only ASCII letters, digits, '_' and '-'`, nil},
		{record.Meta{ID: ".."}, `create run "..": an id may hold only ASCII letters, digits, '_' and '-'`, nil},
		{record.Meta{ID: strings.Repeat("x", 129)}, `create run "` + strings.Repeat("x", 129) + `": the id is longer than 128 characters`, nil},
		{record.Meta{ID: "done"}, `create run "done": it exists already`, nil},
		{record.Meta{ID: "r2", ResumedFrom: "nope"}, `create run "r2": resume: no run "nope" in the record; see weir runs list`, record.ErrNotFound},
		{record.Meta{ID: "r3", ResumedFrom: "running"}, `create run "r3": resume run "running": it is still running`, record.ErrRunning},
		{record.Meta{ID: "r4", FlowFiles: []string{filepath.Join(t.TempDir(), "gone.cue")}}, "", nil},
	}
	for _, tt := range tests {
		_, err := s.Create(tt.meta)
		if tt.want == "" {
			require.ErrorIs(t, err, os.ErrNotExist)
			assert.True(t, strings.HasPrefix(err.Error(), `create run "r4": snapshot flow file `), err.Error())
		} else {
			require.EqualError(t, err, tt.want)
		}
		if tt.is != nil {
			assert.ErrorIs(t, err, tt.is)
		}
	}
	// Failed creations leave nothing behind.
	entries, err := os.ReadDir(filepath.Join(s.Dir(), "runs"))
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{"running", "done"}, names)
	list, err := s.List()
	require.NoError(t, err)
	assert.Len(t, list, 2)
}

func TestWriteErrors(t *testing.T) {
	s := newStore(t)
	r, err := s.Create(record.Meta{ID: "w"})
	require.NoError(t, err)
	require.NoError(t, r.Write(ok(1, "")))
	broken := ok(3, "")
	broken.Outputs = []byte("{\n\"a\": }")
	for lr, want := range map[*engine.LineResult]string{
		{Line: 0, Status: engine.Succeeded}:  "write line 0: line numbers start at 1",
		{Line: -2, Status: engine.Succeeded}: "write line -2: line numbers start at 1",
		{Line: 2, Status: engine.Bypassed}:   `write line 2: status "bypassed" is neither succeeded nor failed`,
		{Line: 1, Status: engine.Failed}:     "write line 1: it is written already",
		&broken:                              "write line 3: outputs: invalid character '}' looking for beginning of value",
	} {
		require.EqualError(t, r.Write(*lr), want)
	}
	require.NoError(t, r.Finish(summary("w", []engine.LineResult{ok(1, "")}, 0), nil))
	assert.Equal(t, `{"line":1,"status":"succeeded","duration_ms":1.5,"outputs":{"message":"hi n1"}}`+"\n", readFile(t, r.Dir(), "outputs.jsonl"),
		"refused lines leave no trace")
	assert.Equal(t, `{"line":1,"inputs":{"name":"n1"}}`+"\n", readFile(t, r.Dir(), "inputs.jsonl"))
}

func TestFinishFailures(t *testing.T) {
	tests := []struct {
		name    string
		sum     func(id string) *engine.BatchSummary
		err     error
		status  engine.Status
		message string
		metrics string // the error of Metrics, or "" when the run has some
	}{
		{
			name:    "never started",
			err:     errors.New(`map name=${data.who}: the dataset has no column "who"`),
			status:  engine.Failed,
			message: `map name=${data.who}: the dataset has no column "who"`,
			metrics: `run "%s" has no metrics: it did not finish`,
		},
		{
			name:    "never started, no error",
			status:  engine.Failed,
			message: "the batch never started",
			metrics: `run "%s" has no metrics: it did not finish`,
		},
		{
			name: "stopped by the engine",
			sum: func(id string) *engine.BatchSummary {
				sum := summary(id, []engine.LineResult{ok(1, "")}, 0)
				sum.Status, sum.Error = engine.Failed, "too many failed lines: stopped after 1"
				return sum
			},
			err:     engine.ErrTooManyFailures,
			status:  engine.Failed,
			message: "too many failed lines: stopped after 1",
		},
		{
			name: "canceled",
			sum: func(id string) *engine.BatchSummary {
				sum := summary(id, []engine.LineResult{ok(1, "")}, 0)
				sum.Status, sum.Error = engine.Canceled, "context canceled"
				return sum
			},
			status:  engine.Canceled,
			message: "context canceled",
		},
		{
			name:    "completed, but the caller stopped",
			sum:     func(id string) *engine.BatchSummary { return summary(id, []engine.LineResult{ok(1, "")}, 0) },
			err:     errors.New("write line 2: disk full"),
			status:  engine.Failed,
			message: "write line 2: disk full",
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			id := fmt.Sprintf("f%d", i)
			r, err := s.Create(record.Meta{ID: id})
			require.NoError(t, err)
			var sum *engine.BatchSummary
			if tt.sum != nil {
				sum = tt.sum(id)
				require.NoError(t, r.Write(ok(1, "")))
			}
			require.NoError(t, r.Finish(sum, tt.err))
			in, err := s.Get(id)
			require.NoError(t, err)
			assert.Equal(t, tt.status, in.Status)
			assert.Equal(t, tt.message, in.Error)
			assert.False(t, in.Ended.IsZero())
			m, err := s.Metrics(id)
			if tt.metrics != "" {
				require.EqualError(t, err, fmt.Sprintf(tt.metrics, id))
				assert.ErrorIs(t, err, record.ErrNoMetrics)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.status, m.Status)
			assert.Equal(t, tt.message, m.Error)
			assert.Equal(t, record.LineCounts{Total: 1, Ran: 1, Succeeded: 1}, m.Lines)
		})
	}
}

func TestMetricsWhileRunning(t *testing.T) {
	s := newStore(t)
	r, err := s.Create(record.Meta{ID: "r"})
	require.NoError(t, err)
	defer r.Finish(nil, nil)
	_, err = s.Metrics("r")
	require.EqualError(t, err, `run "r" has no metrics yet: it is still running`)
	assert.ErrorIs(t, err, record.ErrNoMetrics)
	_, err = s.Completed("r")
	require.EqualError(t, err, `resume run "r": it is still running`)
	assert.ErrorIs(t, err, record.ErrRunning)
}

func TestDelete(t *testing.T) {
	s := newStore(t)
	finished(t, s, "a", "", ok(1, ""))
	finished(t, s, "b", "a", ok(2, ""))
	running, err := s.Create(record.Meta{ID: "c", ResumedFrom: "b"})
	require.NoError(t, err)

	err = s.Delete("c")
	require.EqualError(t, err, `delete run "c": it is still running`)
	assert.ErrorIs(t, err, record.ErrRunning)
	require.EqualError(t, s.Delete("b"), `delete run "b": run "c" resumes it; delete that first`)
	require.EqualError(t, s.Delete("a"), `delete run "a": run "b" resumes it; delete that first`)
	list, err := s.List()
	require.NoError(t, err)
	assert.Len(t, list, 3, "refused deletes change nothing")

	require.NoError(t, running.Finish(nil, errors.New("stop")))
	for _, id := range []string{"c", "b", "a"} {
		require.NoError(t, s.Delete(id), id)
		_, err := s.Get(id)
		require.ErrorIs(t, err, record.ErrNotFound)
	}
	list, err = s.List()
	require.NoError(t, err)
	assert.Empty(t, list)
	entries, err := os.ReadDir(filepath.Join(s.Dir(), "runs"))
	require.NoError(t, err)
	assert.Empty(t, entries, "the run folders are gone")

	// A run whose folder is gone is still deleted.
	finished(t, s, "d", "")
	require.NoError(t, os.RemoveAll(filepath.Join(s.Dir(), "runs", "d")))
	require.NoError(t, s.Delete("d"))
	_, err = s.Get("d")
	require.ErrorIs(t, err, record.ErrNotFound)
}

func TestListNewestFirst(t *testing.T) {
	s := newStore(t)
	for _, id := range []string{"one", "two", "three"} {
		finished(t, s, id, "")
	}
	list, err := s.List()
	require.NoError(t, err)
	var ids []string
	for _, in := range list {
		ids = append(ids, in.ID)
	}
	assert.Equal(t, []string{"three", "two", "one"}, ids)
}

func TestOpenErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	writeFile(t, "", file)
	_, err := record.Open(file)
	require.EqualError(t, err, fmt.Sprintf("open run record %s: mkdir %s: not a directory", file, file))
}

func TestAutoFlushKeepsOrder(t *testing.T) {
	// Lines pass the 64 KiB buffer without Flush: they are written out,
	// details before outputs.
	s := newStore(t)
	r, err := s.Create(record.Meta{ID: "auto"})
	require.NoError(t, err)
	line := 0
	for len(readFile(t, r.Dir(), "outputs.jsonl")) == 0 {
		line++
		require.NoError(t, r.Write(ok(line, "")))
		require.Less(t, line, 10000, "never written out")
	}
	assert.Equal(t, strings.Count(readFile(t, r.Dir(), "outputs.jsonl"), "\n"), strings.Count(readFile(t, r.Dir(), "inputs.jsonl"), "\n"))
	assert.Equal(t, strings.Count(readFile(t, r.Dir(), "outputs.jsonl"), "\n"), strings.Count(readFile(t, r.Dir(), "nodes.jsonl"), "\n"))
	require.NoError(t, r.Finish(nil, errors.New("stop")))
}

// TestTwoStores uses one record from two Store values, as two processes
// would: runs written and finished on both while both list them.
func TestTwoStores(t *testing.T) {
	dir := t.TempDir()
	runs, lines := 12, 40
	if testing.Short() {
		runs, lines = 3, 10
	}
	// Both open the new record at once.
	stores := make([]*record.Store, 2)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range stores {
		wg.Go(func() {
			<-start
			s, err := record.Open(dir)
			if assert.NoError(t, err) {
				stores[i] = s
			}
		})
	}
	close(start)
	wg.Wait()
	require.NotNil(t, stores[0])
	require.NotNil(t, stores[1])
	for _, s := range stores {
		t.Cleanup(func() { s.Close() })
	}

	writers := make(chan struct{})
	var readers sync.WaitGroup
	for _, s := range stores {
		readers.Go(func() {
			for {
				select {
				case <-writers:
					return
				default:
				}
				list, err := s.List()
				if !assert.NoError(t, err) {
					return
				}
				for _, in := range list {
					if _, err := s.Get(in.ID); !assert.NoError(t, err) {
						return
					}
				}
			}
		})
	}
	var ws sync.WaitGroup
	for w, s := range stores {
		ws.Go(func() {
			for i := range runs {
				id := fmt.Sprintf("s%d-%d", w, i)
				r, err := s.Create(record.Meta{ID: id, Flow: "hello"})
				if !assert.NoError(t, err) {
					return
				}
				var written []engine.LineResult
				for l := 1; l <= lines; l++ {
					lr := ok(l, "")
					written = append(written, lr)
					assert.NoError(t, r.Write(lr))
					if l%10 == 0 {
						assert.NoError(t, r.Flush())
					}
				}
				assert.NoError(t, r.Finish(summary(id, written, 0), nil))
			}
		})
	}
	ws.Wait()
	close(writers)
	readers.Wait()

	for _, s := range stores {
		list, err := s.List()
		require.NoError(t, err)
		require.Len(t, list, 2*runs)
		for _, in := range list {
			assert.Equal(t, engine.Completed, in.Status, in.ID)
			assert.Equal(t, lines, in.Succeeded, in.ID)
		}
	}
}

func TestOpenOddFolderName(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a?b#c %41")
	s := openStore(t, dir)
	finished(t, s, "a", "", ok(1, ""))
	in, err := s.Get("a")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "runs", "a"), in.Dir)
	assert.FileExists(t, filepath.Join(dir, "weir.db"))
}

func TestOpenNewerSchema(t *testing.T) {
	dir := t.TempDir()
	s, err := record.Open(dir)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	db, err := sql.Open("sqlite", filepath.Join(dir, "weir.db"))
	require.NoError(t, err)
	_, err = db.Exec(`PRAGMA user_version = 99`)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	_, err = record.Open(dir)
	require.EqualError(t, err, "open run record "+dir+": weir.db has schema version 99, newer than this weir knows (3); upgrade weir")
}

func TestOpenMigratesAVersion1Record(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	finished(t, s, "old", "", ok(1, ""))
	require.NoError(t, s.Close())
	// Version 1 had no base_run, nor kind.
	db, err := sql.Open("sqlite", filepath.Join(dir, "weir.db"))
	require.NoError(t, err)
	_, err = db.Exec(`ALTER TABLE runs DROP COLUMN base_run; ALTER TABLE runs DROP COLUMN kind; PRAGMA user_version = 1`)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	s = openStore(t, dir)
	in, err := s.Get("old")
	require.NoError(t, err)
	assert.Empty(t, in.BaseRun)
	assert.Equal(t, record.KindBatch, in.Kind)
	r, err := s.Create(record.Meta{ID: "new", Flow: "hello", Data: "d.jsonl", BaseRun: "old"})
	require.NoError(t, err)
	require.NoError(t, r.Finish(nil, nil))
	in, err = s.Get("new")
	require.NoError(t, err)
	assert.Equal(t, "old", in.BaseRun)
}
