package record

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/internal/weirhome"
)

// Errors of the record. Each is wrapped by errors whose text says more;
// match them with errors.Is.
var (
	// ErrNotFound: the record has no run of that id.
	ErrNotFound = errors.New("run not found")
	// ErrNoMetrics: the run has no metrics.json because it did not finish
	// (it is running, was interrupted, or never started).
	ErrNoMetrics = errors.New("run has no metrics")
	// ErrRunning: the run is still running, so it cannot be deleted or
	// resumed.
	ErrRunning = errors.New("run is still running")
	// ErrDamaged: a run's files disagree with themselves or with the index:
	// a file is missing, a line is malformed or repeated, or counts differ.
	ErrDamaged = errors.New("run record is damaged")
	// ErrFinished: Write, Flush or Finish was called after Finish.
	ErrFinished = errors.New("run is finished")
	// ErrNoLine: the run has no such line, or not yet (Store.Line).
	ErrNoLine = errors.New("run has no such line")
)

// recordError is an error whose text is msg and which errors.Is matches
// with kind, one of the sentinels above.
type recordError struct {
	msg  string
	kind error
}

func (e *recordError) Error() string { return e.msg }
func (e *recordError) Unwrap() error { return e.kind }

func errorf(kind error, format string, args ...any) error {
	return &recordError{msg: fmt.Sprintf(format, args...), kind: kind}
}

func notFound(id string) error {
	return errorf(ErrNotFound, "no run %q in the record; see weir runs list", id)
}

func damaged(id, format string, args ...any) error {
	return errorf(ErrDamaged, "record of run %q is damaged: %s", id, fmt.Sprintf(format, args...))
}

// interrupted is the error of a run whose process died before Finish.
func interrupted(id string) string {
	return "interrupted: the batch stopped without finishing (killed?); resume it with weir batch --resume " + id
}

// DefaultDir returns the folder of the user's run record: $WEIR_HOME if
// set; else $XDG_DATA_HOME/weir if that is an absolute path; else
// ~/Library/Application Support/weir on macOS and ~/.local/share/weir
// elsewhere.
func DefaultDir() (string, error) {
	dir, err := weirhome.Dir()
	if err != nil {
		return "", fmt.Errorf("find the run record: %w; set WEIR_HOME", err)
	}
	return dir, nil
}

// Store is a run record opened in one folder. It is safe for concurrent
// use, and several processes may open the same folder at once.
type Store struct {
	dir string
	db  *sql.DB
}

// busyTimeout is how long a write waits for another connection's
// (another process's) write to end before failing.
const busyTimeout = 10 * time.Second

// migrations build the index, one schema version each: PRAGMA
// user_version counts those applied. Append; never edit one that shipped.
var migrations = [][]string{
	1: {
		`CREATE TABLE runs (
			id           TEXT PRIMARY KEY,
			name         TEXT NOT NULL DEFAULT '',
			flow         TEXT NOT NULL DEFAULT '',
			data         TEXT NOT NULL DEFAULT '',
			data_sha256  TEXT NOT NULL DEFAULT '',
			map          TEXT NOT NULL DEFAULT '{}', -- JSON object: flow input to mapping
			resumed_from TEXT NOT NULL DEFAULT '',   -- id of the run this one resumes
			concurrency  INTEGER NOT NULL DEFAULT 0,
			line_timeout INTEGER NOT NULL DEFAULT 0, -- nanoseconds
			status       TEXT NOT NULL,              -- queued, running, completed, failed, canceled
			error        TEXT NOT NULL DEFAULT '',
			succeeded    INTEGER NOT NULL DEFAULT 0,
			failed       INTEGER NOT NULL DEFAULT 0,
			carried      INTEGER NOT NULL DEFAULT 0,
			created      INTEGER NOT NULL,           -- Unix time, nanoseconds
			ended        INTEGER                     -- Unix time, nanoseconds; NULL until the run ends
		) STRICT`,
		`CREATE INDEX runs_by_created ON runs (created)`,
		`CREATE INDEX runs_by_resumed_from ON runs (resumed_from) WHERE resumed_from != ''`,
	},
	2: {
		// id of the earlier run a mapping's ${run.outputs.x} reads
		`ALTER TABLE runs ADD COLUMN base_run TEXT NOT NULL DEFAULT ''`,
	},
	3: {
		// what made the run: batch, run (weir run --record) or serve
		`ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'batch'`,
	},
}

// schemaVersion is the version of the index this package writes.
var schemaVersion = len(migrations) - 1

