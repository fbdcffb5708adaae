// Package response captures evidence about a container an alert was raised
// for, before anything else is done to it: Capture writes a forensics
// bundle, one directory per incident, and Ring keeps a container's recent
// alerts for it. It reads /proc and the container's cgroup and writes
// files; it never signals, isolates or kills (the shim does, after
// Capture returned).
//
// # Contract
//
//   - Capture(Request) writes <Dir>/<container id, 12 chars>-<UTC time>-<rule>/
//     (mode 0700) and returns it. The directory appears complete or not at
//     all: it is written under a hidden name and renamed. It holds
//     manifest.json (what was captured, when, the SHA-256 of every file,
//     and what could not be read), processes.json and pstree.txt (every
//     process of the cgroup and its sub-cgroups: pid, ppid, state, uid,
//     cmdline, executable, working directory, open descriptors),
//     sockets.json (the TCP and UDP sockets of the container's network
//     namespace, IPv4 and IPv6, with the pids that hold them), exe/ (the
//     offending executable's SHA-256 and, up to MaxExeCopy bytes, a copy),
//     event.json (the triggering event) and alerts.jsonl (recent alerts).
//     What cannot be read (a process that exited meanwhile) is listed in
//     the manifest's errors; Capture fails only when the bundle cannot be
//     written.
//   - AppendTimeline adds timeline.json to a bundle: the response steps
//     taken after the capture (isolate, kill) with their times, so the
//     order of a response can be checked afterwards.
//   - ParseStat and ParseProcNet parse /proc/<pid>/stat and
//     /proc/<pid>/net/{tcp,tcp6,udp,udp6}; errors name the file and line.
package response
