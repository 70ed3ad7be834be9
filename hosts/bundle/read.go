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
	"path"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/weirflow/weir/engine"
)

// ErrTooLarge is what an *InvalidError about a limit unwraps to: MaxSize,
// MaxFiles or MaxManifest. A server answers 413 to it.
var ErrTooLarge = errors.New("bundle too large")

// InvalidError is a bundle that is not one, is damaged, breaks a limit or
// does not match its manifest: a problem with the input, not with reading
// it. Read, Open and Extract return it, and errors.As finds it.
type InvalidError struct {
	// Bundle is the bundle's file name, or "" when it was read from memory.
	Bundle string
	// File is the path inside the bundle the problem is about, or "".
	File string
	// Reason says what is wrong.
	Reason string
	// Err is the cause when there is one: ErrTooLarge, or the error of the
	// gzip, tar or JSON reader, which Reason already quotes.
	Err error
}

func (e *InvalidError) Error() string {
	var b strings.Builder
	b.WriteString("read bundle")
	if e.Bundle != "" {
		b.WriteString(" " + e.Bundle)
	}
	b.WriteString(": ")
	if e.File != "" {
		fmt.Fprintf(&b, "file %q: ", e.File)
	}
	b.WriteString(e.Reason)
	return b.String()
}

func (e *InvalidError) Unwrap() error { return e.Err }

// Bundle is a bundle that Read checked: every file is in the manifest,
// with the size and SHA-256 it says, the manifest's digest matches its
// files, a signature matches the digest, and its flows reach only its
// files. A Bundle is immutable and safe for concurrent use.
type Bundle struct {
	name     string // for errors; "" for Read
	data     []byte // the archive, gzip-compressed
	manifest Manifest
	files    map[string]File
	signer   ssh.PublicKey // nil: not signed
	secrets  []engine.Secret
	python   []string // the names of Python plugins

	// Kept by the first pass, to check once every file was: flows, by
	// bundle path, and the signature.
	flows map[string][]byte
	sig   []byte
}

// Open reads and checks the bundle in the file at path: see Read.
func Open(path string) (*Bundle, error) {
	return open(path, nil)
}

func open(path string, t *Trust) (*Bundle, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read bundle: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read bundle: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, &InvalidError{Bundle: path, Reason: "not a regular file"}
	}
	if fi.Size() > maxStream {
		return nil, tooLarge(path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxStream+1))
	if err != nil {
		return nil, fmt.Errorf("read bundle: %w", err)
	}
	return read(path, data, t)
}

// Read parses the bundle in data and checks all of it, treating it as
// hostile: every error is an *InvalidError naming the file at fault. Read
// decompresses at most MaxSize bytes of files, and keeps data, which the
// caller must not change afterwards.
//
// Beyond the archive, Read checks a signature, when the bundle has one,
// against the digest (Signer returns its key; whether to trust it is
// Trust's business), the manifest's flow name and version against the
// entry flow, and confines the flows: it parses the entry flow and every
// sub-flow it runs, as the engine will, and refuses a flow that names a
// plugin file, sub-flow or embedded file that is not a file of the bundle
// (an absolute path, a path out through "..") or grants a folder outside the bundle or
// with write access, naming the flow file, line and column. So a flow
// served from a bundle reaches only the bundle's files, whichever host
// extracts it.
func Read(data []byte) (*Bundle, error) {
	return read("", data, nil)
}

// maxStream bounds the uncompressed archive: the files, the manifest, and
// room for a tar header with a long name and padding per file. Tests lower
// it.
var maxStream int64 = MaxSize + MaxManifest + MaxFiles*4096

func tooLarge(name string) error {
	return &InvalidError{Bundle: name, Reason: fmt.Sprintf("over the %d MiB limit", MaxSize>>20), Err: ErrTooLarge}
}

func read(name string, data []byte, t *Trust) (*Bundle, error) {
	b := &Bundle{name: name, data: data, flows: map[string][]byte{}}
	err := b.entries(func(hdr *tar.Header, r io.Reader) error {
		if !isFlowFile(hdr.Name) {
			return nil
		}
		// readManifest bounded their sizes, and check this one.
		content, err := io.ReadAll(r)
		if err != nil {
			return b.broken(err)
		}
		b.flows[hdr.Name] = content
		return nil
	})
	if err != nil {
		return nil, err
	}
	if b.sig != nil {
		if b.signer, err = b.verify(b.sig); err != nil {
			return nil, err
		}
	}
	// Before any flow is parsed: with a Trust, nothing the bundle holds
	// but its archive and signature is read before its signer is known.
	if err := t.check(b); err != nil {
		return nil, err
	}
	if err := b.confine(); err != nil {
		return nil, err
	}
	b.flows, b.sig = nil, nil
	return b, nil
}

