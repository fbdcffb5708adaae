package response

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// MaxExeCopy is the largest executable a bundle keeps a copy of.
const MaxExeCopy = 8 << 20

// ErrBundle is wrapped by Capture and AppendTimeline errors: the bundle
// could not be written.
var ErrBundle = errors.New("forensics bundle")

// Request says what to capture.
type Request struct {
	// Dir is the directory bundles are written under (created 0700).
	Dir         string
	ContainerID string
	// Rule and Priority name the alert the capture is for.
	Rule, Priority string
	// Time is when the triggering event happened.
	Time time.Time
	// Cgroup is the container's cgroup2 directory: its processes and
	// those of its sub-cgroups are captured.
	Cgroup string
	// RootPID is a process of the container (its init): its network
	// namespace's sockets are listed and ExePath is resolved in its root.
	RootPID int
	// PID is the offending process, ExePath the executable it ran as the
	// container sees it. /proc/<PID>/exe is read when the process is still
	// there (a deleted or memfd executable included), otherwise ExePath in
	// RootPID's root.
	PID     int
	ExePath string
	// Event is the triggering event, recorded as JSON.
	Event any
	// Alerts are the container's recent alerts (JSON), oldest first.
	Alerts [][]byte
	// Proc is the proc mount; "" is /proc.
	Proc string
}

// Manifest is a bundle's manifest.json.
type Manifest struct {
	ContainerID string    `json:"containerID"`
	Rule        string    `json:"rule"`
	Priority    string    `json:"priority"`
	EventTime   time.Time `json:"eventTime"`
	// Started and Finished bracket the capture.
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Processes and Sockets count what was captured.
	Processes  int         `json:"processes"`
	Sockets    int         `json:"sockets"`
	Executable *Executable `json:"executable,omitempty"`
	// Files maps each file of the bundle (but this one) to its SHA-256.
	Files map[string]string `json:"files"`
	// Errors lists what could not be captured.
	Errors []string `json:"errors,omitempty"`
}

