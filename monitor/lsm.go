package monitor

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/vigil-dev/vigil/monitor/bpf"
)

// ExecEnforcement says how the kernel stops an exec a container's policy
// forbids (Enforce mode, a class in KillMask).
type ExecEnforcement string

const (
	// ExecLSM: lsm/bprm_check_security refuses the exec before the new
	// program exists. execve fails with EPERM, the calling process keeps
	// running, and the event's KernelAction is "denied".
	ExecLSM ExecEnforcement = "lsm"
	// ExecTracepoint: tp_btf/sched_process_exec sends SIGKILL once the
	// exec has replaced the image, before its first instruction runs. The
	// process dies and the event's KernelAction is "killed".
	ExecTracepoint ExecEnforcement = "tracepoint"
)

func (e ExecEnforcement) String() string { return string(e) }

// ExecEnforcement reports the path the pinned program set uses: ExecLSM
// when its LSM exec hook is attached, ExecTracepoint otherwise. The
// tracepoint is attached in both cases: it reports every exec that
// happens and kills what the LSM hook would have refused had it not been
// there, so ExecLSM only adds a refusal before the exec.
func (m *Monitor) ExecEnforcement() ExecEnforcement { return m.objs.exec }

// ExecEnforcementReason says why ExecEnforcement is ExecTracepoint: the
// kernel's refusal when this process loaded the set, or that it reused a
// set pinned without the hook. Empty for ExecLSM.
func (m *Monitor) ExecEnforcementReason() string { return m.objs.execReason }

// ExecEnforcement is the path Open would choose on this kernel: ExecLSM
// when BPF LSM programs load and attach (the LSM probe), ExecTracepoint
// otherwise. A Monitor's ExecEnforcement is authoritative: the set may have
// been pinned by another binary, or the verifier may refuse the real hook.
func (r FeatureReport) ExecEnforcement() ExecEnforcement {
	if r.LSM.Available {
		return ExecLSM
	}
	return ExecTracepoint
}

// pinLSMLink is the LSM hook's link in the pinned set, when attached.
const pinLSMLink = "link_lsm"

// lsmFallback is logged once per process: the first loader that cannot
// attach the LSM hook says why.
var lsmFallback sync.Once

// attachLSM loads the LSM exec hook with the set's maps in place of its
// own, attaches it and pins its link in dir. It returns why it could not;
// the caller then relies on the tracepoint alone.
func attachLSM(dir string, maps map[string]*ebpf.Map) error {
	if f := probeLSM(); !f.Available {
		return errors.New(f.String())
	}
	spec, err := bpf.LoadVigilLsm()
	if err != nil {
		return err
	}
	replace := map[string]*ebpf.Map{}
	for name := range spec.Maps {
		if m := maps[name]; m != nil {
			replace[name] = m
		}
	}
	var objs bpf.VigilLsmObjects
	if err := spec.LoadAndAssign(&objs, &ebpf.CollectionOptions{MapReplacements: replace}); err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return fmt.Errorf("load %s: %+v", bpf.VigilLsmProgVigilBprmCheck, ve)
		}
		return fmt.Errorf("load %s: %w", bpf.VigilLsmProgVigilBprmCheck, err)
	}
	// The link holds the program and the program its maps.
	defer objs.Close()
	l, err := link.AttachLSM(link.LSMOptions{Program: objs.VigilBprmCheck})
	if err != nil {
		return fmt.Errorf("attach lsm/bprm_check_security: %w", err)
	}
	defer l.Close()
	if err := l.Pin(filepath.Join(dir, pinLSMLink)); err != nil {
		return fmt.Errorf("pin %s: %w", pinLSMLink, err)
	}
	return nil
}

// setExecEnforcement records which exec path the set in dir uses. err is
// attachLSM's result when this process loaded the set, nil when it reused
// one.
func (o *objects) setExecEnforcement(loadErr error, logf func(string, ...any)) {
	if _, err := os.Stat(filepath.Join(o.dir, pinLSMLink)); err == nil {
		o.exec = ExecLSM
		return
	}
	o.exec = ExecTracepoint
	if !o.loaded {
		o.execReason = "the pinned set in " + o.dir + " has no LSM exec hook"
		return
	}
	if loadErr == nil {
		loadErr = errors.New("no " + pinLSMLink + " pinned")
	}
	o.execReason = "LSM exec hook unavailable: " + loadErr.Error()
	lsmFallback.Do(func() {
		logf("vigil monitor: forbidden execs are killed by the exec tracepoint (SIGKILL), not refused: %s", o.execReason)
	})
}

func defaultLogf(format string, args ...any) { log.Printf(format, args...) }
