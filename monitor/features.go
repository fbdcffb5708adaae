package monitor

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// ErrMissingFeature is returned by FeatureReport.Required when a kernel
// feature the monitor needs is missing.
var ErrMissingFeature = errors.New("kernel feature missing")

// Feature is the result of one run-time probe.
type Feature struct {
	Name      string
	Available bool
	// Reason says why the feature is unavailable (the kernel's error).
	Reason string
	// Required features are needed by Open; the others are optional.
	Required bool
}

func (f Feature) String() string {
	if f.Available {
		return f.Name + ": yes"
	}
	return f.Name + ": no (" + f.Reason + ")"
}

// FeatureReport lists what this kernel allows.
type FeatureReport struct {
	BTF            Feature // /sys/kernel/btf/vmlinux, needed for CO-RE
	TPBTF          Feature // tp_btf/sched_process_exec loaded and attached
	CgroupSockAddr Feature // cgroup/connect4 programs
	RingBuf        Feature // BPF_MAP_TYPE_RINGBUF
	HashOfMaps     Feature // BPF_MAP_TYPE_HASH_OF_MAPS
	Loop           Feature // bpf_loop helper
	SendSignal     Feature // bpf_send_signal from tracing programs
	Fentry         Feature // fentry/security_bprm_check (optional)
	// LSM: lsm/bprm_check_security (optional). With it Open attaches the
	// LSM exec hook, which refuses forbidden execs (EPERM) instead of the
	// tracepoint killing them; see ExecEnforcement.
	LSM Feature
}

// All returns the probes in a fixed order.
func (r FeatureReport) All() []Feature {
	return []Feature{r.BTF, r.TPBTF, r.CgroupSockAddr, r.RingBuf, r.HashOfMaps, r.Loop, r.SendSignal, r.Fentry, r.LSM}
}

