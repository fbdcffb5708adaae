package fanotify

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

const (
	fileMask = unix.FAN_OPEN_PERM
	dirMask  = unix.FAN_OPEN_PERM | unix.FAN_EVENT_ON_CHILD
	fsMask   = unix.FAN_CLOSE_WRITE

	// runcInitPrefix starts the comm of runc's init stages.
	runcInitPrefix = "runc:["

	resolveFlags = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS
)

// Sensor owns two fanotify groups: one for permission marks, one for write
// notifications, each read by its own goroutine. It is safe for
// concurrent use.
type Sensor struct {
	perm, notif *os.File
	// permFd and notifFd are the same descriptors, for fanotify_mark, used
	// only under opMu while not closed. (File.Fd would switch the files to
	// blocking mode, and Close could then no longer wake the readers.)
	permFd, notifFd int
	self            int
	wg              sync.WaitGroup
	closing         atomic.Bool

	opMu   sync.Mutex // serializes Watch, WatchMount, Unwatch and Close
	closed bool       // guarded by opMu

	mu        sync.RWMutex // guards the maps; never held across a callback
	watches   map[any]*watch
	mounts    map[any]*mountWatch
	marks     map[inode]*mark
	dirOwners map[uint64]map[*watch]int // device → watches with directory marks on it
	mountDevs map[uint64]*mountWatch

	allowed, denied, skipped, unmatched, panics, notified, overflows, errs atomic.Uint64
}

type inode struct{ dev, ino uint64 }

// watch is a registered Watch.
type watch struct {
	key     any
	rootfs  string // canonical host path
	rootDev uint64
	decide  func(Access) Verdict
	placed  []placed
}

// placed is one mark a watch holds.
type placed struct {
	id  inode
	rel string // path relative to the rootfs, resolved
	dir bool
}

// mark is the sensor's record of one kernel mark, shared by the watches
// that asked for the same inode.
type mark struct {
	dir    bool
	owners []*watch
}

type mountWatch struct {
	key    any
	rootfs string
	dev    uint64
	notify func(Access)
}

// New creates the fanotify groups and starts reading them. It needs
// CAP_SYS_ADMIN; a kernel without permission events yields ErrUnsupported.
func New() (*Sensor, error) {
	pfd, err := initGroup(unix.FAN_CLASS_CONTENT)
	if err != nil {
		return nil, initError(err)
	}
	nfd, err := initGroup(unix.FAN_CLASS_NOTIF)
	if err != nil {
		unix.Close(pfd)
		return nil, initError(err)
	}
	s := &Sensor{
		perm:      os.NewFile(uintptr(pfd), "fanotify-permission"),
		notif:     os.NewFile(uintptr(nfd), "fanotify-notification"),
		permFd:    pfd,
		notifFd:   nfd,
		self:      os.Getpid(),
		watches:   map[any]*watch{},
		mounts:    map[any]*mountWatch{},
		marks:     map[inode]*mark{},
		dirOwners: map[uint64]map[*watch]int{},
		mountDevs: map[uint64]*mountWatch{},
	}
	s.wg.Add(2)
	go s.read(s.perm, s.handlePerm)
	go s.read(s.notif, s.handleNotif)
	return s, nil
}

// GroupLimitFile is the kernel's per-user limit on fanotify groups
// (default 128). Every shim holds two groups, so the default stops the
// 65th shim of a node.
const GroupLimitFile = "/proc/sys/fs/fanotify/max_user_groups"

// groupLimitRaised is the limit this process last raised GroupLimitFile
// to, 0 if it never did.
var groupLimitRaised atomic.Int64

// GroupLimitRaised returns the limit this process raised GroupLimitFile to
// (0 if it did not), for the caller to log.
func GroupLimitRaised() int { return int(groupLimitRaised.Load()) }

// MaxGroupLimit caps how far initGroup raises GroupLimitFile.
const MaxGroupLimit = 1 << 16

