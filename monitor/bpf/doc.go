// Package bpf holds vigil's kernel programs (vigil.bpf.c) and the Go
// bindings bpf2go generates from them (vigil_x86_bpfel.go, .o): the Go types
// of the maps' keys and values, of the ring buffer records and the C enums
// (class bits, flags) come from the C source, so the two cannot drift.
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
