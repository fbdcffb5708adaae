// Command netprobe is the test fixture of vigil's egress tests and
// benchmark: it opens connections and sends datagrams exactly as asked and
// says what the kernel answered.
//
//	netprobe connect KIND ADDR:PORT     one attempt; prints "ok" or the errno name
//	netprobe loop KIND ADDR:PORT N      N attempts; prints "ns/op <n> errors <n>"
//	netprobe hold ADDR:PORT MILLIS      connect over TCP, print "connected", then
//	                                    write "tick <n>" every MILLIS ms, forever
//
// KIND is tcp4, tcp6 (a TCP connect), udp4, udp6 (a datagram on an
// unconnected socket: sendmsg) or udpc4, udpc6 (connect of a UDP socket).
// The 6 kinds keep an IPv4-mapped address (::ffff:a.b.c.d) as it is. connect
// exits 0 for "ok", 13 for EPERM and 1 otherwise.
//
// It must be built static (CGO_ENABLED=0): the test image has no C library.
package main

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 3 {
		usage()
	}
	switch os.Args[1] {
	case "connect":
		if len(os.Args) != 4 {
			usage()
		}
		t, err := parse(os.Args[2], os.Args[3])
		if err != nil {
			fail(err)
		}
		res := t.once()
		fmt.Println(res)
		switch res {
		case "ok":
			os.Exit(0)
		case "EPERM":
			os.Exit(13)
		}
		os.Exit(1)
	case "loop":
		if len(os.Args) != 5 {
			usage()
		}
		t, err := parse(os.Args[2], os.Args[3])
		if err != nil {
			fail(err)
		}
		n, err := strconv.Atoi(os.Args[4])
		if err != nil || n < 1 {
			fail(fmt.Errorf("N: %q is not a positive number", os.Args[4]))
		}
		ns, errs := t.loop(n)
		fmt.Printf("ns/op %d errors %d\n", ns, errs)
	case "hold":
		if len(os.Args) != 4 {
			usage()
		}
		ms, err := strconv.Atoi(os.Args[3])
		if err != nil || ms < 1 {
			fail(fmt.Errorf("MILLIS: %q is not a positive number", os.Args[3]))
		}
		hold(os.Args[2], time.Duration(ms)*time.Millisecond)
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: netprobe connect KIND ADDR:PORT | loop KIND ADDR:PORT N | hold ADDR:PORT MILLIS")
	os.Exit(2)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "netprobe:", err)
	os.Exit(2)
}

type target struct {
	family, typ int
	sa          unix.Sockaddr
	dgram       bool // sendto on an unconnected socket
}

func parse(kind, addr string) (target, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return target{}, err
	}
	t := target{family: unix.AF_INET6, typ: unix.SOCK_DGRAM}
	switch kind {
	case "tcp4", "tcp6":
		t.typ = unix.SOCK_STREAM
	case "udp4", "udp6":
		t.dgram = true
	case "udpc4", "udpc6":
	default:
		return t, fmt.Errorf("kind %q: want tcp4, tcp6, udp4, udp6, udpc4 or udpc6", kind)
	}
	if strings.HasSuffix(kind, "4") {
		a := ap.Addr().Unmap()
		if !a.Is4() {
			return t, fmt.Errorf("%s is not an IPv4 address", ap.Addr())
		}
		t.family = unix.AF_INET
		t.sa = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: a.As4()}
		return t, nil
	}
	t.sa = &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	return t, nil
}

var payload = []byte("netprobe\n")

// attempt makes one connect (or sends one datagram on fd when fd >= 0).
func (t target) attempt(fd int) error {
	if t.dgram && fd >= 0 {
		return unix.Sendto(fd, payload, 0, t.sa)
	}
	s, err := unix.Socket(t.family, t.typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(s)
	if t.dgram {
		return unix.Sendto(s, payload, 0, t.sa)
	}
	if t.typ == unix.SOCK_STREAM && fd == loopFD {
		// Close with a reset: a loop of thousands of connects leaves no
		// TIME_WAIT sockets to exhaust the ephemeral ports.
		_ = unix.SetsockoptLinger(s, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	}
	return unix.Connect(s, t.sa)
}

// loopFD tells attempt it runs in a loop of TCP connects.
const loopFD = -2

func (t target) once() string {
	return result(t.attempt(-1))
}

func result(err error) string {
	if err == nil {
		return "ok"
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return unix.ErrnoName(errno)
	}
	return err.Error()
}

// loop makes n attempts and returns the mean time of one and the number of
// failures. Datagrams go out of one socket, as a busy UDP client's do.
func (t target) loop(n int) (int64, int) {
	fd := loopFD
	if t.dgram {
		s, err := unix.Socket(t.family, t.typ|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			fail(err)
		}
		defer unix.Close(s)
		fd = s
	}
	errs := 0
	start := time.Now()
	for i := 0; i < n; i++ {
		if t.attempt(fd) != nil {
			errs++
		}
	}
	return time.Since(start).Nanoseconds() / int64(n), errs
}

func hold(addr string, every time.Duration) {
	t, err := parse("tcp4", addr)
	if err != nil {
		fail(err)
	}
	s, err := unix.Socket(t.family, t.typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		fail(err)
	}
	if err := unix.Connect(s, t.sa); err != nil {
		fail(fmt.Errorf("connect: %s", result(err)))
	}
	fmt.Println("connected")
	for i := 1; ; i++ {
		if _, err := unix.Write(s, []byte(fmt.Sprintf("tick %d\n", i))); err != nil {
			fmt.Println("write:", result(err))
		}
		time.Sleep(every)
	}
}