// initGroup creates a fanotify group of class. When the kernel refuses
// with EMFILE because the node reached its limit on fanotify groups, it
// raises the limit (doubling it, up to MaxGroupLimit; it needs root in the
// initial user namespace) and tries again until it reaches the cap, so the number of containers a
// node can run is not the kernel's default of 64 shims.
func initGroup(class uint) (int, error) {
	const eventFlags = unix.O_RDONLY | unix.O_LARGEFILE | unix.O_CLOEXEC
	flags := class | unix.FAN_CLOEXEC | unix.FAN_NONBLOCK | unix.FAN_REPORT_TID
	for {
		fd, err := unix.FanotifyInit(flags, eventFlags)
		if err == nil || !errors.Is(err, unix.EMFILE) {
			return fd, err
		}
		n, rerr := RaiseGroupLimit(GroupLimitFile, 0)
		if rerr != nil {
			return -1, fmt.Errorf("%w (the node's fanotify group limit could not be raised: %v)", err, rerr)
		}
		groupLimitRaised.Store(int64(n))
	}
}

// RaiseGroupLimit raises the limit in file (GroupLimitFile) to at least
// want, or, with want 0, doubles it; never past MaxGroupLimit and never
// down. It returns the limit in force afterwards.
func RaiseGroupLimit(file string, want int) (int, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	cur, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", file, err)
	}
	next := want
	if want == 0 {
		next = 2 * cur
	}
	next = min(next, MaxGroupLimit)
	if next <= cur {
		if want == 0 {
			return cur, fmt.Errorf("%s: already %d (at most %d)", file, cur, MaxGroupLimit)
		}
		return cur, nil
	}
	if err := os.WriteFile(file, []byte(strconv.Itoa(next)), 0o644); err != nil {
		return cur, err
	}
	return next, nil
}

func initError(err error) error {
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		return fmt.Errorf("fanotify_init: %w: %w", ErrUnsupported, err)
	}
	return fmt.Errorf("fanotify_init: %w", err)
}

// Close removes every mark and stops the sensor. Opens still waiting for
// an answer are allowed by the kernel at once; Close then waits for a
// callback that is running to return, so none runs after Close returns.
// Close must not be called from a callback.
func (s *Sensor) Close() error {
	s.opMu.Lock()
	if s.closed {
		s.opMu.Unlock()
		return nil
	}
	s.closed = true
	s.closing.Store(true)
	err := errors.Join(s.perm.Close(), s.notif.Close())
	s.opMu.Unlock()
	s.wg.Wait()
	return err
}

// Stats returns the sensor's counters.
func (s *Sensor) Stats() Stats {
	return Stats{
		Allowed:   s.allowed.Load(),
		Denied:    s.denied.Load(),
		Skipped:   s.skipped.Load(),
		Unmatched: s.unmatched.Load(),
		Panics:    s.panics.Load(),
		Notified:  s.notified.Load(),
		Overflows: s.overflows.Load(),
		Errors:    s.errs.Load(),
	}
}

func checkKey(key any) error {
	if key == nil {
		return fmt.Errorf("%w: key: nil", ErrInvalidWatch)
	}
	if !reflect.ValueOf(key).Comparable() {
		return fmt.Errorf("%w: key: a %T is not comparable", ErrInvalidWatch, key)
	}
	return nil
}

// canonicalRootfs checks rootfs names a directory and resolves it.
func canonicalRootfs(rootfs string) (string, error) {
	if !filepath.IsAbs(rootfs) {
		return "", fmt.Errorf("%w: rootfs: %q is not absolute", ErrInvalidWatch, rootfs)
	}
	root, err := filepath.EvalSymlinks(rootfs)
	if err != nil {
		return "", fmt.Errorf("%w: rootfs: %w", ErrInvalidWatch, err)
	}
	return root, nil
}

