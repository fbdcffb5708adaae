package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/vigil-dev/vigil/policy"
)

// extraPolicyChecks are the checks of other packages (profile files exist,
// rule files load) that "policy check" runs after the file itself is valid.
var extraPolicyChecks []policy.Check

func init() {
	register("policy check", "validate the configuration file and its policies", runPolicyCheck)
	register("policy explain", "show which policy applies to a container and why", runPolicyExplain)
}

const policyConfigUsage = "configuration file (default: $" + policy.EnvConfig + ", then " + policy.DefaultPath + ")"

// policyFlagSet returns a flag set that reports to stderr.
func policyFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// policyParseFlags parses args; it returns an exit code and false when the
// command must stop (help asked, or a usage error).
func policyParseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		fs.Usage()
		return 2, false
	}
	return 0, true
}

// loadPolicyConfig loads the file --config or Locate names, or the
// built-in default. It prints problems to stderr and returns exit code 1
// with a nil Config on failure.
func loadPolicyConfig(configFlag string, stderr io.Writer) (*policy.Config, int) {
	path, found := policy.Locate(configFlag)
	if !found {
		return policy.Default(), 0
	}
	cfg, err := policy.Load(path)
	if err != nil {
		printPolicyErrors(stderr, err)
		return nil, 1
	}
	return cfg, 0
}

// printPolicyErrors prints every problem on its own line and a count.
func printPolicyErrors(w io.Writer, err error) {
	var errs *policy.Errors
	if !errors.As(err, &errs) {
		fmt.Fprintln(w, err)
		return
	}
	for _, e := range errs.List {
		fmt.Fprintln(w, e.Error())
	}
	if n := len(errs.List); n == 1 {
		fmt.Fprintln(w, "1 error")
	} else {
		fmt.Fprintf(w, "%d errors\n", n)
	}
}

func policyConfigName(cfg *policy.Config) string {
	if cfg.File == "" {
		return "built-in default (no file at $" + policy.EnvConfig + " or " + policy.DefaultPath + ")"
	}
	return cfg.File
}

func runPolicyCheck(args []string, stdout, stderr io.Writer) int {
	fs := policyFlagSet("vigil policy check", stderr)
	config := fs.String("config", "", policyConfigUsage)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: vigil policy check [--config FILE]\n\nValidates the configuration file and prints every problem with its file:line:column and field.\nExits 1 when there is any.\n\nflags:")
		fs.PrintDefaults()
	}
	if code, ok := policyParseFlags(fs, args, stderr); !ok {
		return code
	}
	cfg, code := loadPolicyConfig(*config, stderr)
	if cfg == nil {
		return code
	}
	if err := policy.RunChecks(cfg, extraPolicyChecks...); err != nil {
		printPolicyErrors(stderr, err)
		return 1
	}
	printPolicyHostWarnings(stderr, cfg)
	switch n := len(cfg.Policies); n {
	case 0:
		fmt.Fprintf(stdout, "%s: 0 policies (the built-in default policy applies to every container), ok\n", policyConfigName(cfg))
	case 1:
		fmt.Fprintf(stdout, "%s: 1 policy, ok\n", policyConfigName(cfg))
	default:
		fmt.Fprintf(stdout, "%s: %d policies, ok\n", policyConfigName(cfg), n)
	}
	return 0
}

// policyKV collects repeated key=value flags.
type policyKV map[string]string

func (f policyKV) String() string {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = k + "=" + f[k]
	}
	return strings.Join(keys, ",")
}

func (f policyKV) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want key=value, got %q", s)
	}
	f[k] = v
	return nil
}

// policyExplanation is the stable JSON form of "policy explain --json".
type policyExplanation struct {
	// Config is the file the policy came from, "" for the built-in default.
	Config string `json:"config"`
	// Image is the normalized image reference.
	Image string `json:"image"`
	// Policy is the chosen policy's name.
	Policy string `json:"policy"`
	// Index is its position in the file's policies, -1 for the built-in
	// default applied because no policy matched.
	Index    int            `json:"index"`
	Position string         `json:"position"`
	Reasons  []string       `json:"reasons"`
	Settings policySettings `json:"settings"`
	// Host is what applying the policy on this host gives; null when its
	// profiles cannot be resolved (the error is printed).
	Host      *policyHostOut `json:"host"`
	HostError error          `json:"-"`
}

type policySettings struct {
	OnError  policy.OnError     `json:"onError"`
	Seccomp  *policySeccompOut  `json:"seccomp"`  // null: the container's own
	AppArmor *policyAppArmorOut `json:"apparmor"` // null: the container's own
	SELinux  *policySELinuxOut  `json:"selinux"`  // null: the container's own
	Monitor  policyMonitorOut   `json:"monitor"`
	Egress   policyEgressOut    `json:"egress"`
	Response *policyResponseOut `json:"response"` // null: none set
}

