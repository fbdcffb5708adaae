package rules

import (
	"reflect"
	"testing"
)

func outputRule(t *testing.T, output string) *Rule {
	t.Helper()
	rs, _ := mustLoad(t, src("o.yaml", `
- rule: o
  desc: d
  condition: evt.type = execve
  output: `+yamlQuote(output)+`
  priority: INFO
`))
	return rs.Rule("o")
}

func TestFormatOutput(t *testing.T) {
	ev := execEvent("bash", "-c", "id")
	tests := []struct {
		output, want string
	}{
		{"shell %proc.name ran %proc.cmdline", "shell bash ran bash -c id"},
		{"paren %(proc.name)x", "paren bashx"},
		{"aname %proc.aname[2] and %proc.aname[9]", "aname containerd-shim and <NA>"},
		{"file=%fd.name.", "file=<NA>."},
		{"dest=%fd.sip:%fd.sport", "dest=<NA>:<NA>"},
		{"%container.info", "web (id=3ad7b26ded6d)"},
		{"uid=%user.uid root=%user.name tty=%proc.tty up=%proc.is_exe_upper_layer", "uid=0 root=root tty=0 up=false"},
		{"unsupported %proc.pcmdline and %evt.arg.flags", "unsupported <NA> and <NA>"},
		{"100% sure", "100% sure"},
		{"time %evt.time", "time 10:11:12.123456789"},
		{"img %container.image.repository:%container.image.tag", "img docker.io/library/nginx:1.25"},
	}
	for _, tt := range tests {
		if got := FormatOutput(outputRule(t, tt.output), ev); got != tt.want {
			t.Errorf("FormatOutput(%q) = %q, want %q", tt.output, got, tt.want)
		}
	}
	conn := connectEvent("93.184.216.34", 4444, "tcp")
	if got := FormatOutput(outputRule(t, "dest=%fd.sip:%fd.sport name=%fd.name"), conn); got != "dest=93.184.216.34:4444 name=10.1.2.3:40000->93.184.216.34:4444" {
		t.Errorf("connect output %q", got)
	}
}

func TestOutputFields(t *testing.T) {
	r := outputRule(t, "%evt.time %proc.name %proc.pid %proc.is_exe_upper_layer %fd.sip %proc.pcmdline %container.info %proc.name %proc.aname[2]")
	got := OutputFields(r, execEvent("bash"))
	want := map[string]any{
		"evt.time":                testTime.UnixNano(),
		"proc.name":               "bash",
		"proc.pid":                int64(4242),
		"proc.is_exe_upper_layer": false,
		"fd.sip":                  nil,
		"proc.pcmdline":           nil,
		"container.name":          "web",
		"container.id":            "3ad7b26ded6d",
		"proc.aname[2]":           "containerd-shim",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("OutputFields = %#v\nwant %#v", got, want)
	}
	if names := r.OutputFieldNames(); len(names) != 9 {
		t.Errorf("OutputFieldNames = %v", names)
	}
	if u := r.UnsupportedOutputFields(); len(u) != 1 || u[0] != "proc.pcmdline" {
		t.Errorf("UnsupportedOutputFields = %v", u)
	}
}

func TestDecide(t *testing.T) {
	rs, _ := mustLoad(t, src("d.yaml", `
- rule: crit
  desc: d
  condition: evt.type = execve
  output: o
  priority: CRITICAL
  tags: [drift]
- rule: warn
  desc: d
  condition: evt.type = execve
  output: o
  priority: WARNING
  tags: [shell]
- rule: emerg
  desc: d
  condition: evt.type = execve
  output: o
  priority: EMERGENCY
`))
	crit, warn, emerg := rs.Rule("crit"), rs.Rule("warn"), rs.Rule("emerg")
	tests := []struct {
		name      string
		r         *Rule
		mode      string
		killAt    Priority
		kill      []string
		alertOnly []string
		want      Action
	}{
		{"audit never kills", crit, "audit", PriorityCritical, []string{"crit"}, nil, Alert},
		{"audit any case", crit, "AUDIT", PriorityCritical, nil, nil, Alert},
		{"killAt reached", crit, "enforce", PriorityCritical, nil, nil, Kill},
		{"more severe than killAt", emerg, "enforce", PriorityCritical, nil, nil, Kill},
		{"below killAt", warn, "enforce", PriorityCritical, nil, nil, Alert},
		{"no priority kills", crit, "enforce", NoPriority, nil, nil, Alert},
		{"alertOnly beats killAt", crit, "enforce", PriorityCritical, nil, []string{"crit"}, Alert},
		{"alertOnly by tag", crit, "enforce", PriorityCritical, nil, []string{"tag:drift"}, Alert},
		{"kill by name", warn, "enforce", PriorityCritical, []string{"warn"}, nil, Kill},
		{"kill by tag", warn, "enforce", PriorityCritical, []string{"tag:shell"}, nil, Kill},
		{"kill beats alertOnly", warn, "enforce", PriorityCritical, []string{"tag:shell"}, []string{"warn"}, Kill},
		{"unrelated selectors", warn, "enforce", PriorityCritical, []string{"tag:drift", "crit"}, nil, Alert},
	}
	for _, tt := range tests {
		if got := Decide(tt.r, tt.mode, tt.killAt, tt.kill, tt.alertOnly); got != tt.want {
			t.Errorf("%s: Decide = %v, want %v", tt.name, got, tt.want)
		}
	}
	if Kill.String() != "kill" || Alert.String() != "alert" {
		t.Error("Action.String")
	}
}
