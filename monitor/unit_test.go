package monitor

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-dev/vigil/monitor/bpf"
	"github.com/vigil-dev/vigil/monitor/event"
)

func TestCgroupRelPath(t *testing.T) {
	cases := []struct {
		in, want string
		err      bool
	}{
		{"/default/abc", "/default/abc", false},
		{"default/abc", "/default/abc", false},
		{"/a/../b", "/b", false},
		{"system.slice:docker:abc", "/system.slice/docker-abc.scope", false},
		{":cri-containerd:abc", "/system.slice/cri-containerd-abc.scope", false},
		{"kubepods-besteffort-pod12.slice:cri-containerd:abc", "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12.slice/cri-containerd-abc.scope", false},
		{"system.slice::my.slice", "/system.slice/my.slice", false},
		{"", "", true},
		{"a:b", "", true},
		{"a:b:c:d", "", true},
		{"nosuffix:p:n", "", true},
		{"system.slice:p:", "", true},
		{"system.slice:p:a/b", "", true},
	}
	for _, tc := range cases {
		got, err := cgroupRelPath(tc.in)
		if tc.err {
			if !errors.Is(err, ErrBadCgroupsPath) {
				t.Errorf("cgroupRelPath(%q) = %q, %v; want ErrBadCgroupsPath", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("cgroupRelPath(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestParseProcCgroup(t *testing.T) {
	cases := []struct {
		name, in, want string
		errText        string
	}{
		{"hybrid", "9:name=systemd:/\n4:memory:/x\n0::/default/abc\n", "/default/abc", ""},
		{"unified", "0::/\n", "/", ""},
		{"no v2 line", "1:cpu:/\n", "", "no cgroup2"},
		{"relative", "1:cpu:/\n0::x\n", "", "f:2: cgroup2 path"},
	}
	for _, tc := range cases {
		got, err := parseProcCgroup(strings.NewReader(tc.in), "f")
		if tc.errText != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errText) {
				t.Errorf("%s: err %v, want %q", tc.name, err, tc.errText)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}

func TestKernelDev(t *testing.T) {
	cases := []struct{ st, want uint64 }{
		{0x0803, 8<<20 | 3},       // sda3
		{0x2c, 0<<20 | 44},        // anonymous (overlay) device 0:44
		{0x100810, 8<<20 | 0x110}, // minor 0x110: its high bits sit above the major
	}
	for _, tc := range cases {
		if got := KernelDev(tc.st); got != tc.want {
			t.Errorf("KernelDev(%#x) = %#x, want %#x", tc.st, got, tc.want)
		}
	}
}

func TestClassNames(t *testing.T) {
	if s := ClassString(ClassShell | ClassRevShell | 1<<12); s != "shell|revshell|0x1000" {
		t.Errorf("ClassString = %q", s)
	}
	if ClassString(0) != "" {
		t.Errorf("ClassString(0) = %q", ClassString(0))
	}
	for _, cn := range classNames {
		got, err := ParseClass(cn.name)
		if err != nil || got != cn.bit {
			t.Errorf("ParseClass(%q) = %#x, %v", cn.name, got, err)
		}
	}
	if _, err := ParseClass("rootkit"); !errors.Is(err, ErrUnknownClass) {
		t.Errorf("ParseClass(rootkit): %v", err)
	}
	// Rule-set classes stay in the low 16 bits, kernel-derived above.
	for _, c := range []uint32{ClassShell, ClassPkgMgr, ClassMiner, ClassNetTool, ClassInterpreter, ClassCompiler, ClassRecon} {
		if c >= 1<<16 {
			t.Errorf("class %s above bit 15", ClassString(c))
		}
	}
}

func TestNameKey(t *testing.T) {
	k, err := nameKey(7, "unattended-upgrade")
	if err != nil {
		t.Fatal(err)
	}
	if got := cString(k.Name[:]); got != "unattended-upg" && got != "unattended-upgr" {
		t.Errorf("long name truncated to %q", got)
	}
	if got := cString(k.Name[:]); len(got) != 15 {
		t.Errorf("truncated name %q has %d bytes, want comm's 15", got, len(got))
	}
	for _, bad := range []string{"", "a/b", "a\x00b"} {
		if _, err := nameKey(7, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("nameKey(%q): %v, want ErrInvalid", bad, err)
		}
	}
}

func toInt8(s string, n int) []int8 {
	out := make([]int8, n)
	for i := 0; i < len(s) && i < n-1; i++ {
		out[i] = int8(s[i])
	}
	return out
}

func encode(t testing.TB, v any) []byte {
	var b bytes.Buffer
	if err := binary.Write(&b, binary.LittleEndian, v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func execRecord(t testing.TB, argv string, flags bpf.VigilEventFlags) []byte {
	var k bpf.VigilExecEvent
	k.Type = uint32(bpf.VigilEventTypeEVENT_EXEC)
	k.Flags = uint32(flags)
	k.Cgid = 42
	k.Ts = uint64(3 * time.Second)
	k.Tgid, k.Ppid, k.Uid, k.Tty = 100, 99, 1000, 34816
	k.Class = ClassShell
	k.ExeDev, k.ExeIno = 0x2c, 77
	copy(k.Comm[:], toInt8("sh", 16))
	copy(k.Ancestors[0][:], toInt8("bash", 16))
	copy(k.Ancestors[1][:], toInt8("sshd", 16))
	copy(k.Filename[:], toInt8("/bin/sh", 256))
	copy(k.Argv[:], toInt8(argv, 512))
	k.ArgvLen = uint32(len(argv))
	raw := encode(t, &k)
	return raw[:execHeadSize+len(argv)] // the kernel submits only argv_len bytes
}

func TestDecodeExec(t *testing.T) {
	epoch := time.Unix(1000, 0)
	meta := func(id uint64) event.Container { return event.Container{ID: "c1", CgroupID: id} }
	raw := execRecord(t, "sh\x00-c\x00echo hi\x00", bpf.VigilEventFlagsEV_UPPER|bpf.VigilEventFlagsEV_KILLED|bpf.VigilEventFlagsEV_ENTRYPOINT)
	ev, err := decodeRecord(raw, epoch, meta)
	if err != nil {
		t.Fatal(err)
	}
	p := ev.Process
	if ev.Type != event.Execve || ev.KernelAction != "killed" || ev.Container.ID != "c1" || ev.Container.CgroupID != 42 ||
		!ev.Time.Equal(epoch.Add(3*time.Second)) || ev.Source != "syscall" {
		t.Errorf("event = %+v", ev)
	}
	if p.PID != 100 || p.PPID != 99 || p.UID != 1000 || p.TTY != 34816 || p.Name != "sh" || p.Exe != "sh" ||
		p.ExePath != "/bin/sh" || !slices.Equal(p.Args, []string{"-c", "echo hi"}) || p.PName != "bash" ||
		!slices.Equal(p.Ancestors, []string{"bash", "sshd"}) || !p.IsExeUpperLayer || p.IsExeFromMemfd ||
		!p.IsEntrypoint || p.ExeDev != 0x2c || p.ExeIno != 77 || p.Classes != ClassShell {
		t.Errorf("process = %+v", p)
	}
}

func TestDecodeConnect(t *testing.T) {
	cases := []struct {
		name   string
		family uint16
		proto  uint16
		addr   []byte
		flags  bpf.VigilEventFlags
		want   event.File
		action string
		reason string
	}{
		{"tcp4", afInet, ipprotoTCP, []byte{10: 0xff, 11: 0xff, 12: 127, 15: 1}, 0,
			event.File{Name: "127.0.0.1:8080", TypeChar: "4", L4Proto: "tcp", SIP: "127.0.0.1", SPort: 8080}, "", ""},
		{"udp6 isolated", afInet6, ipprotoUDP, []byte{15: 1}, bpf.VigilEventFlagsEV_DENIED | bpf.VigilEventFlagsEV_SENDMSG | bpf.VigilEventFlagsEV_WHY_ISOLATED,
			event.File{Name: "[::1]:8080", TypeChar: "6", L4Proto: "udp", SIP: "::1", SPort: 8080}, "denied", "isolated"},
		{"tcp4 deny list", afInet, ipprotoTCP, []byte{10: 0xff, 11: 0xff, 12: 10, 13: 9, 14: 8, 15: 7}, bpf.VigilEventFlagsEV_DENIED | bpf.VigilEventFlagsEV_WHY_DENY_SET,
			event.File{Name: "10.9.8.7:8080", TypeChar: "4", L4Proto: "tcp", SIP: "10.9.8.7", SPort: 8080}, "denied", "deny-list"},
		{"tcp6 audit port", afInet6, ipprotoTCP, []byte{0: 0xfd, 15: 2}, bpf.VigilEventFlagsEV_DENIED_AUDIT | bpf.VigilEventFlagsEV_WHY_PORT,
			event.File{Name: "[fd00::2]:8080", TypeChar: "6", L4Proto: "tcp", SIP: "fd00::2", SPort: 8080}, "denied-audit", "port"},
		{"tcp6 to a mapped IPv4 address", afInet6, ipprotoTCP, []byte{10: 0xff, 11: 0xff, 12: 127, 15: 1}, 0,
			event.File{Name: "127.0.0.1:8080", TypeChar: "4", L4Proto: "tcp", SIP: "127.0.0.1", SPort: 8080}, "", ""},
		{"udp4 cidr", afInet, ipprotoUDP, []byte{10: 0xff, 11: 0xff, 12: 192, 13: 0, 14: 2, 15: 1}, bpf.VigilEventFlagsEV_DENIED | bpf.VigilEventFlagsEV_WHY_CIDR | bpf.VigilEventFlagsEV_SENDMSG,
			event.File{Name: "192.0.2.1:8080", TypeChar: "4", L4Proto: "udp", SIP: "192.0.2.1", SPort: 8080}, "denied", "cidr"},
	}
	for _, tc := range cases {
		var k bpf.VigilConnEvent
		k.Type = uint32(bpf.VigilEventTypeEVENT_CONNECT)
		k.Flags = uint32(tc.flags)
		k.Cgid, k.Tgid, k.Family, k.Proto, k.Dport = 5, 6, tc.family, tc.proto, 8080
		copy(k.Daddr[:], tc.addr)
		copy(k.Comm[:], toInt8("curl", 16))
		ev, err := decodeRecord(encode(t, &k), time.Unix(0, 0), func(id uint64) event.Container { return event.Container{CgroupID: id} })
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if ev.Type != event.Connect || ev.File != tc.want || ev.KernelAction != tc.action || ev.KernelReason != tc.reason ||
			ev.Process.Name != "curl" || ev.Process.PID != 6 {
			t.Errorf("%s: %+v", tc.name, ev)
		}
	}
}

func TestDecodeMalformed(t *testing.T) {
	good := execRecord(t, "a\x00", 0)
	cases := map[string][]byte{
		"empty":        nil,
		"short":        {1, 0},
		"unknown type": {9, 0, 0, 0, 0, 0, 0, 0},
		"short exec":   good[:20],
		"short conn":   {2, 0, 0, 0, 1},
	}
	for name, raw := range cases {
		if _, err := decodeRecord(raw, time.Now(), func(uint64) event.Container { return event.Container{} }); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
	// argv_len larger than what the record carries.
	var k bpf.VigilExecEvent
	k.Type = uint32(bpf.VigilEventTypeEVENT_EXEC)
	k.ArgvLen = 400
	raw := encode(t, &k)[:execHeadSize+10]
	if _, err := decodeRecord(raw, time.Now(), func(uint64) event.Container { return event.Container{} }); !errors.Is(err, ErrMalformed) {
		t.Errorf("argv_len overrun: %v, want ErrMalformed", err)
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(execRecord(f, "sh\x00-i\x00", bpf.VigilEventFlagsEV_MEMFD))
	f.Add([]byte{2, 0, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := decodeRecord(raw, time.Unix(0, 0), func(id uint64) event.Container { return event.Container{CgroupID: id} })
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if ev.Type != event.Execve && ev.Type != event.Connect {
			t.Fatalf("decoded type %q", ev.Type)
		}
	})
}

func FuzzParseProcCgroup(f *testing.F) {
	f.Add("0::/a/b\n")
	f.Add("1:cpu:/\n0::x\n")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := parseProcCgroup(strings.NewReader(in), "f")
		if err == nil && !strings.HasPrefix(got, "/") {
			t.Fatalf("relative result %q", got)
		}
	})
}

func FuzzCgroupRelPath(f *testing.F) {
	f.Add("/default/abc")
	f.Add("system.slice:docker:abc")
	f.Add("a-b-c.slice:p:n")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := cgroupRelPath(in)
		if err != nil {
			if !errors.Is(err, ErrBadCgroupsPath) {
				t.Fatalf("error %v does not wrap ErrBadCgroupsPath", err)
			}
			return
		}
		if !strings.HasPrefix(got, "/") || strings.Contains(got, "/../") || strings.HasSuffix(got, "/..") {
			t.Fatalf("cgroupRelPath(%q) = %q escapes the hierarchy", in, got)
		}
	})
}
