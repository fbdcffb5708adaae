// Package event defines the one event shape that every vigil sensor (the
// eBPF exec hook, fanotify marks, cgroup socket hooks) produces and that the
// rule engine evaluates. It is a plain data type with no behaviour beyond
// field naming, so sensors and the rule engine do not import each other.
package event

import "time"

// Type is Falco's evt.type for an event.
type Type string

// Event types vigil's sensors produce, named as Falco names them.
const (
	Execve  Type = "execve"  // a process image was replaced (spawned_process)
	Open    Type = "openat"  // a file was opened (open_read / open_write)
	Connect Type = "connect" // an outbound connection or datagram (outbound)
	Exit    Type = "procexit"
)

// Process describes the process that caused an event.
type Process struct {
	PID      uint32
	PPID     uint32
	UID      uint32
	Name     string   // proc.name: comm of the new image (basename of exe for exec)
	Exe      string   // proc.exe: argv[0] as given
	ExePath  string   // proc.exepath: the full path of the executable
	Args     []string // argv[1:]
	TTY      uint32   // proc.tty: controlling terminal, 0 if none
	PName    string   // proc.pname: parent's name
	PExePath string   // proc.pexepath
	// Ancestors holds the names of the parent, grandparent, ... (proc.aname[1..]).
	Ancestors []string
	// IsExeUpperLayer is true when the executable lives in the container's
	// writable overlay layer (written or modified after the container started).
	IsExeUpperLayer bool
	// IsExeFromMemfd is true when the executable is an anonymous memfd.
	IsExeFromMemfd bool
	// IsExeDeleted is true when the executable's file has no name left.
	IsExeDeleted bool
	// ExeIno and ExeDev identify the executable's inode.
	ExeIno uint64
	ExeDev uint64
	// IsEntrypoint marks the container's own init process image.
	IsEntrypoint bool
	// Classes holds the class bits the kernel exec hook assigned
	// (monitor.ClassShell, ...; 0 for other sensors).
	Classes uint32
}

// File describes the file descriptor of an open or connect event (fd.*).
type File struct {
	Name     string // fd.name: full path, or "sip:sport" style tuple for sockets
	TypeChar string // fd.typechar: "f" file, "4" IPv4, "6" IPv6, "u" unix
	// Open flags, for open events.
	Read, Write bool
	// Socket fields for connect events.
	L4Proto string // "tcp" or "udp"
	SIP     string // destination (server) IP
	SPort   uint16 // destination (server) port
	CIP     string // local (client) IP, when known
	CPort   uint16
}

// Container identifies the container an event happened in.
type Container struct {
	ID              string
	Name            string
	Image           string // full normalized reference
	ImageRepository string
	ImageTag        string
	K8sPodName      string
	K8sNamespace    string
	Labels          map[string]string
	// CgroupID is the cgroup v2 id the kernel attributed the event to
	// (0 when the sensor does not know it).
	CgroupID uint64
}

// Event is one observation from a sensor.
type Event struct {
	Time      time.Time
	Type      Type
	Process   Process
	File      File
	Container Container
	// KernelAction records what the kernel hook already did ("killed",
	// "denied" or "" for nothing), so alerts can say so. "denied-audit"
	// marks a connect an egress policy in audit mode would have refused.
	KernelAction string
	// KernelReason says why a connect was (or would have been) refused:
	// "isolated", "deny-list", "port" or "cidr"; "" otherwise.
	KernelReason string
	// Source is the Falco source name: always "syscall" for vigil sensors.
	Source string
}
