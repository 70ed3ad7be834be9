package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/plugins/python"
)

// level is the gzip level of every bundle: fixed, so that the same files
// make the same bytes. Level 9 makes Wasm modules and executables less than
// 1% smaller than the default 6, in three times as long.
const level = gzip.DefaultCompression

// Build writes the bundle of the flow at flowPath to w: the flow, the
// sub-flows its nodes run, recursively, the files they embed (@embed), and
// the files of their wasm, goplugin and python plugins, each file once. It
// returns the bundle's manifest.
//
// Build reads each flow file once and parses it with engine.Inspect, not
// by loading it with an engine: a flow that does not parse fails with its
// engine.FlowErrors, but references, tools and types are not checked.
// BuildFlow bundles a flow an engine loaded, which refuses a flow with
// problems. Every plugin and sub-flow path must be relative to the flow
// file that names it, so that it points into the bundle once extracted.
//
// A flow must also stay inside the bundle as Read checks it: a folder it
// grants a plugin must be in the bundle and read-only. Those problems are
// engine.FlowErrors too, at the flow files as the user named them.
//
// On an error w may hold part of a bundle, which the caller discards. Build
// is safe to call from several goroutines.
func Build(flowPath string, w io.Writer) (*Manifest, error) {
	return BuildSigned(flowPath, nil, w)
}

// BuildSigned is Build, and when key is not nil signs the bundle with it:
// the archive ends with weir-bundle.sig, the SSH signature of the digest
// (see SignatureName). Ed25519 and RSA signatures are the same for the same
// key and digest, so a signed bundle is as reproducible as its key type
// allows; ECDSA signatures differ every time. key may be an ssh-agent's.
func BuildSigned(flowPath string, key ssh.Signer, w io.Writer) (*Manifest, error) {
	files, err := inspect(flowPath)
	if err != nil {
		return nil, err
	}
	return build(files, key, w)
}

// BuildFlow is BuildSigned for a flow an engine loaded: the bundle holds
// its flow files as they were parsed then (f.FlowFiles), without reading
// or parsing them again, and the files of their plugins.
func BuildFlow(f *engine.Flow, key ssh.Signer, w io.Writer) (*Manifest, error) {
	return build(f.FlowFiles(), key, w)
}

// inspect reads and parses the flow at path and the sub-flows it runs,
// recursively, each file once.
func inspect(path string) ([]*engine.FlowFile, error) {
	read := func(path string) (*engine.FlowFile, error) {
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read flow: %w", err)
		}
		return engine.Inspect(path, src)
	}
	top, err := read(path)
	if err != nil {
		return nil, err
	}
	files := []*engine.FlowFile{top}
	seen := map[string]bool{absPath(path): true}
	for i := 0; i < len(files); i++ {
		for _, sf := range files[i].SubFlows {
			if seen[absPath(sf.Path)] {
				continue
			}
			seen[absPath(sf.Path)] = true
			f, err := read(sf.Path)
			var list engine.FlowErrors
			switch {
			case errors.As(err, &list):
				return nil, err
			case err != nil:
				return nil, fmt.Errorf("bundle %s: node %q: %w", files[i].Path, sf.Node, err)
			}
			files = append(files, f)
		}
	}
	return files, nil
}

