package bundle

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"
)

const (
	// SignatureName is the path of a signed bundle's last entry: an SSH
	// signature (the armored SSHSIG format of ssh-keygen -Y sign) of the
	// bundle's Digest, the text "sha256:<hex>" with no newline.
	SignatureName = "weir-bundle.sig"
	// Namespace is the SSHSIG namespace of a bundle's signature, which
	// keeps it from being taken for a signature of anything else (a git
	// commit, a file): ssh-keygen -Y sign -n weir-bundle.
	Namespace = "weir-bundle"
	// MaxSignature bounds the size of weir-bundle.sig (64 KiB).
	MaxSignature = 64 << 10
)

// ErrUntrusted is what an *UntrustedError unwraps to. A server answers
// 403 to it.
var ErrUntrusted = errors.New("untrusted bundle")

// UntrustedError is a bundle that a Trust refuses: it is not signed, or
// not by one of the trusted keys. Its signature, if any, is valid:
// a signature that does not match the bundle is an *InvalidError.
type UntrustedError struct {
	// Bundle is the bundle's file name, or "" when it was read from memory.
	Bundle string
	// Signer is the key that signed the bundle, or nil when it is not
	// signed.
	Signer ssh.PublicKey
}

func (e *UntrustedError) Error() string {
	name := "refuse bundle"
	if e.Bundle != "" {
		name += " " + e.Bundle
	}
	if e.Signer == nil {
		return name + ": it is not signed, and only bundles signed by a trusted key are accepted"
	}
	return fmt.Sprintf("%s: it is signed by %s %s, which is not a trusted key", name, e.Signer.Type(), ssh.FingerprintSHA256(e.Signer))
}

func (e *UntrustedError) Unwrap() error { return ErrUntrusted }

// sign returns the armored SSH signature of the digest by key.
func sign(digest string, key ssh.Signer) ([]byte, error) {
	sig, err := sshsig.Sign(strings.NewReader(digest), key, sshsig.HashSHA512, Namespace)
	if err != nil {
		return nil, fmt.Errorf("sign bundle: %w", err)
	}
	return sshsig.Armor(sig), nil
}

// verify checks the armored signature data against the bundle's digest
// and returns the key that made it.
func (b *Bundle) verify(data []byte) (ssh.PublicKey, error) {
	sig, err := sshsig.Unarmor(data)
	if err != nil {
		return nil, b.invalid(SignatureName, err, "not an SSH signature (ssh-keygen -Y sign): %v", err)
	}
	if sig.Namespace != Namespace {
		return nil, b.invalid(SignatureName, nil, "a signature for the namespace %q, not %s", sig.Namespace, Namespace)
	}
	if err := sshsig.Verify(strings.NewReader(b.manifest.Digest), sig, sig.PublicKey, sig.HashAlgorithm, Namespace); err != nil {
		return nil, b.invalid(SignatureName, err, "the signature by %s %s does not match the bundle's digest: the bundle was changed after it was signed",
			sig.PublicKey.Type(), ssh.FingerprintSHA256(sig.PublicKey))
	}
	return sig.PublicKey, nil
}

// Trust is the set of keys whose bundles a host accepts. The nil *Trust
// accepts every bundle, signed or not, as Read does. A Trust is immutable
// and safe for concurrent use.
type Trust struct {
	keys map[string]bool // by the wire form of the key
}

// NewTrust returns a Trust of the keys. With no key it trusts no bundle.
func NewTrust(keys ...ssh.PublicKey) *Trust {
	t := &Trust{keys: make(map[string]bool, len(keys))}
	for _, k := range keys {
		t.keys[string(k.Marshal())] = true
	}
	return t
}

// LoadTrust returns a Trust of the public keys in the files at paths. A
// file holds one key a line as OpenSSH writes them (ssh-keygen's .pub file,
// authorized_keys): blank lines and lines starting with # are skipped, and
// of the options before a key, namespaces="..." is honoured (a key whose
// list does not match weir-bundle is left out) while cert-authority,
// valid-after, valid-before and expiry-time are refused, since weir trusts
// keys, not certificates, and does not check validity times. Other options
// are about logins and mean nothing here. A file with no key is an error.
func LoadTrust(paths ...string) (*Trust, error) {
	var keys []ssh.PublicKey
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read trusted keys: %w", err)
		}
		ks, err := parseKeys(p, data)
		if err != nil {
			return nil, err
		}
		keys = append(keys, ks...)
	}
	return NewTrust(keys...), nil
}

// parseKeys reads the keys of the file name with the content data: see
// LoadTrust.
func parseKeys(name string, data []byte) ([]ssh.PublicKey, error) {
	var keys []ssh.PublicKey
	lines := 0
	for i, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		lines++
		key, _, options, rest, err := ssh.ParseAuthorizedKey(line)
		if err != nil || len(rest) > 0 {
			return nil, fmt.Errorf("read trusted keys: %s:%d: not an SSH public key, such as the line of a .pub file", name, i+1)
		}
		use, err := keyOptions(options)
		if err != nil {
			return nil, fmt.Errorf("read trusted keys: %s:%d: %w", name, i+1, err)
		}
		if use {
			keys = append(keys, key)
		}
	}
	if lines == 0 {
		return nil, fmt.Errorf("read trusted keys: %s: no key in the file", name)
	}
	return keys, nil
}

// keyOptions reads the options of a trusted key and says whether it
// signs bundles.
func keyOptions(options []string) (bool, error) {
	use := true
	for _, o := range options {
		name, value, _ := strings.Cut(o, "=")
		switch strings.ToLower(name) {
		case "cert-authority", "valid-after", "valid-before", "expiry-time":
			return false, fmt.Errorf("option %s: weir trusts keys, not certificate authorities, and does not check validity times: remove it", name)
		case "namespaces":
			use = false
			for _, pattern := range strings.Split(strings.Trim(value, `"`), ",") {
				if ok, _ := path.Match(pattern, Namespace); ok {
					use = true
				}
			}
		}
	}
	return use, nil
}

// check refuses the bundle b unless t is nil or a key of t signed it.
func (t *Trust) check(b *Bundle) error {
	if t == nil || b.signer != nil && t.keys[string(b.signer.Marshal())] {
		return nil
	}
	return &UntrustedError{Bundle: b.name, Signer: b.signer}
}

// Read is as the package's Read, but refuses with an *UntrustedError a
// bundle that none of t's keys signed, once it has checked the archive
// against its manifest and the signature against its digest, and before
// it parses any flow of the bundle.
func (t *Trust) Read(data []byte) (*Bundle, error) {
	return read("", data, t)
}

// Open is as the package's Open, with the check of Read.
func (t *Trust) Open(path string) (*Bundle, error) {
	return open(path, t)
}