// Watch places permission marks on w.Paths inside w.Rootfs. On error no
// mark of this call is left behind.
func (s *Sensor) Watch(w Watch) (_ Result, err error) {
	if err := checkKey(w.Key); err != nil {
		return Result{}, err
	}
	if w.Decide == nil {
		return Result{}, fmt.Errorf("%w: decide: nil", ErrInvalidWatch)
	}
	if len(w.Paths) == 0 {
		return Result{}, fmt.Errorf("%w: paths: empty", ErrInvalidWatch)
	}
	for i, p := range w.Paths {
		if !path.IsAbs(p) {
			return Result{}, fmt.Errorf("%w: paths[%d]: %q is not absolute", ErrInvalidWatch, i, p)
		}
	}
	root, err := canonicalRootfs(w.Rootfs)
	if err != nil {
		return Result{}, err
	}

	s.opMu.Lock()
	defer s.opMu.Unlock()
	if s.closed {
		return Result{}, ErrClosed
	}
	if _, ok := s.watches[w.Key]; ok {
		return Result{}, fmt.Errorf("%w: key %v", ErrAlreadyWatched, w.Key)
	}
	rootFd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return Result{}, fmt.Errorf("%w: rootfs: %s: %w", ErrInvalidWatch, root, err)
	}
	defer unix.Close(rootFd)
	var st unix.Stat_t
	if err := unix.Fstat(rootFd, &st); err != nil {
		return Result{}, fmt.Errorf("rootfs: %s: %w", root, err)
	}
	ws := &watch{key: w.Key, rootfs: root, rootDev: st.Dev, decide: w.Decide}
	defer func() {
		if err != nil {
			_ = s.release(ws)
		}
	}()
	var res Result
	for i, p := range w.Paths {
		missing, err := s.markPath(ws, rootFd, p, &res)
		if err != nil {
			return Result{}, fmt.Errorf("watch %v: paths[%d] %q: %w", w.Key, i, p, err)
		}
		if missing {
			res.Missing = append(res.Missing, p)
		}
	}
	s.mu.Lock()
	s.watches[w.Key] = ws
	s.mu.Unlock()
	return res, nil
}

// markPath resolves p inside the rootfs and marks it.
func (s *Sensor) markPath(ws *watch, rootFd int, p string, res *Result) (missing bool, err error) {
	rel := strings.TrimPrefix(path.Clean(p), "/")
	if rel == "" {
		rel = "."
	}
	fd, err := unix.Openat2(rootFd, rel, &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: resolveFlags})
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("openat2: %w", err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return false, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return false, s.place(ws, fd, &st, false, res)
	}
	dfd, err := unix.Openat(fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, err
	}
	budget := MaxDirMarks
	return false, s.markTree(ws, dfd, &st, &budget, res)
}

// markTree marks the directory dfd (which it closes) and, depth first, its
// subdirectories on the same filesystem.
func (s *Sensor) markTree(ws *watch, dfd int, st *unix.Stat_t, budget *int, res *Result) error {
	dir := os.NewFile(uintptr(dfd), "dir")
	defer dir.Close()
	if *budget--; *budget < 0 {
		return fmt.Errorf("%w: more than %d", ErrTooManyMarks, MaxDirMarks)
	}
	entries, err := dir.ReadDir(-1)
	if err != nil {
		return err
	}
	if err := s.place(ws, int(dir.Fd()), st, true, res); err != nil {
		return err
	}
	for _, e := range entries {
		if !e.IsDir() { // symbolic links are never followed
			continue
		}
		cfd, err := unix.Openat(int(dir.Fd()), e.Name(), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			continue // gone or replaced since ReadDir
		}
		var cst unix.Stat_t
		if err := unix.Fstat(cfd, &cst); err != nil || cst.Dev != st.Dev {
			unix.Close(cfd)
			continue
		}
		if err := s.markTree(ws, cfd, &cst, budget, res); err != nil {
			return err
		}
	}
	return nil
}

