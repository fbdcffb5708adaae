package rules

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-dev/vigil/monitor/event"
)

const testContainerID = "3ad7b26ded6d8e7b23da7d48fe889434573036c27ae5a74837233de441c3601e"

var testTime = time.Date(2024, 5, 17, 10, 11, 12, 123456789, time.UTC)

func baseEvent(t event.Type) *event.Event {
	return &event.Event{
		Time:   testTime,
		Type:   t,
		Source: "syscall",
		Process: event.Process{
			PID: 4242, PPID: 4200, UID: 0,
			Name: "nginx", Exe: "nginx", ExePath: "/usr/sbin/nginx",
			Args:      []string{"-g", "daemon off;"},
			PName:     "containerd-shim",
			PExePath:  "/usr/bin/containerd-shim-runc-v2",
			Ancestors: []string{"containerd-shim", "systemd"},
		},
		Container: event.Container{
			ID: testContainerID, Name: "web",
			Image: "docker.io/library/nginx:1.25", ImageRepository: "docker.io/library/nginx", ImageTag: "1.25",
			K8sPodName: "web-0", K8sNamespace: "default",
			Labels: map[string]string{"app": "web"},
		},
	}
}

// execEvent is an exec of name with args by a shell in a container.
func execEvent(name string, args ...string) *event.Event {
	ev := baseEvent(event.Execve)
	ev.Process.Name, ev.Process.Exe, ev.Process.ExePath, ev.Process.Args = name, name, "/usr/bin/"+name, args
	ev.Process.PName = "bash"
	ev.Process.Ancestors = []string{"bash", "containerd-shim", "systemd"}
	return ev
}

func openEvent(path string, read, write bool) *event.Event {
	ev := baseEvent(event.Open)
	ev.File = event.File{Name: path, TypeChar: "f", Read: read, Write: write}
	return ev
}

func connectEvent(sip string, sport uint16, proto string) *event.Event {
	ev := baseEvent(event.Connect)
	ev.File = event.File{TypeChar: "4", L4Proto: proto, SIP: sip, SPort: sport, CIP: "10.1.2.3", CPort: 40000}
	if strings.Contains(sip, ":") {
		ev.File.TypeChar, ev.File.CIP = "6", "fd00::3"
	}
	return ev
}

func onHost(ev *event.Event) *event.Event {
	ev.Container = event.Container{}
	return ev
}

func src(name, data string) Source { return Source{Name: name, Data: []byte(data)} }

// mustLoad loads files and fails the test on any error.
func mustLoad(t testing.TB, files ...Source) (*Ruleset, []Warning) {
	t.Helper()
	rs, warns, err := Load(files...)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return rs, warns
}

// condRule is a rules file with one rule "t" whose condition is cond,
// preceded by defs (macros and lists).
func condRule(defs, cond string) string {
	return fmt.Sprintf(`%s
- rule: t
  desc: test
  condition: %s
  output: "out"
  priority: WARNING
  warn_evttypes: false
`, defs, yamlQuote(cond))
}

func yamlQuote(s string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`
}

func names(rules []*Rule) []string {
	out := make([]string, len(rules))
	for i, r := range rules {
		out[i] = r.Name()
	}
	return out
}
