package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/vigil-dev/vigil/monitor/rules"
)

func init() {
	register("rules check", "validate Falco rules files as vigil evaluates them", runRulesCheck)
	register("rules list", "list the built-in rules with priority, tags and default action", runRulesList)
	register("rules fields", "list the fields vigil's sensors produce for rules", runRulesFields)
}

func rulesFlagSet(name, args string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: vigil %s [flags] %s\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

// readRuleFiles reads each named file as a rules source.
func readRuleFiles(paths []string) ([]rules.Source, error) {
	out := make([]rules.Source, 0, len(paths))
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		out = append(out, rules.Source{Name: p, Data: data})
	}
	return out, nil
}

// runRulesCheck loads FILEs in order on top of the base library of Falco
// macros (unless --no-builtin), as Falco's -V validates them, and reports
// each rule: ok, unsupported (with the field or construct vigil lacks),
// skipped, or its error with file:line.
func runRulesCheck(args []string, stdout, stderr io.Writer) int {
	fs := rulesFlagSet("rules check", "FILE...", stderr)
	noBuiltin := fs.Bool("no-builtin", false, "do not load vigil's base library of Falco macros and lists first")
	verbose := fs.Bool("v", false, "also list output fields vigil prints as <NA>")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "rules check: no rules file given")
		fs.Usage()
		return 2
	}
	files, err := readRuleFiles(fs.Args())
	if err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return 1
	}
	if !*noBuiltin {
		files = append([]rules.Source{rules.BaseLibrarySource()}, files...)
	}
	rs, warns, loadErr := rules.Load(files...)
	var errs rules.Errors
	if loadErr != nil && !errors.As(loadErr, &errs) {
		fmt.Fprintf(stderr, "error: %v\n", loadErr)
		return 1
	}

	counts := map[rules.Status]int{}
	shown := map[string]bool{} // rule errors printed with their rule
	for _, r := range rs.Rules() {
		counts[r.Status()]++
		loc := fmt.Sprintf("%s:%d: rule %q: ", r.File(), r.Line(), r.Name())
		switch r.Status() {
		case rules.StatusOK:
			line := loc + "ok"
			if !r.Enabled() {
				line += " (disabled)"
			}
			if u := r.UnsupportedOutputFields(); *verbose && len(u) > 0 {
				line += " (output prints <NA> for " + strings.Join(u, ", ") + ")"
			}
			fmt.Fprintln(stdout, line)
		case rules.StatusUnsupported:
			fmt.Fprintln(stdout, loc+"unsupported: "+r.Reason())
		case rules.StatusSkipped:
			fmt.Fprintln(stdout, loc+"skipped: "+r.Reason())
		case rules.StatusError:
			shown[r.File()+"\x00rule '"+r.Name()+"'"] = true
			fmt.Fprintln(stdout, loc+"error: "+r.Err().Error())
		}
	}
	for _, w := range warns {
		fmt.Fprintln(stderr, "warning: "+w.String())
	}
	nErr := counts[rules.StatusError]
	for _, e := range errs {
		if shown[e.File+"\x00"+e.Item] {
			continue
		}
		nErr++
		fmt.Fprintln(stderr, "error: "+e.Error())
	}
	fmt.Fprintf(stdout, "%d rules: %d ok, %d unsupported, %d skipped, %d errors; %d warnings\n",
		len(rs.Rules()), counts[rules.StatusOK], counts[rules.StatusUnsupported], counts[rules.StatusSkipped], nErr, len(warns))
	if nErr > 0 {
		return 1
	}
	return 0
}

// runRulesList prints the built-in rules (and those of any FILE loaded on
// top of them) with priority, tags and the action enforce mode takes by
// default.
func runRulesList(args []string, stdout, stderr io.Writer) int {
	fs := rulesFlagSet("rules list", "[FILE...]", stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	extra, err := readRuleFiles(fs.Args())
	if err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return 1
	}
	rs, _, err := rules.LoadBuiltin(extra...)
	if err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tPRIORITY\tACTION\tSTATUS\tTAGS")
	for _, r := range rs.Rules() {
		status := r.Status().String()
		if !r.Enabled() {
			status += " (disabled)"
		}
		action := rules.Decide(r, "enforce", rules.DefaultKillAt, nil, nil)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Name(), r.Priority(), action, status, strings.Join(r.Tags(), ","))
	}
	if err := tw.Flush(); err != nil {
		return 1
	}
	fmt.Fprintf(stdout, "default action: enforce mode kills at %s or more severe; a policy's monitor.kill, monitor.alertOnly and monitor.killAt change it\n", rules.DefaultKillAt)
	return 0
}

// runRulesFields lists the fields vigil's sensors produce, which rule
// conditions and outputs may use.
func runRulesFields(args []string, stdout, stderr io.Writer) int {
	fs := rulesFlagSet("rules fields", "", stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "rules fields: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FIELD\tARGUMENT\tTYPE\tDESCRIPTION")
	for _, f := range rules.Fields() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Name, f.Arg, f.Type, f.Desc)
	}
	if err := tw.Flush(); err != nil {
		return 1
	}
	return 0
}
