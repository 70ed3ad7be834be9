// Package cache is weir's node result cache in files: the engine.Cache that
// the weir command and weir.New give an engine, under the weir home folder.
//
// Each entry is one file, <dir>/<first two hex digits of the key>/<key>.json,
// holding the key, the tool, the time it was written and the tool's
// outputs. Entries are written to a temporary file and renamed into place,
// so readers see a whole entry or none, and any number of goroutines and
// processes may share a folder. An entry that cannot be read or parsed is
// a miss, which the next successful call of the tool replaces.
package cache

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/weirflow/weir/internal/jsonscan"
	"github.com/weirflow/weir/internal/weirhome"
)

// DefaultDir returns the cache folder of the weir home folder: $WEIR_HOME/cache,
// else the cache folder beside the user's run record (see
// record.DefaultDir).
func DefaultDir() (string, error) {
	home, err := weirhome.Dir()
	if err != nil {
		return "", fmt.Errorf("find the node cache: %w; set WEIR_HOME", err)
	}
	return filepath.Join(home, "cache"), nil
}

// Options configure a Store. The zero value is a useful default.
type Options struct {
	// Now is the clock that dates entries and ages them against a TTL
	// (time.Now).
	Now func() time.Time
}

// Store is a node result cache in the files of one folder. It is safe for
// concurrent use, also by several processes sharing the folder.
type Store struct {
	dir string
	now func() time.Time
}

// Open returns the Store in dir. Nothing is created until the first Put.
func Open(dir string, opts Options) *Store {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Store{dir: dir, now: opts.Now}
}

// Dir returns the store's folder.
func (s *Store) Dir() string { return s.dir }

// tmpPrefix starts the names of entries being written.
const tmpPrefix = ".tmp-"

// createdLayout dates entries: RFC 3339 with nanoseconds, always nine
// digits, so that entries of one tool and outputs have one size.
const createdLayout = "2006-01-02T15:04:05.000000000Z07:00"

// path is the file of key, or "" for a key that is not a name a Put makes.
func (s *Store) path(key string) string {
	if len(key) < 3 || strings.ContainsAny(key, `/\.`) {
		return ""
	}
	return filepath.Join(s.dir, key[:2], key+".json")
}

// Get returns the outputs stored under key when the entry is younger than
// ttl, or of any age when ttl is zero. Anything else is a miss: no entry,
// an old one, one that cannot be read or parsed. The outputs are the
// caller's.
func (s *Store) Get(_ context.Context, key string, ttl time.Duration) ([]byte, bool) {
	p := s.path(key)
	if p == "" {
		return nil, false
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, false
	}
	e, ok := parse(b)
	if !ok || e.key != key {
		return nil, false
	}
	if ttl > 0 && s.now().Sub(e.created) >= ttl {
		return nil, false
	}
	return e.output, true
}

// entry is a parsed entry file.
type entry struct {
	key, tool string
	created   time.Time
	output    []byte
}

// parse reads an entry file without decoding its outputs, which the
// engine checks as it checks every tool's outputs.
func parse(b []byte) (entry, bool) {
	var e entry
	// A whole object, nothing after it: a file cut short or written over
	// by something else is a miss.
	if end := jsonscan.Value(b, jsonscan.Space(b, 0)); end < 0 || jsonscan.Space(b, end) != len(b) || jsonscan.Type(b) != "object" {
		return e, false
	}
	var created string
	for k, v := range jsonscan.Members(b) {
		switch string(k) {
		case `"key"`:
			e.key = unquote(v)
		case `"tool"`:
			e.tool = unquote(v)
		case `"created"`:
			created = unquote(v)
		case `"output"`:
			e.output = v
		}
	}
	t, err := time.Parse(time.RFC3339Nano, created)
	if err != nil || e.output == nil {
		return e, false
	}
	e.created = t
	return e, true
}

func unquote(v []byte) string {
	if len(v) == 0 || v[0] != '"' {
		return ""
	}
	s, _ := jsonscan.Unquote(nil, v, 0)
	return string(s)
}

// Put stores out, the outputs of tool (its address, kept for people who
// read the files), under key, replacing any entry there. Writers of one
// key race harmlessly: each renames a whole file into place.
func (s *Store) Put(_ context.Context, key, tool string, out []byte) error {
	p := s.path(key)
	if p == "" {
		return fmt.Errorf("cache %s: invalid key", key)
	}
	now := s.now()
	b := make([]byte, 0, len(out)+len(key)+len(tool)+80)
	b = append(b, `{"key":`...)
	b = jsonscan.AppendString(b, key)
	b = append(b, `,"tool":`...)
	b = jsonscan.AppendString(b, tool)
	b = append(b, `,"created":`...)
	b = jsonscan.AppendString(b, now.UTC().Format(createdLayout))
	b = append(b, `,"output":`...)
	b = append(b, out...)
	b = append(b, "}\n"...)
	if err := write(p, b, now); err != nil {
		return fmt.Errorf("cache %s: %w", tool, err)
	}
	return nil
}

