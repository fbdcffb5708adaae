package vm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ErrUnavailable is returned when this machine cannot run the VM (no
// qemu-system-x86_64); tests skip on it.
var ErrUnavailable = errors.New("VM unavailable")

// DefaultCmdline is the kernel command line: serial console, BPF in the
// LSM list (Debian's default list does not enable it), no reboot on panic
// (with qemu -no-reboot a panic ends the VM).
const DefaultCmdline = "console=ttyS0 lsm=lockdown,capability,landlock,yama,bpf panic=-1 oops=panic quiet loglevel=4"

// Config describes one boot.
type Config struct {
	Kernel *Kernel
	// Files are added to the initramfs besides /init, busybox (with its
	// applets in /bin) and the kernel's cached modules (/lib/modules).
	Files []File
	// Command runs as root once the init mounted /proc, /sys, securityfs,
	// /dev, /dev/pts, cgroup2 (/sys/fs/cgroup), bpffs (/sys/fs/bpf), /tmp
	// and /run (tmpfs), brought lo up and loaded the cached modules; its
	// stdout and stderr are the Result's Output.
	Command []string
	// Env is added to the command's environment (KEY=value).
	Env []string
	// Dir is the command's working directory (default /).
	Dir string
	// Cmdline replaces DefaultCmdline.
	Cmdline  string
	MemoryMB int           // default 1024
	CPUs     int           // default 2
	Timeout  time.Duration // default 2 minutes
	// Busybox is the static busybox to install (default /bin/busybox).
	Busybox string
}

// Result is what one boot produced.
type Result struct {
	// Output is the command's stdout and stderr (second serial port).
	Output string
	// ExitCode is the command's exit status.
	ExitCode int
	// Console is the kernel console (first serial port).
	Console string
	// Elapsed is the wall time from starting qemu to its exit.
	Elapsed time.Duration
}

// Available says whether this machine can boot the VM.
func Available() error {
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		return fmt.Errorf("%w: qemu-system-x86_64 not installed (apt-get install qemu-system-x86): %w", ErrUnavailable, err)
	}
	return nil
}

// Accelerator returns how the VM runs: $VIGIL_VM_ACCEL ("kvm" or "tcg")
// when set, otherwise "kvm" when /dev/kvm exists and is a hardware KVM, and
// "tcg" (qemu's emulator) else, with the reason KVM is not used.
//
// A PVM host (KVM without VMX/SVM, as in nested cloud VMs: /sys/module/kvm_pvm)
// runs only guests built for PVM: a stock kernel's boot emulates most
// instructions (more than a minute to reach FPU init) and dies on the first
// one the emulator lacks ("KVM internal error. Suberror: 1 ... emulation
// failure" at lock cmpxchg16b, then at xrstor). TCG boots the same kernel in
// a few seconds.
func Accelerator() (accel, why string) {
	switch a := os.Getenv("VIGIL_VM_ACCEL"); a {
	case "kvm", "tcg":
		return a, "VIGIL_VM_ACCEL=" + a
	}
	if _, err := os.Stat("/dev/kvm"); err != nil {
		return "tcg", "no /dev/kvm"
	}
	for _, m := range []string{"kvm_intel", "kvm_amd"} {
		if _, err := os.Stat("/sys/module/" + m); err == nil {
			return "kvm", "/dev/kvm (" + m + ")"
		}
	}
	if _, err := os.Stat("/sys/module/kvm_pvm"); err == nil {
		return "tcg", "/dev/kvm is PVM (kvm_pvm), which cannot boot a stock kernel"
	}
	return "kvm", "/dev/kvm"
}

const exitMarker = "VIGIL-VM-EXIT "

var exitLine = regexp.MustCompile(`(?m)^` + exitMarker + `(-?[0-9]+)\r?$`)

