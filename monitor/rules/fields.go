package rules

import (
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"unsafe"

	"github.com/vigil-dev/vigil/monitor/event"
)

// kind is the type of a field's values, which decides how right-hand
// values are parsed and compared (as Falco's ppm_param_type does).
type kind uint8

const (
	kString kind = iota + 1
	kNum
	kBool
	kIP  // an address compared with addresses (fd.sip = 10.0.0.1)
	kNet // an address compared with networks (fd.snet in ("10.0.0.0/8"))
)

func (k kind) String() string {
	switch k {
	case kString:
		return "string"
	case kNum:
		return "number"
	case kBool:
		return "bool"
	case kIP:
		return "ip address"
	case kNet:
		return "ip network"
	}
	return "unknown"
}

// multi says how a field with several values compares.
type multi uint8

const (
	single multi = iota
	anyOf        // proc.aname without index: true when any ancestor matches
	ipPair       // fd.ip, fd.port, fd.net: "=" when either end matches, "!=" when neither does
)

// argSpec says what argument a field takes.
type argSpec uint8

const (
	argNone     argSpec = iota
	argIndex            // optional numeric index: proc.aname[2]
	argIndexReq         // required numeric index
	argKey              // required key: container.label[app], evt.arg.name
)

// fieldArg is a parsed field argument.
type fieldArg struct {
	raw string
	idx int
	has bool
}

// evalCtx is the per-event state of one evaluation: the event and lazily
// built strings. While scratch is true those strings live in a reused
// arena, so nothing derived from them may outlive the evaluation.
type evalCtx struct {
	ev      *event.Event
	num     uint64
	scratch bool
	flags   uint16
	arena   []byte
	cmdline string
	args    string
	exeline string
	sockfd  string
	sip     netip.Addr
	cip     netip.Addr
}

const (
	haveCmdline uint16 = 1 << iota
	haveArgs
	haveExeline
	haveSockName
	haveSIP
	haveCIP
)

func (c *evalCtx) reset(ev *event.Event, num uint64, scratch bool) {
	c.ev, c.num, c.scratch, c.flags = ev, num, scratch, 0
	c.arena = c.arena[:0]
	c.cmdline, c.args, c.exeline, c.sockfd = "", "", "", ""
}

// join builds a string from parts separated by sep, in the arena when the
// context is a scratch one.
func (c *evalCtx) join(first string, rest []string, sep string) string {
	if !c.scratch {
		if first == "" {
			return strings.Join(rest, sep)
		}
		if len(rest) == 0 {
			return first
		}
		return first + sep + strings.Join(rest, sep)
	}
	start := len(c.arena)
	c.arena = append(c.arena, first...)
	for i, r := range rest {
		if i > 0 || first != "" {
			c.arena = append(c.arena, sep...)
		}
		c.arena = append(c.arena, r...)
	}
	return c.arenaString(start)
}

func (c *evalCtx) arenaString(start int) string {
	n := len(c.arena) - start
	if n == 0 {
		return ""
	}
	return unsafe.String(&c.arena[start], n)
}

func (c *evalCtx) getCmdline() string {
	if c.flags&haveCmdline == 0 {
		c.cmdline = c.join(c.ev.Process.Name, c.ev.Process.Args, " ")
		c.flags |= haveCmdline
	}
	return c.cmdline
}

func (c *evalCtx) getArgs() string {
	if c.flags&haveArgs == 0 {
		c.args = c.join("", c.ev.Process.Args, " ")
		c.flags |= haveArgs
	}
	return c.args
}

func (c *evalCtx) getExeline() string {
	if c.flags&haveExeline == 0 {
		c.exeline = c.join(c.ev.Process.Exe, c.ev.Process.Args, " ")
		c.flags |= haveExeline
	}
	return c.exeline
}

func isSocket(f *event.File) bool { return f.TypeChar == "4" || f.TypeChar == "6" }

func hasFD(ev *event.Event) bool { return ev.File.Name != "" || ev.File.TypeChar != "" }

