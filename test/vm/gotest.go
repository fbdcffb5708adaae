package vm

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// GoTest is a Go package's test binary to run in the VM.
type GoTest struct {
	// Package is the import path or directory, as `go test -c` takes it
	// (e.g. "./monitor" from the module root).
	Package string
	// Args are the test binary's flags ("-test.run=...", "-test.v").
	Args []string
	// Env is added to the test's environment.
	Env []string
	// Shell, when set, runs before the test binary in the guest's
	// /bin/sh (its output goes first); the test's exit status is the
	// result.
	Shell string
	// Config carries the Kernel and may set Cmdline, MemoryMB, CPUs,
	// Timeout and extra Files; Command, Env and Dir are set by RunGoTest.
	Config Config
}

// BuildTestBinary compiles pkg's tests into out with `go test -c`,
// statically (CGO_ENABLED=0) so the binary runs in the initramfs, from the
// module root.
func BuildTestBinary(pkg, out string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	cmd := exec.Command("go", "test", "-c", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go test -c %s: %w: %s", pkg, err, b)
	}
	return nil
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside a Go module")
	}
	return filepath.Dir(mod), nil
}

// RunGoTest builds t.Package's test binary (unless bin names one already
// built), puts it into the initramfs as /test.bin, boots the VM and runs it
// in /tmp. The Result holds its output and exit status.
func RunGoTest(ctx context.Context, t GoTest, bin string) (Result, error) {
	if bin == "" {
		dir, err := os.MkdirTemp("", "vigil-vm-test-")
		if err != nil {
			return Result{}, err
		}
		defer os.RemoveAll(dir)
		bin = filepath.Join(dir, "test.bin")
		if err := BuildTestBinary(t.Package, bin); err != nil {
			return Result{}, err
		}
	}
	cfg := t.Config
	cfg.Files = append(append([]File(nil), cfg.Files...), File{Path: "test.bin", Mode: 0o755, Src: bin})
	script := "exec /test.bin"
	for _, a := range t.Args {
		script += " " + shQuote(a)
	}
	if t.Shell != "" {
		script = t.Shell + "\n" + script
	}
	cfg.Command = []string{"/bin/sh", "-c", script}
	cfg.Env = t.Env
	cfg.Dir = "/tmp"
	return Run(ctx, cfg)
}