// place records and adds the mark on the object fd refers to.
func (s *Sensor) place(ws *watch, fd int, st *unix.Stat_t, dir bool, res *Result) error {
	host, err := os.Readlink(procSelfFd(fd))
	if err != nil {
		return err
	}
	rel := containerPath(ws.rootfs, host)
	id := inode{dev: st.Dev, ino: st.Ino}
	// Record first, so an event on the new mark finds its owner.
	s.mu.Lock()
	m := s.marks[id]
	if m == nil {
		m = &mark{dir: dir}
		s.marks[id] = m
	}
	m.owners = append(m.owners, ws)
	if dir {
		if s.dirOwners[id.dev] == nil {
			s.dirOwners[id.dev] = map[*watch]int{}
		}
		s.dirOwners[id.dev][ws]++
	}
	ws.placed = append(ws.placed, placed{id: id, rel: strings.TrimPrefix(rel, "/"), dir: dir})
	s.mu.Unlock()
	mask := uint64(fileMask)
	if dir {
		mask = dirMask
	}
	if err := unix.FanotifyMark(s.permFd, unix.FAN_MARK_ADD, mask, unix.AT_FDCWD, procSelfFd(fd)); err != nil {
		return fmt.Errorf("fanotify_mark %s: %w", rel, err)
	}
	res.Marked = append(res.Marked, rel)
	return nil
}

func procSelfFd(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

// release forgets ws and removes the kernel marks no other watch holds.
func (s *Sensor) release(ws *watch) error {
	var gone []placed
	s.mu.Lock()
	if s.watches[ws.key] == ws {
		delete(s.watches, ws.key)
	}
	for _, p := range ws.placed {
		m := s.marks[p.id]
		if m == nil {
			continue
		}
		if i := indexOf(m.owners, ws); i >= 0 {
			m.owners = append(m.owners[:i], m.owners[i+1:]...)
		}
		if p.dir {
			if o := s.dirOwners[p.id.dev]; o != nil {
				if o[ws]--; o[ws] <= 0 {
					delete(o, ws)
				}
				if len(o) == 0 {
					delete(s.dirOwners, p.id.dev)
				}
			}
		}
		if len(m.owners) == 0 {
			delete(s.marks, p.id)
			gone = append(gone, p)
		}
	}
	ws.placed = nil
	s.mu.Unlock()
	if len(gone) == 0 {
		return nil
	}
	rootFd, err := unix.Open(ws.rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil // the rootfs is gone, and its marks with it
	}
	defer unix.Close(rootFd)
	var errs []error
	for _, p := range gone {
		if err := s.unmark(rootFd, p); err != nil {
			errs = append(errs, fmt.Errorf("/%s: %w", p.rel, err))
		}
	}
	return errors.Join(errs...)
}

func indexOf(ws []*watch, w *watch) int {
	for i, x := range ws {
		if x == w {
			return i
		}
	}
	return -1
}

// unmark removes the kernel mark of p if p.rel still names the marked
// inode. A file that was renamed or replaced keeps its mark until its
// filesystem goes away; events on it find no owner and are allowed.
func (s *Sensor) unmark(rootFd int, p placed) error {
	rel := p.rel
	if rel == "" {
		rel = "."
	}
	fd, err := unix.Openat2(rootFd, rel, &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: resolveFlags})
	if err != nil {
		return nil
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Dev != p.id.dev || st.Ino != p.id.ino {
		return nil
	}
	mask := uint64(fileMask)
	if p.dir {
		mask = dirMask
	}
	err = unix.FanotifyMark(s.permFd, unix.FAN_MARK_REMOVE, mask, unix.AT_FDCWD, procSelfFd(fd))
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("fanotify_mark remove: %w", err)
	}
	return nil
}