func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// build writes the bundle of the flow files, the entry first, and the
// files of their plugins.
func build(flows []*engine.FlowFile, key ssh.Signer, w io.Writer) (*Manifest, error) {
	c := &collector{byAbs: map[string]*member{}}
	var flowMembers []*member
	for _, f := range flows {
		mb, isNew, err := c.add(f.Path, f)
		if err != nil {
			return nil, err
		}
		if isNew {
			flowMembers = append(flowMembers, mb)
		}
	}
	top := flowMembers[0]
	for _, mb := range flowMembers {
		if err := c.plugins(mb); err != nil {
			return nil, err
		}
		for _, em := range mb.flow.Embeds {
			if _, err := c.file(mb, fmt.Sprintf("embed %q", em.Written), em.Path); err != nil {
				return nil, err
			}
		}
	}
	if err := c.place(); err != nil {
		return nil, err
	}
	m := &Manifest{Format: Format, Flow: top.flow.Name, Version: top.flow.Version, Weir: engine.Version(), Entry: top.rel}
	var total, flowBytes int64
	for _, mb := range c.members {
		if err := mb.hash(); err != nil {
			return nil, fmt.Errorf("bundle %s: %s: %w", mb.from, mb.what, err)
		}
		if err := mb.checkPins(); err != nil {
			return nil, err
		}
		total += mb.file.Size
		if isFlowFile(mb.rel) {
			flowBytes += mb.file.Size
		}
		m.Files = append(m.Files, mb.file)
	}
	if len(m.Files) > MaxFiles {
		return nil, fmt.Errorf("bundle %s: %d files, over the limit of %d", top.path, len(m.Files), MaxFiles)
	}
	if total > MaxSize {
		return nil, fmt.Errorf("bundle %s: the files add up to %d MiB, over the %d MiB limit", top.path, total>>20, MaxSize>>20)
	}
	if flowBytes > MaxFlows {
		return nil, fmt.Errorf("bundle %s: the flow files (.cue, .yaml, .yml, .json) add up to %d MiB, over the %d MiB limit", top.path, flowBytes>>20, MaxFlows>>20)
	}
	if err := c.confine(top.rel); err != nil {
		return nil, err
	}
	m.Digest = digest(m.Entry, m.Files)
	var sig []byte
	if key != nil {
		var err error
		if sig, err = sign(m.Digest, key); err != nil {
			return nil, err
		}
	}
	if err := write(w, m, c.members, sig); err != nil {
		return nil, fmt.Errorf("bundle %s: %w", top.path, err)
	}
	return m, nil
}

// member is one file of a bundle being built.
type member struct {
	path string // as the flow resolved it: to open, and in errors
	abs  string
	from string // the flow file that names it first, for errors
	what string // what it is to that flow: `plugin "text"`
	flow *engine.FlowFile
	rel  string // the path inside the bundle, once placed
	pins []pin  // the SHA-256 the flows pin a plugin file to
	file File
}

// pin is a plugin's sha256 field.
type pin struct{ flow, plugin, sha256 string }

// collector finds the files of a bundle.
type collector struct {
	members []*member          // sorted by rel once placed
	byAbs   map[string]*member // by absolute path
}

// add records the file at path, a flow file when flow is not nil. It
// returns the file's member and whether it was new.
func (c *collector) add(path string, flow *engine.FlowFile) (*member, bool, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, false, err
	}
	if mb := c.byAbs[abs]; mb != nil {
		return mb, false, nil
	}
	mb := &member{path: path, abs: abs, from: path, what: "flow", flow: flow}
	c.byAbs[abs] = mb
	c.members = append(c.members, mb)
	return mb, true, nil
}

// plugins adds the plugin files of the flow fm.
func (c *collector) plugins(fm *member) error {
	for _, p := range fm.flow.Plugins {
		switch p.Spec.Kind {
		case "builtin":
			continue
		case "python":
			if err := c.python(fm, p); err != nil {
				return err
			}
			continue
		}
		mb, err := c.plugin(fm, p.Spec.Name, p.Spec.Source)
		if err != nil {
			return err
		}
		// A go-plugin executable keeps its exec bit, whatever the file's
		// mode: the kind decides, so that the bytes do not depend on it.
		mb.file.Exec = mb.file.Exec || p.Spec.Kind == "goplugin"
		if p.Spec.SHA256 != "" {
			mb.pins = append(mb.pins, pin{flow: fm.path, plugin: p.Spec.Name, sha256: p.Spec.SHA256})
		}
	}
	return nil
}

