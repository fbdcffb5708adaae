package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-dev/vigil/monitor"
	"github.com/vigil-dev/vigil/monitor/rules"
	"github.com/vigil-dev/vigil/test/harness"
)

// loopPath is where the loop workload lives in the benchmark image.
const loopPath = "/usr/local/bin/loop"

// policies writes the monitored and unmonitored policies: the same seccomp
// profile, the monitor on (default rules, enforce) or off.
func policies(dir string) (on, off string, err error) {
	on = filepath.Join(dir, "monitored.yaml")
	off = filepath.Join(dir, "unmonitored.yaml")
	alerts := filepath.Join(dir, "bench-alerts.jsonl")
	body := "alerts: {file: %s}\npolicies:\n  - name: bench\n    match: {}\n    seccomp: runtime/default\n    monitor: {mode: %s}\n"
	if err = os.WriteFile(on, []byte(fmt.Sprintf(body, alerts, "enforce")), 0o600); err != nil {
		return
	}
	err = os.WriteFile(off, []byte(fmt.Sprintf(body, alerts, "off")), 0o600)
	return
}

// nsPerOp runs `loop op n` in a fresh container under policy and returns
// the nanoseconds per operation it measured inside.
func nsPerOp(ctx context.Context, d *harness.Daemon, img, policy, id, op string, n int) (time.Duration, error) {
	res, err := d.Run(ctx, "", img, id, []string{"--runtime-config-path", policy}, loopPath, op, strconv.Itoa(n))
	if err != nil {
		return 0, err
	}
	return parseNs(res.Output, res.ExitCode)
}

func parseNs(out string, code int) (time.Duration, error) {
	lines := strings.Fields(strings.TrimSpace(out))
	if code != 0 || len(lines) == 0 {
		return 0, fmt.Errorf("loop exited %d: %s", code, out)
	}
	v, err := strconv.ParseInt(lines[len(lines)-1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("loop output %q: %w", out, err)
	}
	return time.Duration(v), nil
}

// hostNs runs the loop on the host.
func hostNs(ctx context.Context, loop, op string, n int) (time.Duration, error) {
	cmd := exec.CommandContext(ctx, loop, op, strconv.Itoa(n))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("host loop %s: %v %s", op, err, out)
	}
	return parseNs(string(out), 0)
}