// WatchMount reports, through notify, every file closed after writing on
// the filesystem mounted at rootfs. rootfs must be a mount point showing
// the root of its filesystem (see the package documentation). notify runs
// on the notification goroutine and must be fast.
func (s *Sensor) WatchMount(key any, rootfs string, notify func(Access)) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if notify == nil {
		return fmt.Errorf("%w: notify: nil", ErrInvalidWatch)
	}
	root, err := canonicalRootfs(rootfs)
	if err != nil {
		return err
	}
	if root == "/" {
		return fmt.Errorf("%w: rootfs: / is the host's root", ErrNotWholeFilesystem)
	}
	mounts, err := mountinfo.GetMounts(mountinfo.SingleEntryFilter(root))
	if err != nil {
		return fmt.Errorf("rootfs: %s: %w", root, err)
	}
	if len(mounts) == 0 {
		return fmt.Errorf("rootfs: %s: %w", root, ErrNotMountPoint)
	}
	if top := mounts[len(mounts)-1]; top.Root != "/" {
		return fmt.Errorf("rootfs: %s: %w: it shows %s of its filesystem", root, ErrNotWholeFilesystem, top.Root)
	}
	var st unix.Stat_t
	if err := unix.Stat(root, &st); err != nil {
		return fmt.Errorf("rootfs: %w", err)
	}

	s.opMu.Lock()
	defer s.opMu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if _, ok := s.mounts[key]; ok {
		return fmt.Errorf("%w: key %v", ErrAlreadyWatched, key)
	}
	if other := s.mountDevs[st.Dev]; other != nil {
		return fmt.Errorf("%w: the filesystem at %s is watched for %v", ErrAlreadyWatched, root, other.key)
	}
	mw := &mountWatch{key: key, rootfs: root, dev: st.Dev, notify: notify}
	s.mu.Lock()
	s.mounts[key] = mw
	s.mountDevs[st.Dev] = mw
	s.mu.Unlock()
	if err := unix.FanotifyMark(s.notifFd, unix.FAN_MARK_ADD|unix.FAN_MARK_FILESYSTEM, fsMask, unix.AT_FDCWD, root); err != nil {
		s.forgetMount(mw)
		return fmt.Errorf("fanotify_mark filesystem %s: %w", root, err)
	}
	return nil
}

func (s *Sensor) forgetMount(mw *mountWatch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mounts[mw.key] == mw {
		delete(s.mounts, mw.key)
	}
	if s.mountDevs[mw.dev] == mw {
		delete(s.mountDevs, mw.dev)
	}
}

