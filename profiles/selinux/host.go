package selinux

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	goselinux "github.com/opencontainers/selinux/go-selinux"
)

const enforceFile = "/sys/fs/selinux/enforce"

// SystemHost is the real Host.
type SystemHost struct{}

// Enabled asks go-selinux (selinuxfs mounted and the policy loaded) and, when
// it says no, explains with the state of /sys/fs/selinux/enforce.
func (SystemHost) Enabled() (bool, string) {
	if goselinux.GetEnabled() {
		return true, ""
	}
	return false, disabledReason(enforceFile)
}

func disabledReason(enforce string) string {
	_, err := os.Stat(enforce)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("%s does not exist: selinuxfs is not mounted (the kernel has no SELinux or it is disabled)", enforce)
	case err != nil:
		return fmt.Sprintf("cannot stat %s: %v", enforce, err)
	default:
		return fmt.Sprintf("%s exists but go-selinux reports SELinux disabled (no policy loaded?)", enforce)
	}
}
