// Package fanotify is vigil's file sensor: fanotify marks on files inside a
// container's root filesystem, placed by the shim before the container
// starts.
//
// # Permission marks
//
// [Sensor.Watch] puts FAN_OPEN_PERM marks on the inodes of chosen container
// paths (/etc/shadow, /var/run/secrets/ ...). Paths are resolved inside the
// rootfs (openat2 RESOLVE_IN_ROOT), so a symbolic link in the image can
// never make the sensor mark a host file. A directory is marked with
// FAN_EVENT_ON_CHILD, and so are its subdirectories that exist at Watch
// time (at most [MaxDirMarks], never crossing into another filesystem), so
// files created in them later are covered; subdirectories created later,
// and mounts placed over the rootfs by the runtime, are not. Paths that do
// not exist are skipped and listed in [Result.Missing].
//
// Every open of a marked file blocks in the kernel until the sensor answers.
// The sensor answers from one goroutine: it calls the watch's Decide
// callback synchronously and replies FAN_ALLOW or FAN_DENY; a denied open
// fails with EPERM before a byte is read. Decide must therefore be fast and
// must never open a watched file itself. If Decide panics, or the sensor is
// closing, the open is allowed. Closing the sensor (or the kernel tearing
// the group down) allows every open still waiting: no process is left
// blocked.
//
// The marks are inode marks, so they see opens made through any mount
// namespace — the container's included. Unwatch removes them; call it
// before the rootfs is unmounted (marks on an unmounted filesystem vanish
// with it, and its device number may be reused by the next one).
//
// # Write notifications
//
// [Sensor.WatchMount] reports every file closed after writing anywhere in
// the container's root filesystem (FAN_CLOSE_WRITE), for drift detection.
// It marks the filesystem (FAN_MARK_FILESYSTEM), not the mount
// (FAN_MARK_MOUNT): a mount mark only sees writes made through that very
// mount, and a container writes through its own copy of the mount in its
// mount namespace — measured on Linux 6.18, a mount mark placed by the shim
// sees none of the container's writes. So rootfs must be the root of a
// filesystem of its own (an overlay per container, a tmpfs), which
// WatchMount checks.
//
// # What is never reported
//
// Events from the sensor's own process are allowed without asking. So are
// events from runc's init stages — a process whose comm starts with "runc:["
// (runc:[0:PARENT], runc:[1:CHILD], runc:[2:INIT]), such as runc reading
// /etc/passwd and /etc/group to resolve the user of `runc exec` — unless its
// executable lives on the container's own root filesystem. runc's init runs
// the runc binary (sealed copy) from outside the container; the exception
// stops a container process from hiding by calling itself "runc:[2:INIT]"
// with prctl(PR_SET_NAME). A container process that renames itself and runs
// a binary from another filesystem (a volume, a memfd) is still skipped:
// the comm rule trusts what it cannot verify, and the exec sensor should
// flag such renames.
//
// # Paths
//
// [Access.Path] is the path as the container sees it. The kernel names the
// opened file relative to the opener's mount tree: a process in the
// container's pivoted mount namespace yields "/etc/shadow" as is, a process
// in the shim's namespace yields "<rootfs>/etc/shadow", which the sensor
// strips to "/etc/shadow".
//
// [ToEvent] turns an [Access] into the shared [event.Event] the rule engine
// evaluates (evt.type openat).
package fanotify
