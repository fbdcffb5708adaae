package install

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"github.com/containerd/continuity"
	"io/fs"
	"os"
	"path/filepath"
)

// DefaultPolicy is the policy file WriteDefaultPolicy writes.
//
//go:embed default-config.yaml
var DefaultPolicy []byte

// PolicyFile is the policy file's name inside the policy directory.
const PolicyFile = "config.yaml"

// Binaries are the files InstallBinaries copies: the shim containerd runs
// and the CLI, kept next to each other.
var Binaries = []string{"containerd-shim-vigil-v2", "vigil"}

// InstallBinaries copies each of Binaries from srcDir to dstDir, atomically
// (a temporary file renamed over the old one, so a running shim keeps its
// old binary), mode 0755. It reports which files changed; identical files
// are left alone.
func InstallBinaries(srcDir, dstDir string) (changed []string, err error) {
	for _, name := range Binaries {
		c, err := copyFile(filepath.Join(srcDir, name), filepath.Join(dstDir, name), 0o755)
		if err != nil {
			return changed, err
		}
		if c {
			changed = append(changed, filepath.Join(dstDir, name))
		}
	}
	return changed, nil
}

func copyFile(src, dst string, mode fs.FileMode) (bool, error) {
	data, err := os.ReadFile(src)
	if err != nil {
		return false, fmt.Errorf("install %s: %w", filepath.Base(dst), err)
	}
	if old, err := os.ReadFile(dst); err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	if err := WriteFileAtomic(dst, data, mode); err != nil {
		return false, fmt.Errorf("install %s: %w", dst, err)
	}
	return true, nil
}

// WriteDefaultPolicy writes DefaultPolicy to dir/config.yaml, mode 0600,
// owned by root, unless a file is already there: an administrator's policy
// is never overwritten. It creates dir (0755) when missing.
func WriteDefaultPolicy(dir string) (path string, written bool, err error) {
	path = filepath.Join(dir, PolicyFile)
	if _, err := os.Lstat(path); err == nil {
		return path, false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return path, false, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return path, false, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return path, false, err
	}
	if _, err := f.Write(DefaultPolicy); err != nil {
		f.Close()
		os.Remove(path)
		return path, false, err
	}
	if os.Geteuid() == 0 {
		if err := f.Chown(0, 0); err != nil {
			f.Close()
			os.Remove(path)
			return path, false, err
		}
	}
	if err := f.Close(); err != nil {
		return path, false, err
	}
	return path, true, nil
}

// WriteFileAtomic replaces path with data: a reader sees the old file or
// the new one. An existing file keeps its mode; a new one gets mode.
func WriteFileAtomic(path string, data []byte, mode fs.FileMode) error {
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return continuity.AtomicWriteFile(path, data, mode)
}
