package monitor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/vigil-dev/vigil/monitor/bpf"
	"github.com/vigil-dev/vigil/monitor/event"
)

// ErrMalformed is returned for a ring buffer record that cannot be decoded.
var ErrMalformed = errors.New("malformed kernel record")

var (
	execSize     = binary.Size(bpf.VigilExecEvent{})
	execHeadSize = execSize - len(bpf.VigilExecEvent{}.Argv)
	connSize     = binary.Size(bpf.VigilConnEvent{})
)

const (
	ipprotoTCP = 6
	ipprotoUDP = 17
	afInet     = 2
	afInet6    = 10
)

func (m *Monitor) decode(raw []byte) (*event.Event, error) {
	return decodeRecord(raw, m.bootEpoch, m.meta)
}

// decodeRecord converts one ring buffer record to an event.
func decodeRecord(raw []byte, epoch time.Time, meta func(uint64) event.Container) (*event.Event, error) {
	if len(raw) < 4 {
		return nil, fmt.Errorf("%w: %d bytes", ErrMalformed, len(raw))
	}
	switch t := bpf.VigilEventType(binary.LittleEndian.Uint32(raw)); t {
	case bpf.VigilEventTypeEVENT_EXEC:
		return decodeExec(raw, epoch, meta)
	case bpf.VigilEventTypeEVENT_CONNECT:
		return decodeConnect(raw, epoch, meta)
	default:
		return nil, fmt.Errorf("%w: type %d", ErrMalformed, t)
	}
}

func decodeExec(raw []byte, epoch time.Time, meta func(uint64) event.Container) (*event.Event, error) {
	if len(raw) < execHeadSize || len(raw) > execSize+8 {
		return nil, fmt.Errorf("%w: exec record of %d bytes", ErrMalformed, len(raw))
	}
	buf := make([]byte, execSize)
	copy(buf, raw)
	var k bpf.VigilExecEvent
	if _, err := binary.Decode(buf, binary.LittleEndian, &k); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if int(k.ArgvLen) > len(k.Argv) || execHeadSize+int(k.ArgvLen) > len(raw) {
		return nil, fmt.Errorf("%w: argv_len %d in a record of %d bytes", ErrMalformed, k.ArgvLen, len(raw))
	}
	flag := func(f bpf.VigilEventFlags) bool { return k.Flags&uint32(f) != 0 }
	argv := splitArgv(buf[execHeadSize : execHeadSize+int(k.ArgvLen)])
	ev := &event.Event{
		Time:      epoch.Add(time.Duration(k.Ts)),
		Type:      event.Execve,
		Container: meta(k.Cgid),
		Source:    "syscall",
		Process: event.Process{
			PID:             k.Tgid,
			PPID:            k.Ppid,
			UID:             k.Uid,
			Name:            cString(k.Comm[:]),
			ExePath:         cString(k.Filename[:]),
			TTY:             k.Tty,
			IsExeUpperLayer: flag(bpf.VigilEventFlagsEV_UPPER),
			IsExeFromMemfd:  flag(bpf.VigilEventFlagsEV_MEMFD),
			IsExeDeleted:    flag(bpf.VigilEventFlagsEV_DELETED),
			ExeIno:          k.ExeIno,
			ExeDev:          k.ExeDev,
			IsEntrypoint:    flag(bpf.VigilEventFlagsEV_ENTRYPOINT),
			Classes:         k.Class,
		},
	}
	if len(argv) > 0 {
		ev.Process.Exe = argv[0]
		ev.Process.Args = argv[1:]
	}
	for i := range k.Ancestors {
		name := cString(k.Ancestors[i][:])
		if name == "" {
			break
		}
		ev.Process.Ancestors = append(ev.Process.Ancestors, name)
	}
	if len(ev.Process.Ancestors) > 0 {
		ev.Process.PName = ev.Process.Ancestors[0]
	}
	switch {
	case flag(bpf.VigilEventFlagsEV_DENIED):
		// The LSM exec hook refused it: the exec failed with EPERM.
		ev.KernelAction = KernelDenied
	case flag(bpf.VigilEventFlagsEV_KILLED):
		ev.KernelAction = "killed"
	}
	return ev, nil
}

func decodeConnect(raw []byte, epoch time.Time, meta func(uint64) event.Container) (*event.Event, error) {
	if len(raw) < connSize {
		return nil, fmt.Errorf("%w: connect record of %d bytes", ErrMalformed, len(raw))
	}
	var k bpf.VigilConnEvent
	if _, err := binary.Decode(raw[:connSize], binary.LittleEndian, &k); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	ev := &event.Event{
		Time:      epoch.Add(time.Duration(k.Ts)),
		Type:      event.Connect,
		Container: meta(k.Cgid),
		Source:    "syscall",
		Process:   event.Process{PID: k.Tgid, UID: k.Uid, Name: cString(k.Comm[:])},
	}
	var addr netip.Addr
	switch k.Family {
	case afInet:
		addr = netip.AddrFrom4([4]byte(k.Daddr[12:16])) // ::ffff:a.b.c.d
		ev.File.TypeChar = "4"
	case afInet6:
		addr = netip.AddrFrom16(k.Daddr)
		ev.File.TypeChar = "6"
		if addr.Is4In6() {
			// An IPv6 socket reaching an IPv4 peer: an IPv4 connection,
			// as Falco reports it.
			addr = addr.Unmap()
			ev.File.TypeChar = "4"
		}
	default:
		return nil, fmt.Errorf("%w: address family %d", ErrMalformed, k.Family)
	}
	switch k.Proto {
	case ipprotoTCP:
		ev.File.L4Proto = "tcp"
	case ipprotoUDP:
		ev.File.L4Proto = "udp"
	}
	ev.File.SIP = addr.String()
	ev.File.SPort = k.Dport
	ev.File.Name = netip.AddrPortFrom(addr, k.Dport).String()
	switch {
	case k.Flags&uint32(bpf.VigilEventFlagsEV_DENIED) != 0:
		ev.KernelAction = KernelDenied
	case k.Flags&uint32(bpf.VigilEventFlagsEV_DENIED_AUDIT) != 0:
		ev.KernelAction = KernelDeniedAudit
	}
	for _, r := range denyReasons {
		if k.Flags&uint32(r.flag) != 0 {
			ev.KernelReason = r.name
			break
		}
	}
	return ev, nil
}

// splitArgv splits the NUL-separated argument block of a process.
func splitArgv(b []byte) []string {
	s := strings.TrimSuffix(string(b), "\x00")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\x00")
}

func cString(b []int8) string {
	var sb strings.Builder
	for _, c := range b {
		if c == 0 {
			break
		}
		sb.WriteByte(byte(c))
	}
	return sb.String()
}