// confine checks the flows of the bundle: see Read.
func (b *Bundle) confine() error {
	m := &b.manifest
	flow := func(p string) (*engine.FlowFile, error) { return engine.Inspect(filepath.FromSlash(p), b.flows[p]) }
	paths := make([]string, len(m.Files))
	for i, f := range m.Files {
		paths[i] = f.Path
	}
	r, err := confine(m.Entry, flow, paths)
	if err != nil {
		// Not wrapped: the command line prints engine.FlowErrors without
		// what they are about, and here that is the bundle.
		return &InvalidError{Bundle: b.name, Reason: err.Error()}
	}
	b.secrets, b.python = r.secrets, r.python
	f := r.top
	// The digest, which a signature covers, does not cover these fields:
	// they must say what the entry flow says.
	if m.Flow != f.Name {
		return b.invalid(ManifestName, nil, "the manifest names the flow %q, but the entry flow %s is %q", m.Flow, m.Entry, f.Name)
	}
	if m.Version != f.Version {
		return b.invalid(ManifestName, nil, "the manifest says version %q, but the entry flow %s says %q", m.Version, m.Entry, f.Version)
	}
	return nil
}

// invalid returns an *InvalidError about the file at path of the bundle.
func (b *Bundle) invalid(path string, err error, format string, args ...any) *InvalidError {
	return &InvalidError{Bundle: b.name, File: path, Reason: fmt.Sprintf(format, args...), Err: err}
}

// entries reads the archive and checks it as it goes: on the first pass
// (from Read) the manifest, then each file against it. It calls fn with
// every file's header and a reader of its content, and checks the
// content's SHA-256 once fn returns. It returns the first error.
func (b *Bundle) entries(fn func(hdr *tar.Header, r io.Reader) error) error {
	if len(b.data) < 2 || b.data[0] != 0x1f || b.data[1] != 0x8b {
		return b.invalid("", nil, "not a weir bundle (a tar archive compressed with gzip)")
	}
	zr, err := gzip.NewReader(bytes.NewReader(b.data))
	if err != nil {
		return b.broken(err)
	}
	lr := &limitReader{r: zr, n: maxStream}
	tr := tar.NewReader(lr)
	hdr, err := tr.Next()
	switch {
	case err == io.EOF:
		return b.invalid("", nil, "no manifest: the archive is empty")
	case errors.Is(err, tar.ErrHeader):
		return b.invalid("", err, "not a weir bundle: the gzip data is not a tar archive")
	case err != nil:
		return b.broken(err)
	}
	if b.files == nil {
		if err := b.readManifest(hdr, tr); err != nil {
			return err
		}
	} else if _, err := io.Copy(io.Discard, tr); err != nil {
		return b.broken(err)
	}
	seen := make(map[string]bool, len(b.files))
	signed := false
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return b.broken(err)
		}
		if signed {
			return b.invalid(hdr.Name, nil, "after %s, which must be the last entry", SignatureName)
		}
		if hdr.Name == SignatureName {
			signed = true
			if err := b.readSignature(hdr, tr); err != nil {
				return err
			}
			continue
		}
		f, err := b.check(hdr, seen)
		if err != nil {
			return err
		}
		h := sha256.New()
		if err := fn(hdr, io.TeeReader(tr, h)); err != nil {
			return err
		}
		// Whatever fn left unread.
		if _, err := io.Copy(h, tr); err != nil {
			return b.broken(err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 {
			return b.invalid(f.Path, nil, "SHA-256 mismatch: the manifest says %s, the content is %s", f.SHA256, got)
		}
	}
	for _, f := range b.manifest.Files {
		if !seen[f.Path] {
			return b.invalid(f.Path, nil, "in the manifest but not in the archive")
		}
	}
	// Read to the end, so that gzip checks its CRC.
	if _, err := io.Copy(io.Discard, lr); err != nil {
		return b.broken(err)
	}
	return nil
}