// Run boots cfg.Kernel (under KVM or TCG, see Accelerator) with an initramfs built from cfg, runs
// cfg.Command, powers off, and returns the command's output and exit
// status. An error means the VM did not report an exit status (boot
// failure, panic, timeout); Result.Console then says why.
func Run(ctx context.Context, cfg Config) (Result, error) {
	var res Result
	if err := Available(); err != nil {
		return res, err
	}
	if cfg.Kernel == nil || len(cfg.Command) == 0 {
		return res, errors.New("vm: Config needs a Kernel and a Command")
	}
	if cfg.MemoryMB == 0 {
		cfg.MemoryMB = 1024
	}
	if cfg.CPUs == 0 {
		cfg.CPUs = 2
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Minute
	}
	if cfg.Cmdline == "" {
		cfg.Cmdline = DefaultCmdline
	}
	if cfg.Busybox == "" {
		cfg.Busybox = "/bin/busybox"
	}
	work, err := os.MkdirTemp("", "vigil-vm-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(work)

	files := []File{
		{Path: "init", Mode: 0o755, Data: []byte(initScript)},
		{Path: "bin/busybox", Mode: 0o755, Src: cfg.Busybox},
		{Path: "vigil/run", Mode: 0o755, Data: []byte(runScript(cfg))},
	}
	mods, _ := filepath.Glob(filepath.Join(cfg.Kernel.Dir, "modules", "*.ko"))
	for _, m := range mods {
		files = append(files, File{Path: "lib/modules/" + filepath.Base(m), Mode: 0o644, Src: m})
	}
	for _, d := range []string{"proc", "sys", "dev", "tmp", "run", "root"} {
		files = append(files, File{Path: d, Mode: fs.ModeDir | 0o755})
	}
	files = append(files, cfg.Files...)
	initrd := filepath.Join(work, "initrd.cpio")
	f, err := os.Create(initrd)
	if err != nil {
		return res, err
	}
	if err := WriteInitramfs(f, files); err != nil {
		f.Close()
		return res, err
	}
	if err := f.Close(); err != nil {
		return res, err
	}

	console, output := filepath.Join(work, "console.log"), filepath.Join(work, "output.log")
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	args := []string{"-enable-kvm", "-cpu", "host"}
	if accel, _ := Accelerator(); accel == "tcg" {
		args = []string{"-accel", "tcg,thread=multi", "-cpu", "max"}
	}
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", append(args,
		"-machine", "q35",
		"-m", strconv.Itoa(cfg.MemoryMB), "-smp", strconv.Itoa(cfg.CPUs),
		"-nodefaults", "-no-reboot", "-display", "none", "-monitor", "none",
		"-kernel", cfg.Kernel.Vmlinuz(), "-initrd", initrd, "-append", cfg.Cmdline,
		"-serial", "file:"+console, "-serial", "file:"+output,
	)...)
	var qout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &qout, &qout
	start := time.Now()
	qerr := cmd.Run()
	res.Elapsed = time.Since(start)
	con, _ := os.ReadFile(console)
	out, _ := os.ReadFile(output)
	res.Console = string(con)
	text := strings.ReplaceAll(string(out), "\r\n", "\n")
	m := exitLine.FindStringSubmatchIndex(text)
	if m == nil {
		why := "no exit status from the guest"
		if ctx.Err() != nil {
			why = fmt.Sprintf("timed out after %v", cfg.Timeout)
		}
		res.Output = text
		return res, fmt.Errorf("vm: %s (qemu: %v %s); console tail:\n%s", why, qerr, bytes.TrimSpace(qout.Bytes()), tail(res.Console, 40))
	}
	res.Output = text[:m[0]]
	res.ExitCode, _ = strconv.Atoi(text[m[2]:m[3]])
	return res, nil
}

func tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// initScript prepares the guest and runs /vigil/run with its output on the
// second serial port, then powers off.
const initScript = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t securityfs securityfs /sys/kernel/security
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /sys/fs/cgroup /sys/fs/bpf
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t bpf bpf /sys/fs/bpf
ip link set lo up
for m in /lib/modules/*.ko; do [ -e "$m" ] && insmod "$m"; done
/vigil/run >/dev/ttyS1 2>&1 </dev/null
echo "` + exitMarker + `$?" >/dev/ttyS1
sync
poweroff -f
`

// runScript is /vigil/run: the command with its environment.
func runScript(cfg Config) string {
	var b strings.Builder
	b.WriteString("#!/bin/sh\nexport HOME=/root TMPDIR=/tmp\n")
	for _, kv := range cfg.Env {
		b.WriteString("export " + shQuote(kv) + "\n")
	}
	dir := cfg.Dir
	if dir == "" {
		dir = "/"
	}
	b.WriteString("cd " + shQuote(dir) + " || exit 125\nexec")
	for _, a := range cfg.Command {
		b.WriteString(" " + shQuote(a))
	}
	b.WriteString("\n")
	return b.String()
}

func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