// monitorBenches measures what the monitor costs: inside a monitored
// container against an unmonitored one, on the host with the program set
// loaded against not loaded, with many monitored containers against one,
// and the kernel memory one container takes.
func monitorBenches(ctx context.Context, d *harness.Daemon, img, loop string, rounds, containers int) ([]result, error) {
	on, off, err := policies(d.Dir)
	if err != nil {
		return nil, err
	}
	var rows []result
	inside := []struct {
		op     string
		n      int
		target float64
	}{{"open", 200000, 1.03}, {"exec", 1000, 1.05}}
	for _, b := range inside {
		var base, mon []time.Duration
		for i := 0; i < rounds; i++ {
			x, err := nsPerOp(ctx, d, img, off, fmt.Sprintf("b-off-%s-%d", b.op, i), b.op, b.n)
			if err != nil {
				return nil, err
			}
			y, err := nsPerOp(ctx, d, img, on, fmt.Sprintf("b-on-%s-%d", b.op, i), b.op, b.n)
			if err != nil {
				return nil, err
			}
			base, mon = append(base, x), append(mon, y)
		}
		rows = append(rows, result{name: fmt.Sprintf("%s loop in a container: unmonitored vs monitored (per op)", b.op), stock: median(base), vigil: median(mon), target: b.target})
	}

	// The host: the program set not loaded, then loaded with a monitored
	// container running, alternately.
	host := []struct {
		op     string
		n      int
		target float64
	}{{"getpid", 2000000, 1.01}, {"open", 200000, 1.01}, {"exec", 1000, 1.01}}
	hb := make([][]time.Duration, len(host))
	hm := make([][]time.Duration, len(host))
	for i := 0; i < rounds; i++ {
		if err := monitor.Unload(monitor.Options{}); err != nil {
			return nil, fmt.Errorf("unload the monitor: %w", err)
		}
		for k, h := range host {
			v, err := hostNs(ctx, loop, h.op, h.n)
			if err != nil {
				return nil, err
			}
			hb[k] = append(hb[k], v)
		}
		id := fmt.Sprintf("b-host-%d", i)
		r := d.RunBackground(ctx, "", img, id, []string{"--runtime-config-path", on}, "sleep", "600")
		if err := d.WaitRunning(ctx, r); err != nil {
			return nil, err
		}
		for k, h := range host {
			v, err := hostNs(ctx, loop, h.op, h.n)
			if err != nil {
				return nil, err
			}
			hm[k] = append(hm[k], v)
		}
		d.Ctr(ctx, "tasks", "kill", "-s", "SIGKILL", id)
		r.Wait(ctx)
	}
	for k, h := range host {
		rows = append(rows, result{name: fmt.Sprintf("host %s loop: monitor not loaded vs loaded (per op)", h.op), stock: median(hb[k]), vigil: median(hm[k]), target: h.target})
	}

	// Exec cost in one monitored container while 1, then N, are monitored.
	execIn := func(id string) (time.Duration, error) {
		var v []time.Duration
		for i := 0; i < rounds; i++ {
			res, err := d.Exec(ctx, id, fmt.Sprintf("loop-%d", i), loopPath, "exec", "500")
			if err != nil {
				return 0, err
			}
			x, err := parseNs(res.Output, res.ExitCode)
			if err != nil {
				return 0, err
			}
			v = append(v, x)
		}
		return median(v), nil
	}
	var running []*harness.Running
	defer func() {
		for _, r := range running {
			d.Ctr(context.Background(), "tasks", "kill", "-s", "SIGKILL", r.ID)
		}
		for _, r := range running {
			r.Wait(context.Background())
		}
	}()
	start := func(i int) error {
		id := fmt.Sprintf("b-many-%d", i)
		r := d.RunBackground(ctx, "", img, id, []string{"--runtime-config-path", on}, "sleep", "3600")
		running = append(running, r)
		return d.WaitRunning(ctx, r)
	}
	if err := start(0); err != nil {
		return nil, err
	}
	one, err := execIn("b-many-0")
	if err != nil {
		return nil, err
	}
	for i := 1; i < containers; i++ {
		if err := start(i); err != nil {
			return nil, err
		}
	}
	many, err := execIn("b-many-0")
	if err != nil {
		return nil, err
	}
	rows = append(rows, result{name: fmt.Sprintf("exec in a container: 1 vs %d monitored containers", containers), stock: one, vigil: many, target: 1.05})

	mem, err := containerMemory()
	if err != nil {
		return nil, err
	}
	rows = append(rows, result{name: "kernel memory per monitored container (bytes; target ≤ 64 KiB)", stock: 64 << 10, vigil: time.Duration(mem), target: 1.0, bytes: true})
	return rows, nil
}

// containerMemory measures what registering one container with the
// built-in rules' names adds to the kernel's maps, with its ring buffer.
func containerMemory() (uint64, error) {
	m, err := monitor.Open(monitor.Options{})
	if err != nil {
		return 0, err
	}
	defer m.Close()
	rs, _, err := rules.LoadBuiltin()
	if err != nil {
		return 0, err
	}
	names := map[string]uint32{}
	for _, n := range rs.ProcNames(nil) {
		names[n] = monitor.ClassShell
	}
	exes := make([]monitor.Exe, 8)
	for i := range exes {
		exes[i] = monitor.Exe{Dev: 1, Ino: uint64(1000 + i), Class: monitor.ClassShell}
	}
	cm, err := m.MeasureContainerMemory(monitor.Container{Mode: monitor.Enforce, Names: names, Exes: exes})
	if err != nil {
		return 0, err
	}
	return cm.Total(), nil
}