// broken is the error about an archive that cannot be read to its end.
func (b *Bundle) broken(err error) error {
	if errors.Is(err, ErrTooLarge) {
		return tooLarge(b.name)
	}
	if err == io.ErrUnexpectedEOF {
		return b.invalid("", err, "broken archive: it ends too early")
	}
	return b.invalid("", err, "broken archive: %v", err)
}

// check checks a file entry's header against the manifest.
func (b *Bundle) check(hdr *tar.Header, seen map[string]bool) (File, error) {
	p := hdr.Name
	if hdr.Typeflag != tar.TypeReg {
		return File{}, b.invalid(p, nil, "%s, not a regular file", typeName(hdr.Typeflag))
	}
	f, ok := b.files[p]
	switch {
	case !ok:
		return File{}, b.invalid(p, nil, "in the archive but not in the manifest")
	case seen[p]:
		return File{}, b.invalid(p, nil, "twice in the archive")
	case hdr.Size != f.Size:
		return File{}, b.invalid(p, nil, "size mismatch: the manifest says %d bytes, the archive holds %d", f.Size, hdr.Size)
	}
	seen[p] = true
	return f, nil
}

// readSignature reads the entry weir-bundle.sig, on the first pass.
func (b *Bundle) readSignature(hdr *tar.Header, r io.Reader) error {
	switch {
	case hdr.Typeflag != tar.TypeReg:
		return b.invalid(SignatureName, nil, "%s, not a regular file", typeName(hdr.Typeflag))
	case hdr.Size > MaxSignature:
		return b.invalid(SignatureName, ErrTooLarge, "over the %d KiB limit", MaxSignature>>10)
	case b.flows == nil:
		return nil // Extract: read checked it
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return b.broken(err)
	}
	b.sig = data
	return nil
}

// typeName names a tar entry type.
func typeName(flag byte) string {
	switch flag {
	case tar.TypeDir:
		return "a folder"
	case tar.TypeSymlink:
		return "a symbolic link"
	case tar.TypeLink:
		return "a hard link"
	case tar.TypeChar, tar.TypeBlock:
		return "a device"
	case tar.TypeFifo:
		return "a named pipe"
	}
	return fmt.Sprintf("an entry of type %q", flag)
}

// readManifest reads and checks the archive's first entry, the manifest.
func (b *Bundle) readManifest(hdr *tar.Header, r io.Reader) error {
	if hdr.Name != ManifestName {
		return b.invalid("", nil, "no manifest: the first file is %q, not %s", hdr.Name, ManifestName)
	}
	if hdr.Typeflag != tar.TypeReg {
		return b.invalid(ManifestName, nil, "%s, not a regular file", typeName(hdr.Typeflag))
	}
	if hdr.Size > MaxManifest {
		return b.invalid(ManifestName, ErrTooLarge, "over the %d MiB limit", MaxManifest>>20)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return b.broken(err)
	}
	m := &b.manifest
	if err := json.Unmarshal(data, m); err != nil {
		return b.invalid(ManifestName, err, "not a manifest: %v", err)
	}
	if m.Format != Format {
		return b.invalid(ManifestName, nil, "unknown format %d: this weir reads format %d", m.Format, Format)
	}
	if m.Flow == "" {
		return b.invalid(ManifestName, nil, "no flow name")
	}
	if len(m.Files) > MaxFiles {
		return b.invalid(ManifestName, ErrTooLarge, "%d files, over the limit of %d", len(m.Files), MaxFiles)
	}
	b.files = make(map[string]File, len(m.Files))
	folders := map[string]bool{}
	var total, flows int64
	for i, f := range m.Files {
		if why := checkPath(f.Path); why != "" {
			return b.invalid(f.Path, nil, "%s", why)
		}
		switch {
		case f.Path == ManifestName:
			return b.invalid(f.Path, nil, "the manifest lists itself")
		case f.Path == SignatureName:
			return b.invalid(f.Path, nil, "the manifest lists the signature, which is no file of the bundle")
		case i > 0 && f.Path == m.Files[i-1].Path:
			return b.invalid(f.Path, nil, "listed twice in the manifest")
		case i > 0 && f.Path < m.Files[i-1].Path:
			return b.invalid(f.Path, nil, "the manifest's files are not sorted by path")
		case !isSHA256(f.SHA256):
			return b.invalid(f.Path, nil, "invalid SHA-256 %q in the manifest", f.SHA256)
		case f.Size < 0:
			return b.invalid(f.Path, nil, "invalid size %d in the manifest", f.Size)
		}
		total += f.Size
		if total > MaxSize {
			return tooLarge(b.name)
		}
		if isFlowFile(f.Path) {
			flows += f.Size
			if flows > MaxFlows {
				return b.invalid(f.Path, ErrTooLarge, "the flow files (.cue, .yaml, .yml, .json) add up to over the %d MiB limit", MaxFlows>>20)
			}
		}
		b.files[f.Path] = f
		for dir := path.Dir(f.Path); dir != "."; dir = path.Dir(dir) {
			folders[dir] = true
		}
	}
	for _, f := range m.Files {
		if folders[f.Path] {
			return b.invalid(f.Path, nil, "both a file and a folder in the manifest")
		}
	}
	if _, ok := b.files[m.Entry]; !ok {
		return b.invalid(ManifestName, nil, "the entry %q is not one of the files", m.Entry)
	}
	if d := digest(m.Entry, m.Files); m.Digest != d {
		return b.invalid(ManifestName, nil, "digest mismatch: the manifest says %q, its files make %s", m.Digest, d)
	}
	return nil
}

