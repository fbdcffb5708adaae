package harness

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Runtime is the runtime type vigil registers with containerd.
const Runtime = "io.containerd.vigil.v2"

// DaemonOptions tunes a private containerd.
type DaemonOptions struct {
	// CRI enables containerd's CRI plugin with a "vigil" runtime handler.
	CRI bool
	// PolicyConfig, when set, is the vigil policy file passed to the shim
	// through the runtime's ConfigPath option (CRI) and VIGIL_CONFIG.
	PolicyConfig string
	// ExtraConfig is appended to config.toml.
	ExtraConfig string
	// Env is added to the daemon's environment (and so the shims').
	Env []string
	// Containerd is the containerd release to run ("v2.3.7"); empty means
	// the version go.mod pins. See Tools.WithContainerd.
	Containerd string
	// CRIHandlers are the CRI runtime handlers (with CRI); empty means one
	// handler "vigil" whose ConfigPath option is PolicyConfig.
	CRIHandlers []CRIHandler
}

// Daemon is a private containerd with its own root, state and socket.
type Daemon struct {
	Tools     *Tools
	Dir       string
	Address   string
	Namespace string
	cmd       *exec.Cmd
	log       *os.File
	LogPath   string
	mu        sync.Mutex
	stopped   bool
}

// StartDaemon starts containerd in a fresh temporary root and waits until it
// answers. Call Stop (it is safe to call more than once).
func StartDaemon(t *Tools, opts DaemonOptions) (*Daemon, error) {
	dir, err := os.MkdirTemp("/var/lib", "vigil-e2e-")
	if err != nil {
		return nil, err
	}
	if opts.Containerd != "" {
		if t, err = t.WithContainerd(opts.Containerd); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	d := &Daemon{Tools: t, Dir: dir, Address: filepath.Join(dir, "c.sock"), Namespace: "vigil-test"}
	cfg := d.config(opts)
	cfgPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	d.LogPath = filepath.Join(dir, "containerd.log")
	d.log, err = os.Create(d.LogPath)
	if err != nil {
		return nil, err
	}
	d.cmd = exec.Command(t.Containerd, "--config", cfgPath, "--log-level", "debug")
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	d.cmd.Env = append(os.Environ(), "PATH="+t.BinDir+":"+filepath.Dir(t.Containerd)+":"+os.Getenv("PATH"))
	d.cmd.Env = append(d.cmd.Env, opts.Env...)
	if opts.PolicyConfig != "" {
		d.cmd.Env = append(d.cmd.Env, "VIGIL_CONFIG="+opts.PolicyConfig)
	}
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start containerd: %w", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := d.Ctr(context.Background(), "version"); err == nil {
			return d, nil
		}
		if time.Now().After(deadline) {
			d.Stop()
			return nil, fmt.Errorf("containerd did not answer within 30s; log:\n%s", d.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (d *Daemon) config(opts DaemonOptions) string {
	var b strings.Builder
	if legacyContainerd(opts.Containerd) {
		// containerd 1.x reads config version 2 and has no CRI sub-plugins.
		fmt.Fprintf(&b, "version = 2\nroot = %q\nstate = %q\n", filepath.Join(d.Dir, "root"), filepath.Join(d.Dir, "state"))
		b.WriteString(`disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.nri.v1.nri"]` + "\n")
	} else {
		fmt.Fprintf(&b, "version = 3\nroot = %q\nstate = %q\n", filepath.Join(d.Dir, "root"), filepath.Join(d.Dir, "state"))
		if !opts.CRI {
			b.WriteString(`disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.runtime", "io.containerd.cri.v1.images", "io.containerd.podsandbox.controller.v1.podsandbox", "io.containerd.sandbox.controller.v1.shim", "io.containerd.nri.v1.nri"]` + "\n")
		} else {
			// NRI listens on one host-wide socket; private daemons leave it off.
			b.WriteString(`disabled_plugins = ["io.containerd.nri.v1.nri"]` + "\n")
		}
	}
	fmt.Fprintf(&b, "[grpc]\n  address = %q\n[ttrpc]\n  address = %q\n", d.Address, d.Address+".ttrpc")
	if opts.CRI && !legacyContainerd(opts.Containerd) {
		b.WriteString(d.criConfig(opts))
	}
	b.WriteString(opts.ExtraConfig)
	return b.String()
}

// Log returns the daemon's log so far.
func (d *Daemon) Log() string {
	b, _ := os.ReadFile(d.LogPath)
	return string(b)
}

// Ctr runs ctr against the daemon in its namespace and returns stdout+stderr.
func (d *Daemon) Ctr(ctx context.Context, args ...string) (string, error) {
	full := append([]string{"--address", d.Address, "--namespace", d.Namespace}, args...)
	cmd := exec.CommandContext(ctx, d.Tools.Ctr, full...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("ctr %s: %w: %s", strings.Join(args, " "), err, out.String())
	}
	return out.String(), nil
}

// RunResult is what a finished container left.
type RunResult struct {
	Output   string
	ExitCode int
}

// Run runs a container to completion with `ctr run --rm` under the runtime
// given (vigil's unless runtime is set) and returns its output and exit code.
func (d *Daemon) Run(ctx context.Context, runtime, image, id string, flags []string, cmdline ...string) (RunResult, error) {
	if runtime == "" {
		runtime = Runtime
	}
	args := append([]string{"run", "--rm", "--runtime", runtime}, flags...)
	args = append(args, image, id)
	args = append(args, cmdline...)
	res, err := d.ctrProcess(ctx, args)
	if err == nil && res.ExitCode == 1 && strings.Contains(res.Output, "ctr: ") {
		return res, fmt.Errorf("ctr run %s: %s", id, strings.TrimSpace(res.Output))
	}
	return res, err
}

// ImportImage imports an OCI archive and tags it with each extra name.
func (d *Daemon) ImportImage(ctx context.Context, archive, name string, tags ...string) error {
	if _, err := d.Ctr(ctx, "images", "import", archive); err != nil {
		return err
	}
	for _, t := range tags {
		if _, err := d.Ctr(ctx, "images", "tag", "--force", name, t); err != nil {
			return err
		}
	}
	return nil
}

// Stop kills every task and the daemon, unmounts what it left and removes
// its root.
func (d *Daemon) Stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		return
	}
	d.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The CRI namespace too: a pod a failed test left must not leave shims.
	for _, ns := range []string{d.Namespace, CRINamespace} {
		if out, err := d.CtrIn(ctx, ns, "tasks", "ls", "-q"); err == nil {
			for _, id := range strings.Fields(out) {
				d.CtrIn(ctx, ns, "tasks", "kill", "-a", "-s", "SIGKILL", id)
				d.CtrIn(ctx, ns, "tasks", "delete", "-f", id)
			}
		}
		if out, err := d.CtrIn(ctx, ns, "containers", "ls", "-q"); err == nil {
			for _, id := range strings.Fields(out) {
				d.CtrIn(ctx, ns, "containers", "delete", id)
			}
		}
	}
	if d.cmd != nil && d.cmd.Process != nil {
		d.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { d.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	if d.log != nil {
		d.log.Close()
	}
	unmountUnder(d.Dir)
	os.RemoveAll(d.Dir)
}

// unmountUnder lazily unmounts every mount point below dir, deepest first.
func unmountUnder(dir string) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var mps []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			mps = append(mps, f[4])
		}
	}
	for i := len(mps) - 1; i >= 0; i-- {
		unix.Unmount(mps[i], unix.MNT_DETACH)
	}
}
