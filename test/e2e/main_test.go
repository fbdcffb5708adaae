package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-dev/vigil/test/harness"
)

// Images every test can use: one busybox image under several names so
// policies can match by reference. It holds the attack fixtures too
// (harness.AttackImageFiles).
const (
	imgBusybox  = "docker.io/vigil/busybox:latest"
	imgWeb      = "docker.io/vigil/web:1.0"
	imgPayments = "registry.example.com/payments/api:v1"
)

var (
	daemon  *harness.Daemon
	skipWhy string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Geteuid() != 0 {
		skipWhy = "requires root: end-to-end tests run containerd and runc"
		return m.Run()
	}
	if testingShort() {
		skipWhy = "end-to-end tests do not run with -short"
		return m.Run()
	}
	tools, err := harness.BuildTools()
	if err != nil {
		fmt.Fprintln(os.Stderr, "build tools:", err)
		return 1
	}
	defer tools.Cleanup()
	daemon, err = harness.StartDaemon(tools, harness.DaemonOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start containerd:", err)
		return 1
	}
	failed := true
	defer func() {
		if failed {
			fmt.Fprintf(os.Stderr, "---- containerd log (%s) ----\n%s\n", daemon.LogPath, tail(daemon.Log(), 200))
		}
		daemon.Stop()
	}()
	archive := filepath.Join(daemon.Dir, "busybox.tar")
	memexec := filepath.Join(daemon.Dir, "memexec")
	if err := harness.BuildMemexec(memexec); err != nil {
		fmt.Fprintln(os.Stderr, "build fixture:", err)
		return 1
	}
	extra, err := harness.AttackImageFiles(memexec)
	if err != nil {
		fmt.Fprintln(os.Stderr, "image files:", err)
		return 1
	}
	if err := harness.BuildBusyboxImage(archive, imgBusybox, extra...); err != nil {
		fmt.Fprintln(os.Stderr, "build image:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := daemon.ImportImage(ctx, archive, imgBusybox, imgWeb, imgPayments); err != nil {
		fmt.Fprintln(os.Stderr, "import image:", err)
		return 1
	}
	code := m.Run()
	failed = code != 0
	return code
}

func testingShort() bool {
	for _, a := range os.Args {
		if a == "-test.short" || a == "-test.short=true" {
			return true
		}
	}
	return false
}

func needDaemon(t *testing.T) *harness.Daemon {
	t.Helper()
	if skipWhy != "" {
		t.Skip(skipWhy)
	}
	return daemon
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// writePolicy writes a policy file owned by root with mode 0600 and returns
// its path.
func writePolicy(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "config.yaml")
	body = strings.ReplaceAll(body, "$DIR", dir)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// runIn runs a container to its end with the policy file given through the
// runtime's ConfigPath option and returns its output and exit code.
func runIn(t *testing.T, policyFile, image, id string, extra []string, cmd ...string) harness.RunResult {
	t.Helper()
	d := needDaemon(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var flags []string
	if policyFile != "" {
		flags = append(flags, "--runtime-config-path", policyFile)
	}
	flags = append(flags, extra...)
	res, err := d.Run(ctx, "", image, id, flags, cmd...)
	if err != nil {
		t.Fatalf("run %s: %v", id, err)
	}
	return res
}
