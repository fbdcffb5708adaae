// Package vm boots a Debian kernel in qemu to test what the development
// kernel cannot do (vigil's LSM exec hook: this host refuses BPF LSM
// programs). DebianKernel downloads linux-image-<version>-amd64 with
// `apt-get download` (the version linux-image-amd64 depends on, or
// $VIGIL_VM_KERNEL), unpacks it with `dpkg-deb -x` and keeps the image, its
// config and the modules the tests need under $VIGIL_CACHE/vm-<version>
// (default /var/cache/vigil); nothing is installed. Run builds an initramfs
// (WriteInitramfs, newc cpio written in Go) holding busybox, an init
// script and the caller's files, boots it with qemu -kernel/-initrd under
// KVM, or TCG where KVM cannot boot a stock kernel (see Accelerator), and
// returns the command's output (second serial port) and exit status; the
// init powers the guest off. RunGoTest does that for a package's `go test
// -c` binary.
//
// TestLSMExecEnforcementOnDebianKernel runs package monitor's LSM tests
// there (about a minute once the kernel is cached); it needs root and
// qemu-system-x86 (test/deps.sh installs it) and skips only without qemu.
package vm
