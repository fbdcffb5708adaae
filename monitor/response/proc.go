package response

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// ErrParse is wrapped by the parse errors of this package; the message
// names the file and line.
var ErrParse = errors.New("cannot parse")

// Stat is what ParseStat reads from /proc/<pid>/stat.
type Stat struct {
	PID   int
	Comm  string
	State string
	PPID  int
	// StartTicks is the process start time in clock ticks after boot.
	StartTicks uint64
}

// ParseStat parses the contents of /proc/<pid>/stat. The command name
// is between the first "(" and the last ")", so a name holding spaces or
// parentheses is read whole.
func ParseStat(b []byte, name string) (Stat, error) {
	var st Stat
	s := strings.TrimRight(string(b), "\n")
	open := strings.IndexByte(s, '(')
	closing := strings.LastIndexByte(s, ')')
	if open < 1 || closing < open {
		return st, fmt.Errorf("%w: %s:1: no (comm)", ErrParse, name)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(s[:open]))
	if err != nil {
		return st, fmt.Errorf("%w: %s:1: pid: %v", ErrParse, name, err)
	}
	rest := strings.Fields(s[closing+1:])
	// state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
	// cmajflt utime stime cutime cstime priority nice num_threads
	// itrealvalue starttime
	if len(rest) < 20 {
		return st, fmt.Errorf("%w: %s:1: %d fields after comm, want at least 20", ErrParse, name, len(rest))
	}
	ppid, err := strconv.Atoi(rest[1])
	if err != nil {
		return st, fmt.Errorf("%w: %s:1: ppid: %v", ErrParse, name, err)
	}
	start, err := strconv.ParseUint(rest[19], 10, 64)
	if err != nil {
		return st, fmt.Errorf("%w: %s:1: starttime: %v", ErrParse, name, err)
	}
	return Stat{PID: pid, Comm: s[open+1 : closing], State: rest[0], PPID: ppid, StartTicks: start}, nil
}

// Process is one process of the container, as the bundle records it.
type Process struct {
	PID        int      `json:"pid"`
	PPID       int      `json:"ppid"`
	Comm       string   `json:"comm"`
	State      string   `json:"state"`
	UID        string   `json:"uid,omitempty"` // real, effective, saved, fs
	Cmdline    []string `json:"cmdline"`
	Exe        string   `json:"exe,omitempty"`
	Cwd        string   `json:"cwd,omitempty"`
	StartTicks uint64   `json:"startTicks"`
	// FDs maps descriptor numbers to what they point at (a path,
	// "socket:[inode]", "pipe:[inode]"), at most maxFDs of them.
	FDs map[string]string `json:"fds,omitempty"`
	// Errors lists what could not be read.
	Errors []string `json:"errors,omitempty"`
}

const maxFDs = 1024

// cgroupPIDs lists the pids of a cgroup2 directory and its descendants.
func cgroupPIDs(dir string) ([]int, error) {
	var pids []int
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) && p != dir {
				return nil // a sub-cgroup removed meanwhile
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(filepath.Join(p, "cgroup.procs"))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) && p != dir {
				return nil
			}
			return err
		}
		for i, l := range strings.Fields(string(b)) {
			pid, err := strconv.Atoi(l)
			if err != nil {
				return fmt.Errorf("%w: %s:%d: %q is not a pid", ErrParse, filepath.Join(p, "cgroup.procs"), i+1, l)
			}
			pids = append(pids, pid)
		}
		return nil
	})
	slices.Sort(pids)
	return slices.Compact(pids), err
}

// readProcess reads what /proc says about pid; what it cannot read is in
// Errors.
func readProcess(proc string, pid int) Process {
	dir := filepath.Join(proc, strconv.Itoa(pid))
	p := Process{PID: pid, Cmdline: []string{}}
	fail := func(what string, err error) { p.Errors = append(p.Errors, what+": "+err.Error()) }
	if b, err := os.ReadFile(filepath.Join(dir, "stat")); err != nil {
		fail("stat", err)
	} else if st, err := ParseStat(b, filepath.Join(dir, "stat")); err != nil {
		fail("stat", err)
	} else {
		p.PPID, p.Comm, p.State, p.StartTicks = st.PPID, st.Comm, st.State, st.StartTicks
	}
	if b, err := os.ReadFile(filepath.Join(dir, "status")); err != nil {
		fail("status", err)
	} else {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "Uid:"); ok {
				p.UID = strings.Join(strings.Fields(v), " ")
			}
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "cmdline")); err != nil {
		fail("cmdline", err)
	} else if s := strings.TrimSuffix(string(b), "\x00"); s != "" {
		p.Cmdline = strings.Split(s, "\x00")
	}
	if l, err := os.Readlink(filepath.Join(dir, "exe")); err != nil {
		fail("exe", err)
	} else {
		p.Exe = l
	}
	if l, err := os.Readlink(filepath.Join(dir, "cwd")); err != nil {
		fail("cwd", err)
	} else {
		p.Cwd = l
	}
	ents, err := os.ReadDir(filepath.Join(dir, "fd"))
	if err != nil {
		fail("fd", err)
		return p
	}
	p.FDs = map[string]string{}
	for i, e := range ents {
		if i == maxFDs {
			p.Errors = append(p.Errors, fmt.Sprintf("fd: more than %d descriptors, the rest not listed", maxFDs))
			break
		}
		if l, err := os.Readlink(filepath.Join(dir, "fd", e.Name())); err == nil {
			p.FDs[e.Name()] = l
		}
	}
	return p
}

