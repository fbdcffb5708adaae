package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// Running is a container started in the background with `ctr run --rm`.
type Running struct {
	ID   string
	done chan struct{}
	res  RunResult
	err  error
}

// RunBackground starts a container like Run, without waiting for it. The
// container is ready for Exec once WaitRunning returns.
func (d *Daemon) RunBackground(ctx context.Context, runtime, image, id string, flags []string, cmdline ...string) *Running {
	r := &Running{ID: id, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.res, r.err = d.Run(ctx, runtime, image, id, flags, cmdline...)
	}()
	return r
}

// WaitRunning waits until the task is RUNNING, or fails when it ended.
func (d *Daemon) WaitRunning(ctx context.Context, r *Running) error {
	for {
		out, _ := d.Ctr(ctx, "tasks", "ls")
		for _, l := range strings.Split(out, "\n") {
			f := strings.Fields(l)
			if len(f) >= 3 && f[0] == r.ID && f[2] == "RUNNING" {
				return nil
			}
		}
		select {
		case <-r.done:
			return fmt.Errorf("container %s ended before running: %v %s", r.ID, r.err, r.res.Output)
		case <-ctx.Done():
			return fmt.Errorf("container %s not running: %w", r.ID, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Wait waits for the container to end and returns its result.
func (r *Running) Wait(ctx context.Context) (RunResult, error) {
	select {
	case <-r.done:
		return r.res, r.err
	case <-ctx.Done():
		return RunResult{}, fmt.Errorf("container %s still running: %w", r.ID, ctx.Err())
	}
}

// Exec runs a process in a running container with `ctr task exec` and
// returns its output and exit code.
func (d *Daemon) Exec(ctx context.Context, id, execID string, cmdline ...string) (RunResult, error) {
	return d.ctrProcess(ctx, append([]string{"tasks", "exec", "--exec-id", execID, id}, cmdline...))
}

// ctrProcess runs a ctr command that runs a process (run, tasks exec) and
// returns the process's output and exit code; err is for ctr itself failing
// to run.
func (d *Daemon) ctrProcess(ctx context.Context, args []string) (RunResult, error) {
	full := append([]string{"--address", d.Address, "--namespace", d.Namespace}, args...)
	cmd := exec.CommandContext(ctx, d.Tools.Ctr, full...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	res := RunResult{Output: WithoutCtrWarnings(out.String())}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		res.ExitCode = ee.ExitCode()
		return res, nil
	}
	return res, err
}

// WithoutCtrWarnings drops ctr's own log lines (containerd's cgroup v1
// deprecation warning) from a container's output.
func WithoutCtrWarnings(out string) string {
	if !strings.Contains(out, "level=warning") {
		return out
	}
	lines := strings.SplitAfter(out, "\n")
	kept := lines[:0]
	for _, l := range lines {
		if strings.HasPrefix(l, "time=") && strings.Contains(l, "level=warning") {
			continue
		}
		kept = append(kept, l)
	}
	return strings.Join(kept, "")
}
