package fanotify

import (
	"os"
	"strconv"

	"github.com/vigil-dev/vigil/monitor/event"
)

// maxAncestors bounds the parent walk of ToEvent.
const maxAncestors = 16

// ToEvent turns a into the shared event type: an openat of a regular file
// with the open mode, by the process a names. It adds what /proc still
// tells about the process — argv, the parent's executable and the names
// of its ancestors — best effort: a process that has exited yields only
// what a carries. Container is left for the caller to fill.
func ToEvent(a Access) *event.Event {
	e := &event.Event{
		Time:   a.Time,
		Type:   event.Open,
		Source: "syscall",
		Process: event.Process{
			PID:     uint32(a.PID),
			PPID:    uint32(a.PPID),
			UID:     a.UID,
			Name:    a.Comm,
			ExePath: a.Exe,
		},
		File: event.File{Name: a.Path, TypeChar: "f", Read: a.Read, Write: a.Write},
	}
	if a.PID > 0 {
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(a.PID) + "/cmdline"); err == nil {
			if args := parseCmdline(b); len(args) > 0 {
				e.Process.Exe, e.Process.Args = args[0], args[1:]
			}
		}
	}
	pid := a.PPID
	for i := 0; i < maxAncestors && pid > 0; i++ {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			break
		}
		comm, ppid, err := parseStat(b)
		if err != nil {
			break
		}
		if i == 0 {
			e.Process.PName = comm
			if exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe"); err == nil {
				e.Process.PExePath = containerPath(a.rootfs, exe)
			}
		}
		e.Process.Ancestors = append(e.Process.Ancestors, comm)
		pid = ppid
	}
	return e
}
