package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/vigil-dev/vigil/policy"
)

const (
	fullConfig = "../../policy/testdata/full.yaml"
	badConfig  = "../../policy/testdata/bad.yaml"
)

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = dispatch(args, &out, &errb)
	return code, out.String(), errb.String()
}

// writeTemp writes a configuration file that passes the root ownership check.
func writeTemp(t *testing.T, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPolicyCheck(t *testing.T) {
	one := writeTemp(t, "policies:\n  - name: all\n    match: {}\n")
	none := writeTemp(t, "onError: allow\n")
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     string
		stderrHas  []string
		stderrNone bool
	}{
		{"good file", []string{"--config", fullConfig}, 0, fullConfig + ": 2 policies, ok\n", []string{"lacks syscalls runc needs"}, false},
		{"one policy", []string{"--config", one}, 0, one + ": 1 policy, ok\n", nil, true},
		{"no policies", []string{"--config", none}, 0, none + ": 0 policies (the built-in default policy applies to every container), ok\n", nil, true},
		{"bad file", []string{"--config", badConfig}, 1, "", []string{
			badConfig + `:12:46: policies[0].apparmor.mode: unknown value "strict" (want required, best-effort, emulate)` + "\n",
			badConfig + `:11:5: policies[0].seccmp: unknown field "seccmp" (did you mean "seccomp"?)` + "\n",
			badConfig + `:17:11: policies[1].name: duplicate policy name "payments" (first at line 7)` + "\n",
			"\n16 errors\n",
		}, false},
		{"missing file", []string{"--config", missing}, 1, "", []string{missing, "no such file or directory"}, false},
		{"unknown flag", []string{"--bogus"}, 2, "", []string{"flag provided but not defined: -bogus", "usage: vigil policy check"}, false},
		{"extra argument", []string{"--config", fullConfig, "extra"}, 2, "", []string{`unexpected argument "extra"`}, false},
		{"help", []string{"-h"}, 0, "", []string{"usage: vigil policy check [--config FILE]"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, append([]string{"policy", "check"}, tt.args...)...)
			if code != tt.code || stdout != tt.stdout {
				t.Errorf("exit %d, stdout %q; want %d, %q (stderr %q)", code, stdout, tt.code, tt.stdout, stderr)
			}
			if tt.stderrNone && stderr != "" {
				t.Errorf("stderr = %q, want nothing", stderr)
			}
			for _, s := range tt.stderrHas {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
		})
	}
}

func TestPolicyCheckLocate(t *testing.T) {
	one := writeTemp(t, "policies:\n  - name: all\n    match: {}\n")
	t.Setenv(policy.EnvConfig, one)
	if code, stdout, _ := run(t, "policy", "check"); code != 0 || stdout != one+": 1 policy, ok\n" {
		t.Errorf("with $%s: exit %d, %q", policy.EnvConfig, code, stdout)
	}
	t.Setenv(policy.EnvConfig, "")
	if _, err := os.Stat(policy.DefaultPath); err == nil {
		t.Skipf("requires no %s: the file exists on this machine and would be checked", policy.DefaultPath)
	}
	code, stdout, _ := run(t, "policy", "check")
	if want := "built-in default (no file at $VIGIL_CONFIG or /etc/vigil/config.yaml): 1 policy, ok\n"; code != 0 || stdout != want {
		t.Errorf("no file: exit %d, %q; want %q", code, stdout, want)
	}
}

func TestPolicyCheckInsecureFile(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("requires root: the ownership check runs only when vigil runs as root")
	}
	path := writeTemp(t, "policies: []\n")
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := run(t, "policy", "check", "--config", path)
	if want := path + ": insecure configuration file: mode 0666 is writable by group or others"; code != 1 || !strings.Contains(stderr, want) {
		t.Errorf("exit %d, stderr %q; want 1 and %q", code, stderr, want)
	}
}

