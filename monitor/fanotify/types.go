package fanotify

import (
	"errors"
	"time"
)

// Verdict is the answer to a permission event.
type Verdict int

// Verdicts.
const (
	Allow Verdict = iota
	Deny
)

func (v Verdict) String() string {
	if v == Deny {
		return "deny"
	}
	return "allow"
}

// MaxDirMarks bounds how many directories one watched directory path may
// mark, itself and its subdirectories together.
const MaxDirMarks = 4096

// Errors returned by the sensor.
var (
	ErrUnsupported        = errors.New("fanotify permission events are not supported by this kernel")
	ErrClosed             = errors.New("fanotify sensor closed")
	ErrInvalidWatch       = errors.New("invalid watch")
	ErrAlreadyWatched     = errors.New("already watched")
	ErrNotWatched         = errors.New("not watched")
	ErrTooManyMarks       = errors.New("too many directories to mark")
	ErrNotMountPoint      = errors.New("not a mount point")
	ErrNotWholeFilesystem = errors.New("not the root of its own filesystem")
)

// Access is one open of a watched file (a permission event), or one file
// closed after writing (a notification from WatchMount).
//
// The process fields are read from /proc when the event is handled. For a
// permission event the opener is blocked and still there. A notification
// arrives after the write: a writer that has exited by then leaves Comm,
// Exe, PPID and UID empty and PID holding the thread id.
type Access struct {
	// Key is the Key of the Watch (or WatchMount) the file belongs to.
	Key any
	// PID is the process (thread group) id, TID the thread that opened.
	PID, TID int
	// PPID is the parent process id, 0 if unknown.
	PPID int
	// UID is the effective user id of the thread.
	UID uint32
	// Comm is the thread's command name (proc.name).
	Comm string
	// Exe is the path of the process's executable, as the container sees
	// it when it is inside the rootfs; empty if unknown.
	Exe string
	// Path is the file's path as the container sees it ("/etc/shadow").
	Path string
	// Read and Write give the open mode. For permission events they come
	// from the arguments of the open call the thread is blocked in; when
	// those cannot be read (an exec, an unknown syscall) Read is true and
	// Write false. Notifications from WatchMount have Write true.
	Read, Write bool
	// Time is when the sensor read the event.
	Time time.Time

	rootfs string // host path of the rootfs, for ToEvent
}

// Watch asks for permission marks on paths inside one container's rootfs.
type Watch struct {
	// Key identifies the watch (the container id); it must be comparable.
	Key any
	// Rootfs is the host path of the container's root filesystem.
	Rootfs string
	// Paths are absolute container paths. A path naming a directory
	// covers the files in it and in its subdirectories.
	Paths []string
	// Decide answers each open of a watched file. It runs on the sensor's
	// only reader goroutine while the opener waits: it must return
	// quickly and must not open watched files.
	Decide func(Access) Verdict
}

// Result says what Watch marked.
type Result struct {
	// Marked lists the container paths marked: files, directories and the
	// subdirectories marked with them, resolved (symbolic links followed
	// inside the rootfs).
	Marked []string
	// Missing lists the requested paths that do not exist in the rootfs.
	Missing []string
}

// Stats counts what the sensor did.
type Stats struct {
	Allowed   uint64 // permission events Decide allowed
	Denied    uint64 // permission events Decide denied
	Skipped   uint64 // events from the sensor's own process or runc's init: allowed, not reported
	Unmatched uint64 // events on marks no watch owns any more: allowed, not reported
	Panics    uint64 // Decide or a notify callback panicked (the open was allowed)
	Notified  uint64 // write notifications delivered
	Overflows uint64 // the notification queue overflowed: some writes went unreported
	Errors    uint64 // events that could not be read, inspected or answered
}