type policySeccompOut struct {
	Profile string `json:"profile"`
	Builtin bool   `json:"builtin"`
	File    string `json:"file"`
}

type policyAppArmorOut struct {
	Profile string             `json:"profile"`
	Mode    policy.ProfileMode `json:"mode"`
	File    string             `json:"file"`
}

type policySELinuxOut struct {
	Label string             `json:"label"`
	Mode  policy.ProfileMode `json:"mode"`
}

type policyMonitorOut struct {
	Mode           policy.Mode     `json:"mode"`
	KillAt         policy.Priority `json:"killAt"`
	Kill           []string        `json:"kill"`
	AlertOnly      []string        `json:"alertOnly"`
	Rules          []string        `json:"rules"`
	KillEntrypoint bool            `json:"killEntrypoint"`
}

type policyEgressOut struct {
	Mode          policy.Mode `json:"mode"`
	AllowPorts    []uint16    `json:"allowPorts"`
	AllowCIDRs    []string    `json:"allowCIDRs"`
	DenyCIDRFiles []string    `json:"denyCIDRFiles"`
}

type policyResponseOut struct {
	Actions      map[string][]policy.Action `json:"actions"`
	ForensicsDir string                     `json:"forensicsDir"`
}

func policyNonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func explainPolicy(cfg *policy.Config, f policy.Facts) policyExplanation {
	d := cfg.Decide(f)
	p := d.Policy
	if p == nil {
		p = policy.DefaultPolicy()
	}
	out := policyExplanation{
		Config:   cfg.File,
		Image:    policy.NormalizeImage(f.Image).Ref,
		Policy:   p.Name,
		Index:    d.Index,
		Position: p.Pos.String(),
		Reasons:  d.Reasons,
	}
	s := &out.Settings
	s.OnError = p.OnError
	if p.Seccomp != nil {
		s.Seccomp = &policySeccompOut{Profile: p.Seccomp.Profile, Builtin: p.Seccomp.Builtin(), File: p.Seccomp.File}
	}
	if p.AppArmor != nil {
		s.AppArmor = &policyAppArmorOut{Profile: p.AppArmor.Profile, Mode: p.AppArmor.Mode, File: p.AppArmor.File}
	}
	if p.SELinux != nil {
		s.SELinux = &policySELinuxOut{Label: p.SELinux.Label, Mode: p.SELinux.Mode}
	}
	m := p.Monitor
	s.Monitor = policyMonitorOut{Mode: m.Mode, KillAt: m.KillAt, Kill: policyNonNil(m.Kill), AlertOnly: policyNonNil(m.AlertOnly), Rules: policyNonNil(m.Rules), KillEntrypoint: m.KillEntrypoint}
	e := p.Egress
	cidrs := []string{}
	for _, c := range e.AllowCIDRs {
		cidrs = append(cidrs, c.String())
	}
	s.Egress = policyEgressOut{Mode: e.Mode, AllowPorts: policyNonNil(e.AllowPorts), AllowCIDRs: cidrs, DenyCIDRFiles: policyNonNil(e.DenyCIDRFiles)}
	if r := p.Response; r != nil {
		ro := &policyResponseOut{Actions: map[string][]policy.Action{}, ForensicsDir: r.ForensicsDir}
		for pr, a := range r.Actions {
			ro.Actions[pr.String()] = policyNonNil(a)
		}
		s.Response = ro
	}
	out.Host, out.HostError = policyOnHost(cfg, p)
	return out
}

func runPolicyExplain(args []string, stdout, stderr io.Writer) int {
	fs := policyFlagSet("vigil policy explain", stderr)
	var f policy.Facts
	labels, podLabels, annotations := policyKV{}, policyKV{}, policyKV{}
	fs.StringVar(&f.Image, "image", "", "image reference (required), e.g. nginx:1.25")
	fs.Var(labels, "label", "container label key=value (repeatable)")
	fs.Var(podLabels, "pod-label", "Kubernetes pod label key=value (repeatable)")
	fs.Var(annotations, "annotation", "OCI annotation key=value (repeatable)")
	fs.StringVar(&f.ContainerdNamespace, "namespace", "", "containerd namespace")
	fs.StringVar(&f.K8sNamespace, "k8s-namespace", "", "Kubernetes namespace")
	config := fs.String("config", "", policyConfigUsage)
	asJSON := fs.Bool("json", false, "print a JSON object")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: vigil policy explain --image REF [--label k=v]... [--pod-label k=v]... [--annotation k=v]...\n                            [--namespace N] [--k8s-namespace N] [--config FILE] [--json]\n\nShows which policy applies to a container, why, and the settings it gets.\n\nflags:")
		fs.PrintDefaults()
	}
	if code, ok := policyParseFlags(fs, args, stderr); !ok {
		return code
	}
	if f.Image == "" {
		fmt.Fprintln(stderr, "vigil policy explain: --image is required")
		fs.Usage()
		return 2
	}
	f.Labels, f.PodLabels, f.Annotations = labels, podLabels, annotations
	cfg, code := loadPolicyConfig(*config, stderr)
	if cfg == nil {
		return code
	}
	out := explainPolicy(cfg, f)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			fmt.Fprintln(stderr, "vigil policy explain:", err)
			return 1
		}
		return 0
	}
	printPolicyExplanation(stdout, cfg, out)
	printPolicyHost(stdout, out.Host)
	if out.HostError != nil {
		fmt.Fprintln(stderr, "vigil policy explain:", out.HostError)
		return 1
	}
	return 0
}

