package fanotify

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

const statusSample = "Name:\tcat\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4242\nNgid:\t0\nPid:\t4243\nPPid:\t17\nTracerPid:\t0\nUid:\t1000\t0\t0\t0\nGid:\t0\t0\t0\t0\n"

func TestParseStatus(t *testing.T) {
	tests := []struct {
		name             string
		in               string
		tgid, ppid       int
		euid             uint32
		wantErrSubstring string
	}{
		{name: "thread of a process", in: statusSample, tgid: 4242, ppid: 17, euid: 0},
		{name: "no trailing newline", in: "Tgid:\t1\nPPid:\t0\nUid:\t5\t6\t7\t8", tgid: 1, ppid: 0, euid: 6},
		{name: "missing Uid", in: "Tgid:\t1\nPPid:\t0\n", wantErrSubstring: "lacks"},
		{name: "bad Tgid", in: "Tgid:\tx\nPPid:\t0\nUid:\t0\t0\n", wantErrSubstring: "Tgid"},
		{name: "zero Tgid", in: "Tgid:\t0\nPPid:\t0\nUid:\t0\t0\n", wantErrSubstring: "Tgid"},
		{name: "two Tgids", in: "Tgid:\t1 2\nPPid:\t0\nUid:\t0\t0\n", wantErrSubstring: "Tgid"},
		{name: "negative PPid", in: "Tgid:\t1\nPPid:\t-3\nUid:\t0\t0\n", wantErrSubstring: "PPid"},
		{name: "short Uid", in: "Tgid:\t1\nPPid:\t0\nUid:\t0\n", wantErrSubstring: "Uid"},
		{name: "huge Uid", in: "Tgid:\t1\nPPid:\t0\nUid:\t0\t4294967296\n", wantErrSubstring: "Uid"},
		{name: "empty", in: "", wantErrSubstring: "lacks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tgid, ppid, euid, err := parseStatus([]byte(tt.in))
			if tt.wantErrSubstring != "" {
				if !errors.Is(err, errProcFormat) || !strings.Contains(err.Error(), tt.wantErrSubstring) {
					t.Fatalf("err = %v, want errProcFormat mentioning %q", err, tt.wantErrSubstring)
				}
				return
			}
			if err != nil || tgid != tt.tgid || ppid != tt.ppid || euid != tt.euid {
				t.Fatalf("= %d %d %d %v, want %d %d %d", tgid, ppid, euid, err, tt.tgid, tt.ppid, tt.euid)
			}
		})
	}
}

func TestParseSyscall(t *testing.T) {
	tests := []struct {
		name string
		in   string
		nr   int
		args [6]uint64
		ok   bool
	}{
		{"openat", "257 0xffffffffffffff9c 0x7ffd5e0b1d10 0x241 0x1b6 0x0 0x0 0x7ffd5e0b0b28 0x7f3c5d8f0a6b\n", 257, [6]uint64{0xffffffffffffff9c, 0x7ffd5e0b1d10, 0x241, 0x1b6, 0, 0}, true},
		{"running", "running\n", 0, [6]uint64{}, false},
		{"not in a syscall", "-1 0x7ffd5e0b0b28 0x7f3c5d8f0a6b\n", 0, [6]uint64{}, false},
		{"missing 0x", "2 10 0x0 0x0 0x0 0x0 0x0 0x0 0x0", 0, [6]uint64{}, false},
		{"short", "2 0x1 0x2", 0, [6]uint64{}, false},
		{"bad hex", "2 0xzz 0x0 0x0 0x0 0x0 0x0 0x0 0x0", 0, [6]uint64{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nr, args, ok := parseSyscall([]byte(tt.in))
			if ok != tt.ok || (ok && (nr != tt.nr || args != tt.args)) {
				t.Fatalf("= %d %x %v, want %d %x %v", nr, args, ok, tt.nr, tt.args, tt.ok)
			}
		})
	}
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		name string
		in   string
		comm string
		ppid int
		ok   bool
	}{
		{"plain", "4242 (cat) S 17 4242 17 34816 4242 4194304 ...", "cat", 17, true},
		{"comm with parens and spaces", "7 (a) b (c) R 1 7 7 0 -1", "a) b (c", 1, true},
		{"runc init", "99 (runc:[2:INIT]) S 98 1 1 0", "runc:[2:INIT]", 98, true},
		{"no comm", "4242 cat S 17", "", 0, false},
		{"truncated", "4242 (cat) S", "", 0, false},
		{"bad ppid", "4242 (cat) S x", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			comm, ppid, err := parseStat([]byte(tt.in))
			if (err == nil) != tt.ok || (tt.ok && (comm != tt.comm || ppid != tt.ppid)) {
				t.Fatalf("= %q %d %v, want %q %d ok=%v", comm, ppid, err, tt.comm, tt.ppid, tt.ok)
			}
		})
	}
}

func TestParseCmdline(t *testing.T) {
	if got := parseCmdline([]byte("cat\x00/etc/shadow\x00")); !slices.Equal(got, []string{"cat", "/etc/shadow"}) {
		t.Errorf("got %q", got)
	}
	if got := parseCmdline(nil); got != nil {
		t.Errorf("empty cmdline: %q", got)
	}
}

func TestContainerPath(t *testing.T) {
	tests := []struct{ rootfs, in, want string }{
		{"/run/c/rootfs", "/run/c/rootfs/etc/shadow", "/etc/shadow"},
		{"/run/c/rootfs", "/run/c/rootfs", "/"},
		{"/run/c/rootfs", "/etc/shadow", "/etc/shadow"},                             // seen from the container's namespace
		{"/run/c/rootfs", "/run/c/rootfs2/etc/shadow", "/run/c/rootfs2/etc/shadow"}, // a sibling, not a child
		{"/", "/etc/shadow", "/etc/shadow"},
		{"", "/x", "/x"},
	}
	for _, tt := range tests {
		if got := containerPath(tt.rootfs, tt.in); got != tt.want {
			t.Errorf("containerPath(%q, %q) = %q, want %q", tt.rootfs, tt.in, got, tt.want)
		}
	}
}

func FuzzParseStatus(f *testing.F) {
	f.Add([]byte(statusSample))
	f.Add([]byte("Tgid:\t1\nPPid:\t0\nUid:\t0\t0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tgid, ppid, _, err := parseStatus(b)
		if err == nil && (tgid <= 0 || ppid < 0) {
			t.Fatalf("accepted tgid %d ppid %d", tgid, ppid)
		}
		if err != nil && !errors.Is(err, errProcFormat) {
			t.Fatalf("error %v does not wrap errProcFormat", err)
		}
	})
}

func FuzzParseSyscall(f *testing.F) {
	f.Add([]byte("257 0xffffffffffffff9c 0x7ffd5e0b1d10 0x241 0x1b6 0x0 0x0 0x7ffd5e0b0b28 0x7f3c5d8f0a6b\n"))
	f.Add([]byte("running"))
	f.Fuzz(func(t *testing.T, b []byte) {
		nr, _, ok := parseSyscall(b)
		if ok && nr < 0 {
			t.Fatalf("accepted negative syscall %d", nr)
		}
	})
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("4242 (cat) S 17 4242 17 34816"))
	f.Add([]byte("7 (a) b (c) R 1 7"))
	f.Fuzz(func(t *testing.T, b []byte) {
		comm, ppid, err := parseStat(b)
		if err != nil {
			return
		}
		if ppid < 0 || len(comm) >= len(b) {
			t.Fatalf("parseStat(%q) = %q, %d", b, comm, ppid)
		}
	})
}