// Required returns an error naming every missing required feature.
func (r FeatureReport) Required() error {
	var missing []string
	for _, f := range r.All() {
		if f.Required && !f.Available {
			missing = append(missing, f.String())
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s", ErrMissingFeature, strings.Join(missing, "; "))
	}
	return nil
}

func feature(name string, required bool, err error) Feature {
	f := Feature{Name: name, Required: required, Available: err == nil}
	if err != nil {
		f.Reason = err.Error()
	}
	return f
}

// Features probes the running kernel: cilium/ebpf's feature checks plus
// loading (and, where no target object is needed, attaching) tiny programs
// of each kind the monitor uses or could use. It needs root.
func Features() FeatureReport {
	var r FeatureReport
	_, err := os.Stat("/sys/kernel/btf/vmlinux")
	if err == nil {
		_, err = btf.LoadKernelSpec()
	}
	r.BTF = feature("btf", true, err)
	r.TPBTF = feature("tp_btf/sched_process_exec", true,
		probeAttach(ebpf.Tracing, ebpf.AttachTraceRawTp, "sched_process_exec", func(p *ebpf.Program) (link.Link, error) {
			return link.AttachTracing(link.TracingOptions{Program: p, AttachType: ebpf.AttachTraceRawTp})
		}))
	r.CgroupSockAddr = feature("cgroup/connect4", true,
		probeAttach(ebpf.CGroupSockAddr, ebpf.AttachCGroupInet4Connect, "", nil))
	r.RingBuf = feature("ringbuf map", true, features.HaveMapType(ebpf.RingBuf))
	r.HashOfMaps = feature("hash of maps", true, features.HaveMapType(ebpf.HashOfMaps))
	r.Loop = feature("bpf_loop", true, features.HaveProgramHelper(ebpf.TracePoint, asm.FnLoop))
	r.SendSignal = feature("bpf_send_signal", true, features.HaveProgramHelper(ebpf.TracePoint, asm.FnSendSignal))
	r.Fentry = feature("fentry/security_bprm_check", false,
		probeAttach(ebpf.Tracing, ebpf.AttachTraceFEntry, "security_bprm_check", func(p *ebpf.Program) (link.Link, error) {
			return link.AttachTracing(link.TracingOptions{Program: p, AttachType: ebpf.AttachTraceFEntry})
		}))
	r.LSM = probeLSM()
	return r
}

// probeLSM loads and attaches an LSM program that allows everything, then
// checks that LSM programs run at all: the gate for the LSM exec hook (see
// ExecEnforcement).
func probeLSM() Feature {
	err := probeAttach(ebpf.LSM, ebpf.AttachLSMMac, "bprm_check_security", func(p *ebpf.Program) (link.Link, error) {
		return link.AttachLSM(link.LSMOptions{Program: p})
	})
	if err == nil {
		err = probeLSMRuns()
	}
	return feature("lsm/bprm_check_security", false, err)
}

// probeLSMRuns attaches a program to lsm/bpf (called on every bpf(2)) that
// records that it ran, and makes a bpf(2) call. A kernel built with
// CONFIG_BPF_LSM loads and attaches LSM programs even when "bpf" is not
// among the active LSMs (the lsm= boot parameter, CONFIG_LSM), but then
// never calls them.
func probeLSMRuns() error {
	seen, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	if err != nil {
		return fmt.Errorf("probe map: %w", err)
	}
	defer seen.Close()
	spec := &ebpf.ProgramSpec{
		Type:       ebpf.LSM,
		AttachType: ebpf.AttachLSMMac,
		AttachTo:   "bpf",
		License:    "Dual BSD/GPL",
		Instructions: asm.Instructions{
			asm.StoreImm(asm.RFP, -4, 0, asm.Word),
			asm.LoadMapPtr(asm.R1, seen.FD()),
			asm.Mov.Reg(asm.R2, asm.RFP),
			asm.Add.Imm(asm.R2, -4),
			asm.FnMapLookupElem.Call(),
			asm.JEq.Imm(asm.R0, 0, "out"),
			asm.StoreImm(asm.R0, 0, 1, asm.Word),
			asm.Mov.Imm(asm.R0, 0).WithSymbol("out"),
			asm.Return(),
		},
	}
	p, err := ebpf.NewProgram(spec)
	if err != nil {
		return fmt.Errorf("load lsm/bpf: %w", err)
	}
	defer p.Close()
	l, err := link.AttachLSM(link.LSMOptions{Program: p})
	if err != nil {
		return fmt.Errorf("attach lsm/bpf: %w", err)
	}
	var v uint32
	err = seen.Lookup(uint32(0), &v) // a bpf(2) call
	l.Close()
	if err == nil {
		err = seen.Lookup(uint32(0), &v)
	}
	if err != nil {
		return fmt.Errorf("probe map: %w", err)
	}
	if v == 0 {
		active, _ := os.ReadFile("/sys/kernel/security/lsm")
		return fmt.Errorf("LSM programs attach but are not called: bpf is not an active LSM (lsm= boot parameter; active: %q)", strings.TrimSpace(string(active)))
	}
	return nil
}

// probeAttach loads "return 0" (1 for cgroup programs) as the given kind and
// attaches it when attach is not nil, then detaches it at once.
func probeAttach(pt ebpf.ProgramType, at ebpf.AttachType, target string, attach func(*ebpf.Program) (link.Link, error)) error {
	ret := int32(0)
	if pt == ebpf.CGroupSockAddr {
		ret = 1
	}
	spec := &ebpf.ProgramSpec{
		Type:       pt,
		AttachType: at,
		AttachTo:   target,
		License:    "Dual BSD/GPL",
		Instructions: asm.Instructions{
			asm.Mov.Imm(asm.R0, ret),
			asm.Return(),
		},
	}
	p, err := ebpf.NewProgramWithOptions(spec, ebpf.ProgramOptions{LogLevel: ebpf.LogLevelBranch})
	if errors.Is(err, unix.EPERM) {
		// cilium/ebpf suggests MEMLOCK for any EPERM; on kernels >= 5.11
		// memory is charged to the cgroup, so EPERM is a refusal.
		return fmt.Errorf("load: BPF_PROG_LOAD: operation not permitted (EPERM, refused before verification)")
	}
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	defer p.Close()
	if attach == nil {
		return nil
	}
	l, err := attach(p)
	if err != nil {
		return fmt.Errorf("attach: %w", err)
	}
	return l.Close()
}