// Socket is one TCP or UDP socket of the container's network namespace.
type Socket struct {
	Proto  string `json:"proto"` // tcp, tcp6, udp, udp6
	Local  string `json:"local"`
	Remote string `json:"remote"`
	State  string `json:"state"`
	UID    int    `json:"uid"`
	Inode  uint64 `json:"inode"`
	// PIDs are the container's processes holding the socket.
	PIDs []int `json:"pids,omitempty"`
}

var tcpStates = map[string]string{
	"01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1", "05": "FIN_WAIT2",
	"06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT", "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING",
	"0C": "NEW_SYN_RECV",
}

// ParseProcNet parses /proc/<pid>/net/{tcp,tcp6,udp,udp6}; proto is the
// file's base name. Addresses are printed as "ip:port".
func ParseProcNet(r io.Reader, proto, name string) ([]Socket, error) {
	var out []Socket
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 1<<16)
	n := 0
	for sc.Scan() {
		n++
		f := strings.Fields(sc.Text())
		if n == 1 || len(f) == 0 {
			continue // header
		}
		if len(f) < 10 {
			return nil, fmt.Errorf("%w: %s:%d: %d fields, want at least 10", ErrParse, name, n, len(f))
		}
		local, err := parseHexAddr(f[1])
		if err != nil {
			return nil, fmt.Errorf("%w: %s:%d: local address: %v", ErrParse, name, n, err)
		}
		remote, err := parseHexAddr(f[2])
		if err != nil {
			return nil, fmt.Errorf("%w: %s:%d: remote address: %v", ErrParse, name, n, err)
		}
		state, ok := tcpStates[strings.ToUpper(f[3])]
		if !ok {
			return nil, fmt.Errorf("%w: %s:%d: state %q", ErrParse, name, n, f[3])
		}
		uid, err := strconv.Atoi(f[7])
		if err != nil {
			return nil, fmt.Errorf("%w: %s:%d: uid: %v", ErrParse, name, n, err)
		}
		ino, err := strconv.ParseUint(f[9], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: %s:%d: inode: %v", ErrParse, name, n, err)
		}
		out = append(out, Socket{Proto: proto, Local: local.String(), Remote: remote.String(), State: state, UID: uid, Inode: ino})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrParse, name, err)
	}
	return out, nil
}

// parseHexAddr parses the kernel's "0100007F:0035": the address as 32-bit
// words in host (little-endian) order, the port in hex.
func parseHexAddr(s string) (netip.AddrPort, error) {
	a, p, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("%q: no port", s)
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%q: port: %v", s, err)
	}
	raw, err := hex.DecodeString(a)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, fmt.Errorf("%q: address is not 8 or 32 hex digits", s)
	}
	for i := 0; i < len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	addr, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(addr, uint16(port)), nil
}

// readSockets lists the sockets of pid's network namespace and the pids of
// procs holding them.
func readSockets(proc string, pid int, procs []Process) ([]Socket, []string) {
	owners := map[uint64][]int{}
	for _, p := range procs {
		for _, l := range p.FDs {
			if s, ok := strings.CutPrefix(l, "socket:["); ok {
				if ino, err := strconv.ParseUint(strings.TrimSuffix(s, "]"), 10, 64); err == nil {
					owners[ino] = append(owners[ino], p.PID)
				}
			}
		}
	}
	var (
		out  = []Socket{}
		errs []string
	)
	for _, proto := range []string{"tcp", "tcp6", "udp", "udp6"} {
		file := filepath.Join(proc, strconv.Itoa(pid), "net", proto)
		b, err := os.ReadFile(file)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		socks, err := ParseProcNet(bytes.NewReader(b), proto, file)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		for i := range socks {
			socks[i].PIDs = owners[socks[i].Inode]
		}
		out = append(out, socks...)
	}
	return out, errs
}
