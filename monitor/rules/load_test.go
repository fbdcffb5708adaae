package rules

import (
	"errors"
	"strings"
	"testing"

	"github.com/vigil-dev/vigil/monitor/event"
	"github.com/vigil-dev/vigil/monitor/rules/condition"
)

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		sentinel error
		line     int
		item     string
		msg      string
	}{
		{"not yaml", "- rule: [", ErrYAML, 1, "", "yaml"},
		{"not a list", "rule: x", ErrYAML, 1, "", "not yaml array of objects"},
		{"item not a map", "- just a string", ErrInvalidItem, 1, "", "associative array"},
		{"missing output", "- rule: r\n  desc: d\n  condition: proc.name=x\n  priority: INFO\n", ErrInvalidItem, 1, "rule 'r'", "no mapping for key 'output'"},
		{"empty condition", "- rule: r\n  desc: d\n  condition:\n  output: o\n  priority: INFO\n", ErrInvalidItem, 3, "rule 'r'", "Mapping for key 'condition' is empty"},
		{"bad priority", "- rule: r\n  desc: d\n  condition: proc.name=x\n  output: o\n  priority: LOUD\n", ErrInvalidPriority, 5, "rule 'r'", "Invalid priority"},
		{"syntax", "- rule: r\n  desc: d\n  condition: proc.name=x and\n  output: o\n  priority: INFO\n", ErrCondition, 3, "rule 'r'", "expected blank or '(' after 'and'"},
		{"undefined macro", "- rule: r\n  desc: d\n  condition: spawned_process and nope\n  output: o\n  priority: INFO\n", ErrUndefined, 3, "rule 'r'", "Undefined macro 'spawned_process' used in filter."},
		{"undefined macro in macro", "- macro: m\n  condition: other\n", ErrUndefined, 2, "macro 'm'", "Undefined macro 'other' used in filter."},
		{"macro syntax", "- macro: m\n  condition: (a\n", ErrCondition, 2, "macro 'm'", "expected a ')' token"},
		{"macro cycle", "- macro: a\n  condition: b\n- macro: b\n  condition: a\n- rule: r\n  desc: d\n  condition: a\n  output: o\n  priority: INFO\n", ErrCondition, 7, "rule 'r'", "references itself"},
		{"unknown field", "- rule: r\n  desc: d\n  condition: foo.bar = 1\n  output: o\n  priority: INFO\n", ErrUnknownField, 3, "rule 'r'", "nonexistent field foo.bar"},
		{"bad number", "- rule: r\n  desc: d\n  condition: fd.sport = http\n  output: o\n  priority: INFO\n", ErrInvalidValue, 3, "rule 'r'", `could not parse "http"`},
		{"bad bool", "- rule: r\n  desc: d\n  condition: proc.is_exe_upper_layer = yes\n  output: o\n  priority: INFO\n", ErrInvalidValue, 3, "rule 'r'", "unrecognized boolean"},
		{"bad ip", "- rule: r\n  desc: d\n  condition: fd.sip = foo\n  output: o\n  priority: INFO\n", ErrInvalidValue, 3, "rule 'r'", "IP address"},
		{"bad regex", "- rule: r\n  desc: d\n  condition: proc.name regex \"(\"\n  output: o\n  priority: INFO\n", ErrInvalidValue, 3, "rule 'r'", "invalid regex"},
		{"bad op for number", "- rule: r\n  desc: d\n  condition: proc.pid contains 1\n  output: o\n  priority: INFO\n", ErrInvalidValue, 3, "rule 'r'", "operator 'contains' is not supported"},
		{"non-empty list as macro", "- list: l\n  items: [a]\n- rule: r\n  desc: d\n  condition: not l\n  output: o\n  priority: INFO\n", ErrUndefined, 5, "rule 'r'", "'l' is a list"},
		{"append without rule", "- rule: r\n  condition: and x\n  append: true\n", ErrUndefined, 1, "rule 'r'", "no rule by that name already exists"},
		{"append without list", "- list: l\n  items: [a]\n  append: true\n", ErrUndefined, 1, "list 'l'", "no list by that name already exists"},
		{"append without macro", "- macro: m\n  condition: x\n  override:\n    condition: append\n", ErrUndefined, 1, "macro 'm'", "no macro by that name already exists"},
		{"enabled without rule", "- rule: r\n  enabled: false\n", ErrUndefined, 1, "rule 'r'", "no rule by that name already exists"},
		{"bad override op", "- macro: m\n  condition: x\n  override:\n    condition: merge\n", ErrInvalidItem, 4, "macro 'm'", "Invalid override operation"},
		{"override without key", "- rule: r\n  desc: d\n  condition: proc.name=x\n  output: o\n  priority: INFO\n- rule: r\n  override:\n    output: replace\n", ErrInvalidItem, 6, "rule 'r'", "'output' is not defined"},
		{"exception length", "- rule: r\n  desc: d\n  condition: proc.name=x\n  output: o\n  priority: INFO\n  exceptions:\n    - name: e\n      fields: [proc.name, proc.pname]\n      comps: [=]\n", ErrInvalidItem, 7, "rule 'r' exception 'e'", "equal length"},
		{"exception single comps", "- rule: r\n  desc: d\n  condition: proc.name=x\n  output: o\n  priority: INFO\n  exceptions:\n    - name: e\n      fields: proc.name\n      comps: =\n", ErrInvalidItem, 7, "rule 'r' exception 'e'", "comps must be one of (in, pmatch, intersects)"},
		{"exception bad op", "- rule: r\n  desc: d\n  condition: proc.name=x\n  output: o\n  priority: INFO\n  exceptions:\n    - name: e\n      fields: [proc.name]\n      comps: [like]\n", ErrInvalidItem, 7, "rule 'r' exception 'e'", "'like' is not a supported comparison operator"},
		{"list cycle", "- list: a\n  items: [b]\n- list: b\n  items: [a]\n", ErrInvalidItem, 1, "list 'a'", "references itself"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, _, err := Load(src("bad.yaml", tt.yaml))
			if rs == nil {
				t.Fatal("Load returned no Ruleset")
			}
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, tt.sentinel) {
				t.Errorf("error %v does not wrap %v", err, tt.sentinel)
			}
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error %T is not Errors", err)
			}
			e := es[0]
			if e.File != "bad.yaml" || e.Line != tt.line || e.Item != tt.item {
				t.Errorf("error at %s:%d %q, want bad.yaml:%d %q (%v)", e.File, e.Line, e.Item, tt.line, tt.item, e)
			}
			if !strings.Contains(e.Error(), tt.msg) {
				t.Errorf("error %q does not mention %q", e.Error(), tt.msg)
			}
			if !strings.HasPrefix(e.Error(), "bad.yaml:") {
				t.Errorf("error %q does not start with file:line", e.Error())
			}
		})
	}
}