// Unwatch removes the marks of Watch and WatchMount for key. Events already
// being handled may still reach the callbacks; later ones do not.
func (s *Sensor) Unwatch(key any) error {
	if err := checkKey(key); err != nil {
		return err
	}
	s.opMu.Lock()
	defer s.opMu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.mu.RLock()
	ws, mw := s.watches[key], s.mounts[key]
	s.mu.RUnlock()
	if ws == nil && mw == nil {
		return fmt.Errorf("%w: key %v", ErrNotWatched, key)
	}
	var errs []error
	if ws != nil {
		if err := s.release(ws); err != nil {
			errs = append(errs, err)
		}
	}
	if mw != nil {
		s.forgetMount(mw)
		var st unix.Stat_t
		if unix.Stat(mw.rootfs, &st) == nil && st.Dev == mw.dev {
			err := unix.FanotifyMark(s.notifFd, unix.FAN_MARK_REMOVE|unix.FAN_MARK_FILESYSTEM, fsMask, unix.AT_FDCWD, mw.rootfs)
			if err != nil && !errors.Is(err, unix.ENOENT) {
				errs = append(errs, fmt.Errorf("fanotify_mark remove filesystem %s: %w", mw.rootfs, err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("unwatch %v: %w", key, err)
	}
	return nil
}

// rawEvent is one fanotify event record.
type rawEvent struct {
	mask uint64
	fd   int
	pid  int // a thread id: the groups use FAN_REPORT_TID
}

const metadataLen = int(unsafe.Sizeof(unix.FanotifyEventMetadata{}))

// parseEvents splits a read from a fanotify fd into events. On a malformed
// record it returns the events before it and an error.
func parseEvents(b []byte) ([]rawEvent, error) {
	var out []rawEvent
	for off := 0; off < len(b); {
		rest := b[off:]
		if len(rest) < metadataLen {
			return out, fmt.Errorf("fanotify: %d trailing bytes at offset %d", len(rest), off)
		}
		eventLen := int(binary.NativeEndian.Uint32(rest[0:4]))
		vers := rest[4]
		metaLen := int(binary.NativeEndian.Uint16(rest[6:8]))
		if vers != unix.FANOTIFY_METADATA_VERSION {
			return out, fmt.Errorf("fanotify: metadata version %d at offset %d, want %d", vers, off, unix.FANOTIFY_METADATA_VERSION)
		}
		if metaLen < metadataLen || eventLen < metaLen || eventLen > len(rest) {
			return out, fmt.Errorf("fanotify: bad lengths (event %d, metadata %d) at offset %d", eventLen, metaLen, off)
		}
		out = append(out, rawEvent{
			mask: binary.NativeEndian.Uint64(rest[8:16]),
			fd:   int(int32(binary.NativeEndian.Uint32(rest[16:20]))),
			pid:  int(int32(binary.NativeEndian.Uint32(rest[20:24]))),
		})
		off += eventLen
	}
	return out, nil
}

// read runs one group's event loop until its file is closed.
func (s *Sensor) read(f *os.File, handle func(rawEvent)) {
	defer s.wg.Done()
	buf := make([]byte, 64*1024)
	for {
		n, err := f.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrClosed) {
				return
			}
			// EMFILE and the like: the kernel answers the permission
			// event it could not deliver; back off and go on.
			s.errs.Add(1)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		events, perr := parseEvents(buf[:n])
		if perr != nil {
			s.errs.Add(1)
		}
		for _, e := range events {
			handle(e)
		}
	}
}

// handlePerm answers one permission event.
func (s *Sensor) handlePerm(e rawEvent) {
	if e.fd < 0 {
		s.errs.Add(1)
		return
	}
	v := s.decide(e)
	resp := make([]byte, 8) // struct fanotify_response
	binary.NativeEndian.PutUint32(resp[0:4], uint32(int32(e.fd)))
	if v == Deny {
		binary.NativeEndian.PutUint32(resp[4:8], unix.FAN_DENY)
	} else {
		binary.NativeEndian.PutUint32(resp[4:8], unix.FAN_ALLOW)
	}
	if _, err := s.perm.Write(resp); err != nil && !errors.Is(err, os.ErrClosed) && !errors.Is(err, unix.ENOENT) {
		s.errs.Add(1)
	}
	unix.Close(e.fd)
}

// decide finds the watch an event belongs to and asks it.
func (s *Sensor) decide(e rawEvent) Verdict {
	if s.closing.Load() {
		return Allow
	}
	var st unix.Stat_t
	if err := unix.Fstat(e.fd, &st); err != nil {
		s.errs.Add(1)
		return Allow
	}
	p, _ := os.Readlink(procSelfFd(e.fd))
	ws := s.owner(inode{dev: st.Dev, ino: st.Ino}, p, e.pid)
	if ws == nil {
		s.unmatched.Add(1)
		return Allow
	}
	a, skip := s.access(e.pid, ws.rootfs, ws.rootDev, p)
	if skip {
		s.skipped.Add(1)
		return Allow
	}
	a.Key = ws.key
	a.Read, a.Write = openMode(e.pid)
	v := s.callDecide(ws.decide, a)
	if v == Deny {
		s.denied.Add(1)
	} else {
		s.allowed.Add(1)
	}
	return v
}

func (s *Sensor) callDecide(decide func(Access) Verdict, a Access) (v Verdict) {
	defer func() {
		if recover() != nil {
			s.panics.Add(1)
			v = Allow
		}
	}()
	return decide(a)
}

// owner finds the watch of the file id: an exact file mark, else the
// watch with directory marks on the device, else the owner of the file's
// directory, looked up through the opener's root.
func (s *Sensor) owner(id inode, p string, tid int) *watch {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if m := s.marks[id]; m != nil && !m.dir && len(m.owners) > 0 {
		return m.owners[0]
	}
	owners := s.dirOwners[id.dev]
	switch len(owners) {
	case 0:
		return nil
	case 1:
		for w := range owners {
			return w
		}
	}
	if p == "" {
		return nil
	}
	var st unix.Stat_t
	if err := unix.Stat("/proc/"+strconv.Itoa(tid)+"/root"+path.Dir(p), &st); err != nil {
		return nil
	}
	if m := s.marks[inode{dev: st.Dev, ino: st.Ino}]; m != nil && m.dir && len(m.owners) > 0 {
		return m.owners[0]
	}
	return nil
}

// access describes the thread tid and the file path p. skip is true for
// the sensor's own process and for runc's init stages (see the package
// documentation).
func (s *Sensor) access(tid int, rootfs string, rootDev uint64, p string) (a Access, skip bool) {
	info, err := readProcInfo(tid)
	if err != nil && !errors.Is(err, os.ErrNotExist) && !errors.Is(err, unix.ESRCH) {
		s.errs.Add(1) // a thread that has exited is no error
	}
	pid := info.tgid
	if pid == 0 {
		pid = tid
	}
	if pid == s.self {
		return a, true
	}
	exe, exeErr := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	if strings.HasPrefix(info.comm, runcInitPrefix) {
		var st unix.Stat_t
		if unix.Stat("/proc/"+strconv.Itoa(pid)+"/exe", &st) == nil && st.Dev != rootDev {
			return a, true
		}
	}
	a = Access{
		PID:    pid,
		TID:    tid,
		PPID:   info.ppid,
		UID:    info.euid,
		Comm:   info.comm,
		Path:   containerPath(rootfs, p),
		Time:   time.Now(),
		rootfs: rootfs,
	}
	if exeErr == nil {
		a.Exe = containerPath(rootfs, exe)
	}
	return a, false
}

// openMode reads the open mode from the system call thread tid is blocked
// in. Unknown modes read as read-only.
func openMode(tid int) (read, write bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/syscall")
	if err != nil {
		return true, false
	}
	nr, args, ok := parseSyscall(b)
	if !ok {
		return true, false
	}
	var flags uint64
	switch i, isOpen := openFlagsArg[nr]; {
	case isOpen:
		flags = args[i]
	case nr == sysCreat:
		return false, true
	case nr == unix.SYS_OPENAT2 && args[3] >= 8:
		// args[2] points to struct open_how, whose first field is flags.
		var buf [8]byte
		local := []unix.Iovec{{Base: &buf[0], Len: 8}}
		remote := []unix.RemoteIovec{{Base: uintptr(args[2]), Len: 8}}
		if n, err := unix.ProcessVMReadv(tid, local, remote, 0); err != nil || n != 8 {
			return true, false
		}
		flags = binary.NativeEndian.Uint64(buf[:])
	default:
		return true, false
	}
	switch flags & unix.O_ACCMODE {
	case unix.O_WRONLY:
		return false, true
	case unix.O_RDWR:
		return true, true
	}
	return true, false
}

// handleNotif delivers one write notification.
func (s *Sensor) handleNotif(e rawEvent) {
	if e.mask&unix.FAN_Q_OVERFLOW != 0 {
		s.overflows.Add(1)
	}
	if e.fd < 0 {
		return
	}
	defer unix.Close(e.fd)
	if s.closing.Load() || e.mask&unix.FAN_CLOSE_WRITE == 0 {
		return
	}
	var st unix.Stat_t
	if err := unix.Fstat(e.fd, &st); err != nil {
		s.errs.Add(1)
		return
	}
	s.mu.RLock()
	mw := s.mountDevs[st.Dev]
	s.mu.RUnlock()
	if mw == nil {
		s.unmatched.Add(1)
		return
	}
	p, _ := os.Readlink(procSelfFd(e.fd))
	a, skip := s.access(e.pid, mw.rootfs, mw.dev, p)
	if skip {
		s.skipped.Add(1)
		return
	}
	a.Key, a.Write = mw.key, true
	defer func() {
		if recover() != nil {
			s.panics.Add(1)
		}
	}()
	mw.notify(a)
	s.notified.Add(1)
}