// Executable describes the offending executable.
type Executable struct {
	// Path is the executable as the container sees it.
	Path string `json:"path"`
	// Source is where it was read: /proc/<pid>/exe or the path in the
	// container's root.
	Source string `json:"source"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// Copy is the bundle file holding a copy, "" when it was larger than
	// MaxExeCopy.
	Copy string `json:"copy,omitempty"`
}

// Capture writes a forensics bundle for req and returns its directory and
// manifest. Only failing to write the bundle is an error; what could not
// be read is listed in the manifest.
func Capture(req Request) (string, Manifest, error) {
	proc := req.Proc
	if proc == "" {
		proc = "/proc"
	}
	m := Manifest{
		ContainerID: req.ContainerID,
		Rule:        req.Rule,
		Priority:    req.Priority,
		EventTime:   req.Time,
		Started:     time.Now(),
		Files:       map[string]string{},
	}
	if err := os.MkdirAll(req.Dir, 0o700); err != nil {
		return "", m, fmt.Errorf("%w: %w", ErrBundle, err)
	}
	name := bundleName(req.ContainerID, m.Started, req.Rule)
	tmp, err := os.MkdirTemp(req.Dir, "."+name+".partial-")
	if err != nil {
		return "", m, fmt.Errorf("%w: %w", ErrBundle, err)
	}
	defer os.RemoveAll(tmp) // after a successful rename there is nothing left
	w := &writer{dir: tmp, m: &m}

	// Processes first: they are what a kill takes away.
	pids, err := cgroupPIDs(req.Cgroup)
	if err != nil {
		m.Errors = append(m.Errors, "cgroup processes: "+err.Error())
	}
	procs := make([]Process, 0, len(pids))
	for _, pid := range pids {
		procs = append(procs, readProcess(proc, pid))
	}
	m.Processes = len(procs)
	w.json("processes.json", procs)
	w.file("pstree.txt", []byte(pstree(procs)))

	netPID := req.RootPID
	if _, err := os.Stat(filepath.Join(proc, strconv.Itoa(netPID), "net")); err != nil {
		for _, p := range procs {
			if len(p.Errors) == 0 {
				netPID = p.PID
				break
			}
		}
	}
	socks, errs := readSockets(proc, netPID, procs)
	m.Errors = append(m.Errors, errs...)
	m.Sockets = len(socks)
	w.json("sockets.json", socks)

	if req.PID != 0 || req.ExePath != "" {
		exe, err := w.executable(proc, req)
		if err != nil {
			m.Errors = append(m.Errors, "executable: "+err.Error())
		}
		m.Executable = exe
	}
	if req.Event != nil {
		w.json("event.json", req.Event)
	}
	var alerts []byte
	for _, a := range req.Alerts {
		alerts = append(append(alerts, a...), '\n')
	}
	w.file("alerts.jsonl", alerts)
	if w.err != nil {
		return "", m, w.err
	}
	m.Finished = time.Now()
	w.json("manifest.json", &m)
	delete(m.Files, "manifest.json")
	if w.err != nil {
		return "", m, w.err
	}
	final := filepath.Join(req.Dir, name)
	for i := 2; ; i++ {
		err := os.Rename(tmp, final)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrExist) && !errors.Is(err, unix.ENOTEMPTY) || i > 100 {
			return "", m, fmt.Errorf("%w: %w", ErrBundle, err)
		}
		final = filepath.Join(req.Dir, name+"-"+strconv.Itoa(i))
	}
	return final, m, nil
}

// bundleName is <container id, 12 chars>-<UTC time>-<rule slug>.
func bundleName(id string, t time.Time, rule string) string {
	if len(id) > 12 {
		id = id[:12]
	}
	var slug strings.Builder
	dash := false
	for _, r := range strings.ToLower(rule) {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9'
		if ok {
			slug.WriteRune(r)
			dash = false
		} else if !dash && slug.Len() > 0 {
			slug.WriteByte('-')
			dash = true
		}
		if slug.Len() >= 40 {
			break
		}
	}
	s := strings.TrimSuffix(slug.String(), "-")
	return safeName(id) + "-" + t.UTC().Format("20060102T150405.000000000Z") + "-" + s
}

// safeName keeps s inside one path element.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == 0 {
			return '_'
		}
		return r
	}, s)
}

// writer writes the bundle's files, remembering the first error.
type writer struct {
	dir string
	m   *Manifest
	err error
}

func (w *writer) file(name string, b []byte) {
	if w.err != nil {
		return
	}
	p := filepath.Join(w.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		w.err = fmt.Errorf("%w: %w", ErrBundle, err)
		return
	}
	if err := os.WriteFile(p, b, 0o600); err != nil {
		w.err = fmt.Errorf("%w: %w", ErrBundle, err)
		return
	}
	sum := sha256.Sum256(b)
	w.m.Files[name] = hex.EncodeToString(sum[:])
}

func (w *writer) json(name string, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		if w.err == nil {
			w.err = fmt.Errorf("%w: %s: %w", ErrBundle, name, err)
		}
		return
	}
	w.file(name, append(b, '\n'))
}

// executable hashes the offending executable and copies it when small.
func (w *writer) executable(proc string, req Request) (*Executable, error) {
	f, src, err := w.openExe(proc, req)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", src)
	}
	exe := &Executable{Path: req.ExePath, Source: src, Size: st.Size()}
	h := sha256.New()
	var dst io.Writer = h
	var cp *os.File
	if st.Size() <= MaxExeCopy && w.err == nil {
		base := filepath.Base(req.ExePath)
		if base == "." || base == "/" || base == "" {
			base = "executable"
		}
		exe.Copy = filepath.Join("exe", safeName(base))
		if err := os.MkdirAll(filepath.Join(w.dir, "exe"), 0o700); err != nil {
			return exe, err
		}
		cp, err = os.OpenFile(filepath.Join(w.dir, exe.Copy), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o400)
		if err != nil {
			return exe, err
		}
		dst = io.MultiWriter(h, cp)
	}
	n, err := io.Copy(dst, f)
	if cp != nil {
		if cerr := cp.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return exe, err
	}
	exe.Size = n
	exe.SHA256 = hex.EncodeToString(h.Sum(nil))
	if exe.Copy != "" {
		w.m.Files[exe.Copy] = exe.SHA256
	}
	w.file("exe/sha256.txt", []byte(exe.SHA256+"  "+req.ExePath+"\n"))
	return exe, nil
}

// openExe opens the executable of the offending process when it is still
// there, else its path resolved inside the container's root (symbolic
// links cannot leave it).
func (w *writer) openExe(proc string, req Request) (*os.File, string, error) {
	var errs []error
	if req.PID != 0 {
		p := filepath.Join(proc, strconv.Itoa(req.PID), "exe")
		f, err := os.Open(p)
		if err == nil {
			return f, p, nil
		}
		errs = append(errs, err)
	}
	if req.ExePath != "" && req.RootPID != 0 {
		root := filepath.Join(proc, strconv.Itoa(req.RootPID), "root")
		rfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err == nil {
			defer unix.Close(rfd)
			fd, err := unix.Openat2(rfd, strings.TrimPrefix(req.ExePath, "/"), &unix.OpenHow{
				Flags:   unix.O_RDONLY | unix.O_CLOEXEC,
				Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
			})
			if err == nil {
				for _, e := range errs {
					w.m.Errors = append(w.m.Errors, "executable: "+e.Error()+"; read by path instead")
				}
				return os.NewFile(uintptr(fd), req.ExePath), root + req.ExePath, nil
			}
			errs = append(errs, fmt.Errorf("open %s in %s: %w", req.ExePath, root, err))
		} else {
			errs = append(errs, fmt.Errorf("open %s: %w", root, err))
		}
	}
	if len(errs) == 0 {
		return nil, "", errors.New("no process and no path")
	}
	return nil, "", errors.Join(errs...)
}

// pstree renders the processes as a tree: children indented under their
// parent, ordered by pid.
func pstree(procs []Process) string {
	byPID := map[int]bool{}
	children := map[int][]Process{}
	for _, p := range procs {
		byPID[p.PID] = true
	}
	var roots []Process
	for _, p := range procs {
		if byPID[p.PPID] && p.PPID != p.PID {
			children[p.PPID] = append(children[p.PPID], p)
		} else {
			roots = append(roots, p)
		}
	}
	var b strings.Builder
	var walk func(p Process, depth int)
	seen := map[int]bool{}
	walk = func(p Process, depth int) {
		if seen[p.PID] {
			return
		}
		seen[p.PID] = true
		fmt.Fprintf(&b, "%s%d %s [%s] %s\n", strings.Repeat("  ", depth), p.PID, p.State, p.Comm, strings.Join(p.Cmdline, " "))
		kids := children[p.PID]
		sort.Slice(kids, func(i, j int) bool { return kids[i].PID < kids[j].PID })
		for _, c := range kids {
			walk(c, depth+1)
		}
	}
	sort.Slice(roots, func(i, j int) bool { return roots[i].PID < roots[j].PID })
	for _, r := range roots {
		walk(r, 0)
	}
	return b.String()
}

// Step is one response action taken after a capture.
type Step struct {
	Action string    `json:"action"`
	At     time.Time `json:"at"`
	Error  string    `json:"error,omitempty"`
}

// AppendTimeline writes timeline.json into a bundle: the capture's end
// followed by steps, in order.
func AppendTimeline(dir string, m Manifest, steps []Step) error {
	all := append([]Step{{Action: "forensics", At: m.Finished}}, steps...)
	b, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return fmt.Errorf("%w: timeline: %w", ErrBundle, err)
	}
	tmp := filepath.Join(dir, ".timeline.json.tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("%w: %w", ErrBundle, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "timeline.json")); err != nil {
		return fmt.Errorf("%w: %w", ErrBundle, err)
	}
	return nil
}