func TestSyntaxErrorWrapsConditionSentinel(t *testing.T) {
	_, _, err := Load(src("x.yaml", condRule("", "proc.name = (")))
	if !errors.Is(err, ErrCondition) || !errors.Is(err, condition.ErrSyntax) {
		t.Errorf("error %v should wrap ErrCondition and condition.ErrSyntax", err)
	}
	rs, _, _ := Load(src("x.yaml", condRule("", "proc.name = (")))
	if r := rs.Rule("t"); r == nil || r.Status() != StatusError || r.Err() == nil {
		t.Errorf("rule with a syntax error should have StatusError, got %+v", r)
	}
}

func TestAppendAndOverride(t *testing.T) {
	base := `
- list: allowed
  items: [a]
- macro: m
  condition: proc.name = x
- rule: r
  desc: base
  condition: evt.type = execve and proc.name = bash
  output: base output
  priority: INFO
  tags: [one]
  exceptions:
    - name: by_parent
      fields: [proc.pname]
      values: [[p1]]
`
	tests := []struct {
		name  string
		extra string
		check func(t *testing.T, rs *Ruleset)
	}{
		{"append condition", `
- rule: r
  condition: or proc.name = sh
  append: true
`, func(t *testing.T, rs *Ruleset) {
			r := rs.Rule("r")
			if !r.Eval(execEvent("sh")) || !r.Eval(execEvent("bash")) || r.Eval(execEvent("zsh")) {
				t.Errorf("appended condition not applied: %s", r.Condition())
			}
		}},
		{"override append condition and output", `
- rule: r
  condition: or proc.name = sh
  output: (more)
  override:
    condition: append
    output: append
`, func(t *testing.T, rs *Ruleset) {
			r := rs.Rule("r")
			if !r.Eval(execEvent("sh")) || r.Output() != "base output (more)" {
				t.Errorf("condition %q output %q", r.Condition(), r.Output())
			}
		}},
		{"override replace", `
- rule: r
  condition: evt.type = execve and proc.name = zsh
  priority: CRITICAL
  enabled: false
  tags: [two]
  override:
    condition: replace
    priority: replace
    enabled: replace
    tags: replace
`, func(t *testing.T, rs *Ruleset) {
			r := rs.Rule("r")
			if !r.Eval(execEvent("zsh")) || r.Eval(execEvent("bash")) || r.Priority() != PriorityCritical || r.Enabled() {
				t.Errorf("replace not applied: %q %v %v", r.Condition(), r.Priority(), r.Enabled())
			}
			if got := r.Tags(); len(got) != 1 || got[0] != "two" {
				t.Errorf("tags %v", got)
			}
		}},
		{"append tags", `
- rule: r
  tags: [two, one]
  override:
    tags: append
`, func(t *testing.T, rs *Ruleset) {
			if got := strings.Join(rs.Rule("r").Tags(), ","); got != "one,two" {
				t.Errorf("tags %s", got)
			}
		}},
		{"append exception values", `
- rule: r
  exceptions:
    - name: by_parent
      values: [[bash]]
  override:
    exceptions: append
`, func(t *testing.T, rs *Ruleset) {
			ev := execEvent("bash") // parent is bash
			if rs.Rule("r").Eval(ev) {
				t.Errorf("appended exception value not applied: %s", rs.Rule("r").Condition())
			}
		}},
		{"enabled only", `
- rule: r
  enabled: false
`, func(t *testing.T, rs *Ruleset) {
			if rs.Rule("r").Enabled() || len(rs.Match(execEvent("bash"))) != 0 {
				t.Error("rule still enabled")
			}
		}},
		{"list append and macro append", `
- list: allowed
  items: [b]
  override:
    items: append
- macro: m
  condition: or proc.name = y
  override:
    condition: append
- rule: r2
  desc: d
  condition: evt.type = execve and m and proc.pname in (allowed)
  output: o
  priority: INFO
`, func(t *testing.T, rs *Ruleset) {
			ev := execEvent("y")
			ev.Process.PName = "b"
			if !rs.Rule("r2").Eval(ev) {
				t.Errorf("appended list/macro not applied: %s", rs.Rule("r2").Condition())
			}
		}},
		{"redefinition replaces and is resolved late", `
- rule: r
  desc: redefined
  condition: evt.type = execve and late_macro
  output: o
  priority: DEBUG
- macro: late_macro
  condition: proc.name = late
`, func(t *testing.T, rs *Ruleset) {
			r := rs.Rule("r")
			if r.Desc() != "redefined" || !r.Eval(execEvent("late")) {
				t.Errorf("redefinition not applied: %s", r.Condition())
			}
			if len(rs.Rules()) != 1 {
				t.Errorf("%d rules, want 1", len(rs.Rules()))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, _ := mustLoad(t, src("base.yaml", base), src("extra.yaml", tt.extra))
			tt.check(t, rs)
		})
	}
}

func TestExceptions(t *testing.T) {
	rule := `
- list: trusted_parents
  items: [cron, sshd]
- rule: r
  desc: d
  condition: evt.type = execve and proc.name in (sh, bash, curl)
  output: o
  priority: INFO
  exceptions:
    - name: single_field
      fields: proc.pname
      values: [trusted_parents, runc]
    - name: pairs
      fields: [proc.name, "proc.aname[2]"]
      comps: [=, startswith]
      values:
        - [bash, kube]
        - [sh, "my app"]
    - name: lists
      fields: [proc.name, proc.args]
      comps: [in, contains]
      values:
        - [[curl, wget], "--silent"]
    - name: empty
      fields: [proc.name]
      values: []
`
	rs, _ := mustLoad(t, src("ex.yaml", rule))
	r := rs.Rule("r")
	mk := func(name, parent, gparent string, args ...string) *event.Event {
		ev := execEvent(name, args...)
		ev.Process.PName = parent
		ev.Process.Ancestors = []string{parent, gparent}
		return ev
	}
	tests := []struct {
		name string
		ev   *event.Event
		want bool
	}{
		{"no exception applies", mk("bash", "nginx", "init"), true},
		{"single field via list", mk("bash", "cron", "init"), false},
		{"single field literal", mk("sh", "runc", "init"), false},
		{"pair", mk("bash", "x", "kubelet"), false},
		{"pair needs both", mk("sh", "x", "kubelet"), true},
		{"quoted value with space", mk("sh", "x", "my app server"), false},
		{"list value", mk("curl", "x", "y", "--silent", "http://x"), false},
		{"list value other arg", mk("curl", "x", "y", "http://x"), true},
	}
	for _, tt := range tests {
		if got := r.Eval(tt.ev); got != tt.want {
			t.Errorf("%s: Eval = %v, want %v (condition %s)", tt.name, got, tt.want, r.Condition())
		}
	}
	// The text is built exactly as Falco builds it, double spaces included.
	want := `evt.type = execve and proc.name in (sh, bash, curl) and not (proc.pname in (trusted_parents, runc)) and not (( proc.name = bash and  proc.aname[2] startswith kube) or ( proc.name = sh and  proc.aname[2] startswith "my app")) and not (( proc.name in (curl, wget) and  proc.args contains --silent))`
	if r.Condition() != want {
		t.Errorf("condition\n got %s\nwant %s", r.Condition(), want)
	}
}

func TestUnsupportedAndSkipped(t *testing.T) {
	file := `
- macro: uses_pcmdline
  condition: proc.pcmdline contains x
- rule: unsupported field
  desc: d
  condition: evt.type = execve and proc.name = bash and not uses_pcmdline
  output: o
  priority: INFO
- rule: unsupported arg
  desc: d
  condition: evt.type = openat and evt.arg.flags contains O_TRUNC
  output: o
  priority: INFO
- rule: unsupported construct
  desc: d
  condition: evt.type = execve and join(proc.args) = x
  output: o
  priority: INFO
- rule: skipped unknown
  desc: d
  condition: evt.type = execve and ka.verb = create
  output: o
  priority: INFO
  skip-if-unknown-filter: true
- rule: skipped unsupported
  desc: d
  condition: evt.type = execve and proc.env contains X
  output: o
  priority: INFO
  skip-if-unknown-filter: true
- rule: other source
  desc: d
  condition: ka.verb = create
  output: o
  priority: INFO
  source: k8s_audit
`
	rs, warns := mustLoad(t, src("u.yaml", file))
	tests := []struct {
		rule   string
		status Status
		reason string
	}{
		{"unsupported field", StatusUnsupported, "field proc.pcmdline"},
		{"unsupported arg", StatusUnsupported, "field evt.arg.flags"},
		{"unsupported construct", StatusUnsupported, "construct join()"},
		{"skipped unknown", StatusSkipped, "nonexistent field ka.verb"},
		{"skipped unsupported", StatusSkipped, "field proc.env"},
		{"other source", StatusSkipped, "source k8s_audit"},
	}
	for _, tt := range tests {
		r := rs.Rule(tt.rule)
		if r.Status() != tt.status || !strings.Contains(r.Reason(), tt.reason) {
			t.Errorf("%s: %v %q, want %v %q", tt.rule, r.Status(), r.Reason(), tt.status, tt.reason)
		}
		if r.Active() {
			t.Errorf("%s is active", tt.rule)
		}
	}
	if m := rs.Match(execEvent("bash")); len(m) != 0 {
		t.Errorf("unsupported rules matched: %v", names(m))
	}
	found := false
	for _, w := range warns {
		if strings.Contains(w.Msg, "Unknown source k8s_audit") && w.File == "u.yaml" && w.Line == 31 {
			found = true
		}
	}
	if !found {
		t.Errorf("no warning for the k8s_audit rule at u.yaml:31: %v", warns)
	}
}

func TestWarnings(t *testing.T) {
	file := `
- required_engine_version: 26
- required_plugin_versions:
    - name: k8saudit
      version: 0.7.0
- rule: no evttype
  desc: d
  condition: proc.name = bash
  output: o
  priority: INFO
  conditon: typo
- rule: no evttype quiet
  desc: d
  condition: proc.name = bash
  output: o
  priority: INFO
  warn_evttypes: false
- rule: basename
  desc: d
  condition: evt.type = openat and fd.filename contains "/bin/"
  output: o
  priority: INFO
- something: else
`
	_, warns := mustLoad(t, src("w.yaml", file))
	want := []struct {
		line int
		msg  string
	}{
		{3, "required_plugin_versions ignored"},
		{11, "unknown key 'conditon'"},
		{6, "Rule matches too many evt.type values"},
		{20, "fd.filename is a base name"},
		{23, "Unknown top level item"},
	}
	for _, w := range want {
		found := false
		for _, got := range warns {
			if got.File == "w.yaml" && got.Line == w.line && strings.Contains(got.Msg, w.msg) {
				found = true
			}
		}
		if !found {
			t.Errorf("missing warning w.yaml:%d %q in %v", w.line, w.msg, warns)
		}
	}
	for _, got := range warns {
		if strings.Contains(got.Item, "no evttype quiet") {
			t.Errorf("warn_evttypes: false still warned: %v", got)
		}
	}
}

func TestEventTypeIndex(t *testing.T) {
	rs, _ := mustLoad(t, src("i.yaml", `
- rule: exec
  desc: d
  condition: evt.type in (execve, execveat) and proc.name = x
  output: o
  priority: INFO
- rule: any
  desc: d
  condition: proc.name = x
  output: o
  priority: INFO
  warn_evttypes: false
- rule: not open
  desc: d
  condition: not evt.type = openat and proc.name = x
  output: o
  priority: INFO
  warn_evttypes: false
`))
	if got := rs.Rule("exec").EventTypes(); len(got) != 1 || got[0] != event.Execve {
		t.Errorf("exec types %v", got)
	}
	if got := rs.Rule("any").EventTypes(); got != nil {
		t.Errorf("any types %v, want nil", got)
	}
	ev := execEvent("x")
	if got := names(rs.Match(ev)); strings.Join(got, ",") != "exec,any,not open" {
		t.Errorf("exec matched %v", got)
	}
	op := openEvent("/x", true, false)
	op.Process.Name = "x"
	if got := names(rs.Match(op)); strings.Join(got, ",") != "any" {
		t.Errorf("open matched %v", got)
	}
	other := execEvent("x")
	other.Type = "execveat"
	if got := names(rs.Match(other)); strings.Join(got, ",") != "exec,any,not open" {
		t.Errorf("execveat matched %v", got)
	}
}

func TestMatchReturnsEveryRule(t *testing.T) {
	rs, _ := mustLoad(t, src("m.yaml", `
- rule: first
  desc: d
  condition: evt.type = execve and proc.name = bash
  output: o
  priority: INFO
- rule: second
  desc: d
  condition: evt.type = execve and proc.cmdline contains echo
  output: o
  priority: INFO
- rule: third
  desc: d
  condition: evt.type = execve and proc.name = sh
  output: o
  priority: INFO
`))
	if got := strings.Join(names(rs.Match(execEvent("bash", "-c", "echo"))), ","); got != "first,second" {
		t.Errorf("matched %s, want first,second", got)
	}
}

func TestPriority(t *testing.T) {
	for in, want := range map[string]Priority{
		"EMERGENCY": PriorityEmergency, "alert": PriorityAlert, "Critical": PriorityCritical,
		"ERROR": PriorityError, "warning": PriorityWarning, "NOTICE": PriorityNotice,
		"INFO": PriorityInformational, "informational": PriorityInformational, " DEBUG ": PriorityDebug,
	} {
		got, err := ParsePriority(in)
		if err != nil || got != want {
			t.Errorf("ParsePriority(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParsePriority("urgent"); !errors.Is(err, ErrInvalidPriority) {
		t.Errorf("ParsePriority(urgent) error %v", err)
	}
	if PriorityCritical.String() != "Critical" || PriorityInformational.String() != "Informational" {
		t.Error("priority names differ from Falco's")
	}
	if !PriorityEmergency.AtLeast(PriorityCritical) || PriorityError.AtLeast(PriorityCritical) || PriorityEmergency.AtLeast(NoPriority) {
		t.Error("AtLeast wrong")
	}
}