// limitReader reads from r until n bytes were read, then fails with
// ErrTooLarge.
type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, ErrTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// Signer returns the key that signed the bundle, or nil when it is not
// signed. Read checked the signature against the digest; whether to trust
// the key is the caller's business: see Trust.
func (b *Bundle) Signer() ssh.PublicKey { return b.signer }

// Secrets returns the secrets the bundle's flows declare, never values: a
// bundle holds none. A file secret's path is relative to the bundle's
// root, unless the flow wrote it absolute.
func (b *Bundle) Secrets() []engine.Secret { return slices.Clone(b.secrets) }

// CheckFileSecrets refuses the bundle when one of its flows would read a
// secret from a file outside the bundle: the process running it would read
// any file its user can and hand it to the bundle's tools, whose grants the
// bundle writes. Such a secret's value must come from
// engine.SecretEnv(name), as the hosts pass it (the engine reads it before
// the file); where names the process to set it for: "weir serve".
func (b *Bundle) CheckFileSecrets(where string) error {
	for _, sec := range b.secrets {
		if sec.File == "" || filepath.IsLocal(sec.File) {
			continue
		}
		if _, ok := os.LookupEnv(engine.SecretEnv(sec.Name)); !ok {
			return fmt.Errorf("secret %q: a bundle reads a file secret only inside itself, and %s is not; set %s where %s runs to give its value", sec.Name, sec.File, engine.SecretEnv(sec.Name), where)
		}
	}
	return nil
}

// Python returns the names of the Python plugins of the bundle's flows,
// each once: their tools need an interpreter where the bundle runs.
func (b *Bundle) Python() []string { return slices.Clone(b.python) }

// Manifest returns the bundle's manifest.
func (b *Bundle) Manifest() Manifest {
	m := b.manifest
	m.Files = slices.Clone(m.Files)
	return m
}

// Extract writes the bundle's files under dir, which it creates if needed,
// and returns the path of the entry flow, ready to load. It never writes
// outside dir, follows no link out of it and replaces no file: extract into
// a new folder. The files are checked again as they are written; on an
// error, dir may hold some of them, which the caller removes.
//
// Extract may be called from several goroutines, with different folders.
func (b *Bundle) Extract(dir string) (flowPath string, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("extract bundle: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return "", fmt.Errorf("extract bundle: %w", err)
	}
	defer root.Close()
	err = b.entries(func(hdr *tar.Header, r io.Reader) error {
		f := b.files[hdr.Name]
		err := b.extract(root, f, r)
		var ie *InvalidError
		if err != nil && !errors.As(err, &ie) {
			return fmt.Errorf("extract bundle: file %q: %w", f.Path, err)
		}
		return err
	})
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, filepath.FromSlash(b.manifest.Entry)), nil
}

// extract writes the file f with the content r under root.
func (b *Bundle) extract(root *os.Root, f File, r io.Reader) error {
	name := filepath.FromSlash(f.Path)
	if dir := filepath.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	out, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, f.mode())
	if err != nil {
		return err
	}
	rr := &readErr{r: r}
	_, err = io.Copy(out, rr)
	if rr.err != nil {
		out.Close()
		return b.broken(rr.err)
	}
	if err == nil {
		// Whatever the umask took away.
		err = out.Chmod(f.mode())
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// readErr keeps the error of reading r, to tell it from the error of
// writing what was read.
type readErr struct {
	r   io.Reader
	err error
}

func (r *readErr) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}
