package harness

import (
	"fmt"
	"os"
	"os/exec"
)

// BuildMemexec builds the memexec fixture (package test/harness/memexec)
// into out, statically linked: the test image has no C library. It needs
// Go and the vigil source tree.
func BuildMemexec(out string) error {
	root, err := RepoRoot()
	if err != nil {
		return err
	}
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./test/harness/memexec")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if o, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build memexec: %w\n%s", err, o)
	}
	return nil
}

// AttackImageFiles are the extra files of the image Attacks run in, for
// BuildBusyboxImage: the memexec fixture read from memexec, and copies of
// the host's busybox named as a package manager (ApkPath) and a miner
// (XmrigPath) — programs the rules know by name, with inodes of their own.
func AttackImageFiles(memexec string) ([]ImageFile, error) {
	mx, err := os.ReadFile(memexec)
	if err != nil {
		return nil, fmt.Errorf("memexec fixture: %w", err)
	}
	bb, err := os.ReadFile(BusyboxPath)
	if err != nil {
		return nil, fmt.Errorf("read %s (install Debian's busybox-static): %w", BusyboxPath, err)
	}
	return []ImageFile{
		{Path: MemexecPath, Mode: 0o755, Data: mx},
		{Path: ApkPath, Mode: 0o755, Data: bb},
		{Path: XmrigPath, Mode: 0o755, Data: bb},
	}, nil
}
