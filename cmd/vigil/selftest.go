package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/vigil-dev/vigil/test/harness"
)

func init() {
	register("selftest", "attack containers under vigil and show that every attack is caught", runSelftest)
}

// selftestImage is the reference the self test's image is imported as.
const selftestImage = "docker.io/vigil/selftest:latest"

// selftestRow is one line of the self test's table.
type selftestRow struct {
	Attack   string `json:"attack"`
	Expected string `json:"expected"`
	// Seen is the rule that fired, or "nothing".
	Seen string `json:"seen"`
	// Action is the alert's vigil.action, and its kernelAction after a
	// slash ("kill/killed").
	Action string `json:"action"`
	// LatencyMs is from the attack's start to the alert's time; null when
	// no alert is expected or none came.
	LatencyMs *float64 `json:"latencyMs"`
	Caught    bool     `json:"caught"`
	// Problem says why a row is not caught as expected.
	Problem string `json:"problem,omitempty"`
}

// runSelftest starts containers under vigil, performs each detection's
// attack and the evasions of harness.Attacks in a fresh container each,
// and prints what vigil did. Exit 0 only when every row is caught as
// expected.
func runSelftest(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("selftest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	address := fs.String("address", "", "containerd socket of an existing containerd with the vigil runtime installed (default: start a private containerd built from this source tree)")
	namespace := fs.String("namespace", "vigil-selftest", "containerd namespace for the test containers (with --address)")
	ctrPath := fs.String("ctr", "", "ctr binary (with --address; default: ctr in PATH)")
	memexec := fs.String("memexec", "", "prebuilt static memexec fixture (with --address; default: build it, which needs Go and the vigil source tree)")
	asJSON := fs.Bool("json", false, "print the table as JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: vigil selftest [--json] [--address SOCK [--namespace NS] [--ctr PATH] [--memexec PATH]]")
		fmt.Fprintln(stderr, "\nWithout --address it builds containerd, runc and vigil from this source tree (it needs Go, like `make demo`) and runs a private containerd. Root is required either way.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "selftest: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	if *address == "" {
		var set []string
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "namespace" || f.Name == "ctr" || f.Name == "memexec" {
				set = append(set, "--"+f.Name)
			}
		})
		if len(set) > 0 {
			fmt.Fprintf(stderr, "selftest: %s needs --address\n", strings.Join(set, ", "))
			return 2
		}
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(stderr, "selftest: requires root: it runs containers and vigil's eBPF monitor")
		return 1
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env, err := selftestEnv(ctx, *address, *namespace, *ctrPath, *memexec, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "selftest: %v\n", err)
		return 1
	}
	defer env.close()

	rows, err := runAttacks(ctx, env.d, harness.Attacks(), stderr)
	if err != nil {
		fmt.Fprintf(stderr, "selftest: %v\n", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rows); err != nil {
			fmt.Fprintf(stderr, "selftest: %v\n", err)
			return 1
		}
	} else {
		writeSelftestTable(stdout, rows)
	}
	for _, r := range rows {
		if !r.Caught {
			return 1
		}
	}
	return 0
}

// selftestEnvironment is where the attacks run.
type selftestEnvironment struct {
	d     *harness.Daemon
	close func()
}

// selftestEnv starts a private containerd (address "") or connects to the
// one at address, and imports the self test's image into it.
func selftestEnv(ctx context.Context, address, namespace, ctrPath, memexec string, stderr io.Writer) (*selftestEnvironment, error) {
	work, err := os.MkdirTemp("", "vigil-selftest-")
	if err != nil {
		return nil, err
	}
	cleanups := []func(){func() { os.RemoveAll(work) }}
	env := &selftestEnvironment{close: func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}}
	fail := func(err error) (*selftestEnvironment, error) {
		env.close()
		return nil, err
	}

	if address == "" {
		fmt.Fprintln(stderr, "building containerd, runc and vigil from the source tree ...")
		tools, err := harness.BuildTools()
		if err != nil {
			return fail(fmt.Errorf("build the tools (the default mode needs Go and the vigil source tree; see --address): %w", err))
		}
		cleanups = append(cleanups, tools.Cleanup)
		d, err := harness.StartDaemon(tools, harness.DaemonOptions{})
		if err != nil {
			return fail(err)
		}
		cleanups = append(cleanups, d.Stop)
		env.d = d
		fmt.Fprintf(stderr, "private containerd at %s\n", d.Address)
	} else {
		if ctrPath == "" {
			if ctrPath, err = exec.LookPath("ctr"); err != nil {
				return fail(fmt.Errorf("ctr not found in PATH (use --ctr): %w", err))
			}
		}
		env.d = &harness.Daemon{Tools: &harness.Tools{Ctr: ctrPath}, Address: address, Namespace: namespace}
		if out, err := env.d.Ctr(ctx, "version"); err != nil {
			return fail(fmt.Errorf("containerd at %s: %v: %s", address, err, out))
		}
	}

	if memexec == "" {
		memexec = filepath.Join(work, "memexec")
		if err := harness.BuildMemexec(memexec); err != nil {
			return fail(fmt.Errorf("the self test needs its memexec fixture: pass --memexec PATH (built with `CGO_ENABLED=0 go build ./test/harness/memexec`) or run it from the vigil source tree with Go installed: %w", err))
		}
	}
	files, err := harness.AttackImageFiles(memexec)
	if err != nil {
		return fail(err)
	}
	archive := filepath.Join(work, "selftest.tar")
	if err := harness.BuildBusyboxImage(archive, selftestImage, files...); err != nil {
		return fail(fmt.Errorf("build the self test image: %w", err))
	}
	if err := env.d.ImportImage(ctx, archive, selftestImage); err != nil {
		return fail(fmt.Errorf("import the self test image: %w", err))
	}
	if address != "" {
		d := env.d
		cleanups = append(cleanups, func() {
			rctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			d.Ctr(rctx, "images", "rm", selftestImage)
		})
	}
	return env, nil
}

