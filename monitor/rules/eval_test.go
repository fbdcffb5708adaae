package rules

import (
	"testing"

	"github.com/vigil-dev/vigil/monitor/event"
)

const evalDefs = `
- list: shells
  items: [bash, sh]
- list: more_shells
  items: [shells, zsh, '"quoted name"']
- list: ports
  items: [80, 443]
- list: nets
  items: ['"10.0.0.0/8"', '"192.168.0.0/16"']
- macro: is_exec
  condition: evt.type = execve
- macro: exec_shell
  condition: is_exec and proc.name in (more_shells)
`

func TestEval(t *testing.T) {
	nginx := baseEvent(event.Execve)
	bash := execEvent("bash", "-c", "echo hi")
	quoted := execEvent("quoted name")
	shadow := openEvent("/etc/shadow", true, false)
	conn := connectEvent("93.184.216.34", 443, "tcp")
	conn6 := connectEvent("2001:db8::1", 8443, "tcp")
	loop := connectEvent("127.0.0.1", 6379, "tcp")
	loop.File.CIP = "127.0.0.1"
	upper := execEvent("payload")
	upper.Process.IsExeUpperLayer = true
	hostExec := onHost(execEvent("ls", "-la"))
	noParent := execEvent("sh")
	noParent.Process.PName, noParent.Process.Ancestors = "", nil

	tests := []struct {
		name string
		cond string
		ev   *event.Event
		want bool
	}{
		// = == != and strings
		{"eq", "proc.name = bash", bash, true},
		{"eq double", "proc.name == bash", bash, true},
		{"eq mismatch", "proc.name = sh", bash, false},
		{"ne", "proc.name != sh", bash, true},
		{"quoted value", `proc.cmdline = "bash -c echo hi"`, bash, true},
		{"lt string", "fd.typechar < 5", conn, true},
		{"ge string", "fd.typechar >= 5", conn, false},
		// precedence: not > and > or
		{"and binds tighter", "proc.name = sh and proc.name = x or proc.name = bash", bash, true},
		{"or then and", "proc.name = bash or proc.name = x and proc.name = y", bash, true},
		{"parens change it", "(proc.name = bash or proc.name = x) and proc.name = y", bash, false},
		{"not binds tighter than and", "not proc.name = sh and proc.name = bash", bash, true},
		{"not of group", "not (proc.name = bash and evt.type = execve)", bash, false},
		{"double not", "not not proc.name = bash", bash, true},
		// in, lists, lists of lists, quoted list items
		{"in literal", "proc.name in (sh, bash)", bash, true},
		{"in list", "proc.name in (shells)", bash, true},
		{"in list without parens", "proc.name in shells", bash, true},
		{"in list of lists", "proc.name in (more_shells)", bash, true},
		{"quoted list item", "proc.name in (more_shells)", quoted, true},
		{"in miss", "proc.name in (more_shells)", nginx, false},
		{"in empty", "proc.name in ()", bash, false},
		{"intersects", "proc.name intersects (bash, x)", bash, true},
		{"in numbers", "fd.sport in (80, 443)", conn, true},
		{"in number list", "fd.sport in (ports)", conn, true},
		{"not in numbers", "not fd.sport in (80, 443)", conn6, true},
		{"num lt", "fd.sport < 444", conn, true},
		{"num le", "fd.sport <= 443", conn, true},
		{"num gt", "fd.sport > 443", conn, false},
		{"num ge", "fd.sport >= 443", conn, true},
		{"num hex", "fd.sport = 0x1bb", conn, true},
		{"negative", "user.loginuid = -1", bash, true},
		{"uid", "user.uid = 0 and user.name = root", bash, true},
		// macros in macros
		{"macro in macro", "exec_shell", bash, true},
		{"macro in macro miss", "exec_shell", nginx, false},
		{"not macro", "not exec_shell", nginx, true},
		// string operators
		{"startswith", "fd.name startswith /etc/", shadow, true},
		{"endswith", "fd.name endswith shadow", shadow, true},
		{"contains", "proc.cmdline contains echo", bash, true},
		{"icontains", "proc.cmdline icontains ECHO", bash, true},
		{"bcontains", "proc.cmdline bcontains 6563686f", bash, true},
		{"bstartswith", "proc.cmdline bstartswith 62617368", bash, true},
		{"glob", "fd.name glob '/etc/*ow'", shadow, true},
		{"glob star crosses slash", "fd.name glob '/*dow'", shadow, true},
		{"glob class", "fd.name glob '/etc/[rs]hadow'", shadow, true},
		{"glob negated class", "fd.name glob '/etc/[!s]hadow'", shadow, false},
		{"glob question", "fd.name glob '/etc/s?adow'", shadow, true},
		{"iglob", "fd.name iglob '/ETC/SHADOW'", shadow, true},
		{"pmatch", "fd.name pmatch (/usr, /etc)", shadow, true},
		{"pmatch component", "fd.name pmatch (/et)", shadow, false},
		{"regex full match", `proc.cmdline regex "bash -c .*"`, bash, true},
		{"regex is anchored", `proc.cmdline regex "echo"`, bash, false},
		// exists and missing values
		{"exists", "proc.name exists", bash, true},
		{"k8s exists", "k8s.pod.name exists", bash, true},
		{"fd exists on exec", "fd.name exists", bash, false},
		{"missing compares false even with !=", "proc.pname != bash", noParent, false},
		{"missing parent", "not proc.pname exists", noParent, true},
		// ancestors
		{"aname index", "proc.aname[2] = containerd-shim", bash, true},
		{"aname 0 is self", "proc.aname[0] = bash", bash, true},
		{"aname any", "proc.aname = systemd", bash, true},
		{"aname any in", "proc.aname in (x, containerd-shim)", bash, true},
		{"aname any miss", "proc.aname = nginx", bash, false},
		{"pname", "proc.pname = bash", bash, true},
		// process fields
		{"args", `proc.args = "-c echo hi"`, bash, true},
		{"exepath", "proc.exepath = /usr/bin/bash", bash, true},
		{"exe", "proc.exe = bash", bash, true},
		{"upper layer", "proc.is_exe_upper_layer = true", upper, true},
		{"not upper layer", "proc.is_exe_upper_layer = false", bash, true},
		{"memfd", "proc.is_exe_from_memfd = true", bash, false},
		{"vpid", "proc.vpid = 4242 and proc.pid = 4242 and proc.ppid = 4200", bash, true},
		{"tty", "proc.tty = 0", bash, true},
		// container fields
		{"container id is short", "container.id = 3ad7b26ded6d", bash, true},
		{"container macro-ish", "container.id != host", bash, true},
		{"host", "container.id = host and container.name = host", hostExec, true},
		{"image", "container.image.repository = docker.io/library/nginx and container.image.tag = 1.25", bash, true},
		{"label", "container.label[app] = web", bash, true},
		{"privileged false", "container.privileged = false", bash, true},
		{"namespace", "k8s.ns.name = default", bash, true},
		// files
		{"open read", "evt.is_open_read = true and evt.is_open_write = false", shadow, true},
		{"filename", "fd.filename = shadow and fd.directory = /etc", shadow, true},
		{"typechar", "fd.typechar = f and fd.type = file", shadow, true},
		{"evt.arg.name", "evt.arg.name = /etc/shadow", shadow, true},
		{"evt.dir", "evt.dir = < and evt.type = openat", shadow, true},
		// network
		{"sip", `fd.sip = "93.184.216.34"`, conn, true},
		{"sip in", `fd.sip in ("1.1.1.1", "93.184.216.34")`, conn, true},
		{"snet", `fd.snet in (nets)`, conn, false},
		{"cnet", `fd.cnet in (nets)`, conn, true},
		{"fd.ip either end", `fd.ip = "10.1.2.3"`, conn, true},
		{"fd.ip != needs both", `fd.ip != "10.1.2.3"`, conn, false},
		{"fd.net != loopback", `fd.net != "127.0.0.0/8"`, conn, true},
		{"fd.net != loopback on loopback", `fd.net != "127.0.0.0/8"`, loop, false},
		{"ipv6", `fd.sip = "2001:db8::1" and fd.typechar = 6`, conn6, true},
		{"port pair", "fd.port = 40000", conn, true},
		{"l4proto", "fd.l4proto = tcp", conn, true},
		{"fd.name tuple", `fd.name = "10.1.2.3:40000->93.184.216.34:443"`, conn, true},
		{"rip lport", `fd.rip = "93.184.216.34" and fd.lport = 40000 and fd.rport = 443`, conn, true},
		// rhs fields and transformers
		{"val", "proc.pname = val(proc.aname[1])", bash, true},
		{"val ne", "proc.name != val(proc.pname)", nginx, true},
		{"val in miss", "proc.name in val(proc.pname)", nginx, false},
		{"val in any ancestor", "proc.pname in val(proc.aname)", bash, true},
		{"val numbers", "proc.pid > val(proc.ppid)", bash, true},
		{"tolower", "tolower(proc.name) = nginx", nginx, true},
		{"toupper", "toupper(proc.name) = NGINX", nginx, true},
		{"basename", "basename(proc.exepath) = bash", bash, true},
		{"len", "len(proc.name) = 4", bash, true},
		{"len of ancestors", "len(proc.aname) = 3", bash, true},
		{"transformer rhs", "fd.filename = basename(fd.name)", shadow, true},
		// evt fields
		{"evt.num", "evt.num > 0", bash, true},
		{"evt.time", `evt.time = "10:11:12.123456789"`, bash, true},
		{"evt.rawtime", "evt.rawtime > 0", bash, true},
		{"evt.source", "evt.source = syscall", bash, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, _ := mustLoad(t, src("eval.yaml", condRule(evalDefs, tt.cond)))
			r := rs.Rule("t")
			if r.Status() != StatusOK {
				t.Fatalf("status %v: %s %v", r.Status(), r.Reason(), r.Err())
			}
			if got := r.Eval(tt.ev); got != tt.want {
				t.Errorf("%s on %s %q = %v, want %v", tt.cond, tt.ev.Type, tt.ev.Process.Name, got, tt.want)
			}
			// Match agrees with Eval.
			got := len(rs.Match(tt.ev)) == 1
			if got != tt.want {
				t.Errorf("Match disagrees with Eval for %s", tt.cond)
			}
		})
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "/a/b", true},
		{"a*c", "abbbc", true},
		{"a*c", "abbbd", false},
		{"*/.ssh/*", "/home/u/.ssh/id_rsa", true},
		{"/home/*/.ssh/*", "/home/u/.ssh/id_rsa", true},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"[a-c]x", "bx", true},
		{"[^a-c]x", "bx", false},
		{"[]]", "]", true},
		{"[", "[", true},
		{`a\*`, "a*", true},
		{`a\*`, "ab", false},
		{"*../*../*", "/var/www/../../etc/passwd", true},
		{"**x", "abx", true},
	}
	for _, tt := range tests {
		if got := globMatch(tt.pattern, tt.s, false); got != tt.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func TestPathUnder(t *testing.T) {
	tests := []struct {
		path, dir string
		want      bool
	}{
		{"/etc/shadow", "/etc", true},
		{"/etc/shadow", "/etc/", true},
		{"/etc", "/etc", true},
		{"/etcx/a", "/etc", false},
		{"/a", "/", true},
		{"relative", "/", false},
		{"/a", "", false},
	}
	for _, tt := range tests {
		if got := pathUnder(tt.path, tt.dir); got != tt.want {
			t.Errorf("pathUnder(%q, %q) = %v, want %v", tt.path, tt.dir, got, tt.want)
		}
	}
}
