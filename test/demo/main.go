// Command demo runs vigil for real on this machine: a private containerd
// with vigil's runtime, a container started hardened and watched, two
// attacks stopped, the Falco-format alerts they raised. `make demo` runs it
// as root; everything it starts is removed when it ends.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/vigil-dev/vigil/test/harness"
)

const (
	image = "docker.io/vigil/web:1.0"
	step  = "\n\033[1m==> %s\033[0m\n"
)

func main() {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "demo: run as root (it starts containerd, runc and eBPF programs)")
		os.Exit(2)
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	fmt.Printf(step, "building containerd, ctr, runc (pinned in go.mod; cached) and vigil")
	tools, err := harness.BuildTools()
	if err != nil {
		return err
	}
	defer tools.Cleanup()
	d, err := harness.StartDaemon(tools, harness.DaemonOptions{})
	if err != nil {
		return err
	}
	defer d.Stop()
	fmt.Printf("private containerd at %s (root %s)\n", d.Address, d.Dir)

	fmt.Printf(step, "building a busybox image and importing it as "+image)
	archive := filepath.Join(d.Dir, "web.tar")
	if err := harness.BuildBusyboxImage(archive, image); err != nil {
		return err
	}
	if err := d.ImportImage(ctx, archive, image); err != nil {
		return err
	}

	policy := filepath.Join(d.Dir, "vigil.yaml")
	alerts := filepath.Join(d.Dir, "alerts.jsonl")
	body := fmt.Sprintf(`onError: refuse
alerts: {file: %s}
policies:
  - name: reference
    match:
      labels: {profile: reference}
    seccomp: hardened            # the reference document's seccomp profile, as written
  - name: web
    match:
      images: ["docker.io/vigil/web:*"]
    seccomp: runtime/default
    apparmor: {profile: vigil-default, mode: best-effort}
    monitor:
      mode: enforce
      kill: ["tag:shell", "Sensitive File Access"]
  - name: default
    match: {}
    seccomp: runtime/default
`, alerts)
	if err := os.WriteFile(policy, []byte(body), 0o600); err != nil {
		return err
	}
	fmt.Printf(step, "the policy ("+policy+")")
	fmt.Print(body)

	fmt.Printf(step, "vigil policy explain --image "+image)
	show(tools.Vigil, "policy", "explain", "--config", policy, "--image", image)

	fmt.Printf(step, "the reference document's seccomp profile: the container starts, mkdir is denied")
	ref, err := d.Run(ctx, "", image, "reference", []string{"--runtime-config-path", policy, "--label", "profile=reference"},
		"sh", "-c", "echo started; mkdir /tmp/x || echo mkdir denied; grep Seccomp: /proc/self/status")
	if err != nil {
		return err
	}
	fmt.Print(indent(ref.Output))

	fmt.Printf(step, "starting container web-1 under io.containerd.vigil.v2 (no --seccomp flag given)")
	web := start(ctx, d, policy, "web-1")
	if web == nil {
		return fmt.Errorf("web-1 did not start")
	}
	res, _ := d.Exec(ctx, "web-1", "status", "grep", "-E", "Seccomp|NoNewPrivs", "/proc/1/status")
	fmt.Print(indent(res.Output))
	out, _ := d.Ctr(ctx, "containers", "info", "web-1")
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "vigil.dev/") {
			fmt.Print(indent(strings.TrimSpace(l)))
		}
	}

	fmt.Printf(step, "attack 1: an attacker execs a shell in web-1: sh -c 'echo PWNED'")
	res, _ = d.Exec(ctx, "web-1", "attack-shell", "sh", "-c", "echo PWNED")
	fmt.Printf("   output: %q (exit %d)\n", res.Output, res.ExitCode)
	end, _ := web.Wait(ctx)
	fmt.Printf("   web-1 ended with exit status %d\n", end.ExitCode)

	fmt.Printf(step, "attack 2: an attacker reads /etc/shadow in web-2")
	web2 := start(ctx, d, policy, "web-2")
	if web2 == nil {
		return fmt.Errorf("web-2 did not start")
	}
	res, _ = d.Exec(ctx, "web-2", "attack-shadow", "cat", "/etc/shadow")
	fmt.Printf("   output: %q (exit %d): %d bytes of /etc/shadow leaked\n", res.Output, res.ExitCode, leaked(res.Output))
	end, _ = web2.Wait(ctx)
	fmt.Printf("   web-2 ended with exit status %d\n", end.ExitCode)

	fmt.Printf(step, "alerts ("+alerts+"), Falco JSON")
	time.Sleep(200 * time.Millisecond)
	printAlerts(alerts)
	fmt.Printf(step, "done: containerd stopped, its root removed")
	return nil
}

func start(ctx context.Context, d *harness.Daemon, policy, id string) *harness.Running {
	r := d.RunBackground(ctx, "", image, id, []string{"--runtime-config-path", policy}, "sleep", "600")
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := d.WaitRunning(wctx, r); err != nil {
		fmt.Println("   ", err)
		return nil
	}
	return r
}

func leaked(out string) int {
	if strings.Contains(out, "root:$") {
		return len(out)
	}
	return 0
}

func show(bin string, args ...string) {
	out, err := exec.Command(bin, args...).CombinedOutput()
	fmt.Print(indent(string(out)))
	if err != nil {
		fmt.Println("   (", err, ")")
	}
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return ""
	}
	return "   " + strings.ReplaceAll(s, "\n", "\n   ") + "\n"
}

func printAlerts(path string) {
	f, err := os.Open(path)
	if err != nil {
		fmt.Println("   no alerts:", err)
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var a struct {
			Rule     string `json:"rule"`
			Priority string `json:"priority"`
			Output   string `json:"output"`
			Vigil    struct {
				Action       string `json:"action"`
				KernelAction string `json:"kernelAction"`
				ContainerID  string `json:"containerID"`
			} `json:"vigil"`
		}
		if json.Unmarshal(sc.Bytes(), &a) != nil {
			continue
		}
		ka := a.Vigil.KernelAction
		if ka == "" {
			ka = "-"
		}
		fmt.Printf("   %-8s %-28s container=%s action=%s kernel=%s\n", a.Priority, a.Rule, a.Vigil.ContainerID, a.Vigil.Action, ka)
	}
	fmt.Println("\n   first alert line as written:")
	f.Seek(0, 0)
	sc = bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	if sc.Scan() {
		fmt.Println(indent(sc.Text()))
	}
}