func printPolicyExplanation(w io.Writer, cfg *policy.Config, out policyExplanation) {
	row := func(k, format string, args ...any) { fmt.Fprintf(w, "%-10s%s\n", k+":", fmt.Sprintf(format, args...)) }
	row("config", "%s", policyConfigName(cfg))
	row("image", "%s", out.Image)
	switch {
	case out.Index < 0:
		row("policy", "%s (built-in default: no policy matched)", out.Policy)
	case cfg.File == "":
		row("policy", "%s (built-in default)", out.Policy)
	default:
		row("policy", "%s (policies[%d] at %s)", out.Policy, out.Index, out.Position)
	}
	fmt.Fprintln(w, "reasons:")
	for _, r := range out.Reasons {
		fmt.Fprintln(w, "  - "+r)
	}
	fmt.Fprintln(w, "settings:")
	s := out.Settings
	set := func(k, format string, args ...any) {
		fmt.Fprintf(w, "  %-10s%s\n", k+":", fmt.Sprintf(format, args...))
	}
	set("onError", "%s", s.OnError)
	const unchanged = "unchanged (the container's own)"
	switch {
	case s.Seccomp == nil:
		set("seccomp", unchanged)
	case s.Seccomp.Builtin:
		set("seccomp", "%s (built-in)", s.Seccomp.Profile)
	default:
		set("seccomp", "%s (file %s)", s.Seccomp.Profile, s.Seccomp.File)
	}
	switch {
	case s.AppArmor == nil:
		set("apparmor", unchanged)
	case s.AppArmor.File == "":
		set("apparmor", "%s, %s", s.AppArmor.Profile, s.AppArmor.Mode)
	default:
		set("apparmor", "%s, %s (source %s)", s.AppArmor.Profile, s.AppArmor.Mode, s.AppArmor.File)
	}
	if s.SELinux == nil {
		set("selinux", unchanged)
	} else {
		set("selinux", "%s, %s", s.SELinux.Label, s.SELinux.Mode)
	}
	m := s.Monitor
	mon := fmt.Sprintf("%s, kill at %s and above", m.Mode, m.KillAt)
	if len(m.Kill) > 0 {
		mon += "; kill " + policyQuoteList(m.Kill)
	}
	if len(m.AlertOnly) > 0 {
		mon += "; alert only " + policyQuoteList(m.AlertOnly)
	}
	if len(m.Rules) > 0 {
		mon += "; rules " + strings.Join(m.Rules, ", ")
	}
	mon += "; killEntrypoint " + strconv.FormatBool(m.KillEntrypoint)
	set("monitor", "%s", mon)
	e := s.Egress
	eg := string(e.Mode)
	if len(e.AllowPorts) > 0 {
		ports := make([]string, len(e.AllowPorts))
		for i, p := range e.AllowPorts {
			ports[i] = strconv.Itoa(int(p))
		}
		eg += "; allow ports " + strings.Join(ports, ", ")
	}
	if len(e.AllowCIDRs) > 0 {
		eg += "; allow " + strings.Join(e.AllowCIDRs, ", ")
	}
	if len(e.DenyCIDRFiles) > 0 {
		eg += "; deny lists " + strings.Join(e.DenyCIDRFiles, ", ")
	}
	set("egress", "%s", eg)
	if r := s.Response; r == nil {
		set("response", "none set")
	} else {
		var parts []string
		for p := policy.PriorityEmergency; p >= policy.PriorityDebug; p-- {
			if a, ok := r.Actions[p.String()]; ok {
				list := make([]string, len(a))
				for i, x := range a {
					list[i] = string(x)
				}
				parts = append(parts, fmt.Sprintf("%s: %s", p, strings.Join(list, ", ")))
			}
		}
		parts = append(parts, "forensics in "+r.ForensicsDir)
		set("response", "%s", strings.Join(parts, "; "))
	}
}

func policyQuoteList(s []string) string {
	q := make([]string, len(s))
	for i, x := range s {
		q[i] = strconv.Quote(x)
	}
	return strings.Join(q, ", ")
}