func TestPolicyCheckExtraChecks(t *testing.T) {
	old := extraPolicyChecks
	defer func() { extraPolicyChecks = old }()
	extraPolicyChecks = []policy.Check{func(c *policy.Config) []error {
		var errs []error
		for _, p := range c.Policies {
			if p.AppArmor != nil {
				errs = append(errs, p.AppArmor.Pos.Errorf("profile %s does not exist", p.AppArmor.File))
			}
		}
		return append(errs, errors.New("rules: no rule file loaded"))
	}}
	code, stdout, stderr := run(t, "policy", "check", "--config", fullConfig)
	want := fullConfig + ": rules: no rule file loaded\n" +
		fullConfig + ":16:15: policies[0].apparmor: profile /etc/vigil/profiles/apparmor/vigil-default does not exist\n" +
		"2 errors\n"
	if code != 1 || stdout != "" || stderr != want {
		t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant 1 and:\n%s", code, stdout, stderr, want)
	}
}

func TestPolicyExplainText(t *testing.T) {
	code, stdout, stderr := run(t, "policy", "explain", "--config", fullConfig, "--image", "nginx:1.25",
		"--label", "tier=critical", "--annotation", "io.kubernetes.cri.container-type=container", "--k8s-namespace", "prod")
	want := `config:   ` + fullConfig + `
image:    docker.io/library/nginx:1.25
policy:   payments (policies[0] at ` + fullConfig + `:8:5)
reasons:
  - policy "payments" matched: image "docker.io/library/nginx:1.25" matches "docker.io/library/nginx:*"; label tier="critical" matches "critical"; annotation io.kubernetes.cri.container-type="container" matches "container"; Kubernetes namespace "prod" matches "prod"
settings:
  onError:  allow
  seccomp:  hardened (built-in)
  apparmor: vigil-default, required (source /etc/vigil/profiles/apparmor/vigil-default)
  selinux:  system_u:system_r:container_t:s0:c1,c2, best-effort
  monitor:  enforce, kill at critical and above; kill "Shell Spawned in Container", "tag:shell"; alert only "tag:drift"; rules /etc/vigil/rules/custom.yaml; killEntrypoint false
  egress:   enforce; allow ports 443, 5432; allow 10.0.0.0/8, fd00::/8; deny lists /etc/vigil/threats.txt
  response: critical: forensics, kill; error: isolate; forensics in /var/lib/vigil/forensics
on this host:
  vigil.dev/policy:   payments
  vigil.dev/seccomp:  hardened
  forbidden exec:     killed (test host)
  note: seccomp profile hardened lacks syscalls runc needs to start the container; allowed only those: statx, readlinkat, setgroups
  starts with less protection (onError: allow): ../../policy/testdata/full.yaml:16:15: AppArmor profile vigil-default (mode required): apparmor profile "vigil-default" is required: not available on this host: test host: disabled
`
	if code != 0 || stdout != want || stderr != "" {
		t.Errorf("exit %d, stderr %q, stdout:\n%s\nwant:\n%s", code, stderr, stdout, want)
	}
}

func TestPolicyExplainSkipped(t *testing.T) {
	code, stdout, _ := run(t, "policy", "explain", "--config", fullConfig, "--image", "busybox", "--pod-label", "tier=critical")
	for _, s := range []string{
		`  - policy "payments" skipped: image "docker.io/library/busybox:latest" matches none of [registry.example.com/payments/** docker.io/library/nginx:*]; annotation "io.kubernetes.cri.container-type" is not set; no namespace is known; want one of [prod]` + "\n",
		`  - policy "default" matched: empty match selects every container` + "\n",
		"policy:   default (policies[1] at " + fullConfig + ":31:5)\n",
		"  apparmor: unchanged (the container's own)\n",
		"  seccomp:  runtime/default (built-in)\n",
		"  egress:   off\n",
		"  response: none set\n",
	} {
		if !strings.Contains(stdout, s) {
			t.Errorf("stdout lacks %q:\n%s", s, stdout)
		}
	}
	if code != 0 {
		t.Errorf("exit %d", code)
	}
}

