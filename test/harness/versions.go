package harness

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/mod/semver"
	"golang.org/x/sys/unix"
)

// Containerd releases the compatibility matrix covers besides go.mod's pin.
const (
	// Containerd23 is the newest release of the 2.3 line (an LTS line).
	Containerd23 = "v2.3.7"
	// Containerd17 is the newest 1.7 release: it speaks the task v2 API
	// only, which vigil's shim does not serve (see docs/kubernetes.md).
	Containerd17 = "v1.7.35"
)

// PinnedContainerd returns the containerd version go.mod pins.
func PinnedContainerd() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	cmd := exec.Command("go", "list", "-m", "-json", "github.com/containerd/containerd/v2")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list -m github.com/containerd/containerd/v2: %w", err)
	}
	var m struct{ Version string }
	if err := json.Unmarshal(out, &m); err != nil {
		return "", fmt.Errorf("go list -m github.com/containerd/containerd/v2: %w", err)
	}
	return m.Version, nil
}

// MatrixVersions lists the containerd versions the end-to-end suite runs
// against: go.mod's pin first, then the 2.3 line.
func MatrixVersions() ([]string, error) {
	pin, err := PinnedContainerd()
	if err != nil {
		return nil, err
	}
	if pin == Containerd23 {
		return []string{pin}, nil
	}
	return []string{pin, Containerd23}, nil
}

// legacyContainerd reports whether version names a containerd older than
// 2.0, which reads config version 2 and serves shims over task v2.
func legacyContainerd(version string) bool {
	return version != "" && semver.Major(version) == "v1"
}

// WithContainerd returns a copy of t whose containerd and ctr are the given
// release, built from the Go module proxy into <cache>/containerd-<version>
// on first use and reused afterwards. vigil's shim, runc and the stock runc
// shim stay the ones BuildTools built. An empty version or go.mod's pin
// returns t itself.
func (t *Tools) WithContainerd(version string) (*Tools, error) {
	if version == "" {
		return t, nil
	}
	if !semver.IsValid(version) {
		return nil, fmt.Errorf("containerd version %q: not a semantic version like v2.3.7", version)
	}
	if pin, err := PinnedContainerd(); err == nil && pin == version {
		return t, nil
	}
	dir := filepath.Join(CacheDir(), "containerd-"+version)
	if err := buildContainerd(dir, version); err != nil {
		return nil, err
	}
	c := *t
	c.Containerd = filepath.Join(dir, "containerd")
	c.Ctr = filepath.Join(dir, "ctr")
	return &c, nil
}

// buildContainerd builds containerd and ctr of the release into dir unless
// both are there. A lock file keeps concurrent test processes from building
// the same release twice.
func buildContainerd(dir, version string) error {
	if err := os.MkdirAll(CacheDir(), 0o755); err != nil {
		return err
	}
	lock, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	defer unix.Flock(int(lock.Fd()), unix.LOCK_UN)
	if exists(filepath.Join(dir, "containerd")) && exists(filepath.Join(dir, "ctr")) {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(CacheDir(), "build-containerd-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	env := append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	if legacyContainerd(version) {
		// 1.x's go.mod has exclude directives, so `go install pkg@version`
		// refuses it: build inside a writable copy of the module instead.
		return buildInModule(tmp, dir, "github.com/containerd/containerd", version, env)
	}
	mod := "github.com/containerd/containerd/" + semver.Major(version)
	cmd := exec.Command("go", "install", mod+"/cmd/containerd@"+version, mod+"/cmd/ctr@"+version)
	cmd.Dir = tmp
	cmd.Env = append(env, "GOBIN="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go install containerd %s: %w\n%s", version, err, out)
	}
	return nil
}

func buildInModule(tmp, dir, mod, version string, env []string) error {
	dl := exec.Command("go", "mod", "download", "-json", mod+"@"+version)
	dl.Dir = tmp
	dl.Env = env
	out, err := dl.Output()
	if err != nil {
		return fmt.Errorf("go mod download %s@%s: %w", mod, version, err)
	}
	var m struct{ Dir string }
	if err := json.Unmarshal(out, &m); err != nil || m.Dir == "" {
		return fmt.Errorf("go mod download %s@%s: no directory in %s", mod, version, out)
	}
	src := filepath.Join(tmp, "src")
	if out, err := exec.Command("cp", "-r", m.Dir, src).CombinedOutput(); err != nil {
		return fmt.Errorf("copy %s: %w: %s", m.Dir, err, out)
	}
	if out, err := exec.Command("chmod", "-R", "u+w", src).CombinedOutput(); err != nil {
		return fmt.Errorf("chmod %s: %w: %s", src, err, out)
	}
	for _, bin := range []string{"containerd", "ctr"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, bin+".tmp"), "./cmd/"+bin)
		cmd.Dir = src
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s %s: %w\n%s", bin, version, err, out)
		}
		if err := os.Rename(filepath.Join(dir, bin+".tmp"), filepath.Join(dir, bin)); err != nil {
			return err
		}
	}
	return nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// ContainerdVersion returns what `containerd --version` prints for the
// binary t runs, e.g. "2.3.7".
func (t *Tools) ContainerdVersion() (string, error) {
	out, err := exec.Command(t.Containerd, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w", t.Containerd, err)
	}
	f := strings.Fields(string(out))
	if len(f) < 3 {
		return "", fmt.Errorf("%s --version: unexpected output %q", t.Containerd, out)
	}
	return strings.SplitN(f[2], "+", 2)[0], nil
}
