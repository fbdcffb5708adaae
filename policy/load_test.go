package policy_test

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-dev/vigil/policy"
)

// parseErrs parses src as "c.yaml" and returns the error lines.
func parseErrs(t *testing.T, src string) []string {
	t.Helper()
	_, err := policy.Parse("c.yaml", []byte(src))
	if err == nil {
		return nil
	}
	var errs *policy.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Parse error is %T, want *policy.Errors: %v", err, err)
	}
	if !errors.Is(err, policy.ErrInvalid) {
		t.Errorf("errors.Is(err, ErrInvalid) = false")
	}
	lines := make([]string, len(errs.List))
	for i, e := range errs.List {
		lines[i] = e.Error()
	}
	return lines
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // every error, in order, exactly
	}{
		{"unknown top-level field with hint", "polices: []\n",
			[]string{`c.yaml:1:1: polices: unknown field "polices" (did you mean "policies"?)`}},
		{"unknown field without near name", "zzzzzzzz: 1\n",
			[]string{`c.yaml:1:1: zzzzzzzz: unknown field "zzzzzzzz" (known fields: onError, profiles, alerts, policies)`}},
		{"unknown policy field", "policies:\n  - name: a\n    match: {}\n    seccmp: hardened\n",
			[]string{`c.yaml:4:5: policies[0].seccmp: unknown field "seccmp" (did you mean "seccomp"?)`}},
		{"unknown field case hint", "policies:\n  - name: a\n    match: {}\n    monitor: {killat: error}\n",
			[]string{`c.yaml:4:15: policies[0].monitor.killat: unknown field "killat" (did you mean "killAt"?)`}},
		{"duplicate key", "onError: allow\nonError: refuse\n",
			[]string{`c.yaml:2:1: onError: duplicate key "onError" (first at line 1)`}},
		{"duplicate label key", "policies:\n  - name: a\n    match: {labels: {app: x, app: y}}\n",
			[]string{`c.yaml:3:30: policies[0].match.labels.app: duplicate key "app" (first at line 3)`}},
		{"duplicate policy name", "policies:\n  - name: a\n    match: {images: [x]}\n  - name: a\n    match: {}\n",
			[]string{`c.yaml:4:11: policies[1].name: duplicate policy name "a" (first at line 2)`}},
		{"bad onError", "onError: sometimes\n",
			[]string{`c.yaml:1:10: onError: unknown value "sometimes" (want refuse, allow)`}},
		{"bad apparmor mode", "policies:\n  - name: a\n    match: {}\n    apparmor: {profile: p, mode: strict}\n",
			[]string{`c.yaml:4:34: policies[0].apparmor.mode: unknown value "strict" (want required, best-effort, emulate)`}},
		{"selinux cannot emulate", "policies:\n  - name: a\n    match: {}\n    selinux: {label: \"u:r:t\", mode: emulate}\n",
			[]string{`c.yaml:4:37: policies[0].selinux.mode: unknown value "emulate" (want required, best-effort)`}},
		{"bad selinux label", "policies:\n  - name: a\n    match: {}\n    selinux: {label: container_t}\n",
			[]string{`c.yaml:4:22: policies[0].selinux.label: invalid SELinux label "container_t" (want user:role:type[:level])`}},
		{"apparmor profile required", "policies:\n  - name: a\n    match: {}\n    apparmor: {mode: required}\n",
			[]string{`c.yaml:4:15: policies[0].apparmor.profile: profile is required`}},
		{"apparmor profile path", "policies:\n  - name: a\n    match: {}\n    apparmor: ../etc/x\n",
			[]string{`c.yaml:4:15: policies[0].apparmor: profile "../etc/x": want runtime/default, unconfined or a profile name (its source is /etc/vigil/profiles/apparmor/<name>)`}},
		{"seccomp escapes profiles dir", "policies:\n  - name: a\n    match: {}\n    seccomp: ../x.json\n",
			[]string{`c.yaml:4:14: policies[0].seccomp: profile "../x.json": want runtime/default, hardened, unconfined, an absolute path or a path inside /etc/vigil/profiles/seccomp`}},
		{"bad image glob", "policies:\n  - name: a\n    match: {images: [\"nginx:[\"]}\n",
			[]string{`c.yaml:3:22: policies[0].match.images[0]: bad pattern "nginx:[": unterminated character class`}},
		{"bad image glob trailing backslash", "policies:\n  - name: a\n    match: {images: ['nginx\\']}\n",
			[]string{`c.yaml:3:22: policies[0].match.images[0]: bad pattern "nginx\\": trailing backslash`}},
		{"image pattern with space", "policies:\n  - name: a\n    match: {images: [\"a b\"]}\n",
			[]string{`c.yaml:3:22: policies[0].match.images[0]: image pattern "a b" contains white space`}},
		{"empty image list", "policies:\n  - name: a\n    match: {images: []}\n",
			[]string{`c.yaml:3:21: policies[0].match.images: empty list matches no image; remove the field to match every image`}},
		{"bad label value glob", "policies:\n  - name: a\n    match: {labels: {tier: \"[x\"}}\n",
			[]string{`c.yaml:3:28: policies[0].match.labels.tier: bad pattern "[x": unterminated character class`}},
		{"label key with glob", "policies:\n  - name: a\n    match: {labels: {\"ti*r\": x}}\n",
			[]string{`c.yaml:3:22: policies[0].match.labels["ti*r"]: invalid key "ti*r": keys are literal, patterns are allowed in values only`}},
		{"label key with space", "policies:\n  - name: a\n    match: {annotations: {\"a b\": x}}\n",
			[]string{`c.yaml:3:27: policies[0].match.annotations["a b"]: invalid key "a b" (want letters, digits, '.', '_', '-' and '/', starting and ending with a letter or digit)`}},
		{"label value is a list", "policies:\n  - name: a\n    match: {labels: {tier: [a]}}\n",
			[]string{`c.yaml:3:28: policies[0].match.labels.tier: want a value or pattern, got a list`}},
		{"bad namespace glob", "policies:\n  - name: a\n    match: {namespaces: [\"[\"]}\n",
			[]string{`c.yaml:3:26: policies[0].match.namespaces[0]: bad pattern "[": unterminated character class`}},
		{"CIDR with host bits", "policies:\n  - name: a\n    match: {}\n    egress: {allowCIDRs: [10.0.0.1/8]}\n",
			[]string{`c.yaml:4:27: policies[0].egress.allowCIDRs[0]: CIDR "10.0.0.1/8" has host bits set (did you mean 10.0.0.0/8?)`}},
		{"CIDR is an address", "policies:\n  - name: a\n    match: {}\n    egress: {allowCIDRs: [\"fd00::1\"]}\n",
			[]string{`c.yaml:4:27: policies[0].egress.allowCIDRs[0]: "fd00::1" is an address, not a CIDR (did you mean fd00::1/128?)`}},
		{"CIDR garbage", "policies:\n  - name: a\n    match: {}\n    egress: {allowCIDRs: [10.0.0.0/33]}\n",
			[]string{`c.yaml:4:27: policies[0].egress.allowCIDRs[0]: invalid CIDR "10.0.0.0/33" (want e.g. 10.0.0.0/8 or fd00::/8)`}},
		{"port out of range", "policies:\n  - name: a\n    match: {}\n    egress: {allowPorts: [443, 70000, 0]}\n",
			[]string{
				`c.yaml:4:32: policies[0].egress.allowPorts[1]: port 70000 out of range (1-65535)`,
				`c.yaml:4:39: policies[0].egress.allowPorts[2]: port 0 out of range (1-65535)`,
			}},
		{"port not an integer", "policies:\n  - name: a\n    match: {}\n    egress: {allowPorts: [https, \"443\"]}\n",
			[]string{
				`c.yaml:4:27: policies[0].egress.allowPorts[0]: want an integer port (1-65535), got "https"`,
				`c.yaml:4:34: policies[0].egress.allowPorts[1]: want an integer port (1-65535), got "443"`,
			}},
		{"bad priority", "policies:\n  - name: a\n    match: {}\n    monitor: {killAt: severe}\n",
			[]string{`c.yaml:4:23: policies[0].monitor.killAt: unknown priority "severe" (want emergency, alert, critical, error, warning, notice, informational, debug)`}},
		{"bad monitor mode", "policies:\n  - name: a\n    match: {}\n    monitor: {mode: kill}\n",
			[]string{`c.yaml:4:21: policies[0].monitor.mode: unknown value "kill" (want enforce, audit, off)`}},
		{"bad killEntrypoint", "policies:\n  - name: a\n    match: {}\n    monitor: {killEntrypoint: yes}\n",
			[]string{`c.yaml:4:31: policies[0].monitor.killEntrypoint: want true or false, got "yes"`}},
		{"kill and alertOnly overlap", "policies:\n  - name: a\n    match: {}\n    monitor: {kill: [x], alertOnly: [y, x]}\n",
			[]string{`c.yaml:4:41: policies[0].monitor.alertOnly[1]: rule "x" is also in kill`}},
		{"empty tag", "policies:\n  - name: a\n    match: {}\n    monitor: {kill: [\"tag:\"]}\n",
			[]string{`c.yaml:4:22: policies[0].monitor.kill[0]: empty tag in "tag:"`}},
		{"relative rule file", "policies:\n  - name: a\n    match: {}\n    monitor: {rules: [rules.yaml]}\n",
			[]string{`c.yaml:4:23: policies[0].monitor.rules[0]: path "rules.yaml" is not absolute`}},
		{"bad duration", "alerts:\n  webhook: {url: \"http://x/\", timeout: 2 minutes}\n",
			[]string{`c.yaml:2:40: alerts.webhook.timeout: want a duration such as 2s or 500ms, got "2 minutes"`}},
		{"negative duration", "alerts:\n  webhook: {url: \"http://x/\", timeout: -1s}\n",
			[]string{`c.yaml:2:40: alerts.webhook.timeout: duration -1s must be positive`}},
		{"webhook url", "alerts:\n  webhook: {url: \"ftp://x/\", minimumPriority: loud}\n",
			[]string{
				`c.yaml:2:18: alerts.webhook.url: URL "ftp://x/": want scheme http or https`,
				`c.yaml:2:47: alerts.webhook.minimumPriority: unknown priority "loud" (want emergency, alert, critical, error, warning, notice, informational, debug)`,
			}},
		{"webhook url missing", "alerts:\n  webhook: {queue: 0}\n",
			[]string{
				`c.yaml:2:12: alerts.webhook: url is required`,
				`c.yaml:2:20: alerts.webhook.queue: queue length 0 out of range (1-1048576)`,
			}},
		{"empty name", "policies:\n  - name: \"\"\n    match: {}\n",
			[]string{`c.yaml:2:11: policies[0].name: want a policy name, got an empty string`}},
		{"missing name", "policies:\n  - match: {}\n",
			[]string{`c.yaml:2:5: policies[0].name: name is required`}},
		{"invalid name", "policies:\n  - name: my policy\n    match: {}\n",
			[]string{`c.yaml:2:11: policies[0].name: invalid policy name "my policy" (want letters, digits, '.', '_' or '-', starting with a letter or digit, at most 63)`}},
		{"missing match", "policies:\n  - name: a\n",
			[]string{`c.yaml:2:5: policies[0].match: match is required (write match: {} to select every container)`}},
		{"null match", "policies:\n  - name: a\n    match:\n",
			[]string{`c.yaml:3:11: policies[0].match: match is empty (write match: {} to select every container)`}},
		{"policies not a list", "policies: {name: a}\n",
			[]string{`c.yaml:1:11: policies: want a list, got a mapping`}},
		{"images not a list", "policies:\n  - name: a\n    match: {images: nginx}\n",
			[]string{`c.yaml:3:21: policies[0].match.images: want a list, got "nginx"`}},
		{"policy not a mapping", "policies:\n  - payments\n",
			[]string{`c.yaml:2:5: policies[0]: want a mapping, got "payments"`}},
		{"unreachable policy", "policies:\n  - name: all\n    match: {}\n  - name: late\n    match: {images: [x]}\n",
			[]string{`c.yaml:4:5: policies[1]: policy "late" is unreachable: policy "all" (line 2) before it matches every container`}},
		{"response action and duplicate priority", "policies:\n  - name: a\n    match: {}\n    response: {info: [alert], informational: [explode]}\n",
			[]string{
				`c.yaml:4:31: policies[0].response.informational: informational repeats info`,
			}},
		{"response unknown action", "policies:\n  - name: a\n    match: {}\n    response: {critical: [explode], forensicsDir: tmp}\n",
			[]string{
				`c.yaml:4:27: policies[0].response.critical[0]: unknown value "explode" (want alert, kill, isolate, forensics)`,
				`c.yaml:4:51: policies[0].response.forensicsDir: path "tmp" is not absolute`,
			}},
		{"response unknown priority", "policies:\n  - name: a\n    match: {}\n    response: {critcal: [kill]}\n",
			[]string{`c.yaml:4:16: policies[0].response.critcal: unknown field "critcal" (did you mean "critical"?)`}},
		{"non-string key", "policies:\n  - name: a\n    match: {labels: {[a]: b}}\n",
			[]string{`c.yaml:3:22: policies[0].match.labels: want a string key, got a list`}},
		{"unknown field holding an anchor", "x: &m {images: [a]}\n",
			[]string{`c.yaml:1:1: x: unknown field "x" (known fields: onError, profiles, alerts, policies)`}},
		{"merge key in policy", "policies:\n  - name: a\n    match: {}\n    <<: {seccomp: hardened}\n",
			[]string{`c.yaml:4:5: policies[0]: merge keys (<<) are not supported`}},
		{"top level is a list", "- a\n",
			[]string{`c.yaml:1:1: want a mapping, got a list`}},
		// The YAML library names the line where the enclosing block starts
		// (0-based for parser errors), not the offending line, and no column.
		{"yaml syntax error", "policies:\n  - name: a\n   match: {}\n",
			[]string{`c.yaml:1: invalid YAML: did not find expected '-' indicator`}},
		{"two documents", "onError: allow\n---\nonError: refuse\n",
			[]string{`c.yaml:2:1: more than one YAML document; put everything in one`}},
		{"control characters", "policies:\n  - name: a\n    match: {}\n    seccomp: \"a\\tb\"\n",
			[]string{`c.yaml:4:14: policies[0].seccomp: control characters are not allowed in "a\tb"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseErrs(t, tt.src)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestParseCollectsAllErrors loads a file with many errors and checks that
// each is reported at its line with its field.
func TestParseCollectsAllErrors(t *testing.T) {
	_, err := policy.Load("testdata/bad.yaml", policy.WithEUID(1000))
	var errs *policy.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Load: %v, want *policy.Errors", err)
	}
	want := []string{
		"2:10 onError",
		"3:17 profiles.dir",
		"5:18 alerts.webhook.url",
		"5:39 alerts.webhook.timeout",
		"5:57 alerts.webhook.queue",
		"9:16 policies[0].match.images[0]",
		"10:16 policies[0].match.labels[\"tier*\"]",
		"11:5 policies[0].seccmp",
		"12:46 policies[0].apparmor.mode",
		"13:23 policies[0].monitor.killAt",
		"15:25 policies[0].egress.allowPorts[1]",
		"16:20 policies[0].egress.allowCIDRs[0]",
		"16:34 policies[0].egress.allowCIDRs[1]",
		"17:11 policies[1].name",
		"19:5 policies[2]",
		"21:5 policies[2].match",
	}
	var got []string
	for _, e := range errs.List {
		if e.File != "testdata/bad.yaml" {
			t.Errorf("error names file %q: %v", e.File, e)
		}
		got = append(got, fmt.Sprintf("%d:%d %s", e.Line, e.Column, e.Field))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors at\n got %q\nwant %q\nfull: %v", got, want, err)
	}
}

func TestLoadFull(t *testing.T) {
	c, err := policy.Load("testdata/full.yaml", policy.WithEUID(1000))
	if err != nil {
		t.Fatal(err)
	}
	if c.File != "testdata/full.yaml" || c.OnError != policy.OnErrorRefuse || c.Profiles.Dir != "/etc/vigil/profiles" {
		t.Errorf("top level = %q %q %q", c.File, c.OnError, c.Profiles.Dir)
	}
	if c.Alerts.File != "/var/log/vigil/alerts.jsonl" {
		t.Errorf("alerts.file = %q", c.Alerts.File)
	}
	w := c.Alerts.Webhook
	if w == nil || w.URL != "http://falcosidekick:2801/" || w.MinimumPriority != policy.PriorityWarning || w.Timeout != 2*time.Second || w.Queue != 1024 {
		t.Errorf("webhook = %+v", w)
	}
	if len(c.Policies) != 2 {
		t.Fatalf("%d policies, want 2", len(c.Policies))
	}
	p := c.Policies[0]
	if p.Name != "payments" || p.OnError != policy.OnErrorAllow {
		t.Errorf("policy = %q onError %q", p.Name, p.OnError)
	}
	var imgs []string
	for _, ip := range p.Match.Images {
		imgs = append(imgs, ip.Normalized)
	}
	if want := []string{"registry.example.com/payments/**", "docker.io/library/nginx:*"}; !reflect.DeepEqual(imgs, want) {
		t.Errorf("images = %q, want %q", imgs, want)
	}
	if len(p.Match.Labels) != 1 || p.Match.Labels[0].Key != "tier" || p.Match.Labels[0].Value.Pattern != "critical" {
		t.Errorf("labels = %+v", p.Match.Labels)
	}
	if len(p.Match.Annotations) != 1 || p.Match.Annotations[0].Key != "io.kubernetes.cri.container-type" {
		t.Errorf("annotations = %+v", p.Match.Annotations)
	}
	if len(p.Match.Namespaces) != 1 || p.Match.Namespaces[0].Pattern != "prod" {
		t.Errorf("namespaces = %+v", p.Match.Namespaces)
	}
	if p.Seccomp == nil || p.Seccomp.Profile != "hardened" || !p.Seccomp.Builtin() {
		t.Errorf("seccomp = %+v", p.Seccomp)
	}
	if a := p.AppArmor; a == nil || a.Profile != "vigil-default" || a.Mode != policy.ProfileRequired || a.File != "/etc/vigil/profiles/apparmor/vigil-default" {
		t.Errorf("apparmor = %+v", a)
	}
	if s := p.SELinux; s == nil || s.Label != "system_u:system_r:container_t:s0:c1,c2" || s.Mode != policy.ProfileBestEffort {
		t.Errorf("selinux = %+v", s)
	}
	m := p.Monitor
	if m.Mode != policy.ModeEnforce || m.KillAt != policy.PriorityCritical || m.KillEntrypoint ||
		!reflect.DeepEqual(m.Kill, []string{"Shell Spawned in Container", "tag:shell"}) ||
		!reflect.DeepEqual(m.AlertOnly, []string{"tag:drift"}) ||
		!reflect.DeepEqual(m.Rules, []string{"/etc/vigil/rules/custom.yaml"}) {
		t.Errorf("monitor = %+v", m)
	}
	e := p.Egress
	if e.Mode != policy.ModeEnforce || !reflect.DeepEqual(e.AllowPorts, []uint16{443, 5432}) ||
		!reflect.DeepEqual(e.AllowCIDRs, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}) ||
		!reflect.DeepEqual(e.DenyCIDRFiles, []string{"/etc/vigil/threats.txt"}) {
		t.Errorf("egress = %+v", e)
	}
	r := p.Response
	if r == nil || r.ForensicsDir != "/var/lib/vigil/forensics" ||
		!reflect.DeepEqual(r.Actions, map[policy.Priority][]policy.Action{
			policy.PriorityCritical: {policy.ActionForensics, policy.ActionKill},
			policy.PriorityError:    {policy.ActionIsolate},
		}) {
		t.Errorf("response = %+v", r)
	}
	// Positions are kept for later stages.
	for _, tc := range []struct {
		pos         policy.Pos
		line, col   int
		field, file string
	}{
		{p.Pos, 8, 5, "policies[0]", "testdata/full.yaml"},
		{p.Seccomp.Pos, 15, 14, "policies[0].seccomp", "testdata/full.yaml"},
		{p.AppArmor.Pos, 16, 15, "policies[0].apparmor", "testdata/full.yaml"},
		{p.SELinux.Pos, 17, 14, "policies[0].selinux", "testdata/full.yaml"},
		{p.Monitor.Pos, 19, 7, "policies[0].monitor", "testdata/full.yaml"},
		{p.Egress.Pos, 26, 7, "policies[0].egress", "testdata/full.yaml"},
		{p.Response.Pos, 30, 15, "policies[0].response", "testdata/full.yaml"},
		{p.Match.Images[1].Pos, 10, 52, "policies[0].match.images[1]", "testdata/full.yaml"},
		{p.OnErrorPos, 14, 14, "policies[0].onError", "testdata/full.yaml"},
		{c.Policies[1].Seccomp.Pos, 33, 14, "policies[1].seccomp", "testdata/full.yaml"},
	} {
		if tc.pos.Line != tc.line || tc.pos.Column != tc.col || tc.pos.Field != tc.field || tc.pos.File != tc.file {
			t.Errorf("pos = %+v, want %s:%d:%d %s", tc.pos, tc.file, tc.line, tc.col, tc.field)
		}
	}
	// A later stage reports at the setting's position.
	if got, want := p.Seccomp.Pos.Errorf("no such profile").Error(), "testdata/full.yaml:15:14: policies[0].seccomp: no such profile"; got != want {
		t.Errorf("Pos.Errorf = %q, want %q", got, want)
	}
	d := c.Policies[1]
	if d.Name != "default" || !d.Match.Empty() || d.Seccomp.Profile != policy.ProfileRuntimeDefault || d.OnError != policy.OnErrorRefuse {
		t.Errorf("default policy = %+v", d)
	}
}

func TestParseDefaults(t *testing.T) {
	src := `onError: allow
profiles: {dir: /srv/prof}
alerts:
  webhook: {url: "https://hook.example/"}
policies:
  - name: a
    match: {images: [a]}
    seccomp: custom
    apparmor: vigil-default
    selinux: "u:r:t"
    egress: {allowPorts: [53]}
    response: {critical: [forensics]}
  - name: b
    match: {images: [b]}
    onError: refuse
    seccomp: /abs/x.json
    monitor: {mode: audit}
  - name: c
    match: {images: [c]}
    seccomp: sub/y.profile
    egress:
`
	c, err := policy.Parse("c.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	w := c.Alerts.Webhook
	if w.MinimumPriority != policy.PriorityDebug || w.Timeout != policy.DefaultWebhookTimeout || w.Queue != policy.DefaultWebhookQueue {
		t.Errorf("webhook defaults = %+v", w)
	}
	a, b, cc := c.Policies[0], c.Policies[1], c.Policies[2]
	if a.OnError != policy.OnErrorAllow || a.OnErrorPos.Line != 1 {
		t.Errorf("a inherits onError: %q at %v", a.OnError, a.OnErrorPos)
	}
	if b.OnError != policy.OnErrorRefuse || b.OnErrorPos.Line != 15 {
		t.Errorf("b overrides onError: %q at %v", b.OnError, b.OnErrorPos)
	}
	if a.Seccomp.File != "/srv/prof/seccomp/custom.json" || a.Seccomp.Builtin() {
		t.Errorf("a seccomp = %+v", a.Seccomp)
	}
	if b.Seccomp.File != "/abs/x.json" || cc.Seccomp.File != "/srv/prof/seccomp/sub/y.profile" {
		t.Errorf("seccomp files = %q %q", b.Seccomp.File, cc.Seccomp.File)
	}
	if a.AppArmor.Profile != "vigil-default" || a.AppArmor.Mode != policy.ProfileBestEffort || a.AppArmor.File != "/srv/prof/apparmor/vigil-default" {
		t.Errorf("apparmor shorthand = %+v", a.AppArmor)
	}
	if a.SELinux.Label != "u:r:t" || a.SELinux.Mode != policy.ProfileBestEffort {
		t.Errorf("selinux shorthand = %+v", a.SELinux)
	}
	if a.Monitor.Mode != policy.ModeEnforce || a.Monitor.KillAt != policy.PriorityCritical {
		t.Errorf("monitor default = %+v", a.Monitor)
	}
	if b.Monitor.Mode != policy.ModeAudit || b.Monitor.KillAt != policy.PriorityCritical {
		t.Errorf("monitor audit = %+v", b.Monitor)
	}
	if a.Egress.Mode != policy.ModeEnforce || b.Egress.Mode != policy.ModeOff || cc.Egress.Mode != policy.ModeEnforce {
		t.Errorf("egress modes = %q %q %q", a.Egress.Mode, b.Egress.Mode, cc.Egress.Mode)
	}
	if a.Response.ForensicsDir != policy.DefaultForensicsDir || b.Response != nil {
		t.Errorf("response = %+v %+v", a.Response, b.Response)
	}
	if b.AppArmor != nil || b.SELinux != nil {
		t.Errorf("unset LSM settings must stay nil: %+v %+v", b.AppArmor, b.SELinux)
	}
}

func TestParseEmptyAndAliases(t *testing.T) {
	for _, src := range []string{"", "# only a comment\n", "---\n"} {
		c, err := policy.Parse("c.yaml", []byte(src))
		if err != nil || len(c.Policies) != 0 || c.OnError != policy.OnErrorRefuse {
			t.Errorf("Parse(%q) = %+v, %v; want no policies", src, c, err)
		}
	}
	src := `policies:
  - name: a
    match: &m {images: ["nginx"], labels: {tier: web}}
  - name: b
    match: *m
    seccomp: hardened
`
	c, err := policy.Parse("c.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Policies[1].Match; len(got.Images) != 1 || got.Images[0].Normalized != "docker.io/library/nginx" || len(got.Labels) != 1 {
		t.Errorf("aliased match = %+v", got)
	}
}

func TestParseAliasBomb(t *testing.T) {
	// 1,000 images shared by 300 policies through aliases: a small file
	// that would expand to 300,000 values.
	var b strings.Builder
	b.WriteString("policies:\n  - &p {name: a, match: {images: [")
	for i := range 1000 {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "img%d", i)
	}
	b.WriteString("]}}\n")
	for range 300 {
		b.WriteString("  - *p\n")
	}
	start := time.Now()
	_, err := policy.Parse("c.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "document too large: more than 100000 values once aliases are expanded") {
		t.Errorf("Parse(alias bomb) = %.300v…, want a too large error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Parse(alias bomb) took %v", d)
	}
}

func TestParseTooManyErrors(t *testing.T) {
	var b strings.Builder
	b.WriteString("policies:\n  - name: a\n    match: {}\n    egress: {allowPorts: [")
	for i := range 1500 {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d", 70000+i)
	}
	b.WriteString("]}\n")
	_, err := policy.Parse("c.yaml", []byte(b.String()))
	var errs *policy.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Parse = %v, want *policy.Errors", err)
	}
	if len(errs.List) != 1001 || !strings.Contains(errs.List[1000].Msg, "too many errors (more than 1000); stopping") {
		t.Errorf("Parse = %d errors, want 1000 and a last note", len(errs.List))
	}
}

func TestParseTooLarge(t *testing.T) {
	_, err := policy.Parse("c.yaml", make([]byte, policy.MaxFileSize+1))
	if err == nil || !strings.Contains(err.Error(), "c.yaml: file is larger than") {
		t.Errorf("Parse(large) = %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := policy.Load(filepath.Join(t.TempDir(), "none.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want fs.ErrNotExist", err)
	}
}

// fakeInfo is a FileInfo whose owner and mode the test chooses.
type fakeInfo struct {
	mode fs.FileMode
	sys  any
}

func (f fakeInfo) Name() string       { return "config.yaml" }
func (f fakeInfo) Size() int64        { return 0 }
func (f fakeInfo) Mode() fs.FileMode  { return f.mode }
func (f fakeInfo) ModTime() time.Time { return time.Time{} }
func (f fakeInfo) IsDir() bool        { return f.mode.IsDir() }
func (f fakeInfo) Sys() any           { return f.sys }

func TestRootOwned(t *testing.T) {
	tests := []struct {
		name string
		fi   fs.FileInfo
		want string // "" for ok
	}{
		{"root 0644", fakeInfo{0o644, &syscall.Stat_t{Uid: 0}}, ""},
		{"root 0600", fakeInfo{0o600, &syscall.Stat_t{Uid: 0}}, ""},
		{"user owned", fakeInfo{0o644, &syscall.Stat_t{Uid: 1000}}, "/etc/vigil/config.yaml: insecure configuration file: owned by uid 1000, must be owned by root"},
		{"group writable", fakeInfo{0o664, &syscall.Stat_t{Uid: 0}}, "/etc/vigil/config.yaml: insecure configuration file: mode 0664 is writable by group or others (chmod go-w /etc/vigil/config.yaml)"},
		{"other writable", fakeInfo{0o646, &syscall.Stat_t{Uid: 0}}, "/etc/vigil/config.yaml: insecure configuration file: mode 0646 is writable by group or others (chmod go-w /etc/vigil/config.yaml)"},
		{"not regular", fakeInfo{fs.ModeNamedPipe | 0o600, &syscall.Stat_t{Uid: 0}}, "/etc/vigil/config.yaml: insecure configuration file: not a regular file (p---------)"},
		{"unknown owner", fakeInfo{0o644, nil}, "/etc/vigil/config.yaml: insecure configuration file: cannot tell the file's owner"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := policy.RootOwned("/etc/vigil/config.yaml", tt.fi)
			if tt.want == "" {
				if err != nil {
					t.Errorf("RootOwned = %v, want nil", err)
				}
				return
			}
			if err == nil || err.Error() != tt.want || !errors.Is(err, policy.ErrInsecureFile) {
				t.Errorf("RootOwned = %v, want %q wrapping ErrInsecureFile", err, tt.want)
			}
		})
	}
}

func writeConfig(t *testing.T, mode fs.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte("policies:\n  - name: a\n    match: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadFileCheck(t *testing.T) {
	worldWritable := writeConfig(t, 0o666)
	t.Run("root refuses a world-writable file", func(t *testing.T) {
		_, err := policy.Load(worldWritable, policy.WithEUID(0))
		if !errors.Is(err, policy.ErrInsecureFile) || !strings.Contains(err.Error(), worldWritable) {
			t.Errorf("Load = %v, want ErrInsecureFile naming %s", err, worldWritable)
		}
	})
	t.Run("non-root does not check", func(t *testing.T) {
		if _, err := policy.Load(worldWritable, policy.WithEUID(1000)); err != nil {
			t.Errorf("Load = %v", err)
		}
	})
	t.Run("check disabled", func(t *testing.T) {
		if _, err := policy.Load(worldWritable, policy.WithEUID(0), policy.WithFileCheck(nil)); err != nil {
			t.Errorf("Load = %v", err)
		}
	})
	t.Run("injected owner", func(t *testing.T) {
		// The check sees the file's real mode with an owner the test picks.
		path := writeConfig(t, 0o644)
		for _, uid := range []uint32{0, 1000} {
			check := func(name string, fi fs.FileInfo) error {
				return policy.RootOwned(name, fakeInfo{fi.Mode(), &syscall.Stat_t{Uid: uid}})
			}
			_, err := policy.Load(path, policy.WithEUID(0), policy.WithFileCheck(check))
			if uid == 0 && err != nil {
				t.Errorf("uid 0: Load = %v", err)
			}
			if uid != 0 && !errors.Is(err, policy.ErrInsecureFile) {
				t.Errorf("uid %d: Load = %v, want ErrInsecureFile", uid, err)
			}
		}
	})
	t.Run("real owner", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("requires root: chown of the test file to root and to another user")
		}
		path := writeConfig(t, 0o644)
		if _, err := policy.Load(path, policy.WithEUID(0)); err != nil {
			t.Errorf("root-owned 0644: Load = %v", err)
		}
		if err := os.Chown(path, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		_, err := policy.Load(path, policy.WithEUID(0))
		if want := path + ": insecure configuration file: owned by uid 65534, must be owned by root"; err == nil || err.Error() != want {
			t.Errorf("Load = %v, want %q", err, want)
		}
	})
}

func TestRunChecks(t *testing.T) {
	c, err := policy.Load("testdata/full.yaml", policy.WithEUID(1000))
	if err != nil {
		t.Fatal(err)
	}
	if err := policy.RunChecks(c); err != nil {
		t.Errorf("RunChecks() = %v", err)
	}
	profiles := func(c *policy.Config) []error {
		var errs []error
		for _, p := range c.Policies {
			if p.AppArmor != nil {
				errs = append(errs, p.AppArmor.Pos.Errorf("profile %s not found", p.AppArmor.File))
			}
		}
		return errs
	}
	rules := func(c *policy.Config) []error { return []error{errors.New("rules: boom"), nil} }
	err = policy.RunChecks(c, rules, profiles)
	var errs *policy.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("RunChecks = %v", err)
	}
	want := []string{
		"testdata/full.yaml: rules: boom",
		"testdata/full.yaml:16:15: policies[0].apparmor: profile /etc/vigil/profiles/apparmor/vigil-default not found",
	}
	var got []string
	for _, e := range errs.List {
		got = append(got, e.Error())
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("RunChecks errors = %q, want %q", got, want)
	}
}

func TestDefault(t *testing.T) {
	c := policy.Default()
	if len(c.Policies) != 1 {
		t.Fatalf("Default has %d policies", len(c.Policies))
	}
	p := c.Policies[0]
	if p.Name != "default" || !p.Match.Empty() || p.Seccomp == nil || p.Seccomp.Profile != "runtime/default" ||
		p.Monitor.Mode != policy.ModeEnforce || p.Monitor.KillAt != policy.PriorityCritical ||
		p.OnError != policy.OnErrorRefuse || p.Egress.Mode != policy.ModeOff {
		t.Errorf("Default policy = %+v", p)
	}
	d := c.Decide(policy.Facts{Image: "anything"})
	if d.Policy != p || d.Index != 0 {
		t.Errorf("Default decides %+v", d)
	}
}

func TestResponseFor(t *testing.T) {
	r := &policy.Response{Actions: map[policy.Priority][]policy.Action{
		policy.PriorityCritical: {policy.ActionKill},
		policy.PriorityError:    {policy.ActionIsolate},
	}}
	for p, want := range map[policy.Priority][]policy.Action{
		policy.PriorityEmergency: {policy.ActionKill},
		policy.PriorityCritical:  {policy.ActionKill},
		policy.PriorityError:     {policy.ActionIsolate},
		policy.PriorityWarning:   nil,
	} {
		if got := r.For(p); !reflect.DeepEqual(got, want) {
			t.Errorf("For(%s) = %v, want %v", p, got, want)
		}
	}
	if got := (*policy.Response)(nil).For(policy.PriorityEmergency); got != nil {
		t.Errorf("nil.For = %v", got)
	}
}

func TestParsePriority(t *testing.T) {
	for in, want := range map[string]policy.Priority{
		"emergency": policy.PriorityEmergency, "ALERT": policy.PriorityAlert, "Critical": policy.PriorityCritical,
		"error": policy.PriorityError, "warning": policy.PriorityWarning, "notice": policy.PriorityNotice,
		"informational": policy.PriorityInformational, "info": policy.PriorityInformational, "debug": policy.PriorityDebug,
	} {
		got, err := policy.ParsePriority(in)
		if err != nil || got != want {
			t.Errorf("ParsePriority(%q) = %v, %v; want %v", in, got, err, want)
		}
		if txt, _ := got.MarshalText(); strings.ToLower(in) != "info" && string(txt) != strings.ToLower(in) {
			t.Errorf("MarshalText(%v) = %q", got, txt)
		}
	}
	if _, err := policy.ParsePriority("warn"); err == nil {
		t.Error("ParsePriority(warn) succeeded")
	}
}

func TestLoadExamples(t *testing.T) {
	for name, want := range map[string][]string{
		"testdata/full.yaml":       {"payments", "default"},
		"testdata/minimal.yaml":    {"default"},
		"testdata/kubernetes.yaml": {"sandboxes", "kube-system", "payments", "default"},
	} {
		c, err := policy.Load(name, policy.WithEUID(1000))
		if err != nil {
			t.Errorf("Load(%s) = %v", name, err)
			continue
		}
		var got []string
		for _, p := range c.Policies {
			got = append(got, p.Name)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Load(%s) policies = %q, want %q", name, got, want)
		}
	}
}