// plugin adds the file at path, a file of the plugin named name of the
// flow fm.
func (c *collector) plugin(fm *member, name, path string) (*member, error) {
	return c.file(fm, fmt.Sprintf("plugin %q", name), path)
}

// file adds the file at path, which the flow fm names as what: a plugin's
// file, or a file it embeds.
func (c *collector) file(fm *member, what, path string) (*member, error) {
	mb, isNew, err := c.add(path, nil)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %s: %w", fm.path, what, err)
	}
	if isNew {
		mb.from, mb.what = fm.path, what
	}
	return mb, nil
}

// python adds the files of the Python plugin p of the flow fm: its .py
// file, or the .py files of its folder that its digest covers (see
// python.Files: no byte-code caches, virtual environments or hidden
// folders), and its requirements file. A folder's pin is checked here,
// against python.Digest; a file's as any plugin file's.
func (c *collector) python(fm *member, p engine.PluginEntry) error {
	src := p.Spec.Source
	info, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("bundle %s: plugin %q: %w", fm.path, p.Spec.Name, err)
	}
	if !info.IsDir() {
		mb, err := c.plugin(fm, p.Spec.Name, src)
		if err == nil && p.Spec.SHA256 != "" {
			mb.pins = append(mb.pins, pin{flow: fm.path, plugin: p.Spec.Name, sha256: p.Spec.SHA256})
		}
		return err
	}
	files, err := python.Files(src)
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("%s holds no .py files", src)
	}
	if err != nil {
		return fmt.Errorf("bundle %s: plugin %q: %w", fm.path, p.Spec.Name, err)
	}
	for _, rel := range files {
		if _, err := c.plugin(fm, p.Spec.Name, filepath.Join(src, filepath.FromSlash(rel))); err != nil {
			return err
		}
	}
	if p.Spec.SHA256 != "" {
		sum, err := python.Digest(src)
		if err != nil {
			return fmt.Errorf("bundle %s: plugin %q: %w", fm.path, p.Spec.Name, err)
		}
		if sum != p.Spec.SHA256 {
			return fmt.Errorf("bundle %s: plugin %q: the sha256 of the folder %s is %s, but the flow pins %s", fm.path, p.Spec.Name, src, sum, p.Spec.SHA256)
		}
	}
	if req := p.Requirements; req != "" {
		if !filepath.IsAbs(req) {
			req = filepath.Join(filepath.Dir(fm.flow.Path), req)
		}
		if _, err := c.plugin(fm, p.Spec.Name, req); err != nil {
			return err
		}
	}
	return nil
}

// place gives every member its path inside the bundle, relative to the
// deepest folder that holds them all, and checks that each flow's relative
// paths lead to the same files from there.
func (c *collector) place() error {
	entry := c.members[0]
	root := filepath.Dir(entry.abs)
	for _, mb := range c.members[1:] {
		for !within(mb.abs, root) {
			parent := filepath.Dir(root)
			if parent == root {
				// Another volume, on Windows.
				return fmt.Errorf("bundle %s: file %s: no folder holds it and the flow", entry.path, mb.path)
			}
			root = parent
		}
	}
	for _, mb := range c.members {
		rel, err := filepath.Rel(root, mb.abs)
		if err != nil {
			return fmt.Errorf("bundle %s: %w", entry.path, err)
		}
		mb.rel = filepath.ToSlash(rel)
		mb.file.Path = mb.rel
		if why := checkPath(mb.rel); why != "" {
			return fmt.Errorf("bundle %s: file %s: %s: rename it", entry.path, mb.path, why)
		}
		switch mb.rel {
		case ManifestName:
			return fmt.Errorf("bundle %s: file %s: the manifest has that path in a bundle: rename it", entry.path, mb.path)
		case SignatureName:
			return fmt.Errorf("bundle %s: file %s: the signature has that path in a bundle: rename it", entry.path, mb.path)
		}
	}
	slices.SortFunc(c.members, func(a, b *member) int { return strings.Compare(a.rel, b.rel) })
	return nil
}

