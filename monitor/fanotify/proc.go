package fanotify

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// procInfo is what the sensor reads about the thread behind an event.
type procInfo struct {
	tgid, ppid int
	euid       uint32
	comm       string
}

// readProcInfo reads /proc/<tid>/status and /proc/<tid>/comm. It returns
// what it could read; a thread that is already gone yields zero values.
func readProcInfo(tid int) (procInfo, error) {
	var p procInfo
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return p, err
	}
	if p.tgid, p.ppid, p.euid, err = parseStatus(b); err != nil {
		return p, err
	}
	c, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/comm")
	if err != nil {
		return p, err
	}
	p.comm = strings.TrimSuffix(string(c), "\n")
	return p, nil
}

var errProcFormat = errors.New("unexpected /proc format")

// parseStatus extracts Tgid, PPid and the effective uid (second field of
// Uid) from the text of /proc/<pid>/status.
func parseStatus(b []byte) (tgid, ppid int, euid uint32, err error) {
	var haveTgid, havePPid, haveUid bool
	for line := range bytes.Lines(b) {
		key, val, ok := bytes.Cut(bytes.TrimSuffix(line, []byte("\n")), []byte(":"))
		if !ok {
			continue
		}
		fields := strings.Fields(string(val))
		switch string(key) {
		case "Tgid":
			if len(fields) != 1 {
				return 0, 0, 0, fmt.Errorf("%w: status Tgid %q", errProcFormat, val)
			}
			if tgid, err = strconv.Atoi(fields[0]); err != nil || tgid <= 0 {
				return 0, 0, 0, fmt.Errorf("%w: status Tgid %q", errProcFormat, val)
			}
			haveTgid = true
		case "PPid":
			if len(fields) != 1 {
				return 0, 0, 0, fmt.Errorf("%w: status PPid %q", errProcFormat, val)
			}
			if ppid, err = strconv.Atoi(fields[0]); err != nil || ppid < 0 {
				return 0, 0, 0, fmt.Errorf("%w: status PPid %q", errProcFormat, val)
			}
			havePPid = true
		case "Uid":
			if len(fields) < 2 {
				return 0, 0, 0, fmt.Errorf("%w: status Uid %q", errProcFormat, val)
			}
			u, err := strconv.ParseUint(fields[1], 10, 32)
			if err != nil {
				return 0, 0, 0, fmt.Errorf("%w: status Uid %q", errProcFormat, val)
			}
			euid, haveUid = uint32(u), true
		}
	}
	if !haveTgid || !havePPid || !haveUid {
		return 0, 0, 0, fmt.Errorf("%w: status lacks Tgid, PPid or Uid", errProcFormat)
	}
	return tgid, ppid, euid, nil
}

// parseSyscall parses /proc/<tid>/syscall: the number of the system call
// the thread is blocked in and its six arguments. ok is false when the
// thread is running or not in a system call.
func parseSyscall(b []byte) (nr int, args [6]uint64, ok bool) {
	f := strings.Fields(string(b))
	if len(f) < 7 {
		return 0, args, false
	}
	nr, err := strconv.Atoi(f[0])
	if err != nil || nr < 0 {
		return 0, args, false
	}
	for i := range args {
		s, found := strings.CutPrefix(f[i+1], "0x")
		if !found {
			return 0, args, false
		}
		if args[i], err = strconv.ParseUint(s, 16, 64); err != nil {
			return 0, args, false
		}
	}
	return nr, args, true
}

// parseStat extracts comm and the parent pid from /proc/<pid>/stat. comm
// may contain spaces and parentheses; it ends at the last ')'.
func parseStat(b []byte) (comm string, ppid int, err error) {
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return "", 0, fmt.Errorf("%w: stat has no (comm)", errProcFormat)
	}
	rest := strings.Fields(string(b[end+1:]))
	if len(rest) < 2 {
		return "", 0, fmt.Errorf("%w: stat too short", errProcFormat)
	}
	if ppid, err = strconv.Atoi(rest[1]); err != nil || ppid < 0 {
		return "", 0, fmt.Errorf("%w: stat ppid %q", errProcFormat, rest[1])
	}
	return string(b[open+1 : end]), ppid, nil
}

// parseCmdline splits /proc/<pid>/cmdline into arguments.
func parseCmdline(b []byte) []string {
	b = bytes.TrimSuffix(b, []byte{0})
	if len(b) == 0 {
		return nil
	}
	return strings.Split(string(b), "\x00")
}

// containerPath turns a path the kernel printed into the container's view:
// a path under rootfs (the opener shares our mount namespace) loses the
// rootfs prefix; any other path is already relative to the container's
// root.
func containerPath(rootfs, p string) string {
	if rootfs == "" || rootfs == "/" {
		return p
	}
	if p == rootfs {
		return "/"
	}
	if rest, ok := strings.CutPrefix(p, rootfs); ok && strings.HasPrefix(rest, "/") {
		return rest
	}
	return p
}