// runAttacks runs each attack in a fresh container, showing progress on
// progress, and returns the table's rows.
func runAttacks(ctx context.Context, d *harness.Daemon, attacks []harness.Attack, progress io.Writer) ([]selftestRow, error) {
	rows := make([]selftestRow, 0, len(attacks))
	for i, a := range attacks {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		fmt.Fprintf(progress, "[%d/%d] %s ... ", i+1, len(attacks), a.Name)
		dir, err := os.MkdirTemp("", "vigil-selftest-attack-")
		if err != nil {
			return nil, err
		}
		actx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		id := fmt.Sprintf("vigil-selftest-%d-%d", os.Getpid(), i+1)
		o, err := d.RunAttack(actx, a, selftestImage, id, dir)
		cancel()
		os.RemoveAll(dir)
		var row selftestRow
		if err != nil {
			row = selftestRow{Attack: a.Name, Expected: a.Expect.String(), Seen: "nothing", Action: "-", Problem: "not carried out: " + err.Error()}
		} else {
			row = judgeRow(a, o)
		}
		fmt.Fprintln(progress, progressNote(row))
		rows = append(rows, row)
	}
	return rows, nil
}

// judgeRow turns an attack's outcome into its row.
func judgeRow(a harness.Attack, o harness.Outcome) selftestRow {
	row := selftestRow{Attack: a.Name, Expected: a.Expect.String(), Seen: "nothing", Action: "-"}
	row.Caught, row.Problem = a.Judge(o)
	if a.Expect == harness.ExpectNothing {
		var fired []string
		for _, al := range o.Alerts {
			if !harness.IsSentinel(al) {
				fired = append(fired, al.Rule)
			}
		}
		if len(fired) > 0 {
			row.Seen = strings.Join(fired, ", ")
		}
		return row
	}
	al := o.Verdict(a)
	if al == nil {
		var fired []string
		for _, x := range o.Alerts {
			fired = append(fired, x.Rule)
		}
		if len(fired) > 0 {
			row.Seen = strings.Join(fired, ", ")
		}
		return row
	}
	row.Seen = al.Rule
	row.Action = harness.Action(al)
	ms := float64(al.Time.Sub(o.Start)) / float64(time.Millisecond)
	row.LatencyMs = &ms
	return row
}

func progressNote(r selftestRow) string {
	if !r.Caught {
		return "MISSED: " + r.Problem
	}
	if r.Expected == "nothing" {
		return "ok: nothing fired, left running"
	}
	verb := "alerted"
	if strings.HasPrefix(r.Action, "kill") {
		verb = "killed"
		if strings.HasSuffix(r.Action, "/denied") {
			verb = "denied"
		}
	}
	return fmt.Sprintf("caught: %s in %s", verb, latencyString(r.LatencyMs))
}

func latencyString(ms *float64) string {
	if ms == nil {
		return "-"
	}
	return fmt.Sprintf("%.1fms", *ms)
}

// writeSelftestTable prints the rows as an aligned table and a summary.
func writeSelftestTable(w io.Writer, rows []selftestRow) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ATTACK\tEXPECTED\tSEEN\tACTION\tLATENCY\tRESULT")
	caught := 0
	for _, r := range rows {
		result := "caught"
		if r.Caught {
			caught++
		} else {
			result = "MISSED"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Attack, r.Expected, r.Seen, r.Action, latencyString(r.LatencyMs), result)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d/%d caught as expected\n", caught, len(rows))
	for _, r := range rows {
		if !r.Caught {
			fmt.Fprintf(w, "MISSED %s: %s\n", r.Attack, r.Problem)
		}
	}
}