// Open opens the run record in dir, creating the folder, runs/ and weir.db
// as needed and bringing the index's schema up to date. Close it when done.
func Open(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open run record %s: %w", dir, err)
	}
	if err := os.MkdirAll(filepath.Join(abs, "runs"), 0o755); err != nil {
		return nil, fmt.Errorf("open run record %s: %w", dir, err)
	}
	// Setting up a new weir.db (switching it to WAL, creating the tables)
	// takes locks that SQLite's busy timeout does not wait for: one
	// process at a time.
	l, err := os.OpenFile(filepath.Join(abs, "weir.lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open run record %s: %w", dir, err)
	}
	defer l.Close()
	if err := lockWait(l); err != nil {
		return nil, fmt.Errorf("open run record %s: %w", dir, err)
	}
	path := filepath.Join(abs, "weir.db")
	// A file: URI, escaped, so that a folder name with '?' or '#' is not
	// taken for parameters. Every explicit transaction takes the write lock
	// when it begins (immediate), so two writers wait for each other rather
	// than fail with "database is locked" when one upgrades.
	dsn := "file:" + (&url.URL{Path: filepath.ToSlash(path)}).EscapedPath() +
		fmt.Sprintf("?_busy_timeout=%d", busyTimeout.Milliseconds()) +
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open run record %s: %w", dir, err)
	}
	s := &Store{dir: abs, db: db}
	if err := s.migrate(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open run record %s: %w", dir, err)
	}
	return s, nil
}

func (s *Store) migrate() error {
	ctx := context.Background()
	var v int
	if err := s.db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		return err
	}
	if v == schemaVersion {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// Read again under the write lock: another process may have migrated.
	if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		return err
	}
	if v > schemaVersion {
		return fmt.Errorf("weir.db has schema version %d, newer than this weir knows (%d); upgrade weir", v, schemaVersion)
	}
	for _, m := range migrations[v+1:] {
		for _, stmt := range m {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("migrate weir.db to version %d: %w", schemaVersion, err)
			}
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, schemaVersion)); err != nil {
		return err
	}
	return tx.Commit()
}

// Close closes the index. Finish the store's runs first. Close is safe to
// call more than once.
func (s *Store) Close() error { return s.db.Close() }

// Dir returns the record's folder, as an absolute path.
func (s *Store) Dir() string { return s.dir }

func (s *Store) runDir(id string) string { return filepath.Join(s.dir, "runs", id) }

// rel returns path relative to the record's folder, for messages.
func (s *Store) rel(path string) string {
	if r, err := filepath.Rel(s.dir, path); err == nil {
		return filepath.ToSlash(r)
	}
	return path
}

// Info is a run as the index knows it.
type Info struct {
	ID, Name, Flow, Data, DataSHA256, ResumedFrom, Error, Dir string
	// BaseRun is the run whose lines the mapping reads (Meta.BaseRun).
	BaseRun string
	// Kind is what made the run (Meta.Kind): KindBatch for the runs of
	// older weirs.
	Kind Kind

	Status engine.Status
	// Succeeded and Failed count the lines of outputs.jsonl: up to the last
	// Flush while the run is running. Carried counts the lines an earlier
	// run completed, known once the run has finished.
	Succeeded, Failed, Carried int
	Map                        map[string]string
	Concurrency                int
	LineTimeout                time.Duration
	Created, Ended             time.Time // Ended zero while running
}

const infoColumns = `id, name, flow, data, data_sha256, map, resumed_from, base_run, kind, concurrency, line_timeout,
	status, error, succeeded, failed, carried, created, ended`

type scanner interface{ Scan(dest ...any) error }

func (s *Store) scanInfo(row scanner) (Info, error) {
	var (
		in               Info
		mapJSON          string
		timeout, created int64
		ended            sql.NullInt64
	)
	err := row.Scan(&in.ID, &in.Name, &in.Flow, &in.Data, &in.DataSHA256, &mapJSON, &in.ResumedFrom, &in.BaseRun, &in.Kind,
		&in.Concurrency, &timeout, &in.Status, &in.Error, &in.Succeeded, &in.Failed, &in.Carried,
		&created, &ended)
	if err != nil {
		return Info{}, err
	}
	if mapJSON != "{}" && mapJSON != "" {
		if err := json.Unmarshal([]byte(mapJSON), &in.Map); err != nil {
			return Info{}, fmt.Errorf("run %q: its map in weir.db: %w", in.ID, err)
		}
	}
	in.LineTimeout = time.Duration(timeout)
	in.Created = time.Unix(0, created)
	if ended.Valid {
		in.Ended = time.Unix(0, ended.Int64)
	}
	in.Dir = s.runDir(in.ID)
	return in, nil
}