func TestPolicyExplainJSON(t *testing.T) {
	only := writeTemp(t, "policies:\n  - name: only\n    match: {namespaces: [prod]}\n    seccomp: custom\n")
	tests := []struct {
		name   string
		args   []string
		policy string
		index  float64
		check  func(t *testing.T, settings map[string]any)
	}{
		{"match", []string{"--config", fullConfig, "--image", "registry.example.com/payments/api:v1", "--label", "tier=critical",
			"--annotation", "io.kubernetes.cri.container-type=container", "--namespace", "prod"}, "payments", 0,
			func(t *testing.T, s map[string]any) {
				if got := s["egress"].(map[string]any)["allowPorts"]; !reflect.DeepEqual(got, []any{443.0, 5432.0}) {
					t.Errorf("egress.allowPorts = %v", got)
				}
				if got := s["response"].(map[string]any)["actions"].(map[string]any)["critical"]; !reflect.DeepEqual(got, []any{"forensics", "kill"}) {
					t.Errorf("response.actions.critical = %v", got)
				}
				if got := s["monitor"].(map[string]any)["killAt"]; got != "critical" {
					t.Errorf("monitor.killAt = %v", got)
				}
			}},
		{"file seccomp", []string{"--config", only, "--image", "x", "--namespace", "prod"}, "only", 0,
			func(t *testing.T, s map[string]any) {
				want := map[string]any{"profile": "custom", "builtin": false, "file": "/etc/vigil/profiles/seccomp/custom.json"}
				if !reflect.DeepEqual(s["seccomp"], want) {
					t.Errorf("seccomp = %v, want %v", s["seccomp"], want)
				}
			}},
		{"no match: built-in default", []string{"--config", only, "--image", "x"}, "default", -1,
			func(t *testing.T, s map[string]any) {
				if s["apparmor"] != nil || s["response"] != nil || s["seccomp"].(map[string]any)["profile"] != "runtime/default" {
					t.Errorf("settings = %v", s)
				}
				if got := s["monitor"].(map[string]any)["kill"]; !reflect.DeepEqual(got, []any{}) {
					t.Errorf("monitor.kill = %#v, want []", got)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, append(append([]string{"policy", "explain"}, tt.args...), "--json")...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var out map[string]any
			if err := json.Unmarshal([]byte(stdout), &out); err != nil {
				t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
			}
			var keys []string
			for k := range out {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			if want := []string{"config", "host", "image", "index", "policy", "position", "reasons", "settings"}; !reflect.DeepEqual(keys, want) {
				t.Errorf("keys = %q, want %q", keys, want)
			}
			settings := out["settings"].(map[string]any)
			var skeys []string
			for k := range settings {
				skeys = append(skeys, k)
			}
			sort.Strings(skeys)
			if want := []string{"apparmor", "egress", "monitor", "onError", "response", "seccomp", "selinux"}; !reflect.DeepEqual(skeys, want) {
				t.Errorf("settings keys = %q, want %q", skeys, want)
			}
			if out["policy"] != tt.policy || out["index"] != tt.index || len(out["reasons"].([]any)) == 0 {
				t.Errorf("policy %v index %v reasons %v; want %s %v", out["policy"], out["index"], out["reasons"], tt.policy, tt.index)
			}
			tt.check(t, settings)
		})
	}
}

func TestPolicyExplainErrors(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		code      int
		stderrHas string
	}{
		{"image required", []string{"--config", fullConfig}, 2, "--image is required"},
		{"bad label", []string{"--image", "x", "--label", "novalue"}, 2, `want key=value, got "novalue"`},
		{"empty label key", []string{"--image", "x", "--annotation", "=v"}, 2, `want key=value, got "=v"`},
		{"bad config", []string{"--config", badConfig, "--image", "x"}, 1, "16 errors"},
		{"extra argument", []string{"--image", "x", "y"}, 2, `unexpected argument "y"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, append([]string{"policy", "explain"}, tt.args...)...)
			if code != tt.code || stdout != "" || !strings.Contains(stderr, tt.stderrHas) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d and %q", code, stdout, stderr, tt.code, tt.stderrHas)
			}
		})
	}
}