// confine checks the flows as Read will, once placed, with the paths
// inside the bundle: a flow names a file outside it only by an absolute
// path, since place widened the bundle to hold every file a relative path
// leads to. Errors name the flow files as the user gave them.
func (c *collector) confine(entry string) error {
	byRel := make(map[string]*member, len(c.members))
	paths := make([]string, len(c.members))
	for i, mb := range c.members {
		byRel[mb.rel] = mb
		paths[i] = mb.rel
	}
	flow := func(p string) (*engine.FlowFile, error) {
		if mb := byRel[p]; mb != nil && mb.flow != nil {
			return mb.flow, nil
		}
		// A sub-flow path leads to every flow file of the bundle.
		return nil, fmt.Errorf("bundle %s: no flow at %s", entry, p)
	}
	_, err := confine(entry, flow, paths)
	return err
}

// within reports whether path is dir or under it.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// hash fills in the member's size and SHA-256.
func (mb *member) hash() error {
	h := sha256.New()
	if mb.flow != nil {
		h.Write(mb.flow.Source)
		mb.file.Size = int64(len(mb.flow.Source))
	} else {
		f, err := openRegular(mb.path)
		if err != nil {
			return err
		}
		defer f.Close()
		if mb.file.Size, err = io.Copy(h, f); err != nil {
			return err
		}
	}
	mb.file.SHA256 = hex.EncodeToString(h.Sum(nil))
	return nil
}

// checkPins checks the hashed file against the sha256 fields of the
// plugins that use it.
func (mb *member) checkPins() error {
	for _, p := range mb.pins {
		if p.sha256 != mb.file.SHA256 {
			return fmt.Errorf("bundle %s: plugin %q: the sha256 of %s is %s, but the flow pins %s", p.flow, p.plugin, mb.path, mb.file.SHA256, p.sha256)
		}
	}
	return nil
}

// openRegular opens the regular file at path: a folder or a device in a
// bundle would be refused by Read.
func openRegular(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s is not a regular file", path)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// write writes the archive of the manifest m, the members, whose files
// must match m, and the signature sig unless it is nil.
func write(w io.Writer, m *Manifest, members []*member, sig []byte) error {
	zw, err := gzip.NewWriterLevel(w, level)
	if err != nil {
		panic(err) // a valid level
	}
	tw := tar.NewWriter(zw)
	mj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	mj = append(mj, '\n')
	if err := writeEntry(tw, File{Path: ManifestName, Size: int64(len(mj))}, bytes.NewReader(mj)); err != nil {
		return err
	}
	for _, mb := range members {
		if err := mb.write(tw); err != nil {
			return err
		}
	}
	if sig != nil {
		if err := writeEntry(tw, File{Path: SignatureName, Size: int64(len(sig))}, bytes.NewReader(sig)); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

// write copies the member into the archive, checking that the file did not
// change since it was hashed.
func (mb *member) write(tw *tar.Writer) error {
	if mb.flow != nil {
		return writeEntry(tw, mb.file, bytes.NewReader(mb.flow.Source))
	}
	f, err := openRegular(mb.path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	err = writeEntry(tw, mb.file, io.TeeReader(f, h))
	if err == io.EOF {
		return fmt.Errorf("file %s changed while it was bundled: try again", mb.path)
	}
	if err != nil {
		return err
	}
	if n, _ := f.Read(make([]byte, 1)); n > 0 || hex.EncodeToString(h.Sum(nil)) != mb.file.SHA256 {
		return fmt.Errorf("file %s changed while it was bundled: try again", mb.path)
	}
	return nil
}

// writeEntry writes the header of f and then f.Size bytes from r; it
// returns io.EOF when r holds fewer.
func writeEntry(tw *tar.Writer, f File, r io.Reader) error {
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     f.Path,
		Mode:     int64(f.mode()),
		Size:     f.Size,
		ModTime:  time.Unix(0, 0),
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err := io.CopyN(tw, r, f.Size)
	return err
}
