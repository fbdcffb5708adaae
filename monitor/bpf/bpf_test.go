//go:build 386 || amd64

package bpf

import (
	"strings"
	"testing"

	"github.com/cilium/ebpf"
)

// TestNoSyscallTracepoints guards the design rule that the host pays
// nothing: no program may hook syscalls (raw_syscalls, sys_enter_*,
// sys_exit_*), which slow every syscall on the node. Only the tp_btf exec
// hook, the LSM exec hook (bprm_check_security, which runs once per exec
// round) and cgroup socket programs (which run only for attached cgroups)
// are allowed.
func TestNoSyscallTracepoints(t *testing.T) {
	spec, err := LoadVigil()
	if err != nil {
		t.Fatal(err)
	}
	lsm, err := LoadVigilLsm()
	if err != nil {
		t.Fatal(err)
	}
	if len(lsm.Programs) != 1 {
		t.Errorf("LSM object has %d programs, want 1", len(lsm.Programs))
	}
	for name, p := range lsm.Programs {
		if name != VigilLsmProgVigilBprmCheck || p.Type != ebpf.LSM || p.AttachType != ebpf.AttachLSMMac || p.AttachTo != "bprm_check_security" {
			t.Errorf("LSM object program %s: %v/%v/%q, want %s LSM/%v/bprm_check_security", name, p.Type, p.AttachType, p.AttachTo, VigilLsmProgVigilBprmCheck, ebpf.AttachLSMMac)
		}
	}
	allowed := map[string]struct {
		typ    ebpf.ProgramType
		attach ebpf.AttachType
		target string
	}{
		VigilProgVigilExec:      {ebpf.Tracing, ebpf.AttachTraceRawTp, "sched_process_exec"},
		VigilProgVigilConnect4:  {ebpf.CGroupSockAddr, ebpf.AttachCGroupInet4Connect, ""},
		VigilProgVigilConnect6:  {ebpf.CGroupSockAddr, ebpf.AttachCGroupInet6Connect, ""},
		VigilProgVigilSendmsg4:  {ebpf.CGroupSockAddr, ebpf.AttachCGroupUDP4Sendmsg, ""},
		VigilProgVigilSendmsg6:  {ebpf.CGroupSockAddr, ebpf.AttachCGroupUDP6Sendmsg, ""},
		VigilProgVigilSkbEgress: {ebpf.CGroupSKB, ebpf.AttachCGroupInetEgress, ""},
	}
	if len(spec.Programs) != len(allowed) {
		t.Errorf("object has %d programs, want %d", len(spec.Programs), len(allowed))
	}
	for name, p := range spec.Programs {
		if strings.Contains(p.SectionName, "sys_enter") || strings.Contains(p.SectionName, "sys_exit") ||
			strings.Contains(p.SectionName, "raw_syscalls") || strings.Contains(p.AttachTo, "sys_") {
			t.Errorf("program %s hooks syscalls: section %q", name, p.SectionName)
		}
		switch p.Type {
		case ebpf.TracePoint, ebpf.RawTracepoint, ebpf.RawTracepointWritable, ebpf.Kprobe, ebpf.PerfEvent:
			t.Errorf("program %s has type %v", name, p.Type)
		}
		want, ok := allowed[name]
		if !ok {
			t.Errorf("unexpected program %s (%v, section %q)", name, p.Type, p.SectionName)
			continue
		}
		if p.Type != want.typ || p.AttachType != want.attach || p.AttachTo != want.target {
			t.Errorf("program %s: %v/%v/%q, want %v/%v/%q", name, p.Type, p.AttachType, p.AttachTo, want.typ, want.attach, want.target)
		}
	}
}

// TestMapsAreSmall keeps the node-wide footprint in check: no
// preallocated hash, ring buffers of 16 KiB.
func TestMapsAreSmall(t *testing.T) {
	spec, err := LoadVigil()
	if err != nil {
		t.Fatal(err)
	}
	for name, m := range spec.Maps {
		if m.Type == ebpf.Hash && m.Flags&1 == 0 { // BPF_F_NO_PREALLOC
			t.Errorf("map %s is a preallocated hash", name)
		}
	}
	// The LSM object's maps are replaced by the main object's (its own
	// scratch excepted): they must be the same maps.
	lsm, err := LoadVigilLsm()
	if err != nil {
		t.Fatal(err)
	}
	for name, m := range lsm.Maps {
		main := spec.Maps[name]
		if main == nil {
			t.Errorf("LSM object map %s is not in the main object", name)
			continue
		}
		if m.Type != main.Type || m.KeySize != main.KeySize || m.ValueSize != main.ValueSize ||
			m.MaxEntries != main.MaxEntries || m.Flags != main.Flags {
			t.Errorf("map %s differs between the objects: %+v vs %+v", name, m, main)
		}
	}
	outer := spec.Maps[VigilMapEventRings]
	if outer == nil || outer.InnerMap == nil || outer.InnerMap.Type != ebpf.RingBuf || outer.InnerMap.MaxEntries != 16<<10 {
		t.Fatalf("event_rings: %+v, want a hash of 16 KiB ring buffers", outer)
	}
}

func TestObjectHash(t *testing.T) {
	h := ObjectHash()
	if len(h) != 12 || strings.Trim(h, "0123456789abcdef") != "" {
		t.Fatalf("ObjectHash() = %q, want 12 hex digits", h)
	}
	if len(ObjectBytes()) == 0 || len(LSMObjectBytes()) == 0 {
		t.Fatal("no embedded object")
	}
}
