package harness

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Tools holds the paths of the binaries a private containerd needs.
type Tools struct {
	Containerd string
	Ctr        string
	Runc       string
	// RuncShim is the stock containerd-shim-runc-v2, for comparisons.
	RuncShim string
	// BinDir holds containerd-shim-vigil-v2, vigil and runc, and is put
	// first on the daemon's PATH so containerd finds the shim.
	BinDir string
	// Vigil is the vigil CLI.
	Vigil string
	// Shim is containerd-shim-vigil-v2.
	Shim string
}

// RepoRoot returns the module root (the directory holding go.mod).
func RepoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the vigil module")
	}
	return filepath.Dir(mod), nil
}

// CacheDir is where tool builds are kept between runs, keyed by go.sum.
func CacheDir() string {
	if d := os.Getenv("VIGIL_CACHE"); d != "" {
		return d
	}
	return "/var/cache/vigil"
}

var (
	toolsOnce sync.Once
	tools     *Tools
	toolsErr  error
)

// BuildTools builds (or reuses from the cache) containerd, ctr and runc at
// the versions pinned by go.mod's tool directives, and always rebuilds
// vigil's own binaries into a fresh directory under the cache. It is safe to
// call from many tests; the work is done once per process.
func BuildTools() (*Tools, error) {
	toolsOnce.Do(func() { tools, toolsErr = buildTools() })
	return tools, toolsErr
}

func buildTools() (*Tools, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		return nil, err
	}
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(append(append(mod, sum...), runtime.Version()...))
	toolDir := filepath.Join(CacheDir(), "tools-"+hex.EncodeToString(h[:6]))
	t := &Tools{
		Containerd: filepath.Join(toolDir, "containerd"),
		Ctr:        filepath.Join(toolDir, "ctr"),
		Runc:       filepath.Join(toolDir, "runc"),
		RuncShim:   filepath.Join(toolDir, "containerd-shim-runc-v2"),
	}
	if err := os.MkdirAll(toolDir, 0o755); err != nil {
		return nil, err
	}
	builds := []struct {
		out, pkg string
		tags     []string
	}{
		{t.Containerd, "github.com/containerd/containerd/v2/cmd/containerd", nil},
		{t.Ctr, "github.com/containerd/containerd/v2/cmd/ctr", nil},
		{t.Runc, "github.com/opencontainers/runc", []string{"seccomp"}},
		{t.RuncShim, "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2", nil},
	}
	// Test binaries of several packages start at once (go test runs
	// packages in parallel): the first builds, the others wait for it.
	lock, err := os.OpenFile(toolDir+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return nil, fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	for _, b := range builds {
		if _, err := os.Stat(b.out); err == nil {
			continue
		}
		if err := goBuild(root, b.out, b.pkg, b.tags...); err != nil {
			return nil, err
		}
	}
	bin, err := os.MkdirTemp(CacheDir(), "vigil-bin-")
	if err != nil {
		return nil, err
	}
	t.BinDir = bin
	t.Shim = filepath.Join(bin, "containerd-shim-vigil-v2")
	t.Vigil = filepath.Join(bin, "vigil")
	if err := goBuild(root, t.Shim, "./cmd/containerd-shim-vigil-v2"); err != nil {
		return nil, err
	}
	if err := goBuild(root, t.Vigil, "./cmd/vigil"); err != nil {
		return nil, err
	}
	for _, l := range []string{t.Runc, t.RuncShim} {
		if err := os.Symlink(l, filepath.Join(bin, filepath.Base(l))); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func goBuild(root, out, pkg string, tags ...string) error {
	// A per-process temporary name: vigil's own binaries are built by
	// every test process, each into its own directory, but never share a
	// half-written file.
	tmp := fmt.Sprintf("%s.tmp-%d", out, os.Getpid())
	args := []string{"build", "-o", tmp}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	args = append(args, pkg)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	if o, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, o)
	}
	return os.Rename(tmp, out)
}

// Cleanup removes the per-run binary directory.
func (t *Tools) Cleanup() {
	if t != nil && t.BinDir != "" && strings.HasPrefix(filepath.Base(t.BinDir), "vigil-bin-") {
		os.RemoveAll(t.BinDir)
	}
}