// write puts b in file p atomically, dated mtime, making its folder.
func write(p string, b []byte, mtime time.Time) error {
	dir := filepath.Dir(p)
	f, err := os.CreateTemp(dir, tmpPrefix+"*")
	if errors.Is(err, fs.ErrNotExist) {
		// Only the user reads the outputs: they may hold what the inputs did.
		if err = os.MkdirAll(dir, 0o700); err == nil {
			f, err = os.CreateTemp(dir, tmpPrefix+"*")
		}
	}
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// Pruning goes by the files' times: the store's clock's.
		err = os.Chtimes(f.Name(), mtime, mtime)
	}
	if err == nil {
		err = os.Rename(f.Name(), p)
	}
	if err != nil {
		_ = os.Remove(f.Name())
	}
	return err
}

// Usage is what a store holds.
type Usage struct {
	Entries int
	Bytes   int64
}

// Usage counts the entries and their bytes.
func (s *Store) Usage() (Usage, error) {
	files, err := s.files()
	var u Usage
	for _, f := range files {
		if !f.tmp {
			u.Entries++
			u.Bytes += f.size
		}
	}
	return u, err
}

// PruneOptions say which entries Prune removes.
type PruneOptions struct {
	// OlderThan removes the entries written longer ago than it, when
	// positive.
	OlderThan time.Duration
	// MaxBytes then removes the oldest entries until the rest hold at most
	// that many bytes, when positive.
	MaxBytes int64
}

// Prune removes entries as o says, and files that writers left behind
// (a process killed while it wrote). It returns what it removed.
func (s *Store) Prune(o PruneOptions) (Usage, error) {
	files, err := s.files()
	if err != nil {
		return Usage{}, err
	}
	// Oldest first; a temporary file an hour old has no writer left.
	slices.SortFunc(files, func(a, b file) int { return a.mtime.Compare(b.mtime) })
	now := s.now()
	var total int64
	for _, f := range files {
		if !f.tmp {
			total += f.size
		}
	}
	var removed Usage
	var errs []error
	for _, f := range files {
		drop := false
		switch {
		case f.tmp:
			drop = now.Sub(f.mtime) > time.Hour
		case o.OlderThan > 0 && now.Sub(f.mtime) > o.OlderThan:
			drop = true
		case o.MaxBytes > 0 && total > o.MaxBytes:
			drop = true
		}
		if !drop {
			continue
		}
		if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		if !f.tmp {
			removed.Entries++
			removed.Bytes += f.size
			total -= f.size
		}
	}
	return removed, errors.Join(errs...)
}

// Clear removes every entry, and the folders that held them. Files the
// store did not write stay. It returns what it removed.
func (s *Store) Clear() (Usage, error) {
	files, err := s.files()
	if err != nil {
		return Usage{}, err
	}
	var removed Usage
	var errs []error
	for _, f := range files {
		if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		if !f.tmp {
			removed.Entries++
			removed.Bytes += f.size
		}
	}
	// The folders of the entries, those Prune emptied too; Remove takes
	// only empty ones.
	if list, err := os.ReadDir(s.dir); err == nil {
		for _, d := range list {
			if d.IsDir() {
				_ = os.Remove(filepath.Join(s.dir, d.Name()))
			}
		}
	}
	_ = os.Remove(s.dir)
	if len(errs) > 0 {
		return removed, fmt.Errorf("clear the node cache: %w", errors.Join(errs...))
	}
	return removed, nil
}

type file struct {
	path  string
	size  int64
	mtime time.Time
	tmp   bool
}

// files lists the store's entry files and leftover temporary files. A
// store that does not exist yet is empty.
func (s *Store) files() ([]file, error) {
	var out []file
	err := filepath.WalkDir(s.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		name := d.Name()
		tmp := strings.HasPrefix(name, tmpPrefix)
		if !tmp && !strings.HasSuffix(name, ".json") {
			return nil // not the store's: leave it
		}
		info, err := d.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		out = append(out, file{path: p, size: info.Size(), mtime: info.ModTime(), tmp: tmp})
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("read the node cache: %w", err)
	}
	return out, nil
}
