// Command loop is the workload of vigil's benchmarks: a static binary put
// into the benchmark image (and run on the host) that times a tight loop of
// one kind of operation and prints nanoseconds per operation.
//
//	loop open N     open+close of a regular file, N times
//	loop exec N     fork+exec+wait of /bin/true, N times
//	loop getpid N   the getpid system call, N times
//	loop connect N  a TCP connect to 127.0.0.1:1 (refused), N times
package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: loop open|exec|getpid|connect N")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil || n <= 0 {
		fmt.Fprintln(os.Stderr, "loop: N must be a positive number")
		os.Exit(2)
	}
	var op func() error
	switch os.Args[1] {
	case "open":
		path := "/bin/busybox"
		if _, err := os.Stat(path); err != nil {
			path = os.Args[0]
		}
		op = func() error {
			fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
			if err != nil {
				return err
			}
			return syscall.Close(fd)
		}
	case "exec":
		bin := "/bin/true"
		op = func() error {
			pid, err := syscall.ForkExec(bin, []string{"true"}, &syscall.ProcAttr{Env: []string{}})
			if err != nil {
				return err
			}
			var ws syscall.WaitStatus
			_, err = syscall.Wait4(pid, &ws, 0, nil)
			return err
		}
	case "getpid":
		op = func() error { syscall.Getpid(); return nil }
	case "connect":
		sa := &syscall.SockaddrInet4{Port: 1, Addr: [4]byte{127, 0, 0, 1}}
		op = func() error {
			fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
			if err != nil {
				return err
			}
			syscall.Connect(fd, sa) // refused or denied: the hook ran either way
			return syscall.Close(fd)
		}
	default:
		fmt.Fprintln(os.Stderr, "loop: unknown operation", os.Args[1])
		os.Exit(2)
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		if err := op(); err != nil {
			fmt.Fprintln(os.Stderr, "loop:", err)
			os.Exit(1)
		}
	}
	fmt.Println(time.Since(start).Nanoseconds() / int64(n))
}
