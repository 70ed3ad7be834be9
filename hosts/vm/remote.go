package vm

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// remote runs shell scripts and writes files on a VM, over one SSH
// connection.
type remote struct{ client *ssh.Client }

// run runs script with sh on the VM, writing its output to stdout (which
// may be nil). A failed script's error is what it wrote to stderr, which
// the scripts of this package make one clear line.
func (r remote) run(ctx context.Context, script string, stdout io.Writer) error {
	s, err := r.client.NewSession()
	if err != nil {
		return fmt.Errorf("open an SSH session: %w", err)
	}
	defer s.Close()
	var stderr bytes.Buffer
	s.Stdin = strings.NewReader(script)
	s.Stdout, s.Stderr = stdout, &stderr
	// sh reads the script from stdin, whatever the user's login shell.
	if err := s.Start("sh -s"); err != nil {
		return fmt.Errorf("start sh on the VM: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = s.Signal(ssh.SIGKILL)
		s.Close()
		<-done
		return ctx.Err()
	}
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return errors.New(msg)
		}
		return fmt.Errorf("sh on the VM: %w", err)
	}
	return nil
}

// output runs script and returns its output.
func (r remote) output(ctx context.Context, script string) (string, error) {
	var out bytes.Buffer
	err := r.run(ctx, script, &out)
	return out.String(), err
}

// uploadPrefix starts the names of files being uploaded; a later deploy
// removes those an interrupted one left.
const uploadPrefix = ".upload-"

// stage uploads the local file src into dir on the VM under a temporary
// name, which it returns: the caller renames it into place, so that a file
// is never seen half written. It returns "" when dir/name already has
// src's content (sum, from sha256Sum), and uploads nothing.
func (r remote) stage(ctx context.Context, src, sum, dir, name string, mode os.FileMode) (string, error) {
	final := path.Join(dir, name)
	if have, _ := r.output(ctx, "sha256sum "+quote(final)+" 2>/dev/null"); strings.HasPrefix(have, sum+" ") {
		return "", nil
	}
	c, err := sftp.NewClient(r.client, sftp.UseConcurrentWrites(true))
	if err != nil {
		return "", fmt.Errorf("upload %s: SFTP: %w (is the sftp subsystem on in the VM's sshd_config?)", name, err)
	}
	defer c.Close()
	in, err := os.Open(src)
	if err != nil {
		return "", fmt.Errorf("upload %s: %w", name, err)
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return "", fmt.Errorf("upload %s: %w", name, err)
	}
	return put(ctx, c, dir, name, mode, &ctxReader{ctx: ctx, r: in, size: info.Size()})
}

// put writes r into a new file of dir on the VM, under a temporary name
// that it returns. The file has its mode before its first byte, so that a
// secret is never readable by others, even for a moment.
func put(ctx context.Context, c *sftp.Client, dir, name string, mode os.FileMode, r *ctxReader) (string, error) {
	tmp := path.Join(dir, uploadPrefix+name+"-"+rand.Text()[:8])
	out, err := c.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return "", fmt.Errorf("upload %s to %s: %w", name, tmp, err)
	}
	err = out.Chmod(mode)
	if err == nil {
		_, err = out.ReadFrom(r)
	}
	if closeErr := out.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		_ = c.Remove(tmp)
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", fmt.Errorf("upload %s to %s: %w", name, tmp, err)
	}
	return tmp, nil
}

// stageSecret uploads content into dir on the VM as stage does, as a
// file of mode 0600: for secrets, which must not show in a command line.
func (r remote) stageSecret(ctx context.Context, content []byte, dir, name string) (string, error) {
	c, err := sftp.NewClient(r.client)
	if err != nil {
		return "", fmt.Errorf("upload %s: SFTP: %w (is the sftp subsystem on in the VM's sshd_config?)", name, err)
	}
	defer c.Close()
	return put(ctx, c, dir, name, 0o600, &ctxReader{ctx: ctx, r: bytes.NewReader(content), size: int64(len(content))})
}

// ctxReader stops reading when its context is done, which ends an upload.
// Size lets SFTP write several chunks at once.
type ctxReader struct {
	ctx  context.Context
	r    io.Reader
	size int64
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func (c *ctxReader) Size() int64 { return c.size }

// sha256Sum returns the SHA-256 of a local file, in hex.
func sha256Sum(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", file, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// quote quotes s for sh.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