// fdName is fd.name: the path for files, Falco's "cip:cport->sip:sport"
// tuple for sockets when the sensor gave no name.
func (c *evalCtx) fdName() (string, bool) {
	f := &c.ev.File
	if f.Name != "" {
		return f.Name, true
	}
	if !isSocket(f) || f.SIP == "" {
		return "", false
	}
	if c.flags&haveSockName == 0 {
		var b []byte
		start := 0
		if c.scratch {
			b, start = c.arena, len(c.arena)
		}
		b = append(b, f.CIP...)
		b = append(b, ':')
		b = strconv.AppendUint(b, uint64(f.CPort), 10)
		b = append(b, "->"...)
		b = append(b, f.SIP...)
		b = append(b, ':')
		b = strconv.AppendUint(b, uint64(f.SPort), 10)
		if c.scratch {
			c.arena = b
			c.sockfd = c.arenaString(start)
		} else {
			c.sockfd = string(b)
		}
		c.flags |= haveSockName
	}
	return c.sockfd, true
}

func (c *evalCtx) serverIP() (netip.Addr, bool) {
	if c.flags&haveSIP == 0 {
		c.flags |= haveSIP
		c.sip = netip.Addr{}
		if isSocket(&c.ev.File) {
			if a, err := netip.ParseAddr(c.ev.File.SIP); err == nil {
				c.sip = a.Unmap()
			}
		}
	}
	return c.sip, c.sip.IsValid()
}

func (c *evalCtx) clientIP() (netip.Addr, bool) {
	if c.flags&haveCIP == 0 {
		c.flags |= haveCIP
		c.cip = netip.Addr{}
		if isSocket(&c.ev.File) {
			if a, err := netip.ParseAddr(c.ev.File.CIP); err == nil {
				c.cip = a.Unmap()
			}
		}
	}
	return c.cip, c.cip.IsValid()
}

// fieldDef describes one field vigil can produce from an event.Event.
type fieldDef struct {
	name  string
	kind  kind
	arg   argSpec
	multi multi
	// static fields depend on the event type alone, so the loader can work
	// out which event types a rule can match.
	static bool
	// validArg rejects arguments vigil cannot serve (evt.arg.flags); the
	// string is the reason.
	validArg func(a fieldArg) string
	str      func(c *evalCtx, a *fieldArg, i int) (string, bool)
	num      func(c *evalCtx, a *fieldArg, i int) (int64, bool)
	ip       func(c *evalCtx, a *fieldArg, i int) (netip.Addr, bool)
	desc     string
}

func nonEmpty(s string) (string, bool) { return s, s != "" }

func boolNum(b bool) (int64, bool) {
	if b {
		return 1, true
	}
	return 0, true
}

func strField(name, desc string, f func(c *evalCtx) (string, bool)) *fieldDef {
	return &fieldDef{name: name, kind: kString, desc: desc, str: func(c *evalCtx, _ *fieldArg, _ int) (string, bool) { return f(c) }}
}

func numField(name, desc string, f func(c *evalCtx) (int64, bool)) *fieldDef {
	return &fieldDef{name: name, kind: kNum, desc: desc, num: func(c *evalCtx, _ *fieldArg, _ int) (int64, bool) { return f(c) }}
}

func boolField(name, desc string, f func(c *evalCtx) (bool, bool)) *fieldDef {
	return &fieldDef{name: name, kind: kBool, desc: desc, num: func(c *evalCtx, _ *fieldArg, _ int) (int64, bool) {
		b, ok := f(c)
		if !ok {
			return 0, false
		}
		return boolNum(b)
	}}
}

func ipField(name, desc string, k kind, f func(c *evalCtx) (netip.Addr, bool)) *fieldDef {
	return &fieldDef{name: name, kind: k, desc: desc, ip: func(c *evalCtx, _ *fieldArg, _ int) (netip.Addr, bool) { return f(c) }}
}

func ipPairField(name, desc string, k kind) *fieldDef {
	return &fieldDef{name: name, kind: k, multi: ipPair, desc: desc, ip: func(c *evalCtx, _ *fieldArg, i int) (netip.Addr, bool) {
		switch i {
		case 0:
			return c.serverIP()
		case 1:
			return c.clientIP()
		}
		return netip.Addr{}, false
	}}
}

