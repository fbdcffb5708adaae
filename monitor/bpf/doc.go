// Package bpf holds vigil's kernel programs and the Go bindings bpf2go
// generates from them: vigil.bpf.c (vigil_x86_bpfel.go, .o), the node-wide
// set, and vigil_lsm.bpf.c (vigil_lsm_x86_bpfel.go, .o), the optional LSM
// exec hook loaded only where the kernel allows BPF LSM. Both include
// vigil.h, which holds the records, the exec maps and the exec decision
// they share. The Go types of the maps' keys and values, of the ring buffer
// records and the C enums (class bits, flags) come from the C source, so
// the two cannot drift.
//
// Regenerate with `make -C monitor/bpf generate` (or `go generate
// ./monitor/bpf`); the output is byte-for-byte reproducible with clang-14 and
// llvm-strip, and CI fails when the committed files differ. vmlinux.h is
// `bpftool btf dump file /sys/kernel/btf/vmlinux format c` of the development
// kernel; include/bpf holds libbpf's BPF-side headers (LGPL-2.1 OR
// BSD-2-Clause) so generation does not depend on the installed libbpf.
//
// The package only exposes the object; loading, pinning and attaching is
// package monitor's job.
package bpf
