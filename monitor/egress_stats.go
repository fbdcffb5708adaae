package monitor

import (
	"fmt"
	"io"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// ProgramRuntime is what the kernel measured of one socket program: how
// often it ran and for how long in total. The kernel counts only while run
// time statistics are on (EnableRuntimeStats).
type ProgramRuntime struct {
	Program  string // connect4, connect6, sendmsg4, sendmsg6, skb_egress
	RunCount uint64
	Runtime  time.Duration
}

// EnableRuntimeStats makes the kernel time every BPF program run (a
// node-wide switch with a small cost per run) until the returned Closer is
// closed. For benchmarks.
func EnableRuntimeStats() (io.Closer, error) {
	c, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
	if err != nil {
		return nil, fmt.Errorf("enable BPF run time statistics: %w", err)
	}
	return c, nil
}

// SocketProgramRuntimes returns the run counters of the shared socket
// programs. Differences between two calls give the mean cost of one run.
func (m *Monitor) SocketProgramRuntimes() ([]ProgramRuntime, error) {
	names := []string{"connect4", "connect6", "sendmsg4", "sendmsg6"}
	progs := append([]*ebpf.Program(nil), m.objs.progs...)
	names, progs = append(names, "skb_egress"), append(progs, m.objs.skbEgress)
	out := make([]ProgramRuntime, 0, len(progs))
	for i, p := range progs {
		st, err := p.Stats()
		if err != nil {
			return nil, fmt.Errorf("stats of %s: %w", names[i], err)
		}
		out = append(out, ProgramRuntime{Program: names[i], RunCount: st.RunCount, Runtime: st.Runtime})
	}
	return out, nil
}
