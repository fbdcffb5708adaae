// Command memexec is a test fixture for vigil's drift and renaming
// evasions. It executes a program with exactly the argument vector given
// (argv[0] included), the way an attacker would:
//
//	memexec [-path FILE] [-direct] [-stamp] [--] ARGV0 ARG...
//	memexec [-path FILE] [-direct] [-stamp] -argv BASE64
//
// By default it copies FILE (default /bin/busybox) into an anonymous memfd
// and runs it with execveat(fd, "", AT_EMPTY_PATH): the program that runs
// has no file in the container's image or writable layer. With -direct it
// calls execve(FILE) instead (FILE defaults to ARGV0 looked up in PATH), so
// it runs what a shell's "exec -a ARGV0 FILE ARG..." runs. With -stamp it
// first writes
// "memexec-start <RFC 3339 time>" to stderr, so a caller can time how long
// the monitor took from the attack's start to its alert. With -argv the
// argument vector is given base64-encoded (standard encoding, arguments
// separated by NUL bytes), so memexec's own command line carries none of
// the strings the monitor looks for in the attack's ("/dev/tcp/",
// "stratum+tcp://"): the exec that is judged is the attack's, not
// memexec's.
//
// It must be built static (CGO_ENABLED=0): the test image has no C library.
package main

import (
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func main() {
	path := flag.String("path", "", "the program to run (default /bin/busybox, or ARGV0 in PATH with -direct)")
	direct := flag.Bool("direct", false, "execve the program itself instead of a memfd copy")
	stamp := flag.Bool("stamp", false, "write the start time to stderr before the exec")
	encoded := flag.String("argv", "", "the argument vector, base64 of the arguments joined by NUL bytes")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: memexec [-path FILE] [-direct] [-stamp] [--] ARGV0 ARG...\n       memexec [-path FILE] [-direct] [-stamp] -argv BASE64")
		flag.PrintDefaults()
	}
	flag.Parse()
	argv := flag.Args()
	if *encoded != "" {
		if len(argv) > 0 {
			flag.Usage()
			os.Exit(2)
		}
		b, err := base64.StdEncoding.DecodeString(*encoded)
		if err != nil {
			fmt.Fprintln(os.Stderr, "memexec: -argv:", err)
			os.Exit(2)
		}
		argv = strings.Split(string(b), "\x00")
	}
	if len(argv) == 0 || argv[0] == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*path, *direct, *stamp, argv); err != nil {
		fmt.Fprintln(os.Stderr, "memexec:", err)
		os.Exit(126)
	}
}

// run replaces the process; it returns only on error.
func run(path string, direct, stamp bool, argv []string) error {
	env := os.Environ()
	if direct {
		if path == "" {
			p, err := exec.LookPath(argv[0])
			if err != nil {
				return err
			}
			path = p
		}
		if stamp {
			writeStamp()
		}
		return fmt.Errorf("execve %s: %w", path, unix.Exec(path, argv, env))
	}
	if path == "" {
		path = "/bin/busybox"
	}
	f, err := memfdCopy(path)
	if err != nil {
		return err
	}
	if stamp {
		writeStamp()
	}
	err = execveat(int(f.Fd()), argv, env)
	runtime.KeepAlive(f)
	return fmt.Errorf("execveat memfd copy of %s: %w", path, err)
}

func writeStamp() {
	fmt.Fprintf(os.Stderr, "memexec-start %s\n", time.Now().UTC().Format(time.RFC3339Nano))
}

// memfdCopy returns a memfd holding a copy of path.
func memfdCopy(path string) (*os.File, error) {
	src, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	fd, err := unix.MemfdCreate("memexec", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	dst := os.NewFile(uintptr(fd), "memfd")
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return nil, fmt.Errorf("copy %s into the memfd: %w", path, err)
	}
	return dst, nil
}

func execveat(fd int, argv, env []string) error {
	argvp, err := cStrings(argv)
	if err != nil {
		return err
	}
	envp, err := cStrings(env)
	if err != nil {
		return err
	}
	empty, err := unix.BytePtrFromString("")
	if err != nil {
		return err
	}
	_, _, errno := unix.Syscall6(unix.SYS_EXECVEAT, uintptr(fd), uintptr(unsafe.Pointer(empty)),
		uintptr(unsafe.Pointer(&argvp[0])), uintptr(unsafe.Pointer(&envp[0])), unix.AT_EMPTY_PATH, 0)
	return errno
}

// cStrings is a NULL-terminated array of C strings.
func cStrings(ss []string) ([]*byte, error) {
	out := make([]*byte, 0, len(ss)+1)
	for _, s := range ss {
		p, err := unix.BytePtrFromString(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return append(out, nil), nil
}