// info reads a run's row as it is, without reconciling it.
func (s *Store) info(ctx context.Context, id string) (Info, error) {
	in, err := s.scanInfo(s.db.QueryRowContext(ctx, `SELECT `+infoColumns+` FROM runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Info{}, notFound(id)
	}
	if err != nil {
		return Info{}, fmt.Errorf("read run %q: %w", id, err)
	}
	return in, nil
}

// Get returns the run id. A run whose process died is marked failed first
// (see the package doc). An unknown id is an error wrapping ErrNotFound.
func (s *Store) Get(id string) (Info, error) {
	ctx := context.Background()
	in, err := s.info(ctx, id)
	if err != nil {
		return Info{}, err
	}
	if err := s.reconcile(ctx, &in); err != nil {
		return Info{}, err
	}
	return in, nil
}

// List returns every run in the record, newest first. Runs whose process
// died are marked failed first, as by Get.
func (s *Store) List() ([]Info, error) {
	ctx := context.Background()
	rows, err := s.db.QueryContext(ctx, `SELECT `+infoColumns+` FROM runs ORDER BY created DESC, rowid DESC`)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	var out []Info
	for rows.Next() {
		in, err := s.scanInfo(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("list runs: %w", err)
		}
		out = append(out, in)
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	for i := range out {
		if err := s.reconcile(ctx, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func unfinished(st engine.Status) bool { return st == engine.Running || st == engine.Queued }

// reconcile marks the run in failed if the index says it is running but its
// process is gone: its lock is free, or its folder is. It leaves a run whose
// lock is held alone.
func (s *Store) reconcile(ctx context.Context, in *Info) error {
	if !unfinished(in.Status) {
		return nil
	}
	l, err := tryLock(filepath.Join(in.Dir, "lock"))
	switch {
	case errors.Is(err, errLocked):
		return nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("check run %q is running: %w", in.ID, err)
	}
	if l != nil {
		defer l.Close()
	}
	msg := interrupted(in.ID)
	ended := lastWrite(in.Dir)
	if ended.Before(in.Created) {
		// File times come from a coarser clock.
		ended = in.Created
	}
	// Only a run still unfinished: it may have finished between the read
	// of its row and the lock.
	res, err := s.db.ExecContext(ctx, `UPDATE runs SET status = ?, error = ?, ended = ? WHERE id = ? AND status IN (?, ?)`,
		engine.Failed, msg, ended.UnixNano(), in.ID, engine.Running, engine.Queued)
	if err != nil {
		return fmt.Errorf("mark run %q interrupted: %w", in.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 1 && l != nil {
		appendLog(filepath.Join(in.Dir, "log.txt"), time.Now(), "marked failed: "+msg)
	}
	fresh, err := s.info(ctx, in.ID)
	if err != nil {
		return err
	}
	*in = fresh
	return nil
}

// lastWrite is when the run in dir last wrote its outputs or log: about
// when its process died. Now if neither can be read.
func lastWrite(dir string) time.Time {
	var t time.Time
	for _, name := range []string{"outputs.jsonl", "log.txt"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err == nil && fi.ModTime().After(t) {
			t = fi.ModTime()
		}
	}
	if t.IsZero() {
		t = time.Now()
	}
	return t
}

// Delete removes the run id: its row and its folder. It refuses a run that
// is still running (ErrRunning) and a run that another run resumes: delete
// that one first. Delete of an unknown id wraps ErrNotFound.
func (s *Store) Delete(id string) error {
	ctx := context.Background()
	in, err := s.info(ctx, id)
	if err != nil {
		return err
	}
	// Hold the lock while deleting, so that a run cannot be both running
	// and deleted.
	l, err := tryLock(filepath.Join(in.Dir, "lock"))
	switch {
	case errors.Is(err, errLocked):
		return errorf(ErrRunning, "delete run %q: it is still running", id)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("delete run %q: %w", id, err)
	}
	if l != nil {
		defer l.Close()
	}
	if err := s.deleteRow(ctx, id); err != nil {
		return err
	}
	// The row goes first: a folder without a row is invisible, a row
	// without a folder would be damaged.
	if err := os.RemoveAll(in.Dir); err != nil {
		return fmt.Errorf("delete run %q: %w", id, err)
	}
	return nil
}

func (s *Store) deleteRow(ctx context.Context, id string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("delete run %q: %w", id, err)
	}
	defer tx.Rollback()
	var child string
	err = tx.QueryRowContext(ctx, `SELECT id FROM runs WHERE resumed_from = ? ORDER BY created, rowid LIMIT 1`, id).Scan(&child)
	switch {
	case err == nil:
		return fmt.Errorf("delete run %q: run %q resumes it; delete that first", id, child)
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("delete run %q: %w", id, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM runs WHERE id = ?`, id); err != nil {
		return fmt.Errorf("delete run %q: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("delete run %q: %w", id, err)
	}
	return nil
}

// tryLock opens the lock file at path, which must exist, and locks it:
// errLocked if its run is running. Closing the file releases the lock.
func tryLock(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if err := lock(f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
