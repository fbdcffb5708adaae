// Command bench measures vigil against the stock runc shim in the same run
// and prints ratios (vigil / stock): container start-to-exit time, and the
// monitor's costs. `make bench` runs it as root.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/vigil-dev/vigil/test/harness"
)

func main() {
	n := flag.Int("n", 20, "runs per start-to-exit measurement")
	rounds := flag.Int("rounds", 5, "rounds per monitor measurement")
	containers := flag.Int("containers", 100, "monitored containers for the many-containers measurement")
	only = flag.String("only", "", `"start": only the start-to-exit rows; "egress": only the egress rows`)
	flag.Parse()
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "bench: requires root (runs containerd, runc and eBPF)")
		os.Exit(2)
	}
	if err := run(*n, *rounds, *containers); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

var only *string

// result is one row of the report.
type result struct {
	name         string
	stock, vigil time.Duration
	target       float64
	// bytes prints the values as byte counts, not durations.
	bytes bool
}

func run(n, rounds, containers int) error {
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
	const img = "docker.io/vigil/busybox:latest"
	root, err := harness.RepoRoot()
	if err != nil {
		return err
	}
	loop := filepath.Join(d.Dir, "loop")
	build := exec.Command("go", "build", "-o", loop, "./test/bench/loop")
	build.Dir, build.Env = root, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build the loop workload: %v\n%s", err, out)
	}
	loopBin, err := os.ReadFile(loop)
	if err != nil {
		return err
	}
	archive := filepath.Join(d.Dir, "img.tar")
	if err := harness.BuildBusyboxImage(archive, img, harness.ImageFile{Path: loopPath, Mode: 0o755, Data: loopBin}); err != nil {
		return err
	}
	ctx := context.Background()
	if err := d.ImportImage(ctx, archive, img); err != nil {
		return err
	}
	policyFile := filepath.Join(d.Dir, "bench-policy.yaml")
	if err := os.WriteFile(policyFile, []byte("policies:\n  - name: bench\n    match: {}\n    seccomp: runtime/default\n"), 0o600); err != nil {
		return err
	}
	var rows []result

	// Start-to-exit: `ctr run --rm` of /bin/true, alternating runtimes so
	// drift in the machine's load hits both alike.
	// The stock shim runs with --seccomp (containerd's RuntimeDefault), so
	// both sides install the same kind of filter and the ratio is vigil's own
	// cost; the plain stock run is printed as a second row for reference.
	cases := []struct {
		runtime string
		flags   []string
	}{
		{"io.containerd.runc.v2", []string{"--seccomp"}},
		{harness.Runtime, []string{"--runtime-config-path", policyFile}},
		{"io.containerd.runc.v2", nil},
	}
	times := make([][]time.Duration, len(cases))
	if *only == "egress" {
		n = -2
	}
	for i := 0; i < n+2; i++ {
		for c, k := range cases {
			start := time.Now()
			res, err := d.Run(ctx, k.runtime, img, fmt.Sprintf("bench-%d-%d", i, c), k.flags, "true")
			el := time.Since(start)
			if err != nil || res.ExitCode != 0 {
				return fmt.Errorf("run under %s: %v %s", k.runtime, err, res.Output)
			}
			if i >= 2 { // the first two rounds warm caches
				times[c] = append(times[c], el)
			}
		}
	}
	if *only != "egress" {
		rows = append(rows,
			result{name: "start-to-exit: stock+RuntimeDefault vs vigil runtime/default", stock: median(times[0]), vigil: median(times[1]), target: 1.05},
			result{name: "start-to-exit: stock, no seccomp vs vigil runtime/default", stock: median(times[2]), vigil: median(times[1])},
		)
	}

	// Where vigil's extra start time goes, from the shim's own debug log
	// line for each Create.
	if b := createBreakdown(d.Log()); b != "" {
		fmt.Println(b)
	}
	if b := watchBreakdown(d.Log()); b != "" {
		fmt.Println(b)
	}
	if p := logPhases(d.Log(), "vigil prepare", "rules", "sensors"); p != nil {
		fmt.Printf("vigil prepare (beside runc create), median of %d: load and compile rules %v, open sensors %v\n",
			len(p["rules"]), median(p["rules"]), median(p["sensors"]))
	}
	if b := shutdownBreakdown(d.Log()); b != "" {
		fmt.Println(b)
	}

	if *only == "start" {
		report(rows)
		return nil
	}
	if *only != "egress" {
		more, err := monitorBenches(ctx, d, img, loop, rounds, containers)
		if err != nil {
			return err
		}
		rows = append(rows, more...)
	}
	eg, err := egressBenches(ctx, d, img, policyFile, rounds)
	if err != nil {
		return err
	}
	rows = append(rows, eg...)
	report(rows)
	return nil
}