func socketOnly(f func(c *evalCtx) (int64, bool)) func(c *evalCtx) (int64, bool) {
	return func(c *evalCtx) (int64, bool) {
		if !isSocket(&c.ev.File) {
			return 0, false
		}
		return f(c)
	}
}

// ancestor returns proc.aname[n]: 0 is the process itself, 1 its parent
// (PName, else Ancestors[0]), 2 the grandparent (Ancestors[1]), ...
func ancestor(p *event.Process, n int) (string, bool) {
	switch {
	case n == 0:
		return nonEmpty(p.Name)
	case n == 1 && p.PName != "":
		return p.PName, true
	case n-1 < len(p.Ancestors):
		return nonEmpty(p.Ancestors[n-1])
	}
	return "", false
}

func splitPath(name string) (dir, file string) {
	i := strings.LastIndexByte(name, '/')
	switch {
	case i < 0:
		return "", name
	case i == 0:
		return "/", name[1:]
	}
	return name[:i], name[i+1:]
}

func indexArg(a fieldArg) string {
	if !a.has {
		return ""
	}
	if a.idx < 0 {
		return "argument must be a non-negative index"
	}
	return ""
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func timeField(name, desc, layout string) *fieldDef {
	return strField(name, desc, func(c *evalCtx) (string, bool) {
		if c.ev.Time.IsZero() {
			return "", false
		}
		return c.ev.Time.Format(layout), true
	})
}

// fieldTable is every field vigil produces, keyed by name.
var fieldTable = func() map[string]*fieldDef {
	fs := []*fieldDef{
		{name: "evt.type", kind: kString, static: true, desc: "event type (execve, openat, connect, procexit)",
			str: func(c *evalCtx, _ *fieldArg, _ int) (string, bool) { return nonEmpty(string(c.ev.Type)) }},
		{name: "evt.dir", kind: kString, static: true, desc: "'<': vigil reports completed syscalls",
			str: func(c *evalCtx, _ *fieldArg, _ int) (string, bool) { return "<", true }},
		strField("evt.source", "event source: syscall", func(c *evalCtx) (string, bool) {
			if c.ev.Source != "" {
				return c.ev.Source, true
			}
			return "syscall", true
		}),
		numField("evt.num", "event number, counted by the ruleset from 1", func(c *evalCtx) (int64, bool) {
			return int64(c.num), c.num > 0
		}),
		timeField("evt.time", "time of day with nanoseconds", "15:04:05.000000000"),
		timeField("evt.time.s", "time of day", "15:04:05"),
		timeField("evt.time.iso8601", "ISO 8601 time in UTC", "2006-01-02T15:04:05.000000000Z"),
		timeField("evt.datetime", "date and time with nanoseconds", "2006-01-02 15:04:05.000000000"),
		timeField("evt.datetime.s", "date and time", "2006-01-02 15:04:05"),
		numField("evt.rawtime", "time in nanoseconds since the epoch", func(c *evalCtx) (int64, bool) {
			return c.ev.Time.UnixNano(), !c.ev.Time.IsZero()
		}),
		numField("evt.rawtime.s", "seconds part of evt.rawtime", func(c *evalCtx) (int64, bool) {
			return c.ev.Time.Unix(), !c.ev.Time.IsZero()
		}),
		numField("evt.rawtime.ns", "nanoseconds part of evt.rawtime", func(c *evalCtx) (int64, bool) {
			return int64(c.ev.Time.Nanosecond()), !c.ev.Time.IsZero()
		}),
		boolField("evt.is_open_read", "an open for reading", func(c *evalCtx) (bool, bool) {
			return c.ev.Type == event.Open && c.ev.File.Read, true
		}),
		boolField("evt.is_open_write", "an open for writing", func(c *evalCtx) (bool, bool) {
			return c.ev.Type == event.Open && c.ev.File.Write, true
		}),
		{name: "evt.arg", kind: kString, arg: argKey, desc: "event argument: name/path/pathname/filename (the opened or executed path), tuple (connect)",
			validArg: func(a fieldArg) string {
				switch a.raw {
				case "name", "path", "pathname", "filename", "tuple":
					return ""
				}
				return "argument not produced by vigil sensors"
			},
			str: func(c *evalCtx, a *fieldArg, _ int) (string, bool) {
				switch a.raw {
				case "tuple":
					if c.ev.Type != event.Connect {
						return "", false
					}
					return c.fdName()
				case "filename":
					if c.ev.Type == event.Execve {
						return nonEmpty(c.ev.Process.ExePath)
					}
				}
				if c.ev.Type == event.Open {
					return nonEmpty(c.ev.File.Name)
				}
				if c.ev.Type == event.Execve && a.raw != "tuple" {
					return nonEmpty(c.ev.Process.ExePath)
				}
				return "", false
			}},

		strField("proc.name", "process name (comm)", func(c *evalCtx) (string, bool) { return nonEmpty(c.ev.Process.Name) }),
		strField("proc.pname", "parent process name", func(c *evalCtx) (string, bool) { return ancestor(&c.ev.Process, 1) }),
		{name: "proc.aname", kind: kString, arg: argIndex, multi: anyOf, validArg: indexArg, desc: "ancestor name: [0] self, [1] parent, ...; without index any ancestor",
			str: func(c *evalCtx, a *fieldArg, i int) (string, bool) {
				if a.has {
					if i > 0 {
						return "", false
					}
					return ancestor(&c.ev.Process, a.idx)
				}
				return ancestor(&c.ev.Process, i+1)
			}},
		{name: "proc.aexepath", kind: kString, arg: argIndexReq, desc: "ancestor executable path; vigil knows [0] and [1]",
			validArg: func(a fieldArg) string {
				if a.idx == 0 || a.idx == 1 {
					return ""
				}
				return "vigil knows only the process's and its parent's executable"
			},
			str: func(c *evalCtx, a *fieldArg, _ int) (string, bool) {
				if a.idx == 0 {
					return nonEmpty(c.ev.Process.ExePath)
				}
				return nonEmpty(c.ev.Process.PExePath)
			}},
		strField("proc.exe", "argv[0]", func(c *evalCtx) (string, bool) { return nonEmpty(c.ev.Process.Exe) }),
		strField("proc.exepath", "full path of the executable", func(c *evalCtx) (string, bool) { return nonEmpty(c.ev.Process.ExePath) }),
		strField("proc.pexepath", "parent's executable path", func(c *evalCtx) (string, bool) { return nonEmpty(c.ev.Process.PExePath) }),
		strField("proc.cmdline", "proc.name and the arguments", func(c *evalCtx) (string, bool) {
			if c.ev.Process.Name == "" {
				return "", false
			}
			return c.getCmdline(), true
		}),
		strField("proc.exeline", "proc.exe and the arguments", func(c *evalCtx) (string, bool) {
			if c.ev.Process.Exe == "" {
				return "", false
			}
			return c.getExeline(), true
		}),
		strField("proc.args", "the arguments, space separated", func(c *evalCtx) (string, bool) { return c.getArgs(), true }),
		numField("proc.tty", "controlling terminal, 0 if none", func(c *evalCtx) (int64, bool) { return int64(c.ev.Process.TTY), true }),
		numField("proc.pid", "process id", func(c *evalCtx) (int64, bool) { return int64(c.ev.Process.PID), c.ev.Process.PID != 0 }),
		numField("proc.ppid", "parent process id", func(c *evalCtx) (int64, bool) { return int64(c.ev.Process.PPID), c.ev.Process.PPID != 0 }),
		numField("proc.vpid", "1 for the container's entrypoint, else the host pid (vigil has no namespace pid)", func(c *evalCtx) (int64, bool) {
			if c.ev.Process.IsEntrypoint {
				return 1, true
			}
			return int64(c.ev.Process.PID), c.ev.Process.PID != 0
		}),
		boolField("proc.is_exe_upper_layer", "executable is in the container's writable layer", func(c *evalCtx) (bool, bool) {
			return c.ev.Process.IsExeUpperLayer, true
		}),
		boolField("proc.is_exe_writable", "executable is writable by the container (its upper layer)", func(c *evalCtx) (bool, bool) {
			return c.ev.Process.IsExeUpperLayer, true
		}),
		boolField("proc.is_exe_from_memfd", "executable is a memfd", func(c *evalCtx) (bool, bool) {
			return c.ev.Process.IsExeFromMemfd, true
		}),
		numField("proc.exe_ino", "inode of the executable", func(c *evalCtx) (int64, bool) {
			return int64(c.ev.Process.ExeIno), c.ev.Process.ExeIno != 0
		}),

		numField("user.uid", "user id", func(c *evalCtx) (int64, bool) { return int64(c.ev.Process.UID), true }),
		strField("user.name", "user name: root for uid 0, otherwise the uid", func(c *evalCtx) (string, bool) {
			return userName(c, c.ev.Process.UID), true
		}),
		numField("user.loginuid", "audit login uid: always -1", func(c *evalCtx) (int64, bool) { return -1, true }),

		strField("fd.name", "file path, or cip:cport->sip:sport for sockets", func(c *evalCtx) (string, bool) { return c.fdName() }),
		strField("fd.filename", "file name without directory", func(c *evalCtx) (string, bool) {
			if isSocket(&c.ev.File) || c.ev.File.Name == "" {
				return "", false
			}
			_, f := splitPath(c.ev.File.Name)
			return f, true
		}),
		strField("fd.directory", "directory of the file", func(c *evalCtx) (string, bool) {
			if isSocket(&c.ev.File) || c.ev.File.Name == "" {
				return "", false
			}
			d, _ := splitPath(c.ev.File.Name)
			return nonEmpty(d)
		}),
		strField("fd.typechar", "f file, d directory, 4 IPv4, 6 IPv6, u unix", func(c *evalCtx) (string, bool) {
			if tc := c.ev.File.TypeChar; tc != "" {
				return tc, true
			}
			if c.ev.File.Name != "" {
				return "f", true
			}
			return "", false
		}),
		strField("fd.type", "file, directory, ipv4, ipv6, unix", func(c *evalCtx) (string, bool) {
			tc := c.ev.File.TypeChar
			if tc == "" && c.ev.File.Name != "" {
				tc = "f"
			}
			switch tc {
			case "f":
				return "file", true
			case "d":
				return "directory", true
			case "4":
				return "ipv4", true
			case "6":
				return "ipv6", true
			case "u":
				return "unix", true
			}
			return "", false
		}),
		strField("fd.sockfamily", "ip or unix", func(c *evalCtx) (string, bool) {
			switch c.ev.File.TypeChar {
			case "4", "6":
				return "ip", true
			case "u":
				return "unix", true
			}
			return "", false
		}),
		strField("fd.l4proto", "tcp or udp", func(c *evalCtx) (string, bool) {
			if !isSocket(&c.ev.File) {
				return "", false
			}
			return nonEmpty(c.ev.File.L4Proto)
		}),
		numField("fd.num", "file descriptor number: 0 for an open vigil saw happen (its number is not known), -1 otherwise", func(c *evalCtx) (int64, bool) {
			// Falco's open_read/open_write require fd.num>=0 (the open
			// succeeded): a fanotify event is an open that is happening.
			if c.ev.Type == event.Open {
				return 0, true
			}
			return -1, true
		}),
		ipField("fd.sip", "server (destination) IP", kIP, func(c *evalCtx) (netip.Addr, bool) { return c.serverIP() }),
		ipField("fd.cip", "client (local) IP", kIP, func(c *evalCtx) (netip.Addr, bool) { return c.clientIP() }),
		ipField("fd.rip", "remote IP", kIP, func(c *evalCtx) (netip.Addr, bool) { return c.serverIP() }),
		ipField("fd.lip", "local IP", kIP, func(c *evalCtx) (netip.Addr, bool) { return c.clientIP() }),
		ipPairField("fd.ip", "either IP of the connection", kIP),
		ipField("fd.snet", "server IP, compared with networks", kNet, func(c *evalCtx) (netip.Addr, bool) { return c.serverIP() }),
		ipField("fd.cnet", "client IP, compared with networks", kNet, func(c *evalCtx) (netip.Addr, bool) { return c.clientIP() }),
		ipField("fd.rnet", "remote IP, compared with networks", kNet, func(c *evalCtx) (netip.Addr, bool) { return c.serverIP() }),
		ipField("fd.lnet", "local IP, compared with networks", kNet, func(c *evalCtx) (netip.Addr, bool) { return c.clientIP() }),
		ipPairField("fd.net", "either IP of the connection, compared with networks", kNet),
		numField("fd.sport", "server (destination) port", socketOnly(func(c *evalCtx) (int64, bool) { return int64(c.ev.File.SPort), true })),
		numField("fd.cport", "client (local) port", socketOnly(func(c *evalCtx) (int64, bool) { return int64(c.ev.File.CPort), c.ev.File.CPort != 0 })),
		numField("fd.rport", "remote port", socketOnly(func(c *evalCtx) (int64, bool) { return int64(c.ev.File.SPort), true })),
		numField("fd.lport", "local port", socketOnly(func(c *evalCtx) (int64, bool) { return int64(c.ev.File.CPort), c.ev.File.CPort != 0 })),
		{name: "fd.port", kind: kNum, multi: ipPair, desc: "either port of the connection",
			num: func(c *evalCtx, _ *fieldArg, i int) (int64, bool) {
				if !isSocket(&c.ev.File) {
					return 0, false
				}
				switch i {
				case 0:
					return int64(c.ev.File.SPort), true
				case 1:
					return int64(c.ev.File.CPort), c.ev.File.CPort != 0
				}
				return 0, false
			}},
		strField("fd.sip.name", "server domain name: always empty", func(c *evalCtx) (string, bool) { return "", isSocket(&c.ev.File) }),
		strField("fd.cip.name", "client domain name: always empty", func(c *evalCtx) (string, bool) { return "", isSocket(&c.ev.File) }),
		strField("fd.rip.name", "remote domain name: always empty", func(c *evalCtx) (string, bool) { return "", isSocket(&c.ev.File) }),
		strField("fd.lip.name", "local domain name: always empty", func(c *evalCtx) (string, bool) { return "", isSocket(&c.ev.File) }),

		strField("container.id", "12-character container id, host outside containers", func(c *evalCtx) (string, bool) {
			if c.ev.Container.ID == "" {
				return "host", true
			}
			return shortID(c.ev.Container.ID), true
		}),
		strField("container.full_id", "full container id, host outside containers", func(c *evalCtx) (string, bool) {
			if c.ev.Container.ID == "" {
				return "host", true
			}
			return c.ev.Container.ID, true
		}),
		strField("container.name", "container name, host outside containers", func(c *evalCtx) (string, bool) {
			if c.ev.Container.ID == "" {
				return "host", true
			}
			return nonEmpty(c.ev.Container.Name)
		}),
		strField("container.image", "image reference", func(c *evalCtx) (string, bool) { return nonEmpty(c.ev.Container.Image) }),
		strField("container.image.repository", "image repository", func(c *evalCtx) (string, bool) {
			return nonEmpty(c.ev.Container.ImageRepository)
		}),
		strField("container.image.tag", "image tag", func(c *evalCtx) (string, bool) { return nonEmpty(c.ev.Container.ImageTag) }),
		boolField("container.privileged", "always false", func(c *evalCtx) (bool, bool) { return false, c.ev.Container.ID != "" }),
		{name: "container.label", kind: kString, arg: argKey, desc: "container label value",
			str: func(c *evalCtx, a *fieldArg, _ int) (string, bool) {
				v, ok := c.ev.Container.Labels[a.raw]
				return v, ok
			}},
		strField("k8s.pod.name", "Kubernetes pod name", func(c *evalCtx) (string, bool) { return nonEmpty(c.ev.Container.K8sPodName) }),
		strField("k8s.ns.name", "Kubernetes namespace", func(c *evalCtx) (string, bool) { return nonEmpty(c.ev.Container.K8sNamespace) }),
	}
	m := make(map[string]*fieldDef, len(fs))
	for _, f := range fs {
		m[f.name] = f
	}
	return m
}()

func userName(c *evalCtx, uid uint32) string {
	if uid == 0 {
		return "root"
	}
	if !c.scratch {
		return strconv.FormatUint(uint64(uid), 10)
	}
	start := len(c.arena)
	c.arena = strconv.AppendUint(c.arena, uint64(uid), 10)
	return c.arenaString(start)
}

// falcoFieldClasses are the field classes of Falco's syscall source and its
// common plugins. A field of one of these classes that vigil does not
// produce makes a rule unsupported; a field of any other class is unknown
// (an error, as in Falco).
var falcoFieldClasses = map[string]bool{
	"evt": true, "proc": true, "thread": true, "user": true, "group": true,
	"container": true, "fd": true, "fdlist": true, "fs": true, "k8s": true,
	"k8smeta": true, "mesos": true, "span": true, "syslog": true, "evtin": true,
	"tracer": true,
}

// lookupField resolves a parsed field name and argument. It returns the
// definition, or a reason it is unsupported, or an error for unknown fields.
func lookupField(name, arg string, hasArg bool) (*fieldDef, fieldArg, string, error) {
	a := fieldArg{raw: arg, has: hasArg}
	def := fieldTable[name]
	if def == nil && strings.HasPrefix(name, "evt.arg.") && !hasArg {
		// evt.arg.flags is evt.arg with the argument "flags".
		def = fieldTable["evt.arg"]
		a = fieldArg{raw: strings.TrimPrefix(name, "evt.arg."), has: true}
	}
	if def == nil {
		class, _, _ := strings.Cut(name, ".")
		if !falcoFieldClasses[class] {
			return nil, a, "", errorf(ErrUnknownField, "filter_check called with nonexistent field %s", name)
		}
		return nil, a, "field " + displayField(name, arg, hasArg), nil
	}
	switch def.arg {
	case argNone:
		if a.has {
			return nil, a, "", errorf(ErrInvalidValue, "field %s does not take an argument", name)
		}
	case argIndex, argIndexReq:
		if !a.has {
			if def.arg == argIndexReq {
				return nil, a, "", errorf(ErrInvalidValue, "field %s requires an index argument", name)
			}
			break
		}
		n, err := strconv.Atoi(a.raw)
		if err != nil {
			return nil, a, "", errorf(ErrInvalidValue, "field %s: argument %q is not a number", name, a.raw)
		}
		a.idx = n
	case argKey:
		if !a.has || a.raw == "" {
			return nil, a, "", errorf(ErrInvalidValue, "field %s requires an argument", name)
		}
	}
	if def.validArg != nil {
		if why := def.validArg(a); why != "" {
			return nil, a, "field " + displayField(name, arg, hasArg) + " (" + why + ")", nil
		}
	}
	return def, a, "", nil
}

func displayField(name, arg string, hasArg bool) string {
	if hasArg {
		return name + "[" + arg + "]"
	}
	return name
}

// Fields lists the fields vigil produces with a short description each,
// sorted by name.
func Fields() []FieldInfo {
	out := make([]FieldInfo, 0, len(fieldTable))
	for _, f := range fieldTable {
		fi := FieldInfo{Name: f.name, Type: f.kind.String(), Desc: f.desc}
		switch f.arg {
		case argIndex:
			fi.Arg = "[N] (optional)"
		case argIndexReq:
			fi.Arg = "[N]"
		case argKey:
			fi.Arg = "[KEY]"
		}
		out = append(out, fi)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// FieldInfo describes a field vigil can evaluate. Arg says what argument
// it takes: "", "[N]", "[N] (optional)" or "[KEY]".
type FieldInfo struct {
	Name, Arg, Type, Desc string
}