// createField matches one timing field of the shim's "vigil create"
// debug line in containerd's log.
var createField = regexp.MustCompile(`\b(decide|facts|policy|write|runc|watch)=([0-9.]+(?:µs|ms|ns|s))`)

// createBreakdown returns the median time each phase of vigil's Create
// took, from the shim's "vigil create" debug lines; "" when there are none.
func createBreakdown(log string) string {
	p := logPhases(log, "vigil create", "decide", "facts", "policy", "write", "runc", "watch")
	if p == nil {
		return ""
	}
	return fmt.Sprintf("vigil Create, median of %d: decide %v (containerd records %v, policy and profiles %v, config.json %v), runc create %v, watch %v",
		len(p["decide"]), median(p["decide"]), median(p["facts"]), median(p["policy"]), median(p["write"]), median(p["runc"]), median(p["watch"]))
}

// watchBreakdown returns the median time each part of the shim's watch
// step took: classifying the image's executables, registering with the
// monitor, placing fanotify marks.
func watchBreakdown(log string) string {
	p := logPhases(log, "vigil watch", "classify", "register", "marks")
	if p == nil {
		return ""
	}
	return fmt.Sprintf("vigil watch, median of %d: classify executables %v, register with the monitor %v, fanotify marks %v",
		len(p["classify"]), median(p["classify"]), median(p["register"]), median(p["marks"]))
}

// shutdownBreakdown returns the median time the shim's Shutdown spent
// waiting for containers to be unregistered and closing its sensors.
func shutdownBreakdown(log string) string {
	p := logPhases(log, "vigil shutdown", "unwatch", "close")
	if p == nil {
		return ""
	}
	return fmt.Sprintf("vigil Shutdown, median of %d: waiting for unregistration %v, closing sensors %v",
		len(p["unwatch"]), median(p["unwatch"]), median(p["close"]))
}

// logPhases collects the durations of fields on the shim's debug lines
// with message msg (logrus quotes values with non-ASCII units); nil when
// some field never appears.
func logPhases(log, msg string, fields ...string) map[string][]time.Duration {
	field := regexp.MustCompile(`\b(` + strings.Join(fields, "|") + `)="?([0-9.]+(?:µs|ms|ns|s))`)
	phases := map[string][]time.Duration{}
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, `msg="`+msg+`"`) {
			continue
		}
		for _, m := range field.FindAllStringSubmatch(line, -1) {
			if d, err := time.ParseDuration(m[2]); err == nil {
				phases[m[1]] = append(phases[m[1]], d)
			}
		}
	}
	for _, f := range fields {
		if len(phases[f]) == 0 {
			return nil
		}
	}
	return phases
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func report(rows []result) {
	fmt.Printf("%-64s %14s %14s %8s %8s\n", "measurement", "baseline", "vigil", "ratio", "target")
	for _, r := range rows {
		ratio := float64(r.vigil) / float64(r.stock)
		mark := "ok"
		if r.target > 0 && ratio > r.target {
			mark = "OVER"
		}
		t := "-"
		if r.target > 0 {
			t = fmt.Sprintf("≤%.2f", r.target)
		}
		a, b := r.stock.String(), r.vigil.String()
		if r.bytes {
			a, b = fmt.Sprintf("%d B", r.stock), fmt.Sprintf("%d B", r.vigil)
		}
		fmt.Printf("%-64s %14s %14s %8.3f %8s %s\n", r.name, a, b, ratio, t, mark)
	}
}
